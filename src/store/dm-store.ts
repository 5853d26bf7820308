import { CHANNEL_NAMES, normalizeAllowEntry, resolveChannel, type ChannelInfo } from "../core/channels.js";
import {
  DEFAULT_ACCOUNT,
  allowedSenders,
  approvalAccount,
  findRequestByCode,
  liveRequests,
  parseMaxPending,
  rejectCode,
  requestAccount,
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
import {
  approveCodeUnlessBlocked,
  blockSender,
  listBlocked,
  requestPairingUnlessBlocked,
  unblockSender,
  type BlockResult,
  type BlockedView,
  type UnblockResult,
} from "../core/block-list.js";
import { validateReason, type DecisionAction, type DecisionFacts } from "../core/decisions.js";
import {
  BLOCK_LIST,
  CODE_HISTORY,
  DM_ALLOW,
  DM_APPROVE,
  DM_BLOCK,
  DM_PENDING,
  DM_REJECT,
  DM_REQUEST,
  DM_REVOKE,
  DM_UNBLOCK,
  type RecordKey,
} from "./catalogue.js";
import type { StoreContext } from "./context.js";
import { logged, runTransaction } from "./transaction.js";

/*
 * DM pairing over `<credentials>/<channel>-pairing.json` and the allowlists (SPEC §3), with the
 * accounts of GENERATIONS.md §2: requests name their account in `meta.accountId`; each account has
 * `<channel>-<account>-allowFrom.json`, and the default account also reads the January file
 * `<channel>-allowFrom.json`. A state that names no account anywhere reads and writes exactly the
 * January files.
 */

export type ChannelRef = string | ChannelInfo;
const channelOf = (ref: ChannelRef): ChannelInfo => (typeof ref === "string" ? resolveChannel(ref) : ref);

/** An account given as input, validated; undefined when none was given. */
const optionalAccount = (account: string | undefined): string | undefined =>
  account === undefined ? undefined : validateAccount(account);

/** What the decision log says of a decision about one sender (revoke, block, unblock). */
const senderDecision = (
  action: DecisionAction,
  channel: ChannelInfo,
  result: { account: string; id: string },
): DecisionFacts => ({ action, channel: channel.name, account: result.account, senderId: result.id });

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
  const account = optionalAccount(options.account);
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
 * channel full, the sender already allowed, or the sender blocked (status `blocked`: no code, no
 * message, no slot taken), this reads and writes nothing.
 *
 * @example
 * const result = await requestDmPairing(createStoreContext(), { channel: "telegram", senderId: "123456789" });
 * if (result.status === "created") await sendToSender(result.message!);
 */
export async function requestDmPairing(ctx: StoreContext, input: DmRequestInput): Promise<RequestResult> {
  const channel = channelOf(input.channel);
  // Bad input is a usage error before anything is read.
  validateChannelSender(channel, input.senderId);
  const account = optionalAccount(input.account);
  const meta = input.meta === undefined ? undefined : validateMeta(input.meta);
  const maxPending = parseMaxPending(ctx.env.MOLTBOT_PAIRING_MAX_PENDING);
  const { recordCodeFates } = await import("../core/dead-codes.js");
  return runTransaction(
    ctx,
    DM_REQUEST,
    { pending: { channel }, history: { channel }, blocked: {}, ...allowKeys(channel, account) },
    ({ pending, history, scoped, legacy, blocked }, now, random) => {
      const outcome = requestPairingUnlessBlocked(
        { pending, allow: [scoped, legacy], blocked },
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
      );
      // Only a request that writes anyway teaches the code history (new codes, expired ones pruned).
      const next = outcome.pending && recordCodeFates(history, pending, outcome.pending, now);
      return { ...outcome, ...(next ? { history: next } : {}) };
    },
  );
}

export interface DmCodeInput {
  channel: ChannelRef;
  code: string;
  /** Only a request of this account matches; absent: any account. */
  account?: string;
  /** Approve only if the code still belongs to this sender (checked under the lock). */
  expectId?: string;
  /** Why, for the decision log (validated: at most 500 characters, no control characters). */
  reason?: string;
}

/**
 * A miss (NOT_FOUND) said exactly, when the code history or the pending file knows the code:
 * approved, rejected, blocked, replaced or expired. An unknown code keeps the original error.
 */
async function explainMiss<R>(
  ctx: StoreContext,
  channel: ChannelInfo,
  lookup: { code: string; account?: string },
  run: () => Promise<R>,
): Promise<R> {
  try {
    return await run();
  } catch (error) {
    if (!isMoltbotError(error) || error.code !== "NOT_FOUND") throw error;
    const { explainDeadCode } = await import("../core/dead-codes.js");
    const history = ctx.backend.read(CODE_HISTORY, { channel }).state;
    const pending = ctx.backend.read(DM_PENDING, { channel }).state;
    throw explainDeadCode(channel, history, pending, lookup, ctx.now()) ?? error;
  }
}

/**
 * Approve a code: the sender joins the allowlist of the request's account (written first), then
 * the request is removed (SPEC §3 "Approve"). Refused for a blocked sender (BLOCKED), and with
 * `expectId` for a code that now belongs to someone else (REQUEST_CHANGED); a code that is not
 * pending is explained when it can be (ALREADY_APPROVED, EXPIRED, …). Recorded in the decision log.
 *
 * @example
 * const { id } = await approveDmCode(ctx, { channel: "telegram", code: "9WNJZKZG" });
 */
export async function approveDmCode(ctx: StoreContext, input: DmCodeInput): Promise<ApproveResult> {
  const channel = channelOf(input.channel);
  const code = normalizeCode(input.code);
  const account = optionalAccount(input.account);
  if (input.expectId !== undefined) validateSenderId(input.expectId);
  const options = logged(input.reason);
  const lookup = { code, ...(account !== undefined ? { account } : {}) };
  const { recordCodeFates } = await import("../core/dead-codes.js");
  const { codeDigest } = await import("../core/decision-chain.js");
  return explainMiss(ctx, channel, lookup, () =>
    runTransaction(
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
        history: { channel },
        blocked: {},
      },
      ({ pending, allow, history, blocked }, now) => {
        const outcome = approveCodeUnlessBlocked(
          { pending, allow, blocked },
          { channel, ...lookup, ...(input.expectId !== undefined ? { expectId: input.expectId } : {}) },
          now,
        );
        const next = recordCodeFates(history, pending, outcome.pending, now, { fate: "approved", codes: [code] });
        const { result } = outcome;
        return {
          ...outcome,
          ...(next ? { history: next } : {}),
          log: {
            action: "pairing.approve",
            channel: channel.name,
            account: result.account,
            senderId: result.id,
            codeHash: codeDigest(code),
          },
        };
      },
      options,
    ),
  );
}

/**
 * Drop a request without approving it (a code that is not pending is explained, as for approve).
 *
 * @example
 * await rejectDmCode(ctx, { channel: "telegram", code: "9WNJZKZG" });
 */
export async function rejectDmCode(ctx: StoreContext, input: DmCodeInput): Promise<RejectResult> {
  const channel = channelOf(input.channel);
  const code = normalizeCode(input.code);
  const account = optionalAccount(input.account);
  const options = logged(input.reason);
  const lookup = { code, ...(account !== undefined ? { account } : {}) };
  const { recordCodeFates } = await import("../core/dead-codes.js");
  const { codeDigest } = await import("../core/decision-chain.js");
  return explainMiss(ctx, channel, lookup, () =>
    runTransaction(
      ctx,
      DM_REJECT,
      { pending: { channel }, history: { channel } },
      ({ pending, history }, now) => {
        const outcome = rejectCode(pending, { channel, ...lookup }, now);
        const next = recordCodeFates(history, pending, outcome.pending, now, { fate: "rejected", codes: [code] });
        return {
          ...outcome,
          ...(next ? { history: next } : {}),
          log: {
            action: "pairing.reject",
            channel: channel.name,
            account: outcome.result.account,
            senderId: outcome.result.id,
            codeHash: codeDigest(code),
          },
        };
      },
      options,
    ),
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
  input: { channel: ChannelRef; senderId: string; account?: string; reason?: string },
): Promise<RevokeResult> {
  const channel = channelOf(input.channel);
  validateSenderId(input.senderId);
  const account = optionalAccount(input.account);
  return runTransaction(
    ctx,
    DM_REVOKE,
    allowKeys(channel, account),
    (lists) => {
      const outcome = revokeSender(lists, {
        channel,
        senderId: input.senderId,
        ...(account !== undefined ? { account } : {}),
      });
      return { ...outcome, log: senderDecision("pairing.revoke", channel, outcome.result) };
    },
    logged(input.reason),
  );
}

export interface BlockInput {
  channel: ChannelRef;
  senderId: string;
  /** Absent: every account of the channel. */
  account?: string;
  reason?: string;
}

/**
 * Block a sender (moltbot's block list, `<state>/moltbot/blocked.json`): their pending requests
 * are dropped, their next request gets status `blocked`, and an approval of their code is refused.
 * The gateway itself never reads the block list: a request it writes on its own is not refused.
 *
 * @example
 * await blockDmSender(ctx, { channel: "telegram", senderId: "123456789", reason: "spam" });
 */
export async function blockDmSender(ctx: StoreContext, input: BlockInput): Promise<BlockResult> {
  const channel = channelOf(input.channel);
  validateChannelSender(channel, input.senderId);
  const account = optionalAccount(input.account);
  const reason = input.reason === undefined ? undefined : validateReason(input.reason);
  const { recordCodeFates } = await import("../core/dead-codes.js");
  return runTransaction(
    ctx,
    DM_BLOCK,
    { pending: { channel }, history: { channel }, blocked: {} },
    ({ pending, history, blocked }, now) => {
      const outcome = blockSender(
        { pending, blocked },
        {
          channel,
          senderId: input.senderId,
          ...(account !== undefined ? { account } : {}),
          ...(reason !== undefined ? { reason } : {}),
        },
        now,
      );
      const dropped = pending.requests.filter((request) => !outcome.pending?.requests.includes(request));
      const next =
        outcome.pending &&
        recordCodeFates(history, pending, outcome.pending, now, {
          fate: "blocked",
          codes: dropped.map((request) => request.code),
        });
      return {
        ...outcome,
        ...(next ? { history: next } : {}),
        log: senderDecision("pairing.block", channel, outcome.result),
      };
    },
    logged(reason),
  );
}

/**
 * Lift a block (with an account: that account's; without: every block of the sender on the channel).
 *
 * @example
 * await unblockDmSender(ctx, { channel: "telegram", senderId: "123456789" });
 */
export async function unblockDmSender(
  ctx: StoreContext,
  input: { channel: ChannelRef; senderId: string; account?: string; reason?: string },
): Promise<UnblockResult> {
  const channel = channelOf(input.channel);
  validateSenderId(input.senderId);
  const account = optionalAccount(input.account);
  return runTransaction(
    ctx,
    DM_UNBLOCK,
    { blocked: {} },
    ({ blocked }) => {
      const outcome = unblockSender(blocked, {
        channel,
        senderId: input.senderId,
        ...(account !== undefined ? { account } : {}),
      });
      return { ...outcome, log: senderDecision("pairing.unblock", channel, outcome.result) };
    },
    logged(input.reason),
  );
}

/**
 * The block list (one channel, or all), oldest first. Takes no lock, creates nothing.
 *
 * @example
 * const { blocked } = listBlockedSenders(ctx, "telegram");
 */
export function listBlockedSenders(ctx: StoreContext, channelRef?: ChannelRef): { blocked: BlockedView[] } {
  const channel = channelRef === undefined ? undefined : channelOf(channelRef);
  return { blocked: listBlocked(ctx.backend.read(BLOCK_LIST, {}).state, channel) };
}

/**
 * The accounts of a channel whose allowlists hold this sender (in any spelling the gateway
 * honours): a blocked sender still on one is let in by the gateway, which never reads the block list.
 */
export function accountsAllowing(
  ctx: StoreContext,
  channelRef: ChannelRef,
  senderId: string,
  account?: string,
): string[] {
  const channel = channelOf(channelRef);
  const entry = normalizeAllowEntry(channel, senderId);
  if (entry === undefined) return [];
  const accounts = new Set<string>();
  for (const key of ctx.backend.keys(DM_ALLOW)) {
    if (key.channel?.name !== channel.name) continue;
    const owner = key.account === undefined ? DEFAULT_ACCOUNT : key.account;
    if (account !== undefined && owner !== account) continue;
    const list = ctx.backend.read(DM_ALLOW, key).state;
    if (list.allowFrom.some((raw) => normalizeAllowEntry(channel, raw) === entry)) accounts.add(owner);
  }
  return [...accounts].sort();
}
