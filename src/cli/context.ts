import type { Command } from "commander";
import { createStoreContext, type StoreContext } from "../store/context.js";
import type { CliIO } from "./output.js";

export interface GlobalOptions {
  json: boolean;
  stateDir?: string;
}

export function globalOptions(command: Command): GlobalOptions {
  const options = command.optsWithGlobals<{ json?: boolean; stateDir?: string }>();
  return { json: options.json === true, ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}) };
}

/** The store context for a command, saying once on stderr when two state dirs compete. */
export function storeContextFor(io: CliIO, options: GlobalOptions): StoreContext {
  const ctx = createStoreContext({
    env: io.env,
    ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
    ...(io.now !== undefined ? { now: io.now } : {}),
  });
  if (ctx.paths.warning) io.err(`moltbot: ${ctx.paths.warning}\n`);
  return ctx;
}

/** Commander's repeatable-option collector. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
