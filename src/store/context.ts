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

/**
 * Node's CSPRNG (Web Crypto's getRandomValues, the same source as crypto.randomBytes). Reached through
 * the global rather than `import "node:crypto"` so that commands which never draw randomness (list,
 * approve) do not load the crypto module at start-up.
 */
function cryptoRandomBytes(size: number): Uint8Array {
  const bytes = Buffer.alloc(size);
  // getRandomValues fills at most 65 536 bytes per call.
  for (let at = 0; at < size; at += 65_536) globalThis.crypto.getRandomValues(bytes.subarray(at, at + 65_536));
  return bytes;
}

/** Defaults: the real clock, Node's CSPRNG, and the state dir SPEC §2 resolves. */
export function createStoreContext(options: StoreContextOptions = {}): StoreContext {
  const env = options.env ?? process.env;
  return {
    paths: resolveStatePaths({ ...options, env }),
    now: options.now ?? Date.now,
    random: options.random ?? cryptoRandomBytes,
    env,
  };
}
