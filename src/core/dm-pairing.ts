import { MoltbotError } from "../errors.js";
import { normalizeAllowEntry, type ChannelInfo } from "./channels.js";
import { generateCode, normalizeCode } from "./codes.js";
import { isLiveSince } from "./pending.js";
import type { RandomBytes } from "./random.js";
import { DEFAULT_ACCOUNT, requestAccount, validateAccount, withoutAccount } from "./accounts.js";
import { CONTROL_CHARACTERS, MAX_ID_LENGTH, usage } from "./text.js";

/** One stranger waiting for approval, as stored in `<channel>-pairing.json`. */
export interface PairingRequest {
  id: string;
  code: string;
  /** ISO-8601 UTC with milliseconds. */
  createdAt: string;
  lastSeenAt: string;
  meta?: Record<string, string>;
  /** Fields a newer gateway may add are carried along untouched. */
  [key: string]: unknown;
}

export interface PendingState {
  version: 1;
  requests: PairingRequest[];
  [key: string]: unknown;
}

export interface AllowState {
  version: 1;
  allowFrom: string[];
  [key: string]: unknown;
}

export const DM_REQUEST_TTL_MS = 60 * 60 * 1000;
export const DEFAULT_MAX_PENDING = 3;
export const MAX_PENDING_LIMIT = 100;
export const MAX_SENDER_ID_LENGTH = MAX_ID_LENGTH;
export const MAX_META_ENTRIES = 16;
export const MAX_META_VALUE_LENGTH = 512;
const META_KEY_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export const APPROVED_MESSAGE = "Moltbot access approved. Send a message to start chatting.";

export const emptyPending = (): PendingState => ({ version: 1, requests: [] });
export const emptyAllow = (): AllowState => ({ version: 1, allowFrom: [] });

/** Epoch ms at which a request stops being live; NaN when `createdAt` is unreadable. */
export function requestExpiresAt(request: PairingRequest): number {
  return Date.parse(request.createdAt) + DM_REQUEST_TTL_MS;
}

/**
 * Live up to and including the instant it turns one hour old. An unreadable date, or one too far in
 * the future to have been written by a live writer (pending.ts), is expired.
 */
export function isRequestLive(request: PairingRequest, now: number): boolean {
  return isLiveSince(Date.parse(request.createdAt), DM_REQUEST_TTL_MS, now);
}

/**
 * Live requests, oldest first (a stable sort). Each creation time is parsed once: the gateway asks
 * this for every unknown DM, and a comparator parsing both sides tripled the Date.parse calls.
 */
export function liveRequests(state: PendingState, now: number): PairingRequest[] {
  const live: PairingRequest[] = [];
  const times: number[] = [];
  let ordered = true;
  for (const request of state.requests) {
    const at = Date.parse(request.createdAt);
    if (!isLiveSince(at, DM_REQUEST_TTL_MS, now)) continue;
    if (times.length > 0 && at < times[times.length - 1]!) ordered = false;
    live.push(request);
    times.push(at);
  }
  if (ordered) return live;
  const order = live.map((_, i) => i).sort((a, b) => times[a]! - times[b]!);
  return order.map((i) => live[i]!);
}

/** A request as `list --json` shows it. */
export interface PairingRequestView {
  id: string;
  /** The account the request belongs to (`default` for requests that name none). */
  account: string;
  code: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  meta?: Record<string, string>;
}

export function viewRequest(request: PairingRequest): PairingRequestView {
  const view: PairingRequestView = {
    id: request.id,
    account: requestAccount(request),
    code: request.code,
    createdAt: request.createdAt,
    lastSeenAt: request.lastSeenAt,
    expiresAt: new Date(requestExpiresAt(request)).toISOString(),
  };
  const meta = request.meta === undefined ? undefined : withoutAccount(request.meta);
  if (meta && Object.keys(meta).length > 0) view.meta = meta;
  return view;
}

/** Validate a sender id from the gateway or a shell; returns it trimmed. */
export function validateSenderId(senderId: string): string {
  const trimmed = senderId.trim();
  if (trimmed === "") throw new MoltbotError("USAGE", "The sender id is empty.");
  if (trimmed.length > MAX_SENDER_ID_LENGTH) {
    throw new MoltbotError(
      "USAGE",
      `The sender id is too long (${trimmed.length} characters; at most ${MAX_SENDER_ID_LENGTH}).`,
    );
  }
  if (CONTROL_CHARACTERS.test(trimmed)) {
    throw new MoltbotError("USAGE", "The sender id contains control characters.");
  }
  return trimmed;
}

/**
 * A sender id that normalises to nothing (`*`, `tg:`) could never be approved: refuse it up front
 * instead of letting it hold one of the channel's few pending slots for an hour.
 */
export function validateChannelSender(channel: ChannelInfo, senderId: string): string {
  const trimmed = validateSenderId(senderId);
  if (normalizeAllowEntry(channel, trimmed) === undefined) {
    throw new MoltbotError(
      "USAGE",
      `The ${channel.name} sender id "${trimmed}" is empty or "*" once normalised, so it can never be approved. Pass the sender's real id.`,
    );
  }
  return trimmed;
}

/**
 * Validate request metadata (string → string, small, with plain keys). Values are trimmed and blank
 * ones dropped, as every gateway generation stores them. `accountId` is the account's place (--account).
 */
export function validateMeta(meta: Record<string, string>): Record<string, string> {
  const entries = Object.entries(meta)
    .map(([key, value]): [string, string] => [key, typeof value === "string" ? value.trim() : value])
    .filter(([, value]) => value !== "");
  if (entries.length > MAX_META_ENTRIES) {
    throw new MoltbotError("USAGE", `Too many --meta entries (${entries.length}; at most ${MAX_META_ENTRIES}).`);
  }
  for (const [key, value] of entries) {
    // `__proto__` would be swallowed by any plain object on the way (and by the gateway's).
    if (!META_KEY_PATTERN.test(key) || key === "__proto__") {
      throw new MoltbotError(
        "USAGE",
        `Invalid meta key "${key.slice(0, 64)}": use letters, digits, "_", "." or "-" (at most 64).`,
      );
    }
    if (key === "accountId") {
      throw usage('The meta key "accountId" names the account: use --account instead.');
    }
    if (typeof value !== "string" || value.length > MAX_META_VALUE_LENGTH) {
      throw new MoltbotError(
        "USAGE",
        `The meta value of "${key}" is too long (at most ${MAX_META_VALUE_LENGTH} characters).`,
      );
    }
    // A display name has no use for terminal controls; refusing them keeps escape sequences out of
    // the store (listings still escape whatever another writer may have stored).
    if (CONTROL_CHARACTERS.test(value)) {
      throw new MoltbotError("USAGE", `The meta value of "${key}" contains control characters.`);
    }
  }
  return Object.fromEntries(entries);
}

/** The message the gateway sends a new sender, with the code and the command the owner runs. */
export function pairingReplyText(channel: ChannelInfo, senderId: string, code: string): string {
  return [
    "Moltbot: access not configured.",
    "",
    ...(channel.replyIdLine ? [channel.replyIdLine(senderId), ""] : []),
    `Pairing code: ${code}`,
    "",
    "Ask the bot owner to approve with:",
    `moltbot pairing approve ${channel.name} ${code}`,
  ].join("\n");
}

/** `blocked`: the sender is on moltbot's block list (core/block-list.ts): nothing stored, nothing to send. */
export type RequestStatus = "created" | "pending" | "capped" | "allowed" | "blocked";

export interface RequestResult {
  channel: string;
  account: string;
  id: string;
  status: RequestStatus;
  code?: string;
  expiresAt?: string;
  message?: string;
}

export interface RequestInput {
  channel: ChannelInfo;
  /** The bot account the sender wrote to (OpenClaw, February 2026 on); absent: the default account. */
  account?: string;
  senderId: string;
  meta?: Record<string, string>;
  maxPending?: number;
}

export { DEFAULT_ACCOUNT, requestAccount, validateAccount } from "./accounts.js";

/** A core decision: the states to write (undefined: leave that file alone) and what to report. */
export interface DmOutcome<R> {
  pending?: PendingState;
  allow?: AllowState;
  result: R;
}

function withRequests(state: PendingState, requests: PairingRequest[]): PendingState {
  return { ...state, version: 1, requests };
}

/** Whether any entry of the lists is the sender, compared as the gateway reads entries. */
function isListed(channel: ChannelInfo, lists: readonly AllowState[], senderId: string): boolean {
  const entry = normalizeAllowEntry(channel, senderId);
  if (entry === undefined) return false;
  return lists.some((list) => list.allowFrom.includes(entry) || normalisedEntries(channel, list.allowFrom).has(entry));
}

/**
 * The normalised forms of a list's entries that are not plain (a plain entry matches only as it is,
 * which `includes` already answered). Remembered for a frozen list (the store's parsed files are
 * frozen and shared between a change's unlocked and locked decisions, and between a gateway's
 * requests): the scan of a 100 000-entry allowlist is then made once, not per decision.
 */
function normalisedEntries(channel: ChannelInfo, allowFrom: readonly string[]): ReadonlySet<string> {
  const frozen = Object.isFrozen(allowFrom);
  const known = frozen ? NORMALISED.get(allowFrom)?.get(channel.name) : undefined;
  if (known) return known;
  const entries = new Set<string>();
  // Usually every entry is plain, which `every` with the regex's own test answers in one native
  // call per entry: half the time of a loop in a process that has just started (~3 ms for 100 000).
  // On a frozen array `every` takes V8's generic path, twice as slow: it scans a copy (~0.5 ms).
  if (!(frozen ? [...allowFrom] : allowFrom).every(isPlainEntry)) {
    for (const raw of allowFrom) {
      if (PLAIN_ENTRY.test(raw)) continue;
      const normalised = normalizeAllowEntry(channel, raw);
      if (normalised !== undefined) entries.add(normalised);
    }
  }
  if (frozen) {
    const byChannel = NORMALISED.get(allowFrom) ?? new Map<string, ReadonlySet<string>>();
    NORMALISED.set(allowFrom, byChannel.set(channel.name, entries));
  }
  return entries;
}

const NORMALISED = new WeakMap<readonly string[], Map<string, ReadonlySet<string>>>();

/**
 * An entry no channel's normalisation changes: no blank, no `:` (every stripped prefix has one), no
 * `@` or `/`, no capital letter, not `*`. Most stored entries (numeric ids) are such: they match only
 * as they are, and need no normalising.
 */
const PLAIN_ENTRY = /^[\x21-\x29\x2b-\x2e\x30-\x39\x3b-\x3f\x5b-\x7e]+$/;
const isPlainEntry: (entry: string) => boolean = RegExp.prototype.test.bind(PLAIN_ENTRY);

function sameSender(channel: ChannelInfo, a: string, b: string): boolean {
  return (normalizeAllowEntry(channel, a) ?? a) === (normalizeAllowEntry(channel, b) ?? b);
}

/**
 * A message from a sender on a channel with DM policy `pairing` (the gateway's entry point).
 * `allow` holds the allowlists the account reads: the default account reads its own file and the
 * January one. Requests are per (sender, account); the cap counts one account's live requests;
 * codes are unique across the whole channel. Expired requests are dropped whenever the file is
 * written anyway.
 *
 * A repeated request replaces the stored meta with the meta given. Without meta, the JSON
 * generations keep the stored meta; OpenClaw's SQLite generation clears it (only the account
 * stays): `replaceMeta` asks for that rule.
 */
export function requestPairing(
  state: { pending: PendingState; allow: readonly AllowState[] },
  input: RequestInput,
  now: number,
  random: RandomBytes,
  options: { replaceMeta?: boolean } = {},
): DmOutcome<RequestResult> {
  const { channel } = input;
  const account = input.account === undefined ? DEFAULT_ACCOUNT : validateAccount(input.account);
  const senderId = validateChannelSender(channel, input.senderId);
  const meta = input.meta === undefined ? undefined : validateMeta(input.meta);
  const maxPending = input.maxPending ?? DEFAULT_MAX_PENDING;
  const base = { channel: channel.name, account, id: senderId };

  if (isListed(channel, state.allow, senderId)) return { result: { ...base, status: "allowed" } };

  const live = liveRequests(state.pending, now);
  const mine = live.filter((request) => requestAccount(request) === account);
  const existing = mine.find((request) => sameSender(channel, request.id, senderId));
  if (existing) {
    const updated: PairingRequest = { ...existing, lastSeenAt: new Date(now).toISOString() };
    if (meta !== undefined || options.replaceMeta) {
      const next = withAccountOf(existing, meta ?? {}, input.account);
      if (Object.keys(next).length > 0) updated.meta = next;
      else delete updated.meta;
    }
    return {
      pending: withRequests(
        state.pending,
        live.map((request) => (request === existing ? updated : request)),
      ),
      result: {
        ...base,
        id: existing.id,
        status: "pending",
        code: existing.code,
        expiresAt: new Date(requestExpiresAt(existing)).toISOString(),
      },
    };
  }

  if (mine.length >= maxPending) return { result: { ...base, status: "capped" } };

  const code = generateCode(random, new Set(live.map((request) => request.code.toUpperCase())));
  const at = new Date(now).toISOString();
  const request: PairingRequest = { id: senderId, code, createdAt: at, lastSeenAt: at };
  // January files name no account; a request made for an account says so, as OpenClaw's do.
  const stored = input.account === undefined ? meta : { ...meta, accountId: account };
  if (stored !== undefined && Object.keys(stored).length > 0) request.meta = stored;
  return {
    pending: withRequests(state.pending, [...live, request]),
    result: {
      ...base,
      status: "created",
      code,
      expiresAt: new Date(now + DM_REQUEST_TTL_MS).toISOString(),
      message: pairingReplyText(channel, senderId, code),
    },
  };
}

/** New meta for a repeated request, keeping the account the request already names. */
function withAccountOf(existing: PairingRequest, meta: Record<string, string>, given: string | undefined) {
  const account = existing.meta?.accountId ?? (given === undefined ? undefined : validateAccount(given));
  return account === undefined ? meta : { ...meta, accountId: account };
}

/**
 * The live requests with this code (compared upper-cased, as the gateway does, so a code another
 * writer stored in lower case can still be acted on), in `account` when one is given. NOT_FOUND
 * when there is none.
 */
function findRequestsByCode(
  channel: ChannelInfo,
  pending: PendingState,
  input: { code: string; account?: string },
  now: number,
) {
  const code = normalizeCode(input.code);
  const account = input.account === undefined ? undefined : validateAccount(input.account);
  const live = liveRequests(pending, now);
  const matches = live.filter(
    (candidate) =>
      String(candidate.code).trim().toUpperCase() === code &&
      (account === undefined || requestAccount(candidate) === account),
  );
  if (matches.length === 0) {
    const where = account === undefined ? "" : ` (account ${account})`;
    throw new MoltbotError(
      "NOT_FOUND",
      `No pending ${channel.name} request with code ${code}${where}. Run "moltbot pairing list ${channel.name}" to see pending codes.`,
    );
  }
  return { code, matches, rest: live.filter((candidate) => !matches.includes(candidate)) };
}

/**
 * The one live request with this code. Two live requests with the same code cannot be told apart:
 * approving is refused rather than guessed (reject drops them all).
 */
export function findRequestByCode(
  channel: ChannelInfo,
  pending: PendingState,
  input: { code: string; account?: string },
  now: number,
) {
  const { code, matches, rest } = findRequestsByCode(channel, pending, input, now);
  if (matches.length > 1) {
    throw new MoltbotError(
      "AMBIGUOUS",
      `Code ${code} is held by ${matches.length} pending ${channel.name} requests (senders ${matches.map((request) => request.id).join(", ")}), so it cannot say whom to approve. Reject it (that drops every request holding it; the senders get new codes when they write again), or run "moltbot doctor".`,
    );
  }
  return { code, request: matches[0]!, rest };
}

/**
 * The allowlist file an approval of `request` goes to: the account the request names (its own
 * file, `<channel>-default-allowFrom.json` included), else the account given, else the January file
 * `<channel>-allowFrom.json` that the default account also reads. Undefined means the January file.
 */
export function approvalAccount(request: PairingRequest, given: string | undefined): string | undefined {
  const named = request.meta?.accountId;
  if (typeof named === "string" && named.trim() !== "") return requestAccount(request);
  return given === undefined ? undefined : validateAccount(given);
}

export interface ApproveResult {
  channel: string;
  account: string;
  code: string;
  id: string;
  message: string;
}

/**
 * Approve a code: the sender joins the allowlist of the request's account (normalised, once) and
 * the request goes away. The store writes `allow` before `pending`, so a crash in between never
 * loses an approval.
 */
export function approveCode(
  state: { pending: PendingState; allow: AllowState },
  input: { channel: ChannelInfo; code: string; account?: string; expectId?: string },
  now: number,
): Required<DmOutcome<ApproveResult>> {
  const { channel } = input;
  const { code, request, rest } = findRequestByCode(channel, state.pending, input, now);
  // --expect-id: the operator approves the sender they looked at, not whoever holds the code now
  // (a code can be drawn again for someone else once the first request has gone).
  if (input.expectId !== undefined && !sameSender(channel, request.id, validateSenderId(input.expectId))) {
    throw new MoltbotError(
      "REQUEST_CHANGED",
      `Not approved: ${channel.name} code ${code} now belongs to sender ${request.id}, not ${input.expectId.trim()} (the request you looked at is gone). Run "moltbot pairing list ${channel.name}" and look again.`,
    );
  }
  const entry = normalizeAllowEntry(channel, request.id);
  if (entry === undefined) {
    throw usage(`The request with code ${code} has a sender id that cannot be allowlisted.`);
  }
  const listed = isListed(channel, [state.allow], entry);
  return {
    // concat copies the array natively: half a spread's time for 100 000 senders.
    allow: listed ? state.allow : { ...state.allow, version: 1, allowFrom: state.allow.allowFrom.concat(entry) },
    pending: withRequests(state.pending, rest),
    result: {
      channel: channel.name,
      account: requestAccount(request),
      code,
      id: request.id,
      message: APPROVED_MESSAGE,
    },
  };
}

export interface RejectResult {
  channel: string;
  account: string;
  code: string;
  id: string;
  /** Every sender whose request was dropped, when the code was held by more than one (oldest first). */
  ids?: string[];
}

export function rejectCode(
  pending: PendingState,
  input: { channel: ChannelInfo; code: string; account?: string },
  now: number,
): { pending: PendingState; result: RejectResult } {
  // A code held twice is rejected for every holder: refusing would leave the operator no way to
  // clear it, and dropping a request grants nobody anything (each sender gets a new code).
  const { code, matches, rest } = findRequestsByCode(input.channel, pending, input, now);
  const request = matches[0]!;
  const result: RejectResult = { channel: input.channel.name, account: requestAccount(request), code, id: request.id };
  if (matches.length > 1) result.ids = matches.map((match) => match.id);
  return { pending: withRequests(pending, rest), result };
}

export interface RevokeResult {
  channel: string;
  account: string;
  id: string;
  removed: boolean;
}

/**
 * Remove a sender from allowlists: every entry the gateway would read as this sender (`tg:123`,
 * ` 123 `, `123`) goes, so revoking really ends the access. `lists` are the files the account
 * reads; each returned list is undefined when nothing changed in it.
 */
export function revokeSender(
  lists: { scoped: AllowState; legacy: AllowState },
  input: { channel: ChannelInfo; senderId: string; account?: string },
): { scoped?: AllowState; legacy?: AllowState; result: RevokeResult } {
  const senderId = validateSenderId(input.senderId);
  const account = input.account === undefined ? DEFAULT_ACCOUNT : validateAccount(input.account);
  const entry = normalizeAllowEntry(input.channel, senderId);
  const result: RevokeResult = { channel: input.channel.name, account, id: entry ?? senderId, removed: false };
  const without = (list: AllowState): AllowState | undefined => {
    if (entry === undefined) return undefined;
    const kept = list.allowFrom.filter((raw) => normalizeAllowEntry(input.channel, raw) !== entry);
    return kept.length === list.allowFrom.length ? undefined : { ...list, version: 1, allowFrom: kept };
  };
  const scoped = without(lists.scoped);
  const legacy = without(lists.legacy);
  result.removed = scoped !== undefined || legacy !== undefined;
  return { ...(scoped ? { scoped } : {}), ...(legacy ? { legacy } : {}), result };
}

/**
 * The approved senders an account reads: its own file first, then (default account) the January
 * file; exact duplicates once, as OpenClaw reads them.
 */
export function allowedSenders(lists: readonly AllowState[]): string[] {
  return [...new Set(lists.flatMap((list) => list.allowFrom))];
}

/** Parse `MOLTBOT_PAIRING_MAX_PENDING`; undefined or empty means the default of 3. */
export function parseMaxPending(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return DEFAULT_MAX_PENDING;
  // Digits only: Number() would also take "1e1", "0x10" or "3.0".
  const value = /^[0-9]+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(value) || value < 1 || value > MAX_PENDING_LIMIT) {
    throw usage(
      `MOLTBOT_PAIRING_MAX_PENDING must be a whole number from 1 to ${MAX_PENDING_LIMIT} (got "${raw.slice(0, 20)}").`,
    );
  }
  return value;
}
