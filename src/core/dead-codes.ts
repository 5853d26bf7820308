import { MoltbotError } from "../errors.js";
import { requestAccount } from "./accounts.js";
import { sameSender, type ChannelInfo } from "./channels.js";
import { normalizeCode } from "./codes.js";
import { isCodeRecordLive, type CodeFate, type CodeHistoryState, type CodeRecord } from "./code-history.js";
import { codeDigest } from "./decision-chain.js";
import {
  DM_REQUEST_TTL_MS,
  isRequestLive,
  liveRequests,
  type PairingRequest,
  type PendingState,
} from "./dm-pairing.js";
import { isFutureDated } from "./pending.js";
import { shellQuote } from "./shell.js";
import { formatDuration } from "./text.js";

/*
 * The rules of the code history (code-history.ts) that hash codes: what a write of the pending
 * record teaches it, and the exact answer for a code that is not pending.
 */

const codeOf = (request: PairingRequest): string => String(request.code).trim().toUpperCase();

/**
 * The history after a write of the pending record: every code in `before` or `after` is
 * remembered; one that left is marked with `decided.fate` when it is one of `decided.codes`, else
 * `expired` if its hour is over (a request removed live by something else gets no fate: unknown).
 * Undefined when nothing changed, so the side file is written only when it has news.
 */
export function recordCodeFates(
  history: CodeHistoryState,
  before: PendingState,
  after: PendingState,
  now: number,
  decided?: { fate: CodeFate; codes: readonly string[] },
): CodeHistoryState | undefined {
  const records = history.codes.filter((record) => isCodeRecordLive(record, now)).map((record) => ({ ...record }));
  // Each code hashed once (the history holds a day of codes; a hash per comparison was ~8 ms).
  const digests = new Map<string, string>();
  const digestOf = (request: PairingRequest): string => {
    const code = codeOf(request);
    let digest = digests.get(code);
    if (digest === undefined) digests.set(code, (digest = codeDigest(code)));
    return digest;
  };
  const recordOf = (request: PairingRequest) => {
    const hash = digestOf(request);
    return records.find((record) => record.hash === hash && record.createdAt === request.createdAt);
  };
  for (const request of [...before.requests, ...after.requests]) {
    if (recordOf(request) || !Number.isFinite(Date.parse(request.createdAt))) continue;
    records.push({
      hash: digestOf(request),
      id: request.id,
      account: requestAccount(request),
      createdAt: request.createdAt,
    });
  }
  const decidedCodes = new Set((decided?.codes ?? []).map((code) => code.trim().toUpperCase()));
  for (const request of before.requests) {
    if (after.requests.some((kept) => codeOf(kept) === codeOf(request) && kept.createdAt === request.createdAt)) {
      continue;
    }
    const record = recordOf(request);
    if (!record || record.fate !== undefined) continue;
    if (decided && decidedCodes.has(codeOf(request))) {
      record.fate = decided.fate;
      record.at = new Date(now).toISOString();
    } else if (!isRequestLive(request, now) && !isFutureDated(Date.parse(request.createdAt), now)) {
      record.fate = "expired";
      record.at = new Date(Date.parse(request.createdAt) + DM_REQUEST_TTL_MS).toISOString();
    }
  }
  const next = records.filter((record) => isCodeRecordLive(record, now));
  if (JSON.stringify(next) === JSON.stringify(history.codes)) return undefined;
  return { ...history, version: 1, codes: next };
}

/**
 * Why `code` is not pending, when that can be known: a MoltbotError saying so (ALREADY_APPROVED,
 * BLOCKED, REPLACED, ALREADY_REJECTED, EXPIRED), or undefined for a code nobody knows (the caller
 * keeps its NOT_FOUND). Looks at expired requests still in the pending file, then at the history.
 */
export function explainDeadCode(
  channel: ChannelInfo,
  history: CodeHistoryState,
  pending: PendingState,
  input: { code: string; account?: string },
  now: number,
): MoltbotError | undefined {
  const code = normalizeCode(input.code);
  const hash = codeDigest(code);
  const inAccount = (account: string) => input.account === undefined || account === input.account;
  const stale: CodeRecord[] = pending.requests
    .filter(
      (request) =>
        codeOf(request) === code &&
        inAccount(requestAccount(request)) &&
        !isRequestLive(request, now) &&
        !isFutureDated(Date.parse(request.createdAt), now),
    )
    .map((request) => ({ hash, id: request.id, account: requestAccount(request), createdAt: request.createdAt }));
  const candidates = [...history.codes.filter((record) => record.hash === hash && inAccount(record.account)), ...stale]
    .filter((record) => Number.isFinite(Date.parse(record.createdAt)))
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  const record = candidates[0];
  if (!record) return undefined;

  const expiredAt = Date.parse(record.createdAt) + DM_REQUEST_TTL_MS;
  const fate = record.fate ?? (now > expiredAt ? "expired" : undefined);
  const fateAt = record.at !== undefined && Number.isFinite(Date.parse(record.at)) ? Date.parse(record.at) : expiredAt;
  const ago = `${formatDuration(now - fateAt)} ago, at ${new Date(fateAt).toISOString()}`;
  const sender = `${channel.name} sender ${record.id}${record.account === "default" ? "" : ` (account ${record.account})`}`;
  const list = `"moltbot pairing list ${channel.name}${record.account === "default" ? "" : ` --account ${shellQuote(record.account)}`}"`;
  const newer = liveRequests(pending, now).find(
    (request) =>
      requestAccount(request) === record.account &&
      sameSender(channel, request.id, record.id) &&
      codeOf(request) !== code,
  );
  const anew = "the sender gets a new code when they write to the bot again";
  switch (fate) {
    case "approved":
      return new MoltbotError(
        "ALREADY_APPROVED",
        `Code ${code} was already approved ${ago}: ${sender} was let in then. Nothing changed; see "moltbot pairing allowlist ${channel.name}".`,
      );
    case "blocked":
      return new MoltbotError(
        "BLOCKED",
        `Code ${code} was dropped ${ago}, when ${sender} was blocked. See "moltbot pairing blocked ${channel.name}".`,
      );
    default:
      break;
  }
  if (newer) {
    const why =
      fate === "rejected"
        ? `it was rejected ${ago}`
        : fate === "expired"
          ? `it expired ${ago}`
          : "it was removed from the pending requests";
    return new MoltbotError(
      "REPLACED",
      `Code ${code} was replaced by a newer code: ${why}, and ${sender} has asked again since. Run ${list} to see the new code.`,
    );
  }
  if (fate === "rejected") {
    return new MoltbotError("ALREADY_REJECTED", `Code ${code} was rejected ${ago} (${sender}); ${anew}.`);
  }
  if (fate === "expired") {
    return new MoltbotError("EXPIRED", `Code ${code} expired ${ago} (codes last 1 hour; ${sender}); ${anew}.`);
  }
  return undefined;
}
