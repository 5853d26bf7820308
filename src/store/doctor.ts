import fs from "node:fs";
import path from "node:path";
import { CHANNEL_NAMES, resolveChannel } from "../core/channels.js";
import {
  corruptName,
  diagnose,
  isHealthy,
  pruneExpired,
  type ContentFacts,
  type DirFacts,
  type DoctorFacts,
  type FileFacts,
  type Finding,
  type FixAction,
  type LivenessRules,
  type StoreKind,
} from "../core/doctor.js";
import { isDeviceRequestLive } from "../core/device-pairing.js";
import { isRequestLive, parseMaxPending } from "../core/dm-pairing.js";
import { isNodeRequestLive } from "../core/node-pairing.js";
import { isMoltbotError } from "../errors.js";
import { gatewayConfigFindings } from "../notify/config-check.js";
import type { StoreContext } from "./context.js";
import { devicePairedStoreFile, devicePendingStoreFile } from "./device-store.js";
import { allowStoreFile, pendingStoreFile } from "./dm-store.js";
import { nodePairedStoreFile, nodePendingStoreFile } from "./node-store.js";
import { MAX_STORE_FILE_BYTES, checkStoreText, type StoreFile } from "./file-store.js";
import { LOCK_STALE_MS, acquireLock, lockTimeoutMs, updateStore } from "./locked-update.js";
import type { Schema } from "./validation.js";

export interface DoctorFinding {
  file: string;
  problem: string;
  fixed: boolean;
  severity: Finding["severity"];
}

export interface DoctorReport {
  ok: boolean;
  findings: DoctorFinding[];
  /** Store files and directories looked at (for the summary line). */
  checked: number;
}

/** A store file as every command sees it (path, label, schema, what "absent" means), with its rules. */
interface KnownFile {
  path: string;
  kind: StoreKind;
  channel?: string;
  label: string;
  schema: Schema<unknown>;
  store: StoreFile<unknown>;
}

// The same expiry rules every command applies: doctor never has its own idea of "expired".
const LIVENESS: LivenessRules = {
  dmRequest: isRequestLive,
  deviceRequest: isDeviceRequestLive,
  nodeRequest: isNodeRequestLive,
};

/** Every store file doctor knows, whether or not it exists. */
function knownFiles(ctx: StoreContext): KnownFile[] {
  const stores: [StoreFile<unknown>, StoreKind, string?][] = [];
  for (const name of CHANNEL_NAMES) {
    const channel = resolveChannel(name);
    stores.push([pendingStoreFile(ctx, channel), "dm-pending", name]);
    stores.push([allowStoreFile(ctx, channel), "dm-allow", name]);
  }
  stores.push(
    [devicePendingStoreFile(ctx), "device-pending"],
    [devicePairedStoreFile(ctx), "device-paired"],
    [nodePendingStoreFile(ctx), "node-pending"],
    [nodePairedStoreFile(ctx), "node-paired"],
  );
  return stores.map(([store, kind, channel]) => ({
    path: store.path,
    kind,
    ...(channel !== undefined ? { channel } : {}),
    label: store.label,
    schema: store.schema,
    store,
  }));
}

const errnoOf = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code;

function describeIoError(error: unknown): string {
  const code = errnoOf(error);
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  return code ?? (error instanceof Error ? error.message : String(error));
}

/** Validate the bytes the way every command does (readStoreFile), but classify instead of throwing. */
export function inspectContent(file: Pick<KnownFile, "kind" | "label" | "schema">, text: string): ContentFacts {
  const check = checkStoreText(file.schema, text);
  if (check.ok) return { status: "ok", state: check.data };
  if (check.problem !== "shape") {
    return {
      status: "corrupt",
      reason: check.problem === "empty" ? "is empty, not JSON" : "is not valid JSON (truncated or garbage)",
    };
  }
  const { data } = check;
  // A version above 1 fails the shape check too, but it is a newer gateway's file, not a broken one.
  if (file.kind.startsWith("dm-") && typeof data === "object" && data !== null) {
    const version: unknown = (data as { version?: unknown }).version;
    if (typeof version === "number" && Number.isInteger(version) && version > 1)
      return { status: "newer-version", version };
  }
  return { status: "corrupt", reason: `does not have the shape of ${file.label} (${check.detail})` };
}

function readContent(file: KnownFile, stat: fs.Stats): ContentFacts {
  if (!stat.isFile())
    return {
      status: "corrupt",
      reason: `is a ${stat.isDirectory() ? "directory" : "special file"}, not a regular file`,
    };
  if (stat.size > MAX_STORE_FILE_BYTES) {
    return {
      status: "corrupt",
      reason: `is ${Math.round(stat.size / 1024 / 1024)} MiB, larger than any store file can be (limit ${MAX_STORE_FILE_BYTES / 1024 / 1024} MiB)`,
    };
  }
  let text: string;
  try {
    text = fs.readFileSync(file.path, "utf8");
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return { status: "missing" };
    if (errnoOf(error) === "EISDIR") return { status: "corrupt", reason: "is a directory, not a regular file" };
    return { status: "unreadable", reason: describeIoError(error) };
  }
  return inspectContent(file, text);
}

const TEMP_SUFFIX = /^\.(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp)$/;

function scanFile(file: KnownFile, names: ReadonlySet<string>, now: number): FileFacts | undefined {
  const base = path.basename(file.path);
  const dir = path.dirname(file.path);
  // write-file-atomic names its temp files `<file>.<digits>`; the gateway's own writer `<file>.<uuid>.tmp`.
  const temps = [...names]
    .filter((name) => name.startsWith(base) && TEMP_SUFFIX.test(name.slice(base.length)))
    .sort()
    .flatMap((name) => {
      const tempPath = path.join(dir, name);
      try {
        return [{ path: tempPath, ageMs: now - fs.lstatSync(tempPath).mtimeMs }];
      } catch {
        return [];
      }
    });
  let lock: FileFacts["lock"];
  if (names.has(`${base}.lock`)) {
    try {
      lock = { ageMs: now - fs.statSync(`${file.path}.lock`).mtimeMs };
    } catch {
      lock = undefined;
    }
  }
  if (!names.has(base) && !lock && temps.length === 0) return undefined;

  const facts: FileFacts = { path: file.path, kind: file.kind, content: { status: "missing" }, temps };
  if (file.channel !== undefined) facts.channel = file.channel;
  if (lock) facts.lock = lock;
  if (!names.has(base)) return facts;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file.path);
  } catch (error) {
    if (errnoOf(error) !== "ENOENT") facts.content = { status: "unreadable", reason: describeIoError(error) };
    return facts;
  }
  Object.assign(facts, { mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, isFile: stat.isFile() });
  facts.content = readContent(file, stat);
  return facts;
}

/** Gather everything doctor needs to know, reading only: nothing is created or changed. */
export function gatherFacts(ctx: StoreContext): DoctorFacts {
  const { stateDir, credentialsDir, devicesDir, nodesDir } = ctx.paths;
  const now = ctx.now();
  const dirs: DirFacts[] = [];
  const unlistable: DoctorFacts["unlistable"] = [];
  const listings = new Map<string, Set<string>>();
  for (const dir of [...new Set([stateDir, credentialsDir, devicesDir, nodesDir])]) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(dir);
    } catch (error) {
      if (errnoOf(error) !== "ENOENT") unlistable.push({ path: dir, reason: describeIoError(error) });
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
  const files = knownFiles(ctx).flatMap((file) => {
    const names = listings.get(path.dirname(file.path));
    const facts = names ? scanFile(file, names, now) : undefined;
    return facts ? [facts] : [];
  });
  return {
    now,
    euid: process.geteuid?.() ?? -1,
    staleMs: LOCK_STALE_MS,
    maxPending: parseMaxPending(ctx.env.MOLTBOT_PAIRING_MAX_PENDING),
    dirs,
    unlistable,
    files,
    isLive: LIVENESS,
  };
}

function storeFileFor(ctx: StoreContext, file: string, kind: StoreKind): StoreFile<unknown> {
  const known = knownFiles(ctx).find((candidate) => candidate.path === file && candidate.kind === kind);
  if (!known) throw new Error(`not a store file: ${file}`);
  return known.store;
}

/** Move a file nothing can read out of the way, bytes intact, under its lock so no writer is mid-way. */
async function moveAside(ctx: StoreContext, file: string): Promise<string> {
  const known = knownFiles(ctx).find((candidate) => candidate.path === file);
  if (!known) throw new Error(`not a store file: ${file}`);
  const lock = await acquireLock(file, Date.now() + lockTimeoutMs(ctx.env));
  try {
    // Someone may have restored the file since the scan: only a file that is still broken moves.
    const stat = fs.statSync(file);
    if (readContent(known, stat).status !== "corrupt") return "";
    for (let attempt = 0; ; attempt++) {
      const target = corruptName(file, ctx.now(), attempt);
      // rename() would silently replace an earlier copy; never lose one.
      if (fs.existsSync(target)) continue;
      fs.renameSync(file, target);
      if (stat.isFile()) fs.chmodSync(target, 0o600);
      return target;
    }
  } finally {
    await lock.release();
  }
}

async function applyFix(ctx: StoreContext, fix: FixAction): Promise<string | undefined> {
  switch (fix.type) {
    case "chmod":
      try {
        fs.chmodSync(fix.path, fix.mode);
      } catch (error) {
        // Moved aside meanwhile: the loose file is no longer part of the store.
        if (errnoOf(error) !== "ENOENT") throw error;
      }
      return undefined;
    case "chown":
      fs.chownSync(fix.path, fix.uid, fix.gid);
      return undefined;
    case "clear-stale-lock": {
      // Take it over exactly as any command would (proper-lockfile's stale rule), then let go.
      const lock = await acquireLock(fix.file, Date.now());
      await lock.release();
      return undefined;
    }
    case "remove-temp": {
      // Never written under its final name, so it holds nothing any command acknowledged.
      if (Date.now() - fs.lstatSync(fix.path).mtimeMs <= LOCK_STALE_MS)
        throw new Error("it is being written right now");
      fs.unlinkSync(fix.path);
      return undefined;
    }
    case "move-aside": {
      const target = await moveAside(ctx, fix.file);
      return target === "" ? "it is readable again; left in place" : `moved aside to ${target}`;
    }
    case "prune-expired":
      // The one locked read-modify-write, with the same expiry rules every command applies.
      await updateStore([storeFileFor(ctx, fix.file, fix.kind)] as const, ([state]) => ({
        states: [pruneExpired(fix.kind, state, ctx.now(), LIVENESS)] as [unknown],
        result: undefined,
      }));
      return undefined;
  }
}

// Locks first (so later locked repairs do not wait), then moves and rewrites, then owners and modes.
const FIX_ORDER: FixAction["type"][] = [
  "clear-stale-lock",
  "remove-temp",
  "move-aside",
  "prune-expired",
  "chown",
  "chmod",
];

/**
 * Check every store file under the state dir; with `fix`, repair what is safe. Never deletes data:
 * an unreadable file is renamed aside, bytes intact, and only expired entries and dead temp files go.
 *
 * @example
 * const report = await runDoctor(createStoreContext(), { fix: false });
 * if (!report.ok) for (const f of report.findings) console.log(f.file, f.problem);
 */
export async function runDoctor(ctx: StoreContext, options: { fix: boolean }): Promise<DoctorReport> {
  const facts = gatherFacts(ctx);
  const found = diagnose(facts);
  const findings: DoctorFinding[] = found.map((finding) => ({
    file: finding.file,
    problem: finding.problem,
    fixed: false,
    severity: finding.severity,
  }));
  if (options.fix) {
    const order = found.map((_, index) => index).filter((index) => found[index]!.fix);
    order.sort((a, b) => FIX_ORDER.indexOf(found[a]!.fix!.type) - FIX_ORDER.indexOf(found[b]!.fix!.type));
    for (const index of order) {
      const target = findings[index]!;
      try {
        const note = await applyFix(ctx, found[index]!.fix!);
        target.fixed = true;
        if (note) target.problem = `${target.problem}; ${note}`;
      } catch (error) {
        const reason = isMoltbotError(error)
          ? error.message.replace(/ Run ".*$|; if no other process.*$/, "")
          : describeIoError(error);
        target.problem = `${target.problem}; could not fix: ${reason}`;
      }
    }
  }
  // The gateway config's mode (it holds bot tokens): notify's check, in its own module to re-home.
  findings.push(...gatewayConfigFindings(ctx, options));
  const checked = facts.dirs.length + facts.files.filter((file) => file.content.status !== "missing").length;
  return { ok: isHealthy(findings), findings, checked };
}
