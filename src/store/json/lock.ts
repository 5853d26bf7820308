import fs from "node:fs";
import { MoltbotError } from "../../errors.js";
import { DOCTOR_HINT, errnoOf, storeIoError } from "./errors.js";

/*
 * `<file>.lock`, shared with every gateway generation:
 * - the January gateway (and moltbot) use proper-lockfile: the lock is a DIRECTORY whose mtime its
 *   holder refreshes every 15 s, stale once 30 s old (the gateway's own parameters, used here both
 *   to decide staleness and to refresh our own locks, so a live gateway lock is never taken over);
 * - OpenClaw's JSON generation (February–July 2026) creates a regular FILE holding
 *   `{"pid":…,"createdAt":"<ISO>"}`, stale when its process is gone or it is over 30 s old. It waits
 *   for a directory lock while its mtime is fresh, so moltbot keeps locking with a directory.
 * Either form found at `<file>.lock` is honoured; only a stale one is ever removed.
 */

export const LOCK_STALE_MS = 30_000;
export const LOCK_UPDATE_MS = 15_000;
/**
 * How long a command waits for a busy lock before failing with exit 3 (MOLTBOT_LOCK_TIMEOUT_MS):
 * longer than the stale time, so a lock left by a dead process is always taken over in time.
 */
export const DEFAULT_LOCK_TIMEOUT_MS = 40_000;

export function lockTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MOLTBOT_LOCK_TIMEOUT_MS;
  const value = raw === undefined || raw === "" ? Number.NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : DEFAULT_LOCK_TIMEOUT_MS;
}

/** Whether the process `pid` exists; EPERM means it does (another user's), so it is never stolen from. */
function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) === "EPERM";
  }
}

/** An OpenClaw lock file: stale when its process is gone or it is older than the stale time. */
function fileLockIsStale(lockPath: string, stat: fs.Stats, now: number): boolean {
  let payload: { pid?: unknown; createdAt?: unknown } | undefined;
  try {
    payload = JSON.parse(fs.readFileSync(lockPath, "utf8")) as typeof payload;
  } catch {
    payload = undefined;
  }
  if (typeof payload?.pid === "number" && !isPidAlive(payload.pid)) return true;
  if (typeof payload?.createdAt === "string") {
    const createdAt = Date.parse(payload.createdAt);
    if (!Number.isFinite(createdAt) || now - createdAt > LOCK_STALE_MS) return true;
  }
  // Being written (empty) or not ours to parse: its age decides, as OpenClaw does.
  return now - stat.mtimeMs > LOCK_STALE_MS;
}

/**
 * Whether the lock at `lockPath` is stale. A directory lock dated further in the future than the
 * stale time cannot have been refreshed by a live process on this machine (clock steps, restored
 * backups): it is stale too, or it would block every write forever.
 */
export function lockIsStale(lockPath: string, stat: fs.Stats, now = Date.now()): boolean {
  if (stat.isFile()) return fileLockIsStale(lockPath, stat, now);
  return stat.mtimeMs < now - LOCK_STALE_MS || stat.mtimeMs > now + LOCK_STALE_MS;
}

/*
 * proper-lockfile takes a stale lock over with stat-then-rmdir, which is not atomic: two processes
 * that both saw the same dead lock can end up with the second removing the lock the first just
 * made, and both writing (found by test/faults/crash.test.ts). This process therefore refuses to
 * remove a lock that is not the one it means:
 * - it remembers which directory it created (inode + birth time: ext4 reuses an inode at once), and
 *   never removes a different one in its place (release, exit cleanup, a failed acquisition);
 * - before removing someone else's lock as stale, it checks again that it still is stale;
 * - before every write it checks that its lock is still its own (HeldLock.compromised).
 * It never follows a link at the lock's path, and reports the OpenClaw file form to proper-lockfile
 * as fresh or stale by that form's own rule.
 */
const ownLocks = new Map<string, string>();

function lockIdentity(path: string): string | undefined {
  try {
    const stat = fs.lstatSync(path);
    return `${stat.dev}:${stat.ino}:${stat.birthtimeMs}`;
  } catch {
    return undefined;
  }
}

/** Ours and still there: the directory this process created, not one made in its place since. */
function isOwnLock(path: string): boolean {
  const identity = ownLocks.get(path);
  return identity !== undefined && lockIdentity(path) === identity;
}

/** Whether removing `path` now removes what the caller means: our own lock, or a lock that is still stale. */
function mayRemove(path: string): boolean {
  if (ownLocks.has(path)) return isOwnLock(path);
  try {
    return lockIsStale(path, fs.lstatSync(path));
  } catch {
    return false;
  }
}

function removeLockPath(path: string): void {
  if (fs.lstatSync(path).isDirectory()) fs.rmdirSync(path);
  else fs.unlinkSync(path);
}

/** Run a synchronous fs call; its error, or null. */
function attempt(call: () => unknown): NodeJS.ErrnoException | null {
  try {
    call();
    return null;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
}

type Callback = (error: NodeJS.ErrnoException | null) => void;
type StatCallback = (error: NodeJS.ErrnoException | null, stat?: fs.Stats) => void;

/** A Stats whose mtime says "stale" (epoch) or "fresh" (now) for proper-lockfile's own check. */
function datedStat(stat: fs.Stats, stale: boolean): fs.Stats {
  const mtime = new Date(stale ? 0 : Date.now());
  return Object.assign(Object.create(stat) as fs.Stats, { mtime, mtimeMs: mtime.getTime() });
}

// The lock directory is created 0700 like every other directory of the store. node:fs is the
// prototype rather than spread: a spread evaluates fs's lazy getters (fs.promises, streams), which
// would load those modules on every start-up, read-only commands included. Each call is made
// synchronously and answered through proper-lockfile's callback (as its own lockSync does): a lock
// is a few system calls of microseconds, where a trip through libuv's thread pool per call cost an
// event-loop wake-up each (an approve takes four locks; ~0.7 ms of its run).
const lockFs = Object.create(fs, {
  mkdir: {
    value: (dir: string, callback: Callback) => {
      const error = attempt(() => fs.mkdirSync(dir, { mode: 0o700 }));
      const identity = error ? undefined : lockIdentity(dir);
      if (identity !== undefined) ownLocks.set(dir, identity);
      callback(error);
    },
  },
  stat: {
    // lstat, never stat: a link planted at the lock's path is not followed. Our own lock keeps its
    // real mtime (proper-lockfile compares it to detect a takeover); another's is dated by our rules.
    value: (path: string, callback: StatCallback) => {
      let stat: fs.Stats | undefined;
      const error = attempt(() => (stat = fs.lstatSync(path)));
      if (error || ownLocks.has(path)) return callback(error, stat);
      callback(null, datedStat(stat!, lockIsStale(path, stat!)));
    },
  },
  utimes: {
    value: (path: string, atime: Date, mtime: Date, callback: Callback) =>
      callback(attempt(() => fs.lutimesSync(path, atime, mtime))),
  },
  rmdir: {
    // Not removing a lock that is not the one meant is reported as done: the lock the caller
    // wanted gone is gone; the one there now belongs to another process.
    value: (path: string, callback: Callback) => {
      // Check and remove back to back, without a trip through the thread pool in between: the
      // smaller the gap, the rarer a lock made in the meantime is removed by mistake.
      let error: NodeJS.ErrnoException | null = null;
      try {
        if (mayRemove(path)) removeLockPath(path);
      } catch (caught) {
        error = caught as NodeJS.ErrnoException;
      }
      ownLocks.delete(path);
      process.nextTick(callback, error);
    },
  },
  rmdirSync: {
    value: (path: string) => {
      if (mayRemove(path)) removeLockPath(path);
      ownLocks.delete(path);
    },
  },
}) as typeof fs;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface HeldLock {
  release: () => Promise<void>;
  compromised: () => Error | undefined;
}

/** "refreshed 3 s ago" or "dated 2 h in the future", for the message of a busy lock. */
function describeBusyLock(lockPath: string): string {
  try {
    const stat = fs.lstatSync(lockPath);
    if (stat.isFile()) return "an OpenClaw lock file whose process is running";
    const age = Math.round((Date.now() - stat.mtimeMs) / 1000);
    return `its holder refreshed it ${Math.max(0, age)} s ago, so it is alive`;
  } catch {
    return "it was released meanwhile";
  }
}

/**
 * Take `<file>.lock` (proper-lockfile's directory lock with the gateway's parameters). Polls with a
 * short, jittered, growing interval so that a queue of writers does not sit idle, and gives up
 * with STORE_LOCKED at the deadline instead of hanging.
 */
export async function acquireLock(file: string, deadline: number): Promise<HeldLock> {
  const { default: lockfile } = await import("proper-lockfile");
  const lockPath = `${file}.lock`;
  let compromisedBy: Error | undefined;
  let interval = 2;
  for (;;) {
    try {
      const release = await lockfile.lock(file, {
        realpath: false,
        stale: LOCK_STALE_MS,
        update: LOCK_UPDATE_MS,
        retries: 0,
        fs: lockFs,
        // The default throws from a timer and kills the process; record it and refuse to write instead.
        onCompromised: (error) => {
          compromisedBy = error;
        },
      });
      return {
        release: async () => {
          try {
            await release();
          } catch {
            // Already released or taken over as stale: nothing of ours is left to clean up.
          }
        },
        compromised: () =>
          compromisedBy ?? (isOwnLock(lockPath) ? undefined : new Error("another process took it over")),
      };
    } catch (error) {
      const code = errnoOf(error);
      // ENOENT: the directory we had just made was removed by a process taking over a stale lock.
      const busy = code === "ELOCKED" || (code === "ENOENT" && fs.existsSync(lockPath.slice(0, -"/x.lock".length)));
      if (!busy) throw storeIoError(error, lockPath, "creating");
      if (Date.now() >= deadline) {
        throw new MoltbotError(
          "STORE_LOCKED",
          `${file} is locked by another moltbot or gateway process (${lockPath}: ${describeBusyLock(lockPath)}). Try again; if no other process is running, ${DOCTOR_HINT.charAt(0).toLowerCase()}${DOCTOR_HINT.slice(1)}`,
        );
      }
      await sleep(Math.min(interval, Math.max(1, deadline - Date.now())) * (0.5 + Math.random()));
      interval = Math.min(interval * 1.5, 50);
    }
  }
}
