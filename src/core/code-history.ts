import { DM_REQUEST_TTL_MS } from "./dm-pairing.js";

/*
 * Exact answers for dead codes (issue 16). The gateway's pending file forgets a code the moment
 * its request goes, so "no pending request" is all it can say. moltbot keeps, per channel, a small
 * side file of its own (`<state>/moltbot/<channel>-codes.json`): every code it has seen in the
 * pending file (as a hash: codeDigest), its sender, account and creation time, and what became of
 * it (approved, rejected, blocked, expired) with when. Entries go a day after the code's end.
 * A code moltbot never saw (created and dropped by the gateway alone) stays "not found".
 *
 * The rules that hash codes (and so load node:crypto) are in dead-codes.ts, used only by writes.
 */

export const CODE_HISTORY_TTL_MS = 24 * 60 * 60 * 1000;

export type CodeFate = "approved" | "rejected" | "blocked" | "expired";

export interface CodeRecord {
  /** codeDigest(code): the code itself is never kept here. */
  hash: string;
  /** The sender who held the code. */
  id: string;
  account: string;
  createdAt: string;
  fate?: CodeFate;
  /** When the fate came (for `expired`: when the code's hour ended). */
  at?: string;
  [key: string]: unknown;
}

export interface CodeHistoryState {
  version: 1;
  codes: CodeRecord[];
  [key: string]: unknown;
}

export const emptyCodeHistory = (): CodeHistoryState => ({ version: 1, codes: [] });

/** When a record stops mattering: a day after its fate, or after its code's hour ended. */
export function endOf(record: CodeRecord): number {
  const at = record.at === undefined ? Number.NaN : Date.parse(record.at);
  return Number.isFinite(at) ? at : Date.parse(record.createdAt) + DM_REQUEST_TTL_MS;
}

/** Older than a day (or undated): forgotten on the next write. */
export function isCodeRecordLive(record: CodeRecord, now: number): boolean {
  const end = endOf(record);
  return Number.isFinite(end) && now <= end + CODE_HISTORY_TTL_MS;
}
