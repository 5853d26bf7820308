import fs from "node:fs";
import path from "node:path";
import { MoltbotError } from "../../errors.js";
import { errnoOf } from "../json/errors.js";
import { isBusy, type DatabaseSync, type SqliteModule } from "./driver.js";

/*
 * OpenClaw's writers serialise on a "coordinator": an exclusive SQLite transaction on a separate,
 * empty lock database, taken before `BEGIN IMMEDIATE` on the state database (openclaw 2026.9.6,
 * dist/sqlite-coordinator-*.mjs and dist/sqlite-source-handle-*.mjs). moltbot takes the same lock
 * file the same way, so a moltbot write and a gateway write never interleave, and never in the
 * opposite order (each side waiting on the other until it times out).
 *
 *   /tmp/openclaw-state-locks-<uid>/<family>.<first 8 hex of sha256(realpath of the db)>.lock.sqlite
 *
 * The directory is a HARD-CODED /tmp (realpath'd), not os.tmpdir(): OpenClaw ignores TMPDIR, and a
 * lock in another directory would not exclude anything. It must be a real directory owned by us,
 * mode 0700, as OpenClaw requires. Lock files are never deleted: another process may be waiting on
 * that very file, and a new one would let two writers in.
 */

export type CoordinatorFamily = "state-lifecycle" | "state-handles";

/** The database path as OpenClaw identifies it: resolved, links followed (else via its nearest existing ancestor). */
export function canonicalPath(target: string): string {
  const resolved = path.resolve(target);
  try {
    return fs.realpathSync.native(resolved);
  } catch {
    const parent = path.dirname(resolved);
    return parent === resolved ? resolved : path.join(canonicalPath(parent), path.basename(resolved));
  }
}

export function coordinatorDirectory(uid = process.getuid?.()): string {
  return path.join(canonicalPath("/tmp"), uid === undefined ? "openclaw-state-locks" : `openclaw-state-locks-${uid}`);
}

export async function coordinatorPath(
  family: CoordinatorFamily,
  databasePath: string,
  uid = process.getuid?.(),
): Promise<string> {
  // node:crypto only on the write path (its load is a few ms of every start otherwise).
  const { createHash } = await import("node:crypto");
  const hash = createHash("sha256").update(canonicalPath(databasePath)).digest("hex").slice(0, 8);
  return path.join(coordinatorDirectory(uid), `${family}.${hash}.lock.sqlite`);
}

function notPrivate(dir: string, why: string): MoltbotError {
  return new MoltbotError(
    "STORE_PERMISSION",
    `The OpenClaw lock directory ${dir} ${why}, so its locks cannot be trusted; nothing was written. OpenClaw refuses it too: remove or fix it (it must be a directory of yours, mode 0700).`,
  );
}

/** OpenClaw's ensurePrivateSqliteCoordinatorDirectory: create 0700; refuse a link, a stranger's, or a shared one. */
export function ensurePrivateDirectory(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700, recursive: true });
  } catch (error) {
    if (errnoOf(error) !== "EEXIST") throw error;
  }
  let stat = fs.lstatSync(dir);
  if (stat.isSymbolicLink() || !stat.isDirectory()) throw notPrivate(dir, "is not a real directory");
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) throw notPrivate(dir, `belongs to uid ${stat.uid}, not to you`);
  if ((stat.mode & 0o7777) !== 0o700) {
    // On the directory itself, never through a link swapped in since the lstat.
    const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
    try {
      fs.fchmodSync(fd, 0o700);
    } finally {
      fs.closeSync(fd);
    }
    stat = fs.lstatSync(dir);
    if (stat.isSymbolicLink() || !stat.isDirectory() || (stat.mode & 0o077) !== 0) {
      throw notPrivate(dir, "can be used by other users");
    }
  }
}

/** Let other work in this process run between attempts (a library host keeps serving). */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Run `statement` (connection settings, then the BEGIN of a transaction: it may run again whole)
 * until it gets its lock or `deadline` passes: SQLite's busy handler waits in slices of at most
 * 250 ms, between which the event loop runs. Returns false on timeout; any other failure is thrown.
 */
export async function beginWithin(db: DatabaseSync, statement: string, deadline: number): Promise<boolean> {
  for (;;) {
    const slice = Math.max(0, Math.min(250, deadline - Date.now()));
    try {
      db.exec(`PRAGMA busy_timeout = ${slice}; ${statement}`);
      return true;
    } catch (error) {
      if (!isBusy(error)) throw error;
      if (Date.now() >= deadline) return false;
      await yieldToEventLoop();
    }
  }
}

export interface HeldCoordinator {
  readonly path: string;
  release(): void;
}

function held(db: DatabaseSync, lockPath: string): HeldCoordinator {
  return {
    path: lockPath,
    release() {
      if (!db.isOpen) return;
      try {
        db.exec("ROLLBACK");
      } catch {
        // Not in a transaction (it failed to begin): closing is all that is left.
      } finally {
        db.close();
      }
    },
  };
}

/**
 * Take the `state-lifecycle` lock exclusively, as OpenClaw's writers do
 * (`PRAGMA busy_timeout=…; PRAGMA journal_mode=MEMORY; BEGIN EXCLUSIVE;`), waiting until `deadline`.
 * Null on timeout.
 */
export async function acquireLifecycle(
  sqlite: SqliteModule,
  databasePath: string,
  deadline: number,
): Promise<HeldCoordinator | null> {
  const lockPath = await coordinatorPath("state-lifecycle", databasePath);
  ensurePrivateDirectory(path.dirname(lockPath));
  const db = new sqlite.DatabaseSync(lockPath);
  try {
    // Setting the journal mode waits for a holder too: it goes after the busy timeout, as OpenClaw's does.
    if (await beginWithin(db, "PRAGMA journal_mode = MEMORY; BEGIN EXCLUSIVE;", deadline)) return held(db, lockPath);
  } catch (error) {
    db.close();
    throw error;
  }
  db.close();
  return null;
}

/**
 * Hold `state-handles` shared for as long as the database is open, as every OpenClaw connection
 * does: OpenClaw's backup and restore take it exclusively, and no one may write while they run.
 * No waiting (busy 0, as OpenClaw): null when a backup or restore holds it.
 */
export async function acquireHandlesLease(sqlite: SqliteModule, databasePath: string): Promise<HeldCoordinator | null> {
  const lockPath = await coordinatorPath("state-handles", databasePath);
  ensurePrivateDirectory(path.dirname(lockPath));
  const db = new sqlite.DatabaseSync(lockPath);
  try {
    db.exec(
      "PRAGMA busy_timeout = 0; PRAGMA journal_mode = MEMORY; BEGIN; SELECT rootpage FROM sqlite_schema LIMIT 1;",
    );
    return held(db, lockPath);
  } catch (error) {
    db.close();
    if (isBusy(error)) return null;
    throw error;
  }
}
