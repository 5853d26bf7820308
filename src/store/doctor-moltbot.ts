import fs from "node:fs";
import { corruptName } from "../core/doctor.js";
import { shellQuote } from "../core/shell.js";
import { isMoltbotError } from "../errors.js";
import { BLOCK_LIST, DECISION_HEAD } from "./catalogue.js";
import type { StoreContext } from "./context.js";
import { loadNativeHash } from "../core/decision-chain.js";
import { logFile, readDecisionLog } from "./decision-log.js";
import { accountsAllowing } from "./dm-store.js";
import type { DoctorFinding } from "./doctor.js";
import { locate } from "./json/backend.js";
import { errnoOf } from "./json/errors.js";
import { acquireLock } from "./json/lock.js";
import { FILE_MODE, writeRefusal } from "./json/owner.js";

/*
 * Doctor's look at moltbot's own records beyond what the catalogue scan checks for every record
 * (shape, mode, owner, locks, temp files): the decision log's hash chain and file, and blocked
 * senders the gateway still lets in. Called once by store/doctor.ts.
 */

const octal = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, "0")}`;

/** Move the log and its head aside, bytes intact, under the head's lock: the next decision starts a new log. */
async function setLogAside(ctx: StoreContext): Promise<string> {
  const head = locate(ctx.paths, DECISION_HEAD, {}).file;
  const lock = await acquireLock(head, Date.now() + ctx.lockTimeoutMs);
  try {
    const moved: string[] = [];
    for (const file of [logFile(ctx.paths), head]) {
      if (!fs.existsSync(file)) continue;
      let target = corruptName(file, ctx.now());
      for (let attempt = 1; fs.existsSync(target); attempt++) target = corruptName(file, ctx.now(), attempt);
      fs.renameSync(file, target);
      moved.push(target);
    }
    return moved.join(" and ");
  } finally {
    await lock.release();
  }
}

async function decisionLogFindings(ctx: StoreContext, options: { fix: boolean }): Promise<DoctorFinding[]> {
  const file = logFile(ctx.paths);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(file);
  } catch (error) {
    if (errnoOf(error) !== "ENOENT") {
      return [
        { file, problem: `cannot be checked: ${errnoOf(error) ?? String(error)}`, fixed: false, severity: "error" },
      ];
    }
  }
  const headExists = fs.existsSync(locate(ctx.paths, DECISION_HEAD, {}).file);
  if (!stat && !headExists) return [];
  if (stat && !stat.isFile()) {
    return [
      {
        file,
        problem: `is ${stat.isSymbolicLink() ? "a symbolic link" : "not a regular file"}: moltbot never follows a link in the store, so every decision is refused until it is replaced by the log itself`,
        fixed: false,
        severity: "error",
      },
    ];
  }
  const findings: DoctorFinding[] = [];
  const refused = options.fix && writeRefusal(ctx.paths.stateDir, fs.statSync(ctx.paths.stateDir)) !== undefined;
  if (stat && (stat.mode & 0o777) !== FILE_MODE) {
    const finding: DoctorFinding = {
      file,
      problem: `file mode is ${octal(stat.mode)}; it should be 0600 (the log says who was let in, and when)`,
      fixed: false,
      severity: "error",
    };
    if (options.fix && !refused) {
      const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      try {
        fs.fchmodSync(fd, FILE_MODE);
        finding.fixed = true;
      } finally {
        fs.closeSync(fd);
      }
    }
    findings.push(finding);
  }
  let verification;
  try {
    await loadNativeHash();
    verification = readDecisionLog(ctx).verification;
  } catch (error) {
    // The head itself is unreadable: the catalogue's scan reports (and moves aside) that file.
    if (isMoltbotError(error)) return findings;
    throw error;
  }
  if (!verification.ok) {
    const finding: DoctorFinding = {
      file,
      problem: `the decision log does not verify: ${verification.problem ?? "unknown problem"}; every decision is refused until it is set aside (the first ${verification.entries} entries hold together)`,
      fixed: false,
      severity: "error",
    };
    if (options.fix && !refused) {
      try {
        finding.problem += `; moved aside to ${await setLogAside(ctx)}, and the next decision starts a new log`;
        finding.fixed = true;
      } catch (error) {
        finding.problem += `; could not fix: ${errnoOf(error) ?? (error instanceof Error ? error.message : String(error))}`;
      }
    }
    findings.push(finding);
  } else if (verification.interrupted) {
    findings.push({
      file,
      problem: "a decision was interrupted by a crash while it was being written; the next decision records it",
      fixed: false,
      severity: "info",
    });
  }
  return findings;
}

/** A blocked sender the gateway still lets in: it reads its allowlists, never moltbot's block list. */
function blockFindings(ctx: StoreContext): DoctorFinding[] {
  const file = locate(ctx.paths, BLOCK_LIST, {}).file;
  let blocked;
  try {
    blocked = ctx.backend.read(BLOCK_LIST, {}).state.blocked;
  } catch (error) {
    if (isMoltbotError(error)) return []; // reported by the catalogue's scan of the file
    throw error;
  }
  const findings: DoctorFinding[] = [];
  for (const entry of blocked) {
    let accounts: string[];
    try {
      accounts = accountsAllowing(ctx, entry.channel, entry.id, entry.account);
    } catch {
      continue; // an unknown channel or an unreadable allowlist: the scan says so
    }
    for (const account of accounts) {
      const flag = account === "default" ? "" : ` --account ${shellQuote(account)}`;
      findings.push({
        file,
        problem: `${entry.channel} sender ${entry.id} is blocked but still on the allowlist of account ${account}, so the gateway lets them in; run "moltbot pairing revoke ${entry.channel} ${shellQuote(entry.id)}${flag}" (or unblock them)`,
        fixed: false,
        severity: "warning",
      });
    }
  }
  return findings;
}

export async function moltbotRecordFindings(ctx: StoreContext, options: { fix: boolean }): Promise<DoctorFinding[]> {
  return [...(await decisionLogFindings(ctx, options)), ...blockFindings(ctx)];
}
