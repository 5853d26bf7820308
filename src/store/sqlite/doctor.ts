import fs from "node:fs";
import path from "node:path";
import { requestAccount } from "../../core/accounts.js";
import { resolveChannel } from "../../core/channels.js";
import {
  diagnose,
  isHealthy,
  EXPECTED_DIR_MODE,
  EXPECTED_FILE_MODE,
  type DirFacts,
  type Finding,
  type FixAction,
  type MigrationFacts,
} from "../../core/doctor.js";
import { isRequestLive, parseMaxPending } from "../../core/dm-pairing.js";
import { isMoltbotError, type MoltbotError } from "../../errors.js";
import { gatewayConfigFindings } from "../../notify/config-check.js";
import { runAsCommand, shellQuote, type CommandStore } from "../../core/shell.js";
import { DEVICE_PENDING, DM_PENDING, singleRecord, type EntryCounts, type RecordKind } from "../catalogue.js";
import type { StoreContext } from "../context.js";
import { migrationFacts, type DoctorFinding, type DoctorReport } from "../doctor.js";
import { errnoOf } from "../json/errors.js";
import { writeRefusal } from "../json/owner.js";
import { runTransaction } from "../transaction.js";
import { databasePath, withReadConnection } from "./backend.js";
import { coordinatorDirectory, coordinatorPath } from "./coordinator.js";
import { loadSqlite, type DatabaseSync } from "./driver.js";
import { DEVICE_PENDING_TABLE, readKeyed, readRequests } from "./rows.js";
import { NEWEST_USER_VERSION, PAIRING_TABLES, schemaVersion, tableColumns, type PairingTable } from "./schema.js";

/*
 * `moltbot doctor` on an OpenClaw SQLite state. It reads only: the database through a read-only
 * connection (`PRAGMA quick_check`, the schema, expired rows), modes and owners by lstat, and
 * OpenClaw's coordinator lock files (is one held right now?). `--fix` does only what is safe:
 * modes, set on descriptors opened without following links, and expired rows pruned through the
 * normal locked write. It never repairs the database itself (that is OpenClaw's `doctor`, or its
 * backup), never removes a lock file (a process may be waiting on that very file: a new one would
 * let two writers in), and never changes another user's store.
 */

export interface SqliteFileFacts {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  isFile: boolean;
  isSymlink: boolean;
}

export interface ChannelFacts {
  channel: string;
  counts: EntryCounts;
  /** Rows OpenClaw's reader drops (no id or code, a date that does not parse). */
  invalid: number;
  overCap: { account: string; live: number }[];
  duplicateCodes: string[];
}

export interface DatabaseFacts {
  /** Set when the database could not be read at all. */
  unreadable?: string;
  quickCheck: string[];
  version: number;
  journalMode: string;
  missing: { table: PairingTable; columns: string[] }[];
  channels: ChannelFacts[];
  devicePending?: EntryCounts;
}

export interface CoordinatorFacts {
  dir: string;
  /** Absent when the directory does not exist (no writer ever ran as this user). */
  stat?: { mode: number; uid: number; isDirectory: boolean; isSymlink: boolean };
  locks: { path: string; held: boolean }[];
  others: number;
}

export interface SqliteDoctorFacts {
  now: number;
  /** The store checked: commands in findings name it. */
  store: CommandStore;
  euid: number;
  maxPending: number;
  database: string;
  dirs: DirFacts[];
  unlistable: { path: string; reason: string }[];
  files: SqliteFileFacts[];
  db?: DatabaseFacts;
  coordinator?: CoordinatorFacts;
  /** JSON pairing files beside the database: this generation does not read them. */
  leftovers: string[];
  /** What OpenClaw's move and import left (the JSON doctor's facts, explained the same way). */
  migration?: MigrationFacts;
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;

/** What is wrong with an OpenClaw SQLite state and which repair is safe (pure: facts in, findings out). */
export function diagnoseSqlite(facts: SqliteDoctorFacts): Finding[] {
  const findings = diagnose({
    now: facts.now,
    store: facts.store,
    euid: facts.euid,
    staleMs: 0,
    maxPending: facts.maxPending,
    dirs: facts.dirs,
    unlistable: facts.unlistable,
    files: [],
    ...(facts.migration ? { migration: facts.migration } : {}),
  });
  const { database } = facts;
  const stateDirUid = facts.dirs.find((dir) => dir.path === path.dirname(database));
  for (const file of facts.files) {
    if (file.isSymlink) {
      findings.push({
        file: file.path,
        problem: "is a symbolic link: moltbot never follows a link in the store, so every command refuses it",
        severity: "error",
      });
      continue;
    }
    if (!file.isFile) {
      findings.push({ file: file.path, problem: "is not a regular file", severity: "error" });
      continue;
    }
    if ((file.mode & 0o777) !== EXPECTED_FILE_MODE) {
      findings.push({
        file: file.path,
        problem: `file mode is ${octal(file.mode)} (${(file.mode & 0o077) !== 0 ? "other users can read it" : "not the store's mode"}); it should be ${octal(EXPECTED_FILE_MODE)}, as OpenClaw creates it`,
        severity: "error",
        fix: { type: "chmod", path: file.path, mode: EXPECTED_FILE_MODE },
      });
    }
    if (stateDirUid && file.uid !== stateDirUid.uid) {
      findings.push({
        file: file.path,
        problem: `is owned by uid ${file.uid} but its directory belongs to uid ${stateDirUid.uid} (a "sudo" leftover?): the gateway may not be able to open the database; run "sudo chown -h ${stateDirUid.uid}:${stateDirUid.gid} ${shellQuote(file.path)}"`,
        severity: "error",
      });
    }
  }
  const db = facts.db;
  if (db?.unreadable !== undefined) {
    findings.push({
      file: database,
      problem: `cannot be read: ${db.unreadable}; run "openclaw doctor", or restore OpenClaw's backup (moltbot never repairs the database)`,
      severity: "error",
    });
  } else if (db) {
    findings.push({
      file: database,
      problem: `OpenClaw's SQLite state (schema ${db.version}${db.version === 0 ? ", not yet adopted by OpenClaw" : ""}, journal ${db.journalMode}): moltbot reads and writes it with its SQLite backend`,
      severity: "info",
    });
    if (db.quickCheck.length !== 1 || db.quickCheck[0] !== "ok") {
      findings.push({
        file: database,
        problem: `PRAGMA quick_check found damage (${db.quickCheck.slice(0, 3).join("; ")}${db.quickCheck.length > 3 ? "; …" : ""}); stop the gateway and run "openclaw doctor", or restore OpenClaw's backup`,
        severity: "error",
      });
    }
    if (db.version > NEWEST_USER_VERSION) {
      findings.push({
        file: database,
        problem: `uses schema ${db.version}, newer than the newest moltbot knows (${NEWEST_USER_VERSION}): moltbot lists it but refuses to write; upgrade moltbot`,
        severity: "error",
      });
    }
    for (const { table, columns } of db.missing) {
      findings.push({
        file: `${database} (${table})`,
        problem:
          columns.length === 0
            ? "table missing: moltbot cannot write these records; start the OpenClaw gateway once (it creates its tables)"
            : `columns missing (${columns.join(", ")}), an older schema: moltbot cannot write these records; start the OpenClaw gateway once (it upgrades its tables)`,
        severity: "error",
      });
    }
    for (const channel of db.channels) {
      const at = `${database} (${channel.channel} pairing requests)`;
      const rewrite: FixAction = { type: "rewrite", file: database, kind: "dm-pending", channel: channel.channel };
      const { expired, future } = channel.counts;
      if (expired + future > 0) {
        findings.push({
          file: at,
          problem: [
            ...(expired > 0
              ? [`${plural(expired, "expired request", "expired requests")} still stored (invisible to every command)`]
              : []),
            ...(future > 0
              ? [`${plural(future, "request", "requests")} dated in the future (treated as expired)`]
              : []),
          ].join("; "),
          severity: "warning",
          fix: rewrite,
        });
      }
      if (channel.invalid > 0) {
        findings.push({
          file: at,
          problem: `${plural(channel.invalid, "row", "rows")} without an id or code, or with a date that does not parse: OpenClaw and moltbot ignore ${channel.invalid === 1 ? "it" : "them"}, and OpenClaw drops ${channel.invalid === 1 ? "it" : "them"} on its next write`,
          severity: "warning",
        });
      }
      for (const over of channel.overCap) {
        findings.push({
          file: at,
          problem: `${over.live} live requests for account ${over.account}, more than the cap of ${facts.maxPending}; approve or reject the extra ones ("moltbot pairing list ${channel.channel}")`,
          severity: "warning",
        });
      }
      for (const code of channel.duplicateCodes) {
        findings.push({
          file: at,
          problem: `code ${code} is held by more than one live request, so approving it is refused; reject it and let the senders ask again`,
          severity: "warning",
        });
      }
    }
    const devices = db.devicePending;
    if (devices && devices.expired + devices.future > 0) {
      findings.push({
        file: `${database} (device pairing requests)`,
        problem: `${plural(devices.expired + devices.future, "expired request", "expired requests")} still stored (invisible to every command; OpenClaw prunes them on its next device write)`,
        severity: "warning",
        fix: { type: "rewrite", file: database, kind: "device-pending" },
      });
    }
  }
  const coordinator = facts.coordinator;
  if (coordinator?.stat) {
    const { stat, dir } = coordinator;
    if (stat.isSymlink || !stat.isDirectory) {
      findings.push({
        file: dir,
        problem:
          "OpenClaw's lock directory is not a real directory: OpenClaw and moltbot refuse to write until it is removed",
        severity: "error",
      });
    } else if (stat.uid !== facts.euid) {
      findings.push({
        file: dir,
        problem: `OpenClaw's lock directory belongs to uid ${stat.uid}, not to you: OpenClaw and moltbot refuse to write until it is removed`,
        severity: "error",
      });
    } else if ((stat.mode & 0o7777) !== EXPECTED_DIR_MODE) {
      findings.push({
        file: dir,
        problem: `OpenClaw's lock directory has mode ${octal(stat.mode)}; it should be ${octal(EXPECTED_DIR_MODE)} (OpenClaw sets it on its next write)`,
        severity: "warning",
        fix: { type: "chmod", path: dir, mode: EXPECTED_DIR_MODE },
      });
    }
    for (const lock of coordinator.locks) {
      findings.push({
        file: lock.path,
        problem: lock.held
          ? "held right now: a write is in progress (if it stays held, a hung OpenClaw or moltbot process holds it; ending that process releases it); left alone"
          : "coordinator lock file, not held (OpenClaw keeps these files by design; never remove one: a waiting process would lose its lock); left alone",
        severity: "info",
      });
    }
    if (coordinator.others > 0) {
      findings.push({
        file: dir,
        problem: `${plural(coordinator.others, "lock file", "lock files")} of other databases (OpenClaw keeps them; harmless); left alone`,
        severity: "info",
      });
    }
  }
  for (const leftover of facts.leftovers) {
    findings.push({
      file: leftover,
      problem: `not used: this state keeps pairing in ${database}, so neither OpenClaw nor moltbot reads this file ("openclaw doctor" imports what it can)`,
      severity: "info",
    });
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------
// Gathering facts (reads only).

function statFacts(target: string, follow: boolean): fs.Stats | undefined {
  try {
    return follow ? fs.statSync(target) : fs.lstatSync(target);
  } catch (error) {
    if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR") return undefined;
    throw error;
  }
}

function channelFacts(db: DatabaseSync, channel: string, now: number, maxPending: number): ChannelFacts {
  const { state, invalid } = readRequests(db, channel);
  const counts = DM_PENDING.expiry!.count(state, now);
  const live = state.requests.filter((request) => isRequestLive(request, now));
  const perAccount = new Map<string, number>();
  const codes = new Map<string, number>();
  for (const request of live) {
    perAccount.set(requestAccount(request), (perAccount.get(requestAccount(request)) ?? 0) + 1);
    const code = request.code.trim().toUpperCase();
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  return {
    channel,
    counts,
    invalid,
    overCap: [...perAccount]
      .filter(([, count]) => count > maxPending)
      .map(([account, count]) => ({ account, live: count })),
    duplicateCodes: [...codes].filter(([, count]) => count > 1).map(([code]) => code),
  };
}

/** WAL or rollback journal, from the file header (an immutable read-only connection always says "delete"). */
function journalModeOf(file: string): string {
  const header = Buffer.alloc(20);
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    fs.readSync(fd, header, 0, 20, 0);
  } finally {
    fs.closeSync(fd);
  }
  return header[18] === 2 && header[19] === 2 ? "wal" : "rollback";
}

function databaseFacts(file: string, now: number, maxPending: number): DatabaseFacts | undefined {
  try {
    return withReadConnection(file, 5000, (db) => {
      const quickCheck = db
        .prepare("PRAGMA quick_check")
        .all()
        .map((row) => String(Object.values(row)[0]));
      const journalMode = journalModeOf(file);
      const missing: DatabaseFacts["missing"] = [];
      const present = new Set<PairingTable>();
      for (const table of Object.keys(PAIRING_TABLES) as PairingTable[]) {
        const columns = tableColumns(db, table);
        if (columns.size === 0) missing.push({ table, columns: [] });
        else {
          present.add(table);
          const absent = PAIRING_TABLES[table].filter((column) => !columns.has(column));
          if (absent.length > 0) missing.push({ table, columns: [...absent] });
        }
      }
      const channels: ChannelFacts[] = [];
      if (present.has("channel_pairing_requests")) {
        const keys = db.prepare("SELECT DISTINCT channel_key FROM channel_pairing_requests ORDER BY channel_key").all();
        for (const { channel_key: key } of keys) {
          try {
            if (resolveChannel(String(key)).name !== key) continue;
          } catch {
            continue; // A channel moltbot does not know: OpenClaw's to look after.
          }
          channels.push(channelFacts(db, String(key), now, maxPending));
        }
      }
      const facts: DatabaseFacts = { quickCheck, version: schemaVersion(db), journalMode, missing, channels };
      if (present.has("device_pairing_pending")) {
        const pending = readKeyed(db, DEVICE_PENDING_TABLE, file).state;
        facts.devicePending = (DEVICE_PENDING.expiry!.count as (s: unknown, n: number) => EntryCounts)(pending, now);
      }
      return facts;
    });
  } catch (error) {
    if (isMoltbotError(error) && error.code === "STORE_UNSUPPORTED") throw error;
    const reason = isMoltbotError(error)
      ? error.message.replace(/ Run ".*$/, "").replace(/^.*?\(/, "(")
      : error instanceof Error
        ? error.message
        : String(error);
    return { unreadable: reason, quickCheck: [], version: 0, journalMode: "", missing: [], channels: [] };
  }
}

/** Is the lock held right now? A shared lock with no wait fails only while a writer holds it. */
function lockHeld(file: string): boolean {
  const sqlite = loadSqlite(file);
  let db: DatabaseSync | undefined;
  try {
    db = new sqlite.DatabaseSync(file, { readOnly: true });
    db.exec("PRAGMA busy_timeout = 0; BEGIN; SELECT rootpage FROM sqlite_schema LIMIT 1;");
    db.exec("ROLLBACK");
    return false;
  } catch {
    return true;
  } finally {
    db?.close();
  }
}

async function coordinatorFacts(database: string): Promise<CoordinatorFacts> {
  const dir = coordinatorDirectory();
  const facts: CoordinatorFacts = { dir, locks: [], others: 0 };
  const stat = statFacts(dir, false);
  if (!stat) return facts;
  facts.stat = { mode: stat.mode, uid: stat.uid, isDirectory: stat.isDirectory(), isSymlink: stat.isSymbolicLink() };
  if (!stat.isDirectory()) return facts;
  const hash = path.basename(await coordinatorPath("state-lifecycle", database)).split(".")[1]!;
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return facts;
  }
  for (const name of names) {
    if (!name.endsWith(".lock.sqlite")) continue;
    if (name.split(".")[1] !== hash) {
      facts.others++;
      continue;
    }
    const lock = path.join(dir, name);
    if (!statFacts(lock, false)?.isFile()) continue;
    facts.locks.push({ path: lock, held: lockHeld(lock) });
  }
  return facts;
}

const LEFTOVER = /^[a-z0-9-]+-(?:[a-z0-9._-]+-)?(?:pairing|allowFrom)\.json$/;

export async function gatherSqliteFacts(ctx: StoreContext): Promise<SqliteDoctorFacts> {
  const database = databasePath(ctx.paths);
  const now = ctx.now();
  const maxPending = parseMaxPending(ctx.env.MOLTBOT_PAIRING_MAX_PENDING);
  const dirs: DirFacts[] = [];
  const unlistable: SqliteDoctorFacts["unlistable"] = [];
  for (const [dir, isRoot] of [
    [ctx.paths.stateDir, true],
    [path.dirname(database), false],
  ] as const) {
    const stat = statFacts(dir, isRoot);
    if (!stat) continue;
    if (!stat.isSymbolicLink() && !stat.isDirectory()) {
      unlistable.push({ path: dir, reason: "it is not a directory" });
      continue;
    }
    dirs.push({
      path: dir,
      mode: stat.mode & 0o7777,
      uid: stat.uid,
      gid: stat.gid,
      ...(stat.isSymbolicLink() ? { isSymlink: true } : {}),
    });
  }
  const files: SqliteFileFacts[] = [];
  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    const stat = statFacts(`${database}${suffix}`, false);
    if (!stat) continue;
    files.push({
      path: `${database}${suffix}`,
      mode: stat.mode & 0o7777,
      uid: stat.uid,
      gid: stat.gid,
      isFile: stat.isFile(),
      isSymlink: stat.isSymbolicLink(),
    });
  }
  const usable =
    files[0]?.path === database &&
    files[0].isFile &&
    !dirs.some((dir) => dir.isSymlink && dir.path !== ctx.paths.stateDir);
  const facts: SqliteDoctorFacts = {
    now,
    store: ctx.paths,
    euid: process.geteuid?.() ?? -1,
    maxPending,
    database,
    dirs,
    unlistable,
    files,
    leftovers: [],
  };
  const migration = migrationFacts(ctx);
  if (migration) facts.migration = migration;
  if (usable) {
    loadSqlite(database);
    const db = databaseFacts(database, now, maxPending);
    if (db) facts.db = db;
    facts.coordinator = await coordinatorFacts(database);
  }
  for (const dir of [ctx.paths.credentialsDir, ctx.paths.devicesDir, ctx.paths.nodesDir]) {
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const isLeftover =
        dir === ctx.paths.credentialsDir ? LEFTOVER.test(name) : name === "pending.json" || name === "paired.json";
      if (isLeftover) facts.leftovers.push(path.join(dir, name));
    }
  }
  return facts;
}

// ---------------------------------------------------------------------------------------------
// Repairs.

function chmodNoFollow(target: string, mode: number, isRoot: boolean): void {
  const flags = isRoot
    ? fs.constants.O_RDONLY | fs.constants.O_DIRECTORY
    : fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
  const fd = fs.openSync(target, flags);
  try {
    fs.fchmodSync(fd, mode);
  } finally {
    fs.closeSync(fd);
  }
}

async function applyFix(ctx: StoreContext, fix: FixAction): Promise<void> {
  switch (fix.type) {
    case "chmod":
      chmodNoFollow(fix.path, fix.mode, fix.path === ctx.paths.stateDir);
      return;
    case "rewrite": {
      // The normal locked write, with the expiry rules every command applies.
      const record = (fix.kind === "dm-pending" ? DM_PENDING : DEVICE_PENDING) as RecordKind<unknown>;
      const key = fix.channel !== undefined ? { channel: resolveChannel(fix.channel) } : {};
      await runTransaction(ctx, singleRecord(record), { state: key }, ({ state }, now) => ({
        state: record.expiry!.prune(state, now),
        result: undefined,
      }));
      return;
    }
    default:
      throw new Error(`no ${fix.type} repair on an SQLite state`);
  }
}

/** Why this process may not change the store (the ownership rule), if so. */
function refusalOf(ctx: StoreContext): MoltbotError | undefined {
  try {
    return writeRefusal(ctx.paths.stateDir, fs.statSync(ctx.paths.stateDir));
  } catch {
    return undefined;
  }
}

/** `moltbot doctor [--fix]` on an OpenClaw SQLite state; the report has the JSON doctor's shape. */
export async function runSqliteDoctor(ctx: StoreContext, options: { fix: boolean }): Promise<DoctorReport> {
  const facts = await gatherSqliteFacts(ctx);
  const found = diagnoseSqlite(facts);
  const findings: DoctorFinding[] = found.map(({ file, problem, severity }) => ({
    file,
    problem,
    fixed: false,
    severity,
  }));
  if (options.fix) {
    const refusal = refusalOf(ctx);
    for (const [index, finding] of found.entries()) {
      if (!finding.fix) continue;
      const target = findings[index]!;
      // The coordinator directory is the caller's own (checked above), not the store's.
      const fixes = finding.fix.type === "chmod" ? finding.fix.path : finding.file;
      if (refusal && fixes !== facts.coordinator?.dir) {
        target.problem = `${target.problem}; not fixed: moltbot does not change another user's store${refusal.runAs !== undefined ? ` — run it as ${refusal.runAs} (${runAsCommand(refusal.runAs, ctx.paths, ["doctor", "--fix"])})` : ""}`;
        continue;
      }
      try {
        await applyFix(ctx, finding.fix);
        target.fixed = true;
      } catch (error) {
        const reason = isMoltbotError(error)
          ? error.message.replace(/ Run ".*$/, "")
          : error instanceof Error
            ? error.message
            : String(error);
        target.problem = `${target.problem}; could not fix: ${reason}`;
      }
    }
  }
  findings.push(...gatewayConfigFindings(ctx, options));
  const checked = facts.dirs.length + facts.files.length;
  const store = { stateDir: ctx.paths.stateDir, source: ctx.paths.source, generation: "openclaw-sqlite" as const };
  return { ok: isHealthy(findings), findings, store, checked };
}
