import type { PendingState } from "./dm-pairing.js";

/*
 * `moltbot doctor` as a pure function: the store module gathers facts about the state dir (modes,
 * owners, what each file parses to, locks, temp files) and this module decides what is wrong and
 * which repair is safe. No I/O and no clock here, so every rule is tested without a disk.
 */

export const EXPECTED_FILE_MODE = 0o600;
export const EXPECTED_DIR_MODE = 0o700;

/** The store files doctor knows, by the rules that apply to their contents. */
export type StoreKind = "dm-pending" | "dm-allow" | "device-pending" | "device-paired" | "node-pending" | "node-paired";

/** What reading and validating a file gave. */
export type ContentFacts =
  | { status: "ok"; state: unknown }
  | { status: "missing" }
  /** Permission denied (or another I/O error): the bytes are fine as far as we know, we just cannot read them. */
  | { status: "unreadable"; reason: string }
  /** Not JSON, the wrong shape, too large, not a regular file: nothing can use it as it is. */
  | { status: "corrupt"; reason: string }
  /** A `version` above the one we know: a newer gateway wrote it; its data is valid, just not for us. */
  | { status: "newer-version"; version: number };

export interface LockFacts {
  /** ms since the lock directory was last touched; holders refresh it every few seconds. */
  ageMs: number;
}

export interface FileFacts {
  path: string;
  kind: StoreKind;
  /** DM files: the channel the file belongs to. */
  channel?: string;
  /** Absent when the file does not exist. */
  mode?: number;
  uid?: number;
  gid?: number;
  isFile?: boolean;
  content: ContentFacts;
  /** `<file>.lock`, when present. */
  lock?: LockFacts;
  /** Leftover `<file>.<digits>` temp files of interrupted atomic writes. */
  temps: { path: string; ageMs: number }[];
}

export interface DirFacts {
  path: string;
  mode: number;
  uid: number;
  gid: number;
}

export interface DoctorFacts {
  now: number;
  /** The uid doctor runs as: only root can give a file back to its rightful owner. */
  euid: number;
  /** Locks and temp files untouched for this long belong to dead processes (the lock stale time). */
  staleMs: number;
  /** DM cap in force (MOLTBOT_PAIRING_MAX_PENDING or 3). */
  maxPending: number;
  /** Store directories that exist (state dir, credentials, devices, nodes). */
  dirs: DirFacts[];
  /** Directories that could not be listed (path, reason). */
  unlistable: { path: string; reason: string }[];
  files: FileFacts[];
  /** Liveness rules of the pending files that have them, injected so the rules live in one place. */
  isLive: LivenessRules;
}

/** Whether one pending entry is still live at `now`, per store kind (DM: 1 h; devices and nodes: 5 min). */
export interface LivenessRules {
  dmRequest: (request: PendingState["requests"][number], now: number) => boolean;
  deviceRequest: (entry: { ts: number }, now: number) => boolean;
  nodeRequest: (entry: { ts: number }, now: number) => boolean;
}

/** A repair the store module may carry out; each one is safe and never destroys data. */
export type FixAction =
  | { type: "chmod"; path: string; mode: number }
  | { type: "chown"; path: string; uid: number; gid: number }
  /** Take the dead process's lock over the way any command would, then release it. */
  | { type: "clear-stale-lock"; file: string }
  | { type: "remove-temp"; path: string }
  /** Rename to `<file>.corrupt-<timestamp>`, bytes intact, so the store starts afresh. */
  | { type: "move-aside"; file: string }
  | { type: "prune-expired"; file: string; kind: StoreKind };

export type Severity = "error" | "warning" | "info";

export interface Finding {
  file: string;
  problem: string;
  severity: Severity;
  fix?: FixAction;
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;

function modeFinding(path: string, mode: number, expected: number, what: "file" | "directory"): Finding | undefined {
  if ((mode & 0o777) === expected) return undefined;
  const open =
    (mode & 0o077) !== 0 ? "other users can " + (what === "file" ? "read it" : "look inside") : "not the store's mode";
  return {
    file: path,
    problem: `${what} mode is ${octal(mode)} (${open}); it should be ${octal(expected)}`,
    severity: "error",
    fix: { type: "chmod", path, mode: expected },
  };
}

/** Live and expired entries of a parsed pending file; undefined for files without expiry. */
export function countEntries(
  kind: StoreKind,
  state: unknown,
  now: number,
  rules: LivenessRules,
): { live: number; expired: number } | undefined {
  const count = <T>(entries: T[], live: (entry: T) => boolean) => {
    const liveCount = entries.filter(live).length;
    return { live: liveCount, expired: entries.length - liveCount };
  };
  switch (kind) {
    case "dm-pending":
      return count((state as PendingState).requests, (request) => rules.dmRequest(request, now));
    case "device-pending":
      return count(Object.values(state as Record<string, { ts: number }>), (entry) => rules.deviceRequest(entry, now));
    case "node-pending":
      return count(Object.values(state as Record<string, { ts: number }>), (entry) => rules.nodeRequest(entry, now));
    default:
      return undefined;
  }
}

function contentFindings(file: FileFacts, facts: DoctorFacts): Finding[] {
  const { content } = file;
  const at = file.path;
  switch (content.status) {
    case "missing":
      return [];
    case "unreadable": {
      const owner =
        file.uid !== undefined && file.uid !== facts.euid
          ? ` (owned by uid ${file.uid}, doctor runs as uid ${facts.euid})`
          : "";
      return [
        {
          file: at,
          problem: `cannot be read: ${content.reason}${owner}; give it back to the gateway's user (e.g. "sudo chown $(id -u):$(id -g) ${at}" or "sudo moltbot doctor --fix"); it was left untouched`,
          severity: "error",
        },
      ];
    }
    case "corrupt":
      return [
        {
          file: at,
          problem: `${content.reason}; nothing can use it as it is`,
          severity: "error",
          fix: { type: "move-aside", file: at },
        },
      ];
    case "newer-version":
      return [
        {
          file: at,
          problem: `was written with version ${content.version} by a newer gateway; this moltbot understands version 1, so upgrade moltbot (the file was left untouched)`,
          severity: "error",
        },
      ];
    case "ok":
      break;
  }
  const findings: Finding[] = [];
  const counts = countEntries(file.kind, content.state, facts.now, facts.isLive);
  if (counts && counts.expired > 0) {
    findings.push({
      file: at,
      problem: `${counts.expired} expired ${counts.expired === 1 ? "entry" : "entries"} still stored (invisible to every command)`,
      severity: "warning",
      fix: { type: "prune-expired", file: at, kind: file.kind },
    });
  }
  if (file.kind === "dm-pending" && counts && counts.live > facts.maxPending) {
    findings.push({
      file: at,
      problem: `${counts.live} live requests, more than the cap of ${facts.maxPending}: something wrote past the cap; approve or reject the extra ones ("moltbot pairing list ${file.channel ?? "<channel>"}")`,
      severity: "warning",
    });
  }
  if (file.kind === "dm-allow") {
    const allowFrom = (content.state as { allowFrom: string[] }).allowFrom;
    const wildcard = allowFrom.filter((entry) => entry.trim() === "*" || entry.trim() === "").length;
    if (wildcard > 0) {
      findings.push({
        file: at,
        problem: `holds ${wildcard} empty or "*" ${wildcard === 1 ? "entry" : "entries"}, which moltbot never writes ("*" may let everyone in); remove ${wildcard === 1 ? "it" : "them"} by hand if not intended`,
        severity: "warning",
      });
    }
  }
  return findings;
}

function ownerFinding(file: FileFacts, dirs: DirFacts[], euid: number): Finding | undefined {
  if (file.uid === undefined) return undefined;
  const dir = dirs.find(
    (candidate) =>
      file.path.startsWith(`${candidate.path}/`) && !file.path.slice(candidate.path.length + 1).includes("/"),
  );
  if (!dir || dir.uid === file.uid) return undefined;
  const problem = `is owned by uid ${file.uid} but its directory belongs to uid ${dir.uid} (a "sudo moltbot" leftover?): the gateway may not be able to read it`;
  // Only root can hand a file back; anyone else gets the command to run.
  if (euid !== 0)
    return {
      file: file.path,
      problem: `${problem}; run "sudo chown ${dir.uid}:${dir.gid} ${file.path}"`,
      severity: "error",
    };
  return {
    file: file.path,
    problem,
    severity: "error",
    fix: { type: "chown", path: file.path, uid: dir.uid, gid: dir.gid },
  };
}

/** Every finding about the store, most serious first within each file, files in scan order. */
export function diagnose(facts: DoctorFacts): Finding[] {
  const findings: Finding[] = [];
  for (const dir of facts.unlistable) {
    findings.push({
      file: dir.path,
      problem: `cannot be listed: ${dir.reason}; check its owner and mode`,
      severity: "error",
    });
  }
  for (const dir of facts.dirs) {
    const finding = modeFinding(dir.path, dir.mode, EXPECTED_DIR_MODE, "directory");
    if (finding) findings.push(finding);
  }
  for (const file of facts.files) {
    if (file.lock) {
      const lockPath = `${file.path}.lock`;
      findings.push(
        file.lock.ageMs > facts.staleMs
          ? {
              file: lockPath,
              problem: `stale lock left by a process that died ${seconds(file.lock.ageMs)} ago (commands take it over after ${seconds(facts.staleMs)})`,
              severity: "warning",
              fix: { type: "clear-stale-lock", file: file.path },
            }
          : {
              file: lockPath,
              problem: `in use: held by a running process (refreshed ${seconds(file.lock.ageMs)} ago); left alone`,
              severity: "info",
            },
      );
    }
    for (const temp of file.temps) {
      // A live writer renames its temp file within milliseconds and holds the lock meanwhile.
      const stale = temp.ageMs > facts.staleMs && !(file.lock && file.lock.ageMs <= facts.staleMs);
      findings.push(
        stale
          ? {
              file: temp.path,
              problem: `leftover temp file of a write that never completed (${seconds(temp.ageMs)} old); ${file.path} itself is intact`,
              severity: "warning",
              fix: { type: "remove-temp", path: temp.path },
            }
          : { file: temp.path, problem: "temp file of a write in progress; left alone", severity: "info" },
      );
    }
    if (file.content.status === "missing") continue;
    findings.push(...contentFindings(file, facts));
    if (file.isFile !== false && file.mode !== undefined) {
      const finding = modeFinding(file.path, file.mode, EXPECTED_FILE_MODE, "file");
      if (finding) findings.push(finding);
    }
    const owner = ownerFinding(file, facts.dirs, facts.euid);
    if (owner) findings.push(owner);
  }
  return findings;
}

/** A pending state without its expired entries; undefined when nothing expired (nothing to write). */
export function pruneExpired(kind: StoreKind, state: unknown, now: number, rules: LivenessRules): unknown {
  const counts = countEntries(kind, state, now, rules);
  if (!counts || counts.expired === 0) return undefined;
  if (kind === "dm-pending") {
    const pending = state as PendingState;
    return { ...pending, requests: pending.requests.filter((request) => rules.dmRequest(request, now)) };
  }
  const live = kind === "device-pending" ? rules.deviceRequest : rules.nodeRequest;
  return Object.fromEntries(
    Object.entries(state as Record<string, { ts: number }>).filter(([, entry]) => live(entry, now)),
  );
}

/** `<file>.corrupt-2026-01-31T12-00-00.000Z`: sortable, and no colons (they upset some tools and filesystems). */
export function corruptName(file: string, now: number, attempt = 0): string {
  const stamp = new Date(now).toISOString().replace(/:/g, "-");
  return `${file}.corrupt-${stamp}${attempt > 0 ? `-${attempt}` : ""}`;
}

/** The store is healthy when every error and warning has been fixed; "info" (a lock in use) is not a problem. */
export function isHealthy(findings: readonly (Finding & { fixed: boolean })[]): boolean {
  return findings.every((finding) => finding.severity === "info" || finding.fixed);
}
