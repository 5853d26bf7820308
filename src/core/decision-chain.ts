import { GENESIS_HASH, type DecisionEntry, type DecisionHead } from "./decisions.js";
import { sha256Js } from "./sha256.js";

/*
 * The hash chain of the decision log (decisions.ts says what a line is): making a line, reading
 * one back, checking a whole log against its head. Hashes are SHA-256 in JavaScript (sha256.ts),
 * so that a decision does not load node:crypto (~7 ms); once loadNativeHash has loaded it (before
 * large inputs, or many: recovery, `log`, `doctor`), node:crypto does them. The digests are the
 * same either way.
 */

type Native = typeof import("./fingerprint.js");
let native: Native | undefined;

/** Inputs from this size on are worth loading node:crypto for (a 100 000-sender allowlist). */
export const LARGE_HASH_INPUT = 64 * 1024;

/** Load node:crypto's SHA-256 for what follows: before hashing large inputs, or many. */
export async function loadNativeHash(): Promise<void> {
  native ??= await import("./fingerprint.js");
}

export const sha256Hex = (data: string | Uint8Array): string => (native ? native.sha256(data) : sha256Js(data));

/** SHA-256 of two byte arrays that share a long start (see fingerprint.ts's sha256Pair). */
export const sha256Pair = (a: Uint8Array, b: Uint8Array): [string, string] =>
  native ? native.sha256Pair(a, b) : [sha256Js(a), sha256Js(b)];

/**
 * A code as the log and the dead-code file keep it. Salting would not make a 40-bit code safe from
 * someone who can read the state dir (the gateway's own file holds live codes in clear); this
 * keeps codes out of copies of the log, and lets a typed code be looked up.
 */
export function codeDigest(code: string): string {
  return sha256Hex(`moltbot pairing code\u0000${code.trim().toUpperCase()}`).slice(0, 32);
}

/** A state as a digest, for "is this what was written?" after a crash. */
export const stateDigest = (state: unknown): string => sha256Hex(JSON.stringify(state) ?? "undefined");

const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;

/** The line for an entry: fields in a fixed order, then `prev`, then the hash of all that. */
export function formatDecisionLine(
  fields: Omit<DecisionEntry, "hash" | "prev" | "seq">,
  seq: number,
  prev: string,
): { line: string; hash: string } {
  const { at, action, operator, reason, recovered, ...facts } = fields;
  const body = JSON.stringify({
    seq,
    at,
    action,
    ...facts,
    operator,
    ...(reason !== undefined ? { reason } : {}),
    ...(recovered !== undefined ? { recovered } : {}),
    prev,
  });
  const hash = sha256Hex(body);
  return { line: `${body.slice(0, -1)},"hash":"${hash}"}`, hash };
}

/** A line read back: its entry, or why it is not a line moltbot wrote as it stands. */
export function parseDecisionLine(line: string): { entry: DecisionEntry } | { problem: string } {
  const match = HASH_SUFFIX.exec(line);
  let entry: DecisionEntry;
  try {
    entry = JSON.parse(line) as DecisionEntry;
  } catch {
    return { problem: "is not a JSON line" };
  }
  if (!match || typeof entry !== "object" || entry === null) return { problem: "has no hash at its end" };
  if (sha256Hex(`${line.slice(0, match.index)}}`) !== match[1]) {
    return { problem: "was changed after it was written (its hash does not match its text)" };
  }
  if (typeof entry.seq !== "number" || typeof entry.prev !== "string") return { problem: "has no seq or prev" };
  return { entry };
}

export interface LogVerification {
  ok: boolean;
  /** Entries that hold together, from the start. */
  entries: number;
  /** The hash of the last entry (note it somewhere else to detect a rewritten log later). */
  head: string;
  /** The 1-based line where the log stops holding together. */
  line?: number;
  problem?: string;
  /** A decision was interrupted by a crash; the next decision records it (not a problem). */
  interrupted?: boolean;
}

/**
 * Check a whole log against its head: every line unchanged and following the one before, numbered
 * 1, 2, 3…, and the log ending exactly where the head says. Bytes beyond the head's end are only
 * allowed as the start of the journaled line (a crash in the middle of appending it).
 */
export function verifyDecisionLog(bytes: Buffer, head: DecisionHead | undefined): LogVerification {
  if (head === undefined) {
    return bytes.length === 0
      ? { ok: true, entries: 0, head: GENESIS_HASH }
      : {
          ok: false,
          entries: 0,
          head: GENESIS_HASH,
          line: 1,
          problem: "the log's head file is missing, so where the log should end cannot be checked",
        };
  }
  const body = bytes.subarray(0, Math.min(head.size, bytes.length)).toString("utf8");
  const lines = body === "" ? [] : body.split("\n");
  // The last element is "" after a final newline, or a line cut in the middle.
  const complete = lines.length === 0 || lines[lines.length - 1] === "";
  if (lines.length > 0) lines.pop();
  let prev = GENESIS_HASH;
  for (let i = 0; i < lines.length; i++) {
    const fail = (problem: string): LogVerification => ({
      ok: false,
      entries: i,
      head: prev,
      line: i + 1,
      problem: `line ${i + 1} ${problem}`,
    });
    const parsed = parseDecisionLine(lines[i]!);
    if ("problem" in parsed) return fail(parsed.problem);
    if (parsed.entry.seq !== i + 1) {
      return fail(
        `is entry ${parsed.entry.seq}, where entry ${i + 1} belongs (lines were removed, added or reordered)`,
      );
    }
    if (parsed.entry.prev !== prev) {
      return fail(`does not follow the line before it (lines were removed, added, reordered or replaced)`);
    }
    prev = parsed.entry.hash;
  }
  const ok = (extra: Partial<LogVerification> = {}): LogVerification => ({
    ok: true,
    entries: lines.length,
    head: prev,
    ...extra,
  });
  const fail = (problem: string): LogVerification => ({
    ok: false,
    entries: lines.length,
    head: prev,
    line: lines.length + 1,
    problem,
  });
  if (bytes.length < head.size || !complete) {
    return fail(
      `the log was cut short: it is ${bytes.length} bytes, and its last entry (${head.seq}) should end at byte ${head.size} (entries were removed from the end)`,
    );
  }
  if (lines.length !== head.seq) {
    return fail(`the head says the log has ${head.seq} entries, and it has ${lines.length}`);
  }
  if (prev !== head.hash) {
    return fail(`the last line is not the one the head names (it was replaced or edited and re-hashed)`);
  }
  const tail = bytes.subarray(head.size);
  if (tail.length === 0) return ok(head.journal ? { interrupted: true } : {});
  if (head.journal && Buffer.from(`${head.journal.line}\n`, "utf8").subarray(0, tail.length).equals(tail)) {
    return ok({ interrupted: true });
  }
  return fail(`${tail.length} bytes after the last entry were not written by moltbot`);
}
