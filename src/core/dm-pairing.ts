import { MoltbotError } from "../errors.js";
import { normalizeAllowEntry, type ChannelInfo } from "./channels.js";
import { generateCode, normalizeCode } from "./codes.js";
import type { RandomBytes } from "./random.js";

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
export const MAX_SENDER_ID_LENGTH = 256;
export const MAX_META_ENTRIES = 16;
export const MAX_META_VALUE_LENGTH = 512;
const META_KEY_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
// C0, DEL and C1 controls: a sender id is an identifier, never text with layout.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export const APPROVED_MESSAGE = "Moltbot access approved. Send a message to start chatting.";

export const emptyPending = (): PendingState => ({ version: 1, requests: [] });
export const emptyAllow = (): AllowState => ({ version: 1, allowFrom: [] });

/** Epoch ms at which a request stops being live; NaN when `createdAt` is unreadable. */
export function requestExpiresAt(request: PairingRequest): number {
  return Date.parse(request.createdAt) + DM_REQUEST_TTL_MS;
}

/** Live up to and including the instant it turns one hour old; an unreadable date is expired. */
export function isRequestLive(request: PairingRequest, now: number): boolean {
  const expiresAt = requestExpiresAt(request);
  return Number.isFinite(expiresAt) && now <= expiresAt;
}

/** Live requests, oldest first. */
export function liveRequests(state: PendingState, now: number): PairingRequest[] {
  return state.requests
    .filter((request) => isRequestLive(request, now))
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
}

/** A request as `list --json` shows it. */
export interface PairingRequestView {
  id: string;
  code: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  meta?: Record<string, string>;
}

export function viewRequest(request: PairingRequest): PairingRequestView {
  const view: PairingRequestView = {
    id: request.id,
    code: request.code,
    createdAt: request.createdAt,
    lastSeenAt: request.lastSeenAt,
    expiresAt: new Date(requestExpiresAt(request)).toISOString(),
  };
  if (request.meta && Object.keys(request.meta).length > 0) view.meta = request.meta;
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

/** Validate request metadata (string → string, small, with plain keys). */
export function validateMeta(meta: Record<string, string>): Record<string, string> {
  const entries = Object.entries(meta);
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
    channel.replyIdLine(senderId),
    "",
    `Pairing code: ${code}`,
    "",
    "Ask the bot owner to approve with:",
    `moltbot pairing approve ${channel.name} ${code}`,
  ].join("\n");
}

export type RequestStatus = "created" | "pending" | "capped" | "allowed";

export interface RequestResult {
  channel: string;
  id: string;
  status: RequestStatus;
  code?: string;
  expiresAt?: string;
  message?: string;
}

export interface RequestInput {
  channel: ChannelInfo;
  senderId: string;
  meta?: Record<string, string>;
  maxPending?: number;
}

/** A core decision: the states to write (undefined: leave that file alone) and what to report. */
export interface DmOutcome<R> {
  pending?: PendingState;
  allow?: AllowState;
  result: R;
}

function withRequests(state: PendingState, requests: PairingRequest[]): PendingState {
  return { ...state, version: 1, requests };
}

function isAllowed(channel: ChannelInfo, allow: AllowState, senderId: string): boolean {
  const entry = normalizeAllowEntry(channel, senderId);
  return entry !== undefined && allow.allowFrom.includes(entry);
}

function sameSender(channel: ChannelInfo, a: string, b: string): boolean {
  return (normalizeAllowEntry(channel, a) ?? a) === (normalizeAllowEntry(channel, b) ?? b);
}

/**
 * A message from a sender on a channel with DM policy `pairing` (the gateway's entry point).
 * Expired requests are dropped whenever the file is written anyway.
 */
export function requestPairing(
  state: { pending: PendingState; allow: AllowState },
  input: RequestInput,
  now: number,
  random: RandomBytes,
): DmOutcome<RequestResult> {
  const { channel } = input;
  const senderId = validateChannelSender(channel, input.senderId);
  const meta = input.meta === undefined ? undefined : validateMeta(input.meta);
  const maxPending = input.maxPending ?? DEFAULT_MAX_PENDING;
  const base = { channel: channel.name, id: senderId };

  if (isAllowed(channel, state.allow, senderId)) return { result: { ...base, status: "allowed" } };

  const live = liveRequests(state.pending, now);
  const existing = live.find((request) => sameSender(channel, request.id, senderId));
  if (existing) {
    const updated: PairingRequest = { ...existing, lastSeenAt: new Date(now).toISOString() };
    if (meta !== undefined) updated.meta = meta;
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

  if (live.length >= maxPending) return { result: { ...base, status: "capped" } };

  const code = generateCode(random, new Set(live.map((request) => request.code)));
  const at = new Date(now).toISOString();
  const request: PairingRequest = { id: senderId, code, createdAt: at, lastSeenAt: at };
  if (meta !== undefined && Object.keys(meta).length > 0) request.meta = meta;
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

function findLiveRequest(channel: ChannelInfo, pending: PendingState, typedCode: string, now: number) {
  const code = normalizeCode(typedCode);
  const live = liveRequests(pending, now);
  const request = live.find((candidate) => candidate.code === code);
  if (!request) {
    throw new MoltbotError(
      "NOT_FOUND",
      `No pending ${channel.name} request with code ${code}. Run "moltbot pairing list ${channel.name}" to see pending codes.`,
    );
  }
  return { code, request, rest: live.filter((candidate) => candidate !== request) };
}

export interface ApproveResult {
  channel: string;
  code: string;
  id: string;
  message: string;
}

/**
 * Approve a code: the sender joins the allowlist (normalised, once) and the request goes away.
 * The store writes `allow` before `pending`, so a crash in between never loses an approval.
 */
export function approveCode(
  state: { pending: PendingState; allow: AllowState },
  input: { channel: ChannelInfo; code: string },
  now: number,
): Required<DmOutcome<ApproveResult>> {
  const { channel } = input;
  const { code, request, rest } = findLiveRequest(channel, state.pending, input.code, now);
  const entry = normalizeAllowEntry(channel, request.id);
  if (entry === undefined) {
    throw new MoltbotError("USAGE", `The request with code ${code} has a sender id that cannot be allowlisted.`);
  }
  const allowFrom = state.allow.allowFrom.includes(entry) ? state.allow.allowFrom : [...state.allow.allowFrom, entry];
  return {
    allow: { ...state.allow, version: 1, allowFrom },
    pending: withRequests(state.pending, rest),
    result: { channel: channel.name, code, id: request.id, message: APPROVED_MESSAGE },
  };
}

export interface RejectResult {
  channel: string;
  code: string;
  id: string;
}

export function rejectCode(
  pending: PendingState,
  input: { channel: ChannelInfo; code: string },
  now: number,
): { pending: PendingState; result: RejectResult } {
  const { code, request, rest } = findLiveRequest(input.channel, pending, input.code, now);
  return { pending: withRequests(pending, rest), result: { channel: input.channel.name, code, id: request.id } };
}

export interface RevokeResult {
  channel: string;
  id: string;
  removed: boolean;
}

/** Remove a sender from the allowlist; `allow` is undefined when nothing changed. */
export function revokeSender(
  allow: AllowState,
  input: { channel: ChannelInfo; senderId: string },
): { allow?: AllowState; result: RevokeResult } {
  const senderId = validateSenderId(input.senderId);
  const entry = normalizeAllowEntry(input.channel, senderId);
  const id = entry ?? senderId;
  if (entry === undefined || !allow.allowFrom.includes(entry)) {
    return { result: { channel: input.channel.name, id, removed: false } };
  }
  return {
    allow: { ...allow, version: 1, allowFrom: allow.allowFrom.filter((value) => value !== entry) },
    result: { channel: input.channel.name, id, removed: true },
  };
}

/** Parse `MOLTBOT_PAIRING_MAX_PENDING`; undefined or empty means the default of 3. */
export function parseMaxPending(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return DEFAULT_MAX_PENDING;
  // Digits only: Number() would also take "1e1", "0x10" or "3.0".
  const value = /^[0-9]+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(value) || value < 1 || value > MAX_PENDING_LIMIT) {
    throw new MoltbotError(
      "USAGE",
      `MOLTBOT_PAIRING_MAX_PENDING must be a whole number from 1 to ${MAX_PENDING_LIMIT} (got "${raw.slice(0, 20)}").`,
    );
  }
  return value;
}
