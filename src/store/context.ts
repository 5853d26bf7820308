import type { RandomBytes } from "../core/random.js";
import type { StoreBackend } from "./backend.js";
import { createJsonBackend } from "./json/backend.js";
import { lockTimeoutMs } from "./json/lock.js";
import { routeOwnedRecords } from "./owned.js";
import { resolveStatePaths, type StatePathOptions, type StatePaths } from "./paths.js";

/** What every store operation needs: where the records are, the clock and randomness, the limits. */
export interface StoreContext {
  paths: StatePaths;
  now: () => number;
  random: RandomBytes;
  env: NodeJS.ProcessEnv;
  /** How long a change waits for a busy lock (MOLTBOT_LOCK_TIMEOUT_MS, default 40 s). */
  lockTimeoutMs: number;
  /**
   * Where the records live; chosen from the state dir's contents on first use. moltbot's own records
   * (`owner: "moltbot"`) always go to the JSON backend (store/owned.ts), whatever is chosen.
   */
  readonly backend: StoreBackend;
}

export interface StoreContextOptions extends StatePathOptions {
  now?: () => number;
  random?: RandomBytes;
  /** Tests (and other hosts) may bring their own backend, e.g. one in memory. */
  backend?: StoreBackend;
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

/**
 * Defaults: the state dir SPEC §2 resolves, the real clock, Node's CSPRNG.
 *
 * @example
 * const ctx = createStoreContext(); // ~/.clawdbot (or ~/.openclaw), real clock, crypto randomness
 * const ctx2 = createStoreContext({ stateDir: "/srv/gateway/state" });
 */
export function createStoreContext(options: StoreContextOptions = {}): StoreContext {
  const env = options.env ?? process.env;
  const paths = resolveStatePaths({ ...options, env });
  let backend: StoreBackend | undefined;
  return {
    paths,
    now: options.now ?? Date.now,
    random: options.random ?? cryptoRandomBytes,
    env,
    lockTimeoutMs: lockTimeoutMs(env),
    get backend() {
      backend ??= routeOwnedRecords(options.backend ?? createJsonBackend(paths), () => createJsonBackend(paths));
      return backend;
    },
  };
}
