import { validateText } from "./text.js";

/*
 * The record of decisions (issue 16): one JSON line per approve, reject, revoke, block, unblock,
 * rotate, remove, rename or clear, chained by SHA-256. Pure: the store (store/decision-log.ts)
 * locks, reads and appends; this module says what a line is and whether a log holds together.
 *
 * The hashing (node:crypto, loaded by writes only) is in decision-chain.ts.
 *
 * A line is `{"seq":…,"at":…,"action":…,…,"prev":"<hash of the line before>","hash":"<hash>"}`,
 * where `hash` is the SHA-256 of the line's own text up to (not including) `,"hash":…`, closed
 * with `}`. Hashing the exact bytes (not a re-serialisation) means any edit shows, whatever a JSON
 * tool would make of it. The head file names the last line (seq, hash, byte size), so removing
 * lines from the end, or editing the last line and fixing its hash, shows too.
 */

/** `prev` of the first line. */
export const GENESIS_HASH = "0".repeat(64);
export const MAX_REASON_LENGTH = 500;
/** Ids a bulk decision (devices clear) names in its line; the count says how many there were. */
export const MAX_LOGGED_IDS = 100;

export type DecisionAction =
  | "pairing.approve"
  | "pairing.reject"
  | "pairing.revoke"
  | "pairing.block"
  | "pairing.unblock"
  | "devices.approve"
  | "devices.reject"
  | "devices.rotate"
  | "devices.revoke"
  | "devices.remove"
  | "devices.rename"
  | "devices.clear"
  | "nodes.approve"
  | "nodes.reject"
  | "nodes.remove"
  | "nodes.rename";

/** What a decision did, as its operation reports it. Never a secret: codes only as `codeHash`. */
export interface DecisionFacts {
  action: DecisionAction;
  channel?: string;
  account?: string;
  senderId?: string;
  /** `codeDigest` of the code, so a line can be matched to a code without holding it. */
  codeHash?: string;
  requestId?: string;
  deviceId?: string;
  nodeId?: string;
  role?: string;
  name?: string;
  /** Bulk decisions: how many entries went, and (up to MAX_LOGGED_IDS) which. */
  count?: number;
  ids?: string[];
}

/** Who ran the command: the effective user, and under sudo the user who asked for it. */
export interface Operator {
  user: string;
  uid: number;
  sudoUser?: string;
}

export interface DecisionEntry extends DecisionFacts {
  seq: number;
  /** ISO-8601 UTC with milliseconds. */
  at: string;
  operator: Operator;
  reason?: string;
  /**
   * Written by the next decision after the deciding process died mid-way (DECISIONS.md): "complete"
   * when everything it wrote was found on disk, "partial" when its first (deciding) write was and a
   * later one was not, "uncertain" when the records have changed since in a way that cannot tell.
   */
  recovered?: "complete" | "partial" | "uncertain";
  prev: string;
  hash: string;
}

/** The head file: where the log ends, and the decision being written, if one was interrupted. */
export interface DecisionHead {
  version: 1;
  seq: number;
  hash: string;
  /** Bytes of the log up to and including the last line's newline. */
  size: number;
  journal?: DecisionJournal;
  [key: string]: unknown;
}

/** A record a decision writes, with digests of its state before and after (see store/decision-log.ts). */
export interface JournalWrite {
  record: string;
  channel?: string;
  account?: string;
  before: string;
  after: string;
}

/** The line about to be appended, written into the head before any record is touched. */
export interface DecisionJournal {
  line: string;
  writes: JournalWrite[];
}

export const emptyDecisionHead = (): DecisionHead => ({ version: 1, seq: 0, hash: GENESIS_HASH, size: 0 });

/** `--reason`: trimmed, 1–500 characters, no control characters (it is printed back to operators). */
export function validateReason(reason: string): string {
  return validateText(reason, "reason", MAX_REASON_LENGTH);
}

/**
 * What became of an interrupted decision, from the digests of its records as they are now. The
 * first record it meant to change decides (writes are in write order, the approval first): still
 * as before, the decision was not made; as written, it was (completely, or with a later write
 * missing); anything else, another writer has changed it since and nobody can tell.
 */
export function classifyInterrupted(
  writes: readonly JournalWrite[],
  current: readonly string[],
): "not-made" | NonNullable<DecisionEntry["recovered"]> {
  const states = writes.map((write, index) => ({ write, now: current[index] }));
  if (states.every(({ write, now }) => now === write.after)) return "complete";
  const first = states.find(({ write }) => write.before !== write.after);
  if (first === undefined) return "complete";
  if (first.now === first.write.before) return "not-made";
  return first.now === first.write.after ? "partial" : "uncertain";
}
