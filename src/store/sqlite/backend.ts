import fs from "node:fs";
import path from "node:path";
import { resolveChannel } from "../../core/channels.js";
import { isMoltbotError, MoltbotError } from "../../errors.js";
import type { ReadOptions, Snapshot, StoreBackend, WriteSession } from "../backend.js";
import type { RecordKey, RecordKind } from "../catalogue.js";
import { DOCTOR_HINT, errnoOf } from "../json/errors.js";
import { symlinkRefusal, userName, writeRefusal } from "../json/owner.js";
import type { StatePaths } from "../paths.js";
import { describeSchemaProblem } from "../validation.js";
import { acquireHandlesLease, acquireLifecycle, beginWithin, type HeldCoordinator } from "./coordinator.js";
import {
  loadSqlite,
  sqliteCode,
  SQLITE_AUTH,
  SQLITE_CANTOPEN,
  SQLITE_CORRUPT,
  SQLITE_FULL,
  SQLITE_NOTADB,
  SQLITE_PERM,
  SQLITE_READONLY,
  isBusy,
  type DatabaseSync,
} from "./driver.js";
import {
  DEVICE_PAIRED_TABLE,
  DEVICE_PENDING_TABLE,
  accountKey,
  readAllowlist,
  readKeyed,
  readRequests,
  writeAllowlist,
  writeKeyed,
  writeRequests,
  type LoadedRecord,
} from "./rows.js";
import { assertNotExternallySupervised, assertWritable, tableExists, type PairingTable } from "./schema.js";

/*
 * The backend for OpenClaw's SQLite state (July 2026 on): every pairing record lives in
 * `<stateDir>/state/openclaw.sqlite`, beside a gateway that may be writing it right now.
 *
 * - Reads use a read-only connection that changes nothing on disk. When the database has no
 *   -wal/-shm/-journal beside it (no connection open, everything checkpointed), it is opened
 *   `immutable` so SQLite does not create those files either, and the read is kept only if the file
 *   is unchanged afterwards (OpenClaw's own snapshot read does the same); otherwise a normal
 *   read-only connection reads through the gateway's WAL.
 * - Writes take OpenClaw's coordinator lock first, then `BEGIN IMMEDIATE`, then read, decide and
 *   write the rows that changed, and commit: one short transaction with nothing inside that waits.
 *   moltbot never creates the database and never changes its schema.
 */

export const databasePath = (paths: StatePaths): string => path.join(paths.stateDir, "state", "openclaw.sqlite");

const SIDECARS = ["-wal", "-shm", "-journal"] as const;

/** A path as an SQLite URI (every byte SQLite would read as syntax percent-encoded). */
const fileUri = (file: string, query: string): string =>
  `file://${file.split("/").map(encodeURIComponent).join("/")}?${query}`;

function lstatOrUndefined(target: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(target);
  } catch (error) {
    if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR") return undefined;
    throw ioError(error, target);
  }
}

/** Map a node:sqlite or fs failure to the store error the operator sees. */
export function ioError(error: unknown, file: string): MoltbotError {
  if (isMoltbotError(error)) return error;
  const code = sqliteCode(error);
  const errno = errnoOf(error);
  const reason = error instanceof Error ? error.message : String(error);
  const options = { cause: error };
  if (code === SQLITE_CORRUPT || code === SQLITE_NOTADB) {
    return new MoltbotError(
      "STORE_CORRUPT",
      `${file} cannot be read as an SQLite database (${reason}); moltbot left it untouched. Run "openclaw doctor", or restore OpenClaw's backup. ${DOCTOR_HINT}`,
      options,
    );
  }
  if (
    code === SQLITE_READONLY ||
    code === SQLITE_PERM ||
    code === SQLITE_AUTH ||
    errno === "EACCES" ||
    errno === "EPERM"
  ) {
    return new MoltbotError(
      "STORE_PERMISSION",
      `Permission denied using ${file} (${reason}). Check the owner and mode of it and of its directory (a database touched by "sudo" belongs to root). ${DOCTOR_HINT}`,
      options,
    );
  }
  if (isBusy(error)) {
    return new MoltbotError(
      "STORE_LOCKED",
      `${file} stayed locked by another process (${reason}); nothing was written. Try again.`,
      options,
    );
  }
  if (code === SQLITE_FULL || errno === "ENOSPC") {
    return new MoltbotError("STORE_IO", `Could not write ${file}: the disk is full. Nothing was changed.`, options);
  }
  if (code === SQLITE_CANTOPEN) {
    return new MoltbotError("STORE_IO", `Could not open ${file} (${reason}). ${DOCTOR_HINT}`, options);
  }
  return new MoltbotError("STORE_IO", `Could not use ${file} (${reason}). ${DOCTOR_HINT}`, options);
}

/** Which table (and which rows) a record is; legacy nodes and the January allowlist have none. */
function tableOf(record: RecordKind<unknown>, key: RecordKey): PairingTable | undefined {
  switch (record.name) {
    case "dm-pending":
      return "channel_pairing_requests";
    case "dm-allow":
      // The unscoped January allowlist (`<channel>-allowFrom.json`): OpenClaw's importer moved it into
      // an account; SQLite has no such list, so it reads empty and is never written.
      return key.account === undefined ? undefined : "channel_pairing_allow_entries";
    case "device-pending":
      return "device_pairing_pending";
    case "device-paired":
      return "device_pairing_paired";
    default:
      return undefined;
  }
}

const channelKeyOf = (key: RecordKey): string => {
  if (!key.channel) throw new Error("a DM record needs a channel");
  return key.channel.name;
};

function loadRecord(
  db: DatabaseSync,
  file: string,
  record: RecordKind<unknown>,
  key: RecordKey,
): LoadedRecord<unknown> {
  const table = tableOf(record, key);
  if (table === undefined || !tableExists(db, table)) return { state: record.empty(), exists: false, rows: new Map() };
  switch (table) {
    case "channel_pairing_requests":
      return readRequests(db, channelKeyOf(key));
    case "channel_pairing_allow_entries":
      return readAllowlist(db, channelKeyOf(key), accountKey(key.account));
    case "device_pairing_pending":
      return readKeyed(db, DEVICE_PENDING_TABLE, file);
    case "device_pairing_paired":
      return readKeyed(db, DEVICE_PAIRED_TABLE, file);
  }
}

/** The rows as the record's state, checked with the same schema as the JSON files. */
function validated<S>(
  record: RecordKind<S>,
  key: RecordKey,
  file: string,
  loaded: LoadedRecord<unknown>,
  listing = false,
) {
  if (!loaded.exists) return loaded as LoadedRecord<S>;
  const schema = listing ? (record.listingSchema ?? record.schema) : record.schema;
  const check = schema.safeParse(loaded.state);
  if (!check.success) {
    throw new MoltbotError(
      "STORE_CORRUPT",
      `${file}: the rows of ${record.label(key)} do not have the shape moltbot knows (${describeSchemaProblem(check.error)}); nothing was changed. ${DOCTOR_HINT}`,
    );
  }
  return { ...loaded, state: check.data };
}

/** The state dir's layout as far as a read may trust it: state/ and the database are real, not links. */
function inspectLayout(file: string): fs.Stats | undefined {
  const dir = path.dirname(file);
  const dirStat = lstatOrUndefined(dir);
  if (dirStat === undefined) return undefined;
  if (dirStat.isSymbolicLink()) throw symlinkRefusal(dir);
  if (!dirStat.isDirectory()) {
    throw new MoltbotError("STORE_CORRUPT", `${dir} is not a directory, so it cannot hold the store. ${DOCTOR_HINT}`);
  }
  const stat = lstatOrUndefined(file);
  if (stat === undefined) return undefined;
  if (stat.isSymbolicLink()) throw symlinkRefusal(file);
  if (!stat.isFile()) {
    throw new MoltbotError(
      "STORE_CORRUPT",
      `${file} is not a regular file, so it cannot be the database. ${DOCTOR_HINT}`,
    );
  }
  return stat;
}

const READ_PRAGMAS = "PRAGMA query_only = ON; PRAGMA trusted_schema = OFF;";

const sameFile = (a: fs.Stats, b: fs.Stats): boolean =>
  a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;

const hasSidecars = (file: string): boolean =>
  SIDECARS.some((suffix) => lstatOrUndefined(`${file}${suffix}`) !== undefined);

/**
 * Run `read` on a read-only connection; undefined when there is no database. Nothing is created or
 * changed on disk (see the comment at the top), and `read` may run twice.
 */
export function withReadConnection<T>(
  file: string,
  busyTimeoutMs: number,
  read: (db: DatabaseSync) => T,
): T | undefined {
  const before = inspectLayout(file);
  if (before === undefined) return undefined;
  const sqlite = loadSqlite(file);
  // An immutable read is only good while nothing else has the database open or changes it.
  const undisturbed = () => {
    const after = lstatOrUndefined(file);
    return after !== undefined && sameFile(before, after) && !hasSidecars(file);
  };
  const run = (location: string, immutable: boolean): { value: T } | undefined => {
    let db: DatabaseSync | undefined;
    try {
      db = new sqlite.DatabaseSync(location, { readOnly: true });
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}; ${READ_PRAGMAS}`);
      db.exec("BEGIN");
      const value = read(db);
      db.exec("COMMIT");
      return !immutable || undisturbed() ? { value } : undefined;
    } catch (error) {
      // A writer that started meanwhile can make an immutable read fail half-way: read again, properly.
      if (immutable && !undisturbed()) return undefined;
      throw ioError(error, file);
    } finally {
      db?.close();
    }
  };
  if (!hasSidecars(file)) {
    const quiet = run(fileUri(file, "mode=ro&immutable=1"), true);
    if (quiet) return quiet.value;
  }
  return run(file, false)!.value;
}

interface Opened {
  record: RecordKind<unknown>;
  key: RecordKey;
  loaded: LoadedRecord<unknown>;
}

const openedKey = (record: RecordKind<unknown>, key: RecordKey) =>
  `${record.name}\u0000${key.channel?.name ?? ""}\u0000${key.account ?? "\u0001"}`;

/** One write: coordinator lock, then BEGIN IMMEDIATE; rows read, diffed and written; COMMIT. */
class SqliteSession implements WriteSession {
  private db: DatabaseSync | undefined;
  private readonly locks: HeldCoordinator[] = [];
  private readonly opened = new Map<string, Opened>();
  private started: Promise<DatabaseSync> | undefined;
  private committed = false;
  private readonly began = Date.now();

  constructor(
    private readonly paths: StatePaths,
    private readonly file: string,
    private readonly deadline: number,
    private readonly options: SqliteBackendOptions,
  ) {}

  /** The ownership rule for the directories the write goes through, and a real database file of ours. */
  private checkWritable(): void {
    const { stateDir } = this.paths;
    const dir = path.dirname(this.file);
    const stat = inspectLayout(this.file);
    if (stat === undefined) {
      throw new MoltbotError(
        "STORE_UNSUPPORTED",
        `There is no OpenClaw database at ${this.file} to write to; nothing was written. moltbot never creates the gateway's database: start OpenClaw once (it creates it), or point --state-dir at the gateway's state directory.`,
      );
    }
    let refusal: MoltbotError | undefined;
    try {
      refusal = writeRefusal(stateDir, fs.statSync(stateDir)) ?? writeRefusal(dir, fs.lstatSync(dir));
    } catch (error) {
      throw ioError(error, stateDir);
    }
    if (refusal) throw refusal;
    const uid = process.geteuid?.();
    if (uid !== undefined && stat.uid !== uid) {
      const owner = userName(stat.uid);
      throw new MoltbotError(
        "STORE_PERMISSION",
        `${this.file} belongs to ${owner}, not to you (uid ${uid}): moltbot writes the gateway's database only as its owner, so the gateway can always open what was written. Run the command as ${owner}.`,
        { runAs: owner },
      );
    }
  }

  private async start(): Promise<DatabaseSync> {
    this.checkWritable();
    const sqlite = loadSqlite(this.file);
    const seconds = () => `${Math.round((this.deadline - this.began) / 100) / 10} s`;
    const lifecycle = await acquireLifecycle(sqlite, this.file, this.deadline);
    if (!lifecycle) {
      throw new MoltbotError(
        "STORE_LOCKED",
        `Another process (the OpenClaw gateway, or another moltbot) kept writing ${this.file} for ${seconds()}; nothing was written. Try again (MOLTBOT_LOCK_TIMEOUT_MS sets the wait).`,
      );
    }
    this.locks.push(lifecycle);
    const lease = await acquireHandlesLease(sqlite, this.file);
    if (!lease) {
      throw new MoltbotError(
        "STORE_LOCKED",
        `OpenClaw is backing up or restoring ${this.file} right now; nothing was written. Try again when it is done.`,
      );
    }
    this.locks.push(lease);
    // mode=rw: never create the database (it is the gateway's to create).
    const db = new sqlite.DatabaseSync(fileUri(this.file, "mode=rw"));
    this.db = db;
    // OpenClaw's per-connection settings (journal_mode is the database's own and is left as it is),
    // then the transaction. They share the wait: `synchronous` reads the schema, which is busy while
    // the last OpenClaw connection to close checkpoints the WAL away.
    const settings =
      "PRAGMA wal_autocheckpoint = 1000; PRAGMA journal_size_limit = 67108864; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF;";
    if (!(await beginWithin(db, `${settings} BEGIN IMMEDIATE;`, this.deadline))) {
      throw new MoltbotError(
        "STORE_LOCKED",
        `${this.file} stayed locked by another connection for ${seconds()}; nothing was written. Try again.`,
      );
    }
    // Commits may wait for readers in rollback-journal mode: up to what is left of the deadline.
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, this.deadline - Date.now())}`);
    assertNotExternallySupervised(db, this.file, this.options.env);
    return db;
  }

  private async database(): Promise<DatabaseSync> {
    this.started ??= this.start();
    return this.started;
  }

  async open<S>(record: RecordKind<S>, key: RecordKey): Promise<S> {
    const table = tableOf(record, key);
    if (table === undefined && (record.name === "node-pending" || record.name === "node-paired")) {
      throw new MoltbotError(
        "STORE_UNSUPPORTED",
        'OpenClaw\'s SQLite state has no legacy node pairing (its nodes pair as devices with the role node): use "moltbot devices" instead.',
      );
    }
    try {
      const db = await this.database();
      if (table !== undefined) assertWritable(db, this.file, [table]);
      const loaded = validated(record, key, this.file, loadRecord(db, this.file, record as RecordKind<unknown>, key));
      this.opened.set(openedKey(record, key), {
        record: record,
        key,
        loaded,
      });
      return loaded.state;
    } catch (error) {
      throw ioError(error, this.file);
    }
  }

  peek<S>(record: RecordKind<S>, key: RecordKey): S {
    if (!this.db) throw new Error("peek before any record was opened");
    try {
      return validated(record, key, this.file, loadRecord(this.db, this.file, record as RecordKind<unknown>, key))
        .state;
    } catch (error) {
      throw ioError(error, this.file);
    }
  }

  lostBeforeWriting(): boolean {
    // Nothing can take an SQLite lock away from its holder.
    return false;
  }

  async write<S>(record: RecordKind<S>, key: RecordKey, state: S): Promise<void> {
    const opened = this.opened.get(openedKey(record, key));
    const db = this.db;
    if (!opened || !db) throw new Error(`${record.label(key)} was written without being opened`);
    const table = tableOf(record, key);
    if (table === undefined) {
      // The rules never write the unscoped allowlist on this backend (every request names its account).
      throw new Error(`${record.label(key)} has no rows in OpenClaw's database`);
    }
    try {
      switch (table) {
        case "channel_pairing_requests":
          writeRequests(db, channelKeyOf(key), opened.loaded.rows, state as never);
          break;
        case "channel_pairing_allow_entries":
          writeAllowlist(
            db,
            channelKeyOf(key),
            accountKey(key.account),
            opened.loaded.rows,
            state as never,
            this.options.now(),
          );
          break;
        case "device_pairing_pending":
          writeKeyed(db, DEVICE_PENDING_TABLE, opened.loaded.rows, state as never);
          break;
        case "device_pairing_paired":
          writeKeyed(db, DEVICE_PAIRED_TABLE, opened.loaded.rows, state as never);
          break;
      }
    } catch (error) {
      throw ioError(error, this.file);
    }
  }

  async commit(): Promise<void> {
    if (!this.db) return;
    try {
      this.db.exec("COMMIT");
      this.committed = true;
    } catch (error) {
      throw ioError(error, this.file);
    }
  }

  async close(): Promise<void> {
    try {
      await this.started;
    } catch {
      // The failure is what the caller is already reporting; release what was taken.
    }
    const db = this.db;
    this.db = undefined;
    try {
      if (db?.isOpen && !this.committed) {
        try {
          db.exec("ROLLBACK");
        } catch {
          // No transaction was begun.
        }
      }
      db?.close();
    } finally {
      // The database first, then the leases, as OpenClaw releases them.
      for (const lock of this.locks.splice(0).reverse()) lock.release();
    }
  }
}

export interface SqliteBackendOptions {
  now: () => number;
  env: NodeJS.ProcessEnv;
  lockTimeoutMs: number;
}

/** The SQLite backend over `<stateDir>/state/openclaw.sqlite`. node:sqlite is loaded on first use. */
export function createSqliteBackend(paths: StatePaths, options: SqliteBackendOptions): StoreBackend {
  const file = databasePath(paths);
  const busy = () => Math.min(5000, options.lockTimeoutMs);
  return {
    kind: "sqlite",
    read<S>(record: RecordKind<S>, key: RecordKey, readOptions?: ReadOptions): Snapshot<S> {
      if (tableOf(record, key) === undefined) return { state: record.empty(), exists: false };
      const loaded = withReadConnection(file, busy(), (db) =>
        validated(record, key, file, loadRecord(db, file, record as RecordKind<unknown>, key), readOptions?.listing),
      );
      return loaded ? { state: loaded.state, exists: loaded.exists } : { state: record.empty(), exists: false };
    },
    keys(record: RecordKind<unknown>): RecordKey[] {
      const table = tableOf(record, { account: "" });
      if (table === undefined) return [];
      return (
        withReadConnection(file, busy(), (db): RecordKey[] => {
          if (!tableExists(db, table)) return [];
          if (table === "channel_pairing_requests" || table === "channel_pairing_allow_entries") {
            const rows = db
              .prepare(
                table === "channel_pairing_requests"
                  ? "SELECT DISTINCT channel_key, NULL AS account_id FROM channel_pairing_requests ORDER BY channel_key"
                  : "SELECT DISTINCT channel_key, account_id FROM channel_pairing_allow_entries ORDER BY channel_key, account_id",
              )
              .all();
            return rows.flatMap((row) => {
              let channel;
              try {
                // Channels moltbot does not know (OpenClaw has more plugins) are not listed.
                channel = resolveChannel(String(row.channel_key));
              } catch {
                return [];
              }
              if (channel.name !== row.channel_key) return [];
              return [
                table === "channel_pairing_requests" ? { channel } : { channel, account: accountKey(row.account_id) },
              ];
            });
          }
          return db.prepare(`SELECT 1 FROM ${table} LIMIT 1`).get() ? [{}] : [];
        }) ?? []
      );
    },
    begin: (deadline) => new SqliteSession(paths, file, deadline, options),
  };
}
