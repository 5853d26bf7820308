import fs from "node:fs";
import path from "node:path";
import { MoltbotError, isMoltbotError } from "../errors.js";
import {
  DOCTOR_HINT,
  FILE_MODE,
  ensureDir,
  readStoreFile,
  serializeStore,
  storeIoError,
  type StoreFile,
} from "./file-store.js";

/**
 * A lock whose directory has not been touched for this long belongs to a dead process and is
 * taken over. Holders refresh it every LOCK_UPDATE_MS, so a live lock never looks stale.
 * Same defaults as proper-lockfile, which the gateway uses.
 */
export const LOCK_STALE_MS = 10_000;
export const LOCK_UPDATE_MS = 2_000;
/** How long a command waits for a busy lock before failing with exit 3 (MOLTBOT_LOCK_TIMEOUT_MS). */
export const DEFAULT_LOCK_TIMEOUT_MS = 15_000;

export function lockTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MOLTBOT_LOCK_TIMEOUT_MS;
  const value = raw === undefined || raw === "" ? Number.NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : DEFAULT_LOCK_TIMEOUT_MS;
}

/*
 * proper-lockfile takes a stale lock over with stat-then-rmdir, which is not atomic: two processes
 * that both saw the same dead lock can end up with the second removing the lock the first just
 * made, and both writing (found by test/faults/crash.test.ts). The lock directories stay exactly
 * the gateway's; this process only refuses to remove a lock directory that is not the one it means:
 * - it remembers which directory it created (inode + birth time: ext4 reuses an inode at once), and
 *   never removes a different one in its place (release, exit cleanup, a failed acquisition);
 * - before removing someone else's lock as stale, it checks again that it still is stale;
 * - before every write it checks that its lock is still its own (HeldLock.compromised).
 */
const ownLocks = new Map<string, string>();

function lockIdentity(dir: string): string | undefined {
  try {
    const stat = fs.statSync(dir);
    return `${stat.dev}:${stat.ino}:${stat.birthtimeMs}`;
  } catch {
    return undefined;
  }
}

/** Ours and still there: the directory this process created, not one made in its place since. */
function isOwnLock(dir: string): boolean {
  const identity = ownLocks.get(dir);
  return identity !== undefined && lockIdentity(dir) === identity;
}

/** Whether removing `dir` now removes what the caller means: our own lock, or a lock that is still stale. */
function mayRemove(dir: string): boolean {
  if (ownLocks.has(dir)) return isOwnLock(dir);
  try {
    return fs.statSync(dir).mtimeMs < Date.now() - LOCK_STALE_MS;
  } catch {
    return false;
  }
}

type Callback = (error: NodeJS.ErrnoException | null) => void;

// The lock directory is created 0700 like every other directory of the store. node:fs is the
// prototype rather than spread: a spread evaluates fs's lazy getters (fs.promises, streams), which
// would load those modules on every start-up, read-only commands included.
const lockFs = Object.create(fs, {
  mkdir: {
    value: (dir: string, callback: Callback) =>
      fs.mkdir(dir, { mode: 0o700 }, (error) => {
        const identity = error ? undefined : lockIdentity(dir);
        if (identity !== undefined) ownLocks.set(dir, identity);
        callback(error);
      }),
  },
  rmdir: {
    // Not removing a directory that is not the one meant is reported as done: the lock the caller
    // wanted gone is gone; the one there now belongs to another process.
    value: (dir: string, callback: Callback) => {
      // Check and remove back to back, without a trip through the thread pool in between: the
      // smaller the gap, the rarer a lock made in the meantime is removed by mistake.
      let error: NodeJS.ErrnoException | null = null;
      try {
        if (mayRemove(dir)) fs.rmdirSync(dir);
      } catch (caught) {
        error = caught as NodeJS.ErrnoException;
      }
      ownLocks.delete(dir);
      process.nextTick(callback, error);
    },
  },
  rmdirSync: {
    value: (dir: string) => {
      if (mayRemove(dir)) fs.rmdirSync(dir);
      ownLocks.delete(dir);
    },
  },
}) as typeof fs;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface HeldLock {
  release: () => Promise<void>;
  compromised: () => Error | undefined;
}

/**
 * Take `<file>.lock` (proper-lockfile's directory lock, shared with the gateway). Polls with a
 * short, jittered, growing interval so that a queue of writers does not sit idle, and gives up
 * with STORE_LOCKED at the deadline instead of hanging.
 */
export async function acquireLock(file: string, deadline: number): Promise<HeldLock> {
  const { default: lockfile } = await import("proper-lockfile");
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
          compromisedBy ??
          (isOwnLock(path.resolve(`${file}.lock`)) ? undefined : new Error("another process took it over")),
      };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOENT: the directory we had just made was removed by a process taking over a stale lock.
      const busy = code === "ELOCKED" || (code === "ENOENT" && fs.existsSync(path.dirname(file)));
      if (!busy) throw storeIoError(error, `${file}.lock`, "creating");
      if (Date.now() >= deadline) {
        throw new MoltbotError(
          "STORE_LOCKED",
          `${file} is locked by another moltbot or gateway process (${file}.lock). Try again; if no other process is running, ${DOCTOR_HINT.charAt(0).toLowerCase()}${DOCTOR_HINT.slice(1)}`,
        );
      }
      await sleep(Math.min(interval, Math.max(1, deadline - Date.now())) * (0.5 + Math.random()));
      interval = Math.min(interval * 1.5, 50);
    }
  }
}

async function writeStoreFile(file: string, state: unknown, lock: HeldLock): Promise<void> {
  const compromised = lock.compromised();
  if (compromised) {
    throw new MoltbotError(
      "STORE_LOCKED",
      `Lost the lock on ${file} (${compromised.message}); nothing was written. Try again. ${DOCTOR_HINT}`,
    );
  }
  const { default: writeFileAtomic } = await import("write-file-atomic");
  try {
    // Written to a temp file, fsynced, then renamed over the old one: readers never see half a file.
    await writeFileAtomic(file, serializeStore(state), { mode: FILE_MODE, fsync: true });
  } catch (error) {
    throw storeIoError(error, file, "writing");
  }
}

type States<T extends readonly unknown[]> = { [K in keyof T]: T[K] | undefined };
type Files<T extends readonly unknown[]> = { [K in keyof T]: StoreFile<T[K]> };

/**
 * The one read-modify-write of the store. Locks every file in the order given (callers pass
 * pending before approved: one fixed order, so two commands never deadlock), reads and validates
 * them, lets the pure `mutate` decide, then writes the files it changed in `writeOrder`
 * (approved before pending, so a crash in between never loses an approval), and unlocks.
 */
export async function updateStore<T extends readonly unknown[], R>(
  files: Files<T>,
  mutate: (states: T) => { states: States<T>; result: R },
  options: { writeOrder?: readonly number[] } = {},
): Promise<R> {
  const deadline = Date.now() + lockTimeoutMs();
  for (;;) {
    const held: HeldLock[] = [];
    try {
      for (const file of files) {
        ensureDir(path.dirname(file.path));
        held.push(await acquireLock(file.path, deadline));
      }
      const current = files.map((file) => readStoreFile(file)) as unknown as T;
      const { states, result } = mutate(current);
      // A lock lost before anything was written (see lockFs): start over rather than fail.
      if (held.some((lock) => lock.compromised()) && Date.now() < deadline) continue;
      const order = options.writeOrder ?? files.map((_, index) => index);
      for (const index of order) {
        const next = states[index];
        if (next !== undefined) await writeStoreFile(files[index]!.path, next, held[index]!);
      }
      // A stale-lock takeover cannot be made atomic (proper-lockfile checks, then removes), so a
      // waiter may, very rarely, remove our lock while we write and write over us. Only a change
      // whose locks were still ours after its writes is reported as done: an acknowledged change
      // is never one that another writer could have overwritten.
      const lost = held.find((lock) => lock.compromised());
      if (lost) {
        throw new MoltbotError(
          "STORE_LOCKED",
          `Another process took over the lock on ${files[held.indexOf(lost)]!.path} while this change was being written (${lost.compromised()!.message}); it may not have been saved. Run the command again. ${DOCTOR_HINT}`,
        );
      }
      return result;
    } catch (error) {
      if (isMoltbotError(error)) throw error;
      throw storeIoError(error, files[0]?.path ?? "store", "writing");
    } finally {
      for (const lock of held.reverse()) await lock.release();
    }
  }
}
