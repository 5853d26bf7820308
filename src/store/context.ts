import { randomBytes } from "node:crypto";
import type { RandomBytes } from "../core/random.js";
import { resolveStatePaths, type StatePathOptions, type StatePaths } from "./paths.js";

/** What every store operation needs: where the files are, and the clock and randomness to use. */
export interface StoreContext {
  paths: StatePaths;
  now: () => number;
  random: RandomBytes;
  env: NodeJS.ProcessEnv;
}

export interface StoreContextOptions extends StatePathOptions {
  now?: () => number;
  random?: RandomBytes;
}

/** Defaults: the real clock, Node's CSPRNG, and the state dir SPEC §2 resolves. */
export function createStoreContext(options: StoreContextOptions = {}): StoreContext {
  const env = options.env ?? process.env;
  return {
    paths: resolveStatePaths({ ...options, env }),
    now: options.now ?? Date.now,
    random: options.random ?? ((size) => randomBytes(size)),
    env,
  };
}
