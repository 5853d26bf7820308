// Types of scripts/shims/index.mjs, for the tests (TypeScript does not check the .mjs itself).
import type { BuildOptions, BuildResult, OnLoadArgs, OnResolveArgs, Plugin } from "esbuild";

export interface Shim {
  name: string;
  module: string;
  importer: string;
  replacement: string;
  why: string;
  measuredMs: number | undefined;
  measure: "list" | "approve" | undefined;
  verified: Record<string, string>;
  filter: RegExp;
  matches: (args: OnResolveArgs, importerPackage: string | undefined) => boolean;
  contents: (args: OnLoadArgs) => string;
}

export type ShimHits = Map<string, { resolved: number; loaded: number }>;

export const SHIMS: Shim[];
export function packageOf(file: string): string | undefined;
export function installedVersion(root: string, name: string): string | undefined;
export function versionProblems(shims: readonly Shim[], root: string): string[];
export function shimPlugin(shims: readonly Shim[], hits: ShimHits, root: string): Plugin;
export function hitProblems(shims: readonly Shim[], hits: ShimHits): string[];
export class StaleShimError extends Error {
  problems: string[];
  constructor(problems: string[]);
}
export function buildWithShims(
  options: BuildOptions,
  context: { root: string; shims?: readonly Shim[] },
): Promise<BuildResult>;
export function shimTable(shims?: readonly Shim[]): string;
