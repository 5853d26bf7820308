// The CLI bundle's start-up shims: imports of other packages' internals that the build replaces
// with something cheaper, one declared file each. Each names the package versions it was checked
// against, and the build fails when one of them is installed at another version or when a shim
// matched no import at all (the package moved on, and the shim silently became dead or wrong).
// To re-verify after an upgrade: read the package's use of the module again, update `verified`,
// and remeasure with `node bench/bench.mjs shims` (then update the README table: `shimTable()`).
import { build } from "esbuild";
import fs from "node:fs";
import path from "node:path";
import builtinDefaultImport from "./builtin-default-import.mjs";
import builtinDynamicImport from "./builtin-dynamic-import.mjs";
import chalkSupportsColor from "./chalk-supports-color.mjs";
import commanderChildProcess from "./commander-child-process.mjs";
import lockfileGracefulFs from "./lockfile-graceful-fs.mjs";
import lockfileSignalExit from "./lockfile-signal-exit.mjs";

/**
 * @typedef {object} Shim
 * @property {string} name                 also the esbuild namespace of its replacement
 * @property {string} module               what is replaced
 * @property {string} importer             whose import of it is replaced
 * @property {string} replacement          what it is replaced with
 * @property {string} why                  one line
 * @property {number | undefined} measuredMs   ms it saves on `measure` (node bench/bench.mjs shims)
 * @property {"list" | "approve" | undefined} measure   the command it speeds up (pairing list or approve)
 * @property {Record<string, string>} verified   package -> the exact version the shim was checked against
 * @property {RegExp} filter               esbuild onResolve filter (import paths)
 * @property {(args: import("esbuild").OnResolveArgs, importerPackage: string | undefined) => boolean} matches
 * @property {(args: import("esbuild").OnLoadArgs) => string} contents   CommonJS or ESM source of the replacement
 */

/** @type {Shim[]} */
export const SHIMS = [
  commanderChildProcess,
  chalkSupportsColor,
  lockfileGracefulFs,
  lockfileSignalExit,
  builtinDynamicImport,
  builtinDefaultImport,
];

/** The package a file belongs to (the last `node_modules/<name>` of its path), or undefined for ours. */
export function packageOf(file) {
  const found = [...file.matchAll(/[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/g)].at(-1);
  return found?.[1].replace(/\\/g, "/");
}

/** The version of `name` installed at the top of `root`'s node_modules, or undefined. */
export function installedVersion(root, name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return undefined;
  }
}

/** One line per shim whose verified package versions are not the installed ones. */
export function versionProblems(shims, root) {
  return shims.flatMap((shim) =>
    Object.entries(shim.verified).flatMap(([name, version]) => {
      const installed = installedVersion(root, name);
      return installed === version
        ? []
        : [
            `shim ${shim.name}: ${name} is ${installed ?? "not installed"}, but the shim was verified with ${version} ` +
              `(check ${shim.importer}'s use of ${shim.module} again, then update scripts/shims/${shim.name}.mjs)`,
          ];
    }),
  );
}

/**
 * An esbuild plugin applying `shims`. `hits` (shim name -> { resolved, loaded }) counts what each
 * matched, so that the caller can tell a shim that matched nothing.
 */
export function shimPlugin(shims, hits, root) {
  for (const shim of shims) hits.set(shim.name, { resolved: 0, loaded: 0 });
  return {
    name: "moltbot-startup-shims",
    setup(b) {
      for (const shim of shims) {
        b.onResolve({ filter: shim.filter }, (args) => {
          if (!shim.matches(args, packageOf(args.importer))) return undefined;
          hits.get(shim.name).resolved++;
          return { path: args.path, namespace: shim.name };
        });
        b.onLoad({ filter: /.*/, namespace: shim.name }, (args) => {
          hits.get(shim.name).loaded++;
          return { contents: shim.contents(args), loader: "js", resolveDir: root };
        });
      }
    },
  };
}

/** One line per shim that replaced nothing in the build that `hits` counted. */
export function hitProblems(shims, hits) {
  return shims.flatMap((shim) => {
    const hit = hits.get(shim.name);
    return hit !== undefined && hit.resolved > 0 && hit.loaded > 0
      ? []
      : [
          `shim ${shim.name} matched nothing (${shim.importer} no longer imports ${shim.module}?): ` +
            `remove it or fix scripts/shims/${shim.name}.mjs`,
        ];
  });
}

export class StaleShimError extends Error {
  constructor(problems) {
    super(`stale start-up shim(s):\n  ${problems.join("\n  ")}`);
    this.name = "StaleShimError";
    this.problems = problems;
  }
}

/**
 * esbuild's build() with `shims` applied, refusing (StaleShimError) when a shimmed package is not
 * at its verified version under `root` (checked first, so no build runs) or a shim matched nothing.
 */
export async function buildWithShims(options, { root, shims = SHIMS }) {
  const versions = versionProblems(shims, root);
  if (versions.length > 0) throw new StaleShimError(versions);
  const hits = new Map();
  const result = await build({ ...options, plugins: [...(options.plugins ?? []), shimPlugin(shims, hits, root)] });
  const unmatched = hitProblems(shims, hits);
  if (unmatched.length > 0) throw new StaleShimError(unmatched);
  return result;
}

/** The shims as a Markdown table (README "Performance"). */
export function shimTable(shims = SHIMS) {
  const cell = (text) => String(text).replace(/\|/g, "\\|");
  const rows = shims.map((shim) =>
    [
      `\`${shim.name}\``,
      `\`${shim.module}\``,
      shim.importer,
      shim.replacement,
      shim.why,
      shim.measuredMs === undefined ? "—" : `${shim.measuredMs.toFixed(1)} (pairing ${shim.measure})`,
      Object.entries(shim.verified)
        .map(([name, version]) => `${name} ${version}`)
        .join(", ") || "—",
    ].map(cell),
  );
  const header = ["shim", "module", "importer", "replacement", "why", "ms saved (on)", "verified with"];
  return [header, header.map(() => "---"), ...rows].map((row) => `| ${row.join(" | ")} |`).join("\n");
}
