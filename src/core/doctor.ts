import { shellQuote, sudoCommand, type CommandStore } from "./shell.js";

/*
 * `moltbot doctor` as a pure function: the store gathers facts about the state dir (modes, owners,
 * what each record parses to, locks, temp files, expiry counts from the catalogue's own rules) and
 * this module decides what is wrong and which repair is safe. No I/O and no clock here, so every
 * rule is tested without a disk.
 */

export const EXPECTED_FILE_MODE = 0o600;
export const EXPECTED_DIR_MODE = 0o700;

/** The record kinds doctor knows (the catalogue's names). */
export type StoreKind =
  | "dm-pending"
  | "dm-allow"
  | "device-pending"
  | "device-paired"
  | "node-pending"
  | "node-paired"
  | "block-list"
  | "code-history"
  | "decision-head";

/** What reading and validating a file gave. */
export type ContentFacts =
  | { status: "ok" }
  | { status: "missing" }
  /** Permission denied (or another I/O error): the bytes are fine as far as we know, we just cannot read them. */
  | { status: "unreadable"; reason: string }
  /** Not JSON, the wrong shape, too large, not a regular file: nothing can use it as it is. */
  | { status: "corrupt"; reason: string }
  /** A `version` above the one we know: a newer gateway wrote it; its data is valid, just not for us. */
  | { status: "newer-version"; version: number };

export interface LockFacts {
  /** ms since the lock was last refreshed (negative: dated in the future). */
  ageMs: number;
  /** A proper-lockfile directory, an OpenClaw lock file, or a link someone planted. */
  form: "directory" | "file" | "link";
  /** Stale by the rules every command applies (lock.ts): taken over by the next writer. */
  stale: boolean;
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
  /** The file is a symbolic link: never followed, never used. */
  isSymlink?: boolean;
  content: ContentFacts;
  /** Valid, but starts with a UTF-8 byte-order mark (the gateway reads such a file as empty). */
  bom?: boolean;
  /** Valid, but a rewrite would change data (duplicate keys, invalid UTF-8): commands refuse to write it. */
  rewriteRisk?: string;
  /** Pending records: live, expired and future-dated entries. */
  counts?: { live: number; expired: number; future: number };
  /** DM pending: live requests per account, when over the cap. */
  overCap?: { account: string; live: number }[];
  /** DM pending: codes held by more than one live request. */
  duplicateCodes?: string[];
  /** DM allowlists: entries that are empty or `*`. */
  wildcards?: number;
  /** `<file>.lock`, when present. */
  lock?: LockFacts;
  /** Leftover temp files of interrupted writes (ours or the gateway's, by their exact name shapes). */
  temps: { path: string; ageMs: number }[];
}

export interface DirFacts {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  /** A store directory below the state dir that is a symbolic link (never followed). */
  isSymlink?: boolean;
}

export interface DoctorFacts {
  now: number;
  /** The store checked: commands in findings name it, since `sudo` drops the variables that chose it. */
  store: CommandStore;
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
  /** What OpenClaw's migration left behind, when it did (GENERATIONS.md §3). */
  migration?: MigrationFacts;
}

export interface MigrationFacts {
  /** The state dir was reached through a link OpenClaw left (`~/.clawdbot -> ~/.openclaw`): its target. */
  linkedTo?: { link: string; target: string };
  /** `devices/pending.json.migrated`: the pending device requests OpenClaw dropped, by count. */
  droppedDeviceRequests?: { file: string; count: number };
}

/** A repair the store module may carry out; each one is safe and never destroys data. */
export type FixAction =
  | { type: "chmod"; path: string; mode: number }
  | { type: "chown"; path: string; uid: number; gid: number; fromUid: number }
  /** Take the dead process's lock over the way any command would, then release it. */
  | { type: "clear-stale-lock"; file: string }
  | { type: "remove-temp"; path: string }
  /** Rename to `<file>.corrupt-<timestamp>`, bytes intact, so the store starts afresh. */
  | { type: "move-aside"; file: string }
  /** Rewrite through the locked write: drops expired entries, or a byte-order mark. */
  | { type: "rewrite"; file: string; kind: StoreKind; channel?: string };

export type Severity = "error" | "warning" | "info";

export interface Finding {
  file: string;
  problem: string;
  severity: Severity;
  fix?: FixAction;
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;
const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;

function modeFinding(path: string, mode: number, expected: number, what: "file" | "directory"): Finding | undefined {
  if ((mode & 0o777) === expected) return undefined;
  const open =
    (mode & 0o022) !== 0 && what === "directory"
      ? "other users can plant files in it"
      : (mode & 0o077) !== 0
        ? `other users can ${what === "file" ? "read it" : "look inside"}`
        : "not the store's mode";
  return {
    file: path,
    problem: `${what} mode is ${octal(mode)} (${open}); it should be ${octal(expected)}`,
    severity: "error",
    fix: { type: "chmod", path, mode: expected },
  };
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
          problem: `cannot be read: ${content.reason}${owner}; give it back to the gateway's user (e.g. "sudo chown -h $(id -u):$(id -g) ${shellQuote(at)}" or "${sudoCommand(facts.store, ["doctor", "--fix"])}"); it was left untouched`,
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
  const rewrite: FixAction = {
    type: "rewrite",
    file: at,
    kind: file.kind,
    ...(file.channel ? { channel: file.channel } : {}),
  };
  if (file.rewriteRisk !== undefined) {
    findings.push({
      file: at,
      problem: `cannot be rewritten faithfully: ${file.rewriteRisk}; every command refuses to change it. Edit it by hand (keep a copy), then run "moltbot doctor" again`,
      severity: "error",
    });
  }
  if (file.bom) {
    findings.push({
      file: at,
      problem: `starts with a byte-order mark: the gateway reads it as empty${file.kind === "dm-allow" ? " (nobody on it is let in)" : ""}; rewriting it without the mark keeps every entry`,
      severity: "error",
      ...(file.rewriteRisk === undefined ? { fix: rewrite } : {}),
    });
  }
  const counts = file.counts;
  if (counts && counts.expired + counts.future > 0) {
    const parts = [
      ...(counts.expired > 0
        ? [`${plural(counts.expired, "expired entry", "expired entries")} still stored (invisible to every command)`]
        : []),
      ...(counts.future > 0
        ? [
            `${plural(counts.future, "entry", "entries")} dated in the future (a clock step or a restored backup; treated as expired, or it would hold a pending slot forever)`,
          ]
        : []),
    ];
    findings.push({
      file: at,
      problem: parts.join("; "),
      severity: "warning",
      ...(file.rewriteRisk === undefined ? { fix: rewrite } : {}),
    });
  }
  for (const over of file.overCap ?? []) {
    findings.push({
      file: at,
      problem: `${over.live} live requests for account ${over.account}, more than the cap of ${facts.maxPending}: something wrote past the cap; approve or reject the extra ones ("moltbot pairing list ${file.channel ?? "<channel>"}")`,
      severity: "warning",
    });
  }
  for (const code of file.duplicateCodes ?? []) {
    findings.push({
      file: at,
      problem: `code ${code} is held by more than one live request, so approving it is refused (it cannot say whom); reject it and let the senders ask again`,
      severity: "warning",
    });
  }
  if (file.wildcards) {
    const them = file.wildcards === 1 ? "it" : "them";
    findings.push({
      file: at,
      problem: `holds ${plural(file.wildcards, 'empty or "*" entry', 'empty or "*" entries')}, which moltbot never writes ("*" may let everyone in); remove ${them} by hand if not intended`,
      severity: "warning",
    });
  }
  return findings;
}

function ownerFinding(file: FileFacts, dirs: DirFacts[], euid: number, stateDir: string): Finding | undefined {
  if (file.uid === undefined || !file.isFile) return undefined;
  const parent = dirs.find(
    (candidate) =>
      file.path.startsWith(`${candidate.path}/`) && !file.path.slice(candidate.path.length + 1).includes("/"),
  );
  // Below the state dir, its owner is the store's owner (a root-owned `credentials/` is itself a
  // leftover, handed back first); a credentials dir of its own is its own owner.
  const root = dirs.find((candidate) => candidate.path === stateDir && !candidate.isSymlink);
  const dir = root && file.path.startsWith(`${root.path}/`) ? root : parent;
  if (!dir || dir.uid === file.uid) return undefined;
  const problem = `is owned by uid ${file.uid} but the store (${dir.path}) belongs to uid ${dir.uid} (a "sudo moltbot" leftover?): the gateway may not be able to read it`;
  // -h: never through a link.
  return wrongOwner(
    file.path,
    problem,
    dir,
    file.uid,
    euid,
    `sudo chown -h ${dir.uid}:${dir.gid} ${shellQuote(file.path)}`,
  );
}

/** Something owned by the wrong user: root gives it back to `owner`; anyone else gets the command to run. */
function wrongOwner(
  path: string,
  problem: string,
  owner: { uid: number; gid: number },
  fromUid: number,
  euid: number,
  command: string,
): Finding {
  if (euid !== 0) return { file: path, problem: `${problem}; run "${command}"`, severity: "error" };
  return {
    file: path,
    problem,
    severity: "error",
    fix: { type: "chown", path, uid: owner.uid, gid: owner.gid, fromUid },
  };
}

/**
 * A store directory below the state dir owned by someone else than the state dir's owner: an older
 * moltbot run with sudo created `credentials/` as root, and the gateway can no longer write in it.
 * Root gives it back (before the files in it: diagnose lists directories first).
 */
function dirOwnerFinding(dir: DirFacts, facts: DoctorFacts): Finding | undefined {
  const root = facts.dirs.find((candidate) => candidate.path === facts.store.stateDir);
  if (!root || root.isSymlink || !dir.path.startsWith(`${root.path}/`) || dir.uid === root.uid) return undefined;
  const problem = `directory owned by uid ${dir.uid} but the state dir belongs to uid ${root.uid} (a "sudo moltbot" leftover?): the gateway cannot write in it`;
  return wrongOwner(dir.path, problem, root, dir.uid, facts.euid, sudoCommand(facts.store, ["doctor", "--fix"]));
}

function lockFinding(file: FileFacts, facts: DoctorFacts): Finding | undefined {
  const { lock } = file;
  if (!lock) return undefined;
  const path = `${file.path}.lock`;
  const clear: FixAction = { type: "clear-stale-lock", file: file.path };
  if (lock.form === "link") {
    return {
      file: path,
      problem: "is a symbolic link, not a lock: every command refuses to use it as one; remove the link",
      severity: "error",
    };
  }
  if (!lock.stale) {
    const what =
      lock.form === "file"
        ? "an OpenClaw lock file of a running process"
        : `held by a running process (refreshed ${seconds(lock.ageMs)} ago)`;
    return { file: path, problem: `in use: ${what}; left alone`, severity: "info" };
  }
  if (lock.ageMs < 0) {
    return {
      file: path,
      problem: `dated ${seconds(-lock.ageMs)} in the future (a clock step or a restored backup): no live process can have refreshed it, so commands take it over`,
      severity: "warning",
      fix: clear,
    };
  }
  return {
    file: path,
    problem: `stale lock left by a process that died ${seconds(lock.ageMs)} ago (commands take it over after ${seconds(facts.staleMs)})`,
    severity: "warning",
    fix: clear,
  };
}

/** The two migration hazards the newest gateway creates, explained (nothing for doctor to repair). */
function migrationFindings(migration: MigrationFacts | undefined): Finding[] {
  const findings: Finding[] = [];
  if (migration?.linkedTo) {
    const { link, target } = migration.linkedTo;
    findings.push({
      file: link,
      problem: `is a link to ${target}: OpenClaw moved the state there on its first run. Everything now lives in ${target}; a January gateway still started with ${link} writes through the link into OpenClaw's state, so run only one of them`,
      severity: "info",
    });
  }
  const dropped = migration?.droppedDeviceRequests;
  if (dropped) {
    findings.push({
      file: dropped.file,
      problem: `OpenClaw imported this state and set aside the pending device requests (${dropped.count} of them) instead of importing them: those devices are not waiting any more and must ask again (the file is kept for reference)`,
      severity: "info",
    });
  }
  return findings;
}

/** Every finding about the store, most serious first within each file, files in scan order. */
export function diagnose(facts: DoctorFacts): Finding[] {
  const findings: Finding[] = [...migrationFindings(facts.migration)];
  for (const dir of facts.unlistable) {
    findings.push({
      file: dir.path,
      problem: `cannot be listed: ${dir.reason}; check its owner and mode`,
      severity: "error",
    });
  }
  for (const dir of facts.dirs) {
    if (dir.isSymlink) {
      findings.push({
        file: dir.path,
        problem:
          "is a symbolic link: moltbot never follows a link below the state directory, so nothing in it is used; make it a real directory",
        severity: "error",
      });
      continue;
    }
    // A leftover of a sudo run is said as such (with the fix); any other stranger's directory plainly.
    const owner = dirOwnerFinding(dir, facts);
    if (owner) findings.push(owner);
    else if (dir.uid !== facts.euid && facts.euid !== 0) {
      findings.push({
        file: dir.path,
        problem: `belongs to uid ${dir.uid}, not to you (uid ${facts.euid}): moltbot will not write here; run it as the directory's owner`,
        severity: "error",
      });
    }
    const finding = modeFinding(dir.path, dir.mode, EXPECTED_DIR_MODE, "directory");
    if (finding) findings.push(finding);
  }
  for (const file of facts.files) {
    const lock = lockFinding(file, facts);
    if (lock) findings.push(lock);
    for (const temp of file.temps) {
      // A live writer renames its temp file within milliseconds and holds the lock meanwhile.
      const stale = temp.ageMs > facts.staleMs && !(file.lock && !file.lock.stale);
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
    if (file.isSymlink) {
      findings.push({
        file: file.path,
        problem:
          "is a symbolic link: moltbot never follows a link in the store, so every command refuses this file; replace the link with the file itself",
        severity: "error",
      });
      continue;
    }
    if (file.content.status === "missing") continue;
    findings.push(...contentFindings(file, facts));
    if (file.isFile !== false && file.mode !== undefined) {
      const finding = modeFinding(file.path, file.mode, EXPECTED_FILE_MODE, "file");
      if (finding) findings.push(finding);
    }
    const owner = ownerFinding(file, facts.dirs, facts.euid, facts.store.stateDir);
    if (owner) findings.push(owner);
  }
  return findings;
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
