import { CHANNEL_NAMES, resolveChannel, type ChannelInfo } from "../core/channels.js";
import {
  DEFAULT_ACCOUNT,
  allowedSenders,
  approvalAccount,
  approveCode,
  findRequestByCode,
  liveRequests,
  parseMaxPending,
  rejectCode,
  requestAccount,
  requestPairing,
  revokeSender,
  validateAccount,
  validateChannelSender,
  validateMeta,
  validateSenderId,
  viewRequest,
  type ApproveResult,
  type PairingRequestView,
  type RejectResult,
  type RequestResult,
  type RevokeResult,
} from "../core/dm-pairing.js";
import { normalizeCode } from "../core/codes.js";
import { isMoltbotError, type ErrorCode } from "../errors.js";
import { DM_ALLOW, DM_APPROVE, DM_PENDING, DM_REJECT, DM_REQUEST, DM_REVOKE, type RecordKey } from "./catalogue.js";
import type { StoreContext } from "./context.js";
import { runTransaction } from "./transaction.js";

/*
 * DM pairing over `<credentials>/<channel>-pairing.json` and the allowlists (SPEC §3), with the
 * accounts of GENERATIONS.md §2: requests name their account in `meta.accountId`; each account has
 * `<channel>-<account>-allowFrom.json`, and the default account also reads the January file
 * `<channel>-allowFrom.json`. A state that names no account anywhere reads and writes exactly the
 * January files.
 */

export type ChannelRef = string | ChannelInfo;
const channelOf = (ref: ChannelRef): ChannelInfo => (typeof ref === "string" ? resolveChannel(ref) : ref);

/** The allowlist files an account reads: its own, and for the default account the January file too. */
function allowKeys(channel: ChannelInfo, account: string | undefined): { scoped: RecordKey; legacy: RecordKey | null } {
  const resolved = account === undefined ? DEFAULT_ACCOUNT : validateAccount(account);
  return {
    scoped: { channel, account: resolved },
    legacy: resolved === DEFAULT_ACCOUNT ? { channel } : null,
  };
}

export interface ChannelRequests {
  channel: string;
  requests: PairingRequestView[];
}

/**
 * Live requests of one channel (one account, when given), oldest first. Takes no lock, creates nothing.
 *
 * @example
 * const { requests } = listDmRequests(ctx, "telegram"); // [{ id, account, code, createdAt, expiresAt, … }]
 */
export function listDmRequests(
  ctx: StoreContext,
  channelRef: ChannelRef,
  options: { account?: string } = {},
): ChannelRequests {
  const channel = channelOf(channelRef);
  const account = options.account === undefined ? undefined : validateAccount(options.account);
  const pending = ctx.backend.read(DM_PENDING, { channel }).state;
  const requests = liveRequests(pending, ctx.now())
    .filter((request) => account === undefined || requestAccount(request) === account)
    .map(viewRequest);
  return { channel: channel.name, requests };
}

export interface ChannelListError {
  channel: string;
  code: ErrorCode | "INTERNAL";
  message: string;
}

/**
 * Every channel that has live requests, in registry order. A channel whose file cannot be read is
 * reported in `errors` and the others are still listed: one broken file never hides who is waiting
 * elsewhere.
 *
 * @example
 * const { channels, errors } = listAllDmRequests(ctx);
 * for (const broken of errors) console.warn(broken.message);
 */
export function listAllDmRequests(
  ctx: StoreContext,
  options: { account?: string } = {},
): { channels: ChannelRequests[]; errors: ChannelListError[] } {
  const present = new Set(ctx.backend.keys(DM_PENDING).map((key) => key.channel?.name));
  const channels: ChannelRequests[] = [];
  const errors: ChannelListError[] = [];
  for (const name of CHANNEL_NAMES) {
    if (!present.has(name)) continue;
    try {
      const listed = listDmRequests(ctx, name, options);
      if (listed.requests.length > 0) channels.push(listed);
    } catch (error) {
      if (!isMoltbotError(error)) throw error;
      errors.push({ channel: name, code: error.code, message: error.message });
    }
  }
  return { channels, errors };
}

export interface DmRequestInput {
  channel: ChannelRef;
  senderId: string;
  /** The bot account the sender wrote to; absent: the default account (January: the only one). */
  account?: string;
  meta?: Record<string, string>;
}

/**
 * A stranger wrote to the bot: create or refresh their request (SPEC §3 "Request"). With the
 * channel full, or the sender already allowed, this reads and writes nothing.
 *
 * @example
 * const result = await requestDmPairing(createStoreContext(), { channel: "telegram", senderId: "123456789" });
 * if (result.status === "created") await sendToSender(result.message!);
 */
export async function requestDmPairing(ctx: StoreContext, input: DmRequestInput): Promise<RequestResult> {
  const channel = channelOf(input.channel);
  // Bad input is a usage error before anything is read.
  validateChannelSender(channel, input.senderId);
  const account = input.account === undefined ? undefined : validateAccount(input.account);
  const meta = input.meta === undefined ? undefined : validateMeta(input.meta);
  const maxPending = parseMaxPending(ctx.env.MOLTBOT_PAIRING_MAX_PENDING);
  return runTransaction(
    ctx,
    DM_REQUEST,
    { pending: { channel }, ...allowKeys(channel, account) },
    ({ pending, scoped, legacy }, now, random) =>
      requestPairing(
        { pending, allow: [scoped, legacy] },
        {
          channel,
          senderId: input.senderId,
          maxPending,
          ...(account !== undefined ? { account } : {}),
          ...(meta !== undefined ? { meta } : {}),
        },
        now,
        random,
        // OpenClaw's SQLite generation: a repeat without meta clears the stored meta.
        { replaceMeta: ctx.backend.kind === "sqlite" },
      ),
  );
}

export interface DmCodeInput {
  channel: ChannelRef;
  code: string;
  /** Only a request of this account matches; absent: any account. */
  account?: string;
}

/**
 * Approve a code: the sender joins the allowlist of the request's account (written first), then
 * the request is removed (SPEC §3 "Approve").
 *
 * @example
 * const { id } = await approveDmCode(ctx, { channel: "telegram", code: "9WNJZKZG" });
 */
export async function approveDmCode(ctx: StoreContext, input: DmCodeInput): Promise<ApproveResult> {
  const channel = channelOf(input.channel);
  const code = normalizeCode(input.code);
  const account = input.account === undefined ? undefined : validateAccount(input.account);
  const lookup = { code, ...(account !== undefined ? { account } : {}) };
  return runTransaction(
    ctx,
    DM_APPROVE,
    {
      pending: { channel },
      // The allowlist is the one of the request found: known only once the pending file is read.
      allow: ({ pending }) => {
        const { request } = findRequestByCode(channel, pending!, lookup, ctx.now());
        const target = approvalAccount(request, account);
        return target === undefined ? { channel } : { channel, account: target };
      },
    },
    ({ pending, allow }, now) => approveCode({ pending, allow }, { channel, ...lookup }, now),
  );
}

/**
 * Drop a request without approving it.
 *
 * @example
 * await rejectDmCode(ctx, { channel: "telegram", code: "9WNJZKZG" });
 */
export async function rejectDmCode(ctx: StoreContext, input: DmCodeInput): Promise<RejectResult> {
  const channel = channelOf(input.channel);
  const code = normalizeCode(input.code);
  const account = input.account === undefined ? undefined : validateAccount(input.account);
  return runTransaction(ctx, DM_REJECT, { pending: { channel } }, ({ pending }, now) =>
    rejectCode(pending, { channel, code, ...(account !== undefined ? { account } : {}) }, now),
  );
}

/**
 * The approved senders an account reads (default: its own file, then the January one).
 *
 * @example
 * const { allowFrom } = readDmAllowlist(ctx, "telegram", { account: "work" });
 */
export function readDmAllowlist(
  ctx: StoreContext,
  channelRef: ChannelRef,
  options: { account?: string } = {},
): { channel: string; account: string; allowFrom: string[] } {
  const channel = channelOf(channelRef);
  const { scoped, legacy } = allowKeys(channel, options.account);
  const lists = [scoped, legacy].flatMap((key) => (key ? [ctx.backend.read(DM_ALLOW, key).state] : []));
  return { channel: channel.name, account: scoped.account!, allowFrom: allowedSenders(lists) };
}

/**
 * Take a sender off an account's allowlists: every spelling the gateway honours, in every file the
 * account reads (for the default account, the January file too).
 *
 * @example
 * const { removed } = await revokeDmSender(ctx, { channel: "telegram", senderId: "tg:123456789" });
 */
export async function revokeDmSender(
  ctx: StoreContext,
  input: { channel: ChannelRef; senderId: string; account?: string },
): Promise<RevokeResult> {
  const channel = channelOf(input.channel);
  validateSenderId(input.senderId);
  const account = input.account === undefined ? undefined : validateAccount(input.account);
  return runTransaction(ctx, DM_REVOKE, allowKeys(channel, account), (lists) =>
    revokeSender(lists, { channel, senderId: input.senderId, ...(account !== undefined ? { account } : {}) }),
  );
}
