import fs from "node:fs";
import path from "node:path";
import { requestAccount } from "../core/accounts.js";
import {
  corruptName,
  diagnose,
  isHealthy,
  type ContentFacts,
  type DirFacts,
  type DoctorFacts,
  type FileFacts,
  type Finding,
  type FixAction,
  type MigrationFacts,
} from "../core/doctor.js";
import { isRequestLive, parseMaxPending, type AllowState, type PendingState } from "../core/dm-pairing.js";
import { runAsCommand } from "../core/shell.js";
import { MoltbotError, isMoltbotError } from "../errors.js";
import {
  RECORD_KINDS,
  singleRecord,
  type EntryCounts,
  type AnyRecordKind,
  type RecordKey,
  type RecordKind,
} from "./catalogue.js";
import { gatewayConfigFindings } from "../notify/config-check.js";
import type { StoreContext } from "./context.js";
import { detectGeneration, type Generation } from "./generation.js";
import { keyOfFile, locate } from "./json/backend.js";
import { errnoOf } from "./json/errors.js";
import {
  GATEWAY_TEMP,
  MAX_STORE_FILE_BYTES,
  OUR_TEMP,
  checkStoreText,
  decodeText,
  readRaw,
  rewriteRisk,
} from "./json/files.js";
import { LOCK_STALE_MS, acquireLock, lockIsStale } from "./json/lock.js";
import { FILE_MODE, writeRefusal } from "./json/owner.js";
import { runTransaction } from "./transaction.js";

/*
 * `moltbot doctor` on a JSON state dir: gathers facts about every record the catalogue lists (by
 * lstat, never following a link), lets the pure core decide, and with --fix carries out the safe
 * repairs, each on what lstat showed inside the state dir and on open descriptors, never by a
 * path a link could redirect.
 */

export interface DoctorFinding {
  file: string;
  problem: string;
  fixed: boolean;
  severity: Finding["severity"];
}

export interface DoctorReport {
  ok: boolean;
  findings: DoctorFinding[];
  /** The state dir looked at, where it came from, and the gateway generation found there. */
  store: { stateDir: string; source: string; generation: Generation };
  /** Store files and directories looked at (for the summary line). */
  checked: number;
}

const describeIoError = (error: unknown): string => {
  const code = errnoOf(error);
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return code ?? (error instanceof Error ? error.message : String(error));
};

interface Located {
  kind: AnyRecordKind;
  key: RecordKey;
}

/** The content facts of a record file, by the same checks every command applies. */
function inspectContent(
  kind: AnyRecordKind,
  key: RecordKey,
  file: string,
  now: number,
  maxPending: number,
): Partial<FileFacts> & { content: ContentFacts } {
  let raw;
  try {
    raw = readRaw(file);
  } catch (error) {
    if (isMoltbotError(error)) {
      const reason = error.message.replace(/ Run "moltbot doctor".*$/, "").replace(/^.*? is /, "is ");
      return {
        content:
          error.code === "STORE_CORRUPT"
            ? { status: "corrupt", reason }
            : { status: "unreadable", reason: describeIoError(error.cause) },
      };
    }
    throw error;
  }
  if (!raw.exists) return { content: { status: "missing" } };
  const { text, bom } = decodeText(raw.bytes);
  const check = checkStoreText<unknown>(kind.schema, text);
  if (!check.ok) {
    if (check.problem === "empty" || check.problem === "not-json") {
      const reason = check.problem === "empty" ? "is empty, not JSON" : "is not valid JSON (truncated or garbage)";
      return { content: { status: "corrupt", reason } };
    }
    if (check.problem === "proto") {
      return {
        content: {
          status: "corrupt",
          reason: `has a "__proto__" key (${check.path}), which no program carries over faithfully`,
        },
      };
    }
    const version = (check.data as { version?: unknown } | null)?.version;
    if (kind.name.startsWith("dm-") && typeof version === "number" && Number.isInteger(version) && version > 1) {
      return { content: { status: "newer-version", version } };
    }
    return {
      content: { status: "corrupt", reason: `does not have the shape of ${kind.label(key)} (${check.detail})` },
    };
  }
  const facts: Partial<FileFacts> & { content: ContentFacts } = { content: { status: "ok" } };
  if (bom) facts.bom = true;
  const risk = rewriteRisk(raw.bytes, check.parsed, text);
  if (risk !== undefined) facts.rewriteRisk = risk;
  if (kind.expiry) facts.counts = (kind.expiry.count as (state: unknown, now: number) => EntryCounts)(check.data, now);
  if (kind.name === "dm-pending") {
    const live = (check.data as PendingState).requests.filter((request) => isRequestLive(request, now));
    const perAccount = new Map<string, number>();
    const codes = new Map<string, number>();
    for (const request of live) {
      perAccount.set(requestAccount(request), (perAccount.get(requestAccount(request)) ?? 0) + 1);
      const code = String(request.code).trim().toUpperCase();
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    const overCap = [...perAccount]
      .filter(([, count]) => count > maxPending)
      .map(([account, count]) => ({ account, live: count }));
    if (overCap.length > 0) facts.overCap = overCap;
    const duplicates = [...codes].filter(([, count]) => count > 1).map(([code]) => code);
    if (duplicates.length > 0) facts.duplicateCodes = duplicates;
  }
  if (kind.name === "dm-allow") {
    const wildcards = (check.data as AllowState).allowFrom.filter(
      (entry) => entry.trim() === "*" || entry.trim() === "",
    ).length;
    if (wildcards > 0) facts.wildcards = wildcards;
  }
  return facts;
}

function scanFile(
  located: Located,
  file: string,
  names: ReadonlySet<string>,
  ctx: StoreContext,
  maxPending: number,
): FileFacts | undefined {
  const now = ctx.now();
  const base = path.basename(file);
  const dir = path.dirname(file);
  const temps = [...names]
    .filter(
      (name) =>
        name.startsWith(base) && (OUR_TEMP.test(name.slice(base.length)) || GATEWAY_TEMP.test(name.slice(base.length))),
    )
    .sort()
    .flatMap((name) => {
      try {
        const stat = fs.lstatSync(path.join(dir, name));
        return stat.isFile() ? [{ path: path.join(dir, name), ageMs: now - stat.mtimeMs }] : [];
      } catch {
        return [];
      }
    });
  let lock: FileFacts["lock"];
  if (names.has(`${base}.lock`)) {
    try {
      const stat = fs.lstatSync(`${file}.lock`);
      lock = {
        ageMs: now - stat.mtimeMs,
        form: stat.isSymbolicLink() ? "link" : stat.isDirectory() ? "directory" : "file",
        stale: !stat.isSymbolicLink() && lockIsStale(`${file}.lock`, stat, now),
      };
    } catch {
      lock = undefined;
    }
  }
  if (!names.has(base) && !lock && temps.length === 0) return undefined;
  const facts: FileFacts = { path: file, kind: located.kind.name, content: { status: "missing" }, temps };
  if (located.key.channel) facts.channel = located.key.channel.name;
  if (lock) facts.lock = lock;
  if (!names.has(base)) return facts;
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch (error) {
    if (errnoOf(error) !== "ENOENT") facts.content = { status: "unreadable", reason: describeIoError(error) };
    return facts;
  }
  Object.assign(facts, { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, isFile: stat.isFile() });
  if (stat.isSymbolicLink()) {
    facts.isSymlink = true;
    return facts;
  }
  if (!stat.isFile()) {
    facts.content = {
      status: "corrupt",
      reason: `is a ${stat.isDirectory() ? "directory" : "special file"}, not a regular file`,
    };
    return facts;
  }
  if (stat.size > MAX_STORE_FILE_BYTES) {
    facts.content = {
      status: "corrupt",
      reason: `is ${Math.round(stat.size / 1024 / 1024)} MiB, larger than any store file can be`,
    };
    return facts;
  }
  Object.assign(facts, inspectContent(located.kind, located.key, file, now, maxPending));
  return facts;
}

/** The store directories and their facts; `listings` gets the names in each listable one. */
function scanDirs(
  ctx: StoreContext,
  listings: Map<string, Set<string>>,
  unlistable: DoctorFacts["unlistable"],
): DirFacts[] {
  const { stateDir, credentialsDir, devicesDir, nodesDir, moltbotDir } = ctx.paths;
  const dirs: DirFacts[] = [];
  for (const dir of [...new Set([stateDir, credentialsDir, devicesDir, nodesDir, moltbotDir])]) {
    // The state dir (and a credentials dir of its own) may be a link; the directories inside never.
    const isRoot = dir === stateDir || !dir.startsWith(`${stateDir}/`);
    let stat: fs.Stats;
    try {
      stat = isRoot ? fs.statSync(dir) : fs.lstatSync(dir);
    } catch (error) {
      if (errnoOf(error) !== "ENOENT") unlistable.push({ path: dir, reason: describeIoError(error) });
      continue;
    }
    if (stat.isSymbolicLink()) {
      dirs.push({ path: dir, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, isSymlink: true });
      continue;
    }
    if (!stat.isDirectory()) {
      unlistable.push({ path: dir, reason: "it is not a directory" });
      continue;
    }
    dirs.push({ path: dir, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid });
    if (dir === stateDir && credentialsDir !== stateDir) continue;
    try {
      listings.set(dir, new Set(fs.readdirSync(dir)));
    } catch (error) {
      unlistable.push({ path: dir, reason: describeIoError(error) });
    }
  }
  return dirs;
}

/** The record file a name in a store directory belongs to (the file itself, its lock, a temp file). */
function recordFileOf(name: string): string {
  const lock = name.endsWith(".lock") ? name.slice(0, -".lock".length) : undefined;
  if (lock !== undefined) return lock;
  const temp = /^(.+\.json)\.(?:moltbot-[0-9a-f]{32}|[0-9a-f-]{36})\.tmp$/.exec(name);
  return temp ? temp[1]! : name;
}

/** What OpenClaw's migration left: the state dir reached through its link, set-aside device requests. */
export function migrationFacts(ctx: StoreContext): MigrationFacts | undefined {
  const facts: MigrationFacts = {};
  const { stateDir, devicesDir } = ctx.paths;
  try {
    if (fs.lstatSync(stateDir).isSymbolicLink()) facts.linkedTo = { link: stateDir, target: fs.realpathSync(stateDir) };
  } catch {
    // Absent: nothing migrated here.
  }
  const migrated = path.join(devicesDir, "pending.json.migrated");
  try {
    const parsed = JSON.parse(fs.readFileSync(migrated, "utf8")) as unknown;
    const count = parsed !== null && typeof parsed === "object" ? Object.keys(parsed).length : 0;
    facts.droppedDeviceRequests = { file: migrated, count };
  } catch (error) {
    if (errnoOf(error) !== "ENOENT") facts.droppedDeviceRequests = { file: migrated, count: 0 };
  }
  return facts.linkedTo || facts.droppedDeviceRequests ? facts : undefined;
}

/** Gather everything doctor needs to know, reading only: nothing is created or changed. */
export function gatherFacts(ctx: StoreContext): { facts: DoctorFacts; located: Map<string, Located> } {
  const listings = new Map<string, Set<string>>();
  const unlistable: DoctorFacts["unlistable"] = [];
  const dirs = scanDirs(ctx, listings, unlistable);
  const maxPending = parseMaxPending(ctx.env.MOLTBOT_PAIRING_MAX_PENDING);
  const located = new Map<string, Located>();
  const files: FileFacts[] = [];
  for (const kind of RECORD_KINDS) {
    const dir = ctx.paths[kind.json.dir];
    const names = listings.get(dir);
    if (!names) continue;
    const recordNames = [...new Set([...names].map(recordFileOf))].sort();
    for (const name of recordNames) {
      const key = keyOfFile(kind, name);
      if (!key) continue;
      const { file } = locate(ctx.paths, kind, key);
      const facts = scanFile({ kind, key }, file, names, ctx, maxPending);
      if (!facts) continue;
      located.set(file, { kind, key });
      files.push(facts);
    }
  }
  const migration = migrationFacts(ctx);
  return {
    facts: {
      now: ctx.now(),
      store: ctx.paths,
      euid: process.geteuid?.() ?? -1,
      staleMs: LOCK_STALE_MS,
      maxPending,
      dirs,
      unlistable,
      files,
      ...(migration ? { migration } : {}),
    },
    located,
  };
}

const O_NOFOLLOW_READ = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/** Set a mode on what lstat showed: opened without following a link, changed on the descriptor. */
function chmodNoFollow(target: string, mode: number, isRoot: boolean): void {
  const flags = isRoot ? fs.constants.O_RDONLY | fs.constants.O_DIRECTORY : O_NOFOLLOW_READ;
  const fd = fs.openSync(target, flags);
  try {
    fs.fchmodSync(fd, mode);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Give a root-owned leftover back to its directory's owner, as root, without any path a link could
 * redirect: each directory from the state dir down is opened relative to the one before
 * (/proc/self/fd, Linux's openat), never through a link, and must belong to the owner; the file is
 * opened the same way and must still be the regular, singly-linked file of the scan.
 */
function chownBeneath(root: string, target: string, fix: Extract<FixAction, { type: "chown" }>): void {
  if (!fs.existsSync("/proc/self/fd")) {
    throw new Error(`this system cannot open it safely; run "chown -h ${fix.uid}:${fix.gid} ${target}" yourself`);
  }
  const dirFlags = fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW;
  let fd = fs.openSync(root, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    const parts = path.relative(root, target).split(path.sep);
    const name = parts.pop()!;
    for (const part of parts) {
      const next = fs.openSync(`/proc/self/fd/${fd}/${part}`, dirFlags);
      fs.closeSync(fd);
      fd = next;
      if (fs.fstatSync(fd).uid !== fix.uid) throw new Error(`${part} no longer belongs to uid ${fix.uid}`);
    }
    const file = fs.openSync(`/proc/self/fd/${fd}/${name}`, O_NOFOLLOW_READ);
    try {
      const stat = fs.fstatSync(file);
      // A directory has no hard links; a file with a second link may be someone else's file.
      const handBack = (stat.isFile() && stat.nlink === 1) || stat.isDirectory();
      if (!handBack || stat.uid !== fix.fromUid) throw new Error("it changed since the scan");
      fs.fchownSync(file, fix.uid, fix.gid);
    } finally {
      fs.closeSync(file);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Move a file nothing can read out of the way, bytes intact, under its lock so no writer is mid-way. */
async function moveAside(ctx: StoreContext, file: string, located: Located): Promise<string> {
  const lock = await acquireLock(file, Date.now() + ctx.lockTimeoutMs);
  try {
    // Someone may have restored the file since the scan: only a file that is still broken moves.
    const names = new Set([path.basename(file)]);
    const facts = scanFile(located, file, names, ctx, Number.MAX_SAFE_INTEGER);
    if (facts?.content.status !== "corrupt" || facts.isSymlink) return "";
    for (let attempt = 0; ; attempt++) {
      const target = corruptName(file, ctx.now(), attempt);
      // rename() would silently replace an earlier copy; never lose one.
      if (fs.existsSync(target)) continue;
      fs.renameSync(file, target);
      if (facts.isFile) chmodNoFollow(target, FILE_MODE, false);
      return target;
    }
  } finally {
    await lock.release();
  }
}

async function applyFix(ctx: StoreContext, fix: FixAction, located: Map<string, Located>): Promise<string | undefined> {
  const { stateDir } = ctx.paths;
  switch (fix.type) {
    case "chmod":
      try {
        chmodNoFollow(fix.path, fix.mode, fix.path === stateDir || fix.path === ctx.paths.credentialsDir);
      } catch (error) {
        // Moved aside meanwhile: the loose file is no longer part of the store.
        if (errnoOf(error) !== "ENOENT") throw error;
      }
      return undefined;
    case "chown":
      chownBeneath(fix.path.startsWith(`${stateDir}/`) ? stateDir : ctx.paths.credentialsDir, fix.path, fix);
      return undefined;
    case "clear-stale-lock": {
      // Take it over exactly as any command would (the same stale rule), then let go.
      const lock = await acquireLock(fix.file, Date.now());
      await lock.release();
      return undefined;
    }
    case "remove-temp": {
      // Never written under its final name, so it holds nothing any command acknowledged.
      const stat = fs.lstatSync(fix.path);
      if (!stat.isFile()) throw new Error("it is not a regular file");
      if (Date.now() - stat.mtimeMs <= LOCK_STALE_MS) throw new Error("it is being written right now");
      fs.unlinkSync(fix.path);
      return undefined;
    }
    case "move-aside": {
      const target = await moveAside(ctx, fix.file, located.get(fix.file)!);
      return target === "" ? "it is readable again; left in place" : `moved aside to ${target}`;
    }
    case "rewrite": {
      // The one locked read-modify-write, with the same expiry rules every command applies; the
      // rewrite also drops a byte-order mark.
      const { kind, key } = located.get(fix.file)!;
      const record = kind as RecordKind<unknown>;
      await runTransaction(ctx, singleRecord(record), { state: key }, ({ state }, now) => ({
        state: record.expiry ? record.expiry.prune(state, now) : state,
        result: undefined,
      }));
      return undefined;
    }
  }
}

// Locks first (so later locked repairs do not wait), then moves and rewrites, then owners and modes.
const FIX_ORDER: FixAction["type"][] = ["clear-stale-lock", "remove-temp", "move-aside", "rewrite", "chown", "chmod"];

/** Why this process may not change the store at all (the ownership rule), if so. */
function writeRefusalOfStore(ctx: StoreContext): MoltbotError | undefined {
  try {
    return writeRefusal(ctx.paths.stateDir, fs.statSync(ctx.paths.stateDir));
  } catch {
    return undefined;
  }
}

/**
 * Check every store file under the state dir; with `fix`, repair what is safe. Never deletes data:
 * an unreadable file is renamed aside, bytes intact, and only expired entries and dead temp files go.
 * As root on a state dir another user owns, the one repair made is giving root-owned leftovers back
 * to that user; everything else is left for the owner to run (the finding says how).
 *
 * @example
 * const report = await runDoctor(createStoreContext(), { fix: false });
 * if (!report.ok) for (const f of report.findings) console.log(f.file, f.problem);
 */
export async function runDoctor(ctx: StoreContext, options: { fix: boolean }): Promise<DoctorReport> {
  // OpenClaw's SQLite state has its own checks (and loads node:sqlite only then).
  if (ctx.backend.kind === "sqlite") return (await import("./sqlite/doctor.js")).runSqliteDoctor(ctx, options);
  const { facts, located } = gatherFacts(ctx);
  const found = diagnose(facts);
  const findings: DoctorFinding[] = found.map((finding) => ({
    file: finding.file,
    problem: finding.problem,
    fixed: false,
    severity: finding.severity,
  }));
  if (options.fix) {
    const refusal = writeRefusalOfStore(ctx);
    const order = found.map((_, index) => index).filter((index) => found[index]!.fix);
    order.sort((a, b) => FIX_ORDER.indexOf(found[a]!.fix!.type) - FIX_ORDER.indexOf(found[b]!.fix!.type));
    for (const index of order) {
      const target = findings[index]!;
      const fix = found[index]!.fix!;
      if (refusal && fix.type !== "chown") {
        const who =
          refusal.runAs !== undefined
            ? ` as ${refusal.runAs} (${runAsCommand(refusal.runAs, ctx.paths, ["doctor", "--fix"])})`
            : "";
        target.problem = `${target.problem}; not fixed: moltbot does not change another user's store${who ? ` — run it${who}` : ""}`;
        continue;
      }
      try {
        const note = await applyFix(ctx, fix, located);
        target.fixed = true;
        if (note) target.problem = `${target.problem}; ${note}`;
      } catch (error) {
        const reason = isMoltbotError(error)
          ? error.message.replace(/ Run ".*$|; if no other process.*$/, "")
          : error instanceof Error && !errnoOf(error)
            ? error.message
            : describeIoError(error);
        target.problem = `${target.problem}; could not fix: ${reason}`;
      }
    }
  }
  // The gateway's config holds bot tokens: its owner and mode are checked (and fixed) by notify's check.
  findings.push(...gatewayConfigFindings(ctx, options));
  // moltbot's own records: the decision log's chain, and blocked senders still allowlisted.
  const { moltbotRecordFindings } = await import("./doctor-moltbot.js");
  findings.push(...(await moltbotRecordFindings(ctx, options)));
  const checked = facts.dirs.length + facts.files.filter((file) => file.content.status !== "missing").length;
  const store = { stateDir: ctx.paths.stateDir, source: ctx.paths.source, generation: detectGeneration(ctx) };
  return { ok: isHealthy(findings), findings, store, checked };
}
