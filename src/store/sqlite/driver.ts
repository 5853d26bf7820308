import { MoltbotError } from "../../errors.js";

/*
 * Node's built-in SQLite (`node:sqlite`), loaded only when a command meets an OpenClaw SQLite
 * state: a JSON state never pays for it, and on a Node without it (Node 20, this project's floor)
 * the command fails with one line saying which Node it needs, never a crash.
 *
 * Loaded through process.getBuiltinModule rather than import(): the same call works in the CLI's
 * CommonJS bundle, the library's ES module and the sources under test, and on a Node that lacks the
 * module it answers `undefined` instead of throwing.
 */

export type SqlValue = string | number | bigint | null | Uint8Array;
export type Row = Record<string, SqlValue>;

/** The part of node:sqlite moltbot uses (@types/node 20, the project's floor, does not declare it). */
export interface StatementSync {
  all(...params: SqlValue[]): Row[];
  get(...params: SqlValue[]): Row | undefined;
  run(...params: SqlValue[]): { changes: number | bigint; lastInsertRowid: number | bigint };
}

export interface DatabaseSync {
  exec(sql: string): void;
  prepare(sql: string): StatementSync;
  close(): void;
  readonly isOpen: boolean;
}

export interface SqliteModule {
  DatabaseSync: new (location: string | URL, options?: { readOnly?: boolean }) => DatabaseSync;
}

/** What OpenClaw itself requires (its engines field), and what moltbot names when Node falls short. */
export const NODE_REQUIREMENT = "Node.js 24.16 or newer";

/**
 * OpenClaw refuses SQLite builds with the upstream WAL-reset bug (a checkpoint racing another
 * connection's write can corrupt the database): moltbot writes beside a running gateway, so it
 * applies the same rule (`isSqliteWalResetSafeVersion` in openclaw 2026.9.6).
 */
export function isWalResetSafe(version: string): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version.trim());
  if (!match) return false;
  const [major, minor, patch] = match.slice(1).map(Number) as [number, number, number];
  return (
    major > 3 ||
    (major === 3 &&
      (minor > 51 || (minor === 51 && patch >= 3) || (minor === 50 && patch >= 7) || (minor === 44 && patch >= 6)))
  );
}

let loaded: SqliteModule | undefined;

/** The one line a command on a SQLite state prints when this Node cannot serve it. */
function unsupported(database: string, why: string): MoltbotError {
  return new MoltbotError(
    "STORE_UNSUPPORTED",
    `This state keeps pairing in OpenClaw's SQLite database (${database}), which needs ${NODE_REQUIREMENT} (${why}). Run moltbot with the Node that runs OpenClaw.`,
  );
}

/**
 * node:sqlite, or STORE_UNSUPPORTED naming the Node version needed. `database` is only for the
 * message. Node 22's SQLite warns that it is experimental on first load: with --json, stderr must
 * stay clean, so that one warning is held back.
 */
export function loadSqlite(database: string): SqliteModule {
  if (loaded) return loaded;
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  // Restored as it was (the very function object), so it is taken unbound on purpose.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const emitWarning = process.emitWarning;
  let sqlite: SqliteModule | undefined;
  try {
    process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
      const text = typeof warning === "string" ? warning : warning.message;
      if (/SQLite/i.test(text)) return;
      (emitWarning as (...args: unknown[]) => void).apply(process, [warning, ...rest]);
    };
    sqlite = getBuiltin?.call(process, "node:sqlite") as SqliteModule | undefined;
  } catch {
    sqlite = undefined;
  } finally {
    process.emitWarning = emitWarning;
  }
  if (!sqlite?.DatabaseSync) throw unsupported(database, `this is Node ${process.version}, without node:sqlite`);
  const version = process.versions.sqlite ?? sqliteVersion(sqlite);
  if (!isWalResetSafe(version)) {
    throw unsupported(
      database,
      `Node ${process.version} embeds SQLite ${version}, which has the WAL-reset bug that can corrupt a database written beside a running gateway`,
    );
  }
  loaded = sqlite;
  return sqlite;
}

function sqliteVersion(sqlite: SqliteModule): string {
  const db = new sqlite.DatabaseSync(":memory:");
  try {
    const version = db.prepare("SELECT sqlite_version() AS version").get()?.version;
    return typeof version === "string" ? version : "unknown";
  } finally {
    db.close();
  }
}

/** SQLite's primary result code of a node:sqlite error (`errcode` & 0xff), if it is one. */
export function sqliteCode(error: unknown): number | undefined {
  const code = (error as { errcode?: unknown } | undefined)?.errcode;
  return typeof code === "number" ? code & 0xff : undefined;
}

export const SQLITE_BUSY = 5;
export const SQLITE_LOCKED = 6;
export const SQLITE_READONLY = 8;
export const SQLITE_CORRUPT = 11;
export const SQLITE_FULL = 13;
export const SQLITE_CANTOPEN = 14;
export const SQLITE_NOTADB = 26;
export const SQLITE_PERM = 3;
export const SQLITE_AUTH = 23;

export const isBusy = (error: unknown): boolean => {
  const code = sqliteCode(error);
  return code === SQLITE_BUSY || code === SQLITE_LOCKED;
};
