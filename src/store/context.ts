import fs from "node:fs";
import type { RandomBytes } from "../core/random.js";
import { MoltbotError } from "../errors.js";
import type { StoreBackend } from "./backend.js";
import { createJsonBackend } from "./json/backend.js";
import { lockTimeoutMs } from "./json/lock.js";
import { routeOwnedRecords } from "./owned.js";
import { resolveStatePaths, type StatePathOptions, type StatePaths } from "./paths.js";
import { createSqliteBackend, databasePath } from "./sqlite/backend.js";

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
 * Which backend serves the state dir: `MOLTBOT_STORE` (`json`, `sqlite`, or `auto`, the default),
 * else OpenClaw's SQLite store when `<stateDir>/state/openclaw.sqlite` exists (it is where the
 * gateway keeps pairing from July 2026 on, and its importer removes the JSON files), else the
 * JSON files. The SQLite backend loads node:sqlite only when it first reads or writes.
 */
export function selectBackend(
  paths: StatePaths,
  env: NodeJS.ProcessEnv,
  options: { now: () => number; lockTimeoutMs: number },
): StoreBackend {
  const wanted = (env.MOLTBOT_STORE ?? "").trim().toLowerCase();
  if (wanted !== "" && wanted !== "auto" && wanted !== "json" && wanted !== "sqlite") {
    throw new MoltbotError(
      "USAGE",
      `MOLTBOT_STORE must be json, sqlite or auto (got "${(env.MOLTBOT_STORE ?? "").slice(0, 20)}").`,
    );
  }
  let sqlite = wanted === "sqlite";
  if (wanted === "" || wanted === "auto") {
    try {
      // lstat: a link there is the SQLite backend's to refuse, not a reason to fall back to JSON.
      fs.lstatSync(databasePath(paths));
      sqlite = true;
    } catch {
      sqlite = false;
    }
  }
  return sqlite ? createSqliteBackend(paths, { ...options, env }) : createJsonBackend(paths);
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
  const now = options.now ?? Date.now;
  const timeout = lockTimeoutMs(env);
  return {
    paths,
    now,
    random: options.random ?? cryptoRandomBytes,
    env,
    lockTimeoutMs: timeout,
    get backend() {
      // moltbot's own records go to the JSON backend whatever serves the gateway's (store/owned.ts).
      backend ??= routeOwnedRecords(options.backend ?? selectBackend(paths, env, { now, lockTimeoutMs: timeout }), () =>
        createJsonBackend(paths),
      );
      return backend;
    },
  };
}
