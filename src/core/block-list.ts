import { MoltbotError } from "../errors.js";
import { normalizeAllowEntry, sameSender, type ChannelInfo } from "./channels.js";
import { DEFAULT_ACCOUNT, requestAccount, validateAccount } from "./accounts.js";
import {
  approveCode,
  findRequestByCode,
  isRequestLive,
  requestPairing,
  validateChannelSender,
  validateSenderId,
  type AllowState,
  type ApproveResult,
  type DmOutcome,
  type PendingState,
  type RequestInput,
  type RequestResult,
} from "./dm-pairing.js";
import type { RandomBytes } from "./random.js";
import { shellQuote } from "./shell.js";

/*
 * moltbot's block list (issue 16), kept in `<state>/moltbot/blocked.json`, never in the gateway's
 * files: a blocked sender's request gets status `blocked` (no code, no message, no pending slot),
 * and an approval of a code they still hold is refused. Senders are compared in the normalised
 * form the gateway reads allowlists with, so `tg:123` and `123` are one sender.
 */

/** A block without an account covers every account of the channel. */
export const ALL_ACCOUNTS = "*";

export interface BlockedSender {
  channel: string;
  /** Absent: every account of the channel. */
  account?: string;
  id: string;
  /** ISO-8601 UTC, when the block was made. */
  at: string;
  reason?: string;
  [key: string]: unknown;
}

export interface BlockListState {
  version: 1;
  blocked: BlockedSender[];
  [key: string]: unknown;
}

export const emptyBlockList = (): BlockListState => ({ version: 1, blocked: [] });

/** The block that covers this sender on this account of the channel, if any. */
export function findBlock(
  state: BlockListState,
  channel: ChannelInfo,
  account: string,
  senderId: string,
): BlockedSender | undefined {
  return state.blocked.find(
    (entry) =>
      entry.channel === channel.name &&
      (entry.account === undefined || entry.account === account) &&
      sameSender(channel, entry.id, senderId),
  );
}

export interface BlockResult {
  channel: string;
  /** The account blocked on, or "*" for every account. */
  account: string;
  id: string;
  /** False when the sender was already blocked there (nothing changed). */
  added: boolean;
  /** Pending requests of the sender that were dropped (they can no longer be approved). */
  dropped: number;
}

/**
 * Block a sender: add them to the list and drop their pending requests (on that account, or on
 * every account), so they hold no pending slot and no code of theirs is left to approve.
 */
export function blockSender(
  state: { pending: PendingState; blocked: BlockListState },
  input: { channel: ChannelInfo; senderId: string; account?: string; reason?: string },
  now: number,
): { pending?: PendingState; blocked?: BlockListState; result: BlockResult } {
  const { channel } = input;
  const senderId = validateChannelSender(channel, input.senderId);
  const id = normalizeAllowEntry(channel, senderId) ?? senderId;
  const account = input.account === undefined ? undefined : validateAccount(input.account);
  const covered = (requestOf: string) => account === undefined || requestOf === account;
  const dropping = state.pending.requests.filter(
    (request) => covered(requestAccount(request)) && sameSender(channel, request.id, id),
  );
  const liveDropped = dropping.filter((request) => isRequestLive(request, now)).length;
  const existing = state.blocked.blocked.find(
    (entry) => entry.channel === channel.name && entry.account === account && sameSender(channel, entry.id, id),
  );
  const entry: BlockedSender = {
    channel: channel.name,
    ...(account !== undefined ? { account } : {}),
    id,
    at: new Date(now).toISOString(),
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
  };
  const result: BlockResult = {
    channel: channel.name,
    account: account ?? ALL_ACCOUNTS,
    id,
    added: existing === undefined,
    dropped: liveDropped,
  };
  return {
    ...(dropping.length > 0
      ? {
          pending: {
            ...state.pending,
            version: 1,
            requests: state.pending.requests.filter(
              (request) => isRequestLive(request, now) && !dropping.includes(request),
            ),
          },
        }
      : {}),
    ...(existing === undefined
      ? { blocked: { ...state.blocked, version: 1, blocked: [...state.blocked.blocked, entry] } }
      : {}),
    result,
  };
}

export interface UnblockResult {
  channel: string;
  account: string;
  id: string;
  removed: boolean;
}

/** Lift a block: with an account, that account's block; without, every block of the sender on the channel. */
export function unblockSender(
  blocked: BlockListState,
  input: { channel: ChannelInfo; senderId: string; account?: string },
): { blocked?: BlockListState; result: UnblockResult } {
  const { channel } = input;
  const senderId = validateSenderId(input.senderId);
  const id = normalizeAllowEntry(channel, senderId) ?? senderId;
  const account = input.account === undefined ? undefined : validateAccount(input.account);
  const kept = blocked.blocked.filter(
    (entry) =>
      !(
        entry.channel === channel.name &&
        (account === undefined || entry.account === account) &&
        sameSender(channel, entry.id, id)
      ),
  );
  const removed = kept.length !== blocked.blocked.length;
  return {
    ...(removed ? { blocked: { ...blocked, version: 1, blocked: kept } } : {}),
    result: { channel: channel.name, account: account ?? ALL_ACCOUNTS, id, removed },
  };
}

/** A block as `pairing blocked` shows it. */
export interface BlockedView {
  channel: string;
  account: string;
  id: string;
  at: string;
  reason?: string;
}

/** The blocks of one channel (or all), oldest first. */
export function listBlocked(state: BlockListState, channel?: ChannelInfo): BlockedView[] {
  return state.blocked
    .filter((entry) => channel === undefined || entry.channel === channel.name)
    .map((entry) => ({
      channel: entry.channel,
      account: entry.account ?? ALL_ACCOUNTS,
      id: entry.id,
      at: entry.at,
      ...(typeof entry.reason === "string" ? { reason: entry.reason } : {}),
    }))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/**
 * A stranger's request, unless they are blocked: then status `blocked`, nothing stored, no code and
 * no message (the gateway stays silent), checked before the cap so a blocked sender never takes a slot.
 */
export function requestPairingUnlessBlocked(
  state: { pending: PendingState; allow: readonly AllowState[]; blocked: BlockListState },
  input: RequestInput,
  now: number,
  random: RandomBytes,
  options: Parameters<typeof requestPairing>[4] = {},
): DmOutcome<RequestResult> {
  const account = input.account === undefined ? DEFAULT_ACCOUNT : validateAccount(input.account);
  const senderId = validateChannelSender(input.channel, input.senderId);
  if (findBlock(state.blocked, input.channel, account, senderId)) {
    return { result: { channel: input.channel.name, account, id: senderId, status: "blocked" } };
  }
  return requestPairing(state, input, now, random, options);
}

/** Approve a code, unless its sender is blocked (on the request's account, or on every account). */
export function approveCodeUnlessBlocked(
  state: { pending: PendingState; allow: AllowState; blocked: BlockListState },
  input: Parameters<typeof approveCode>[1],
  now: number,
): Required<DmOutcome<ApproveResult>> {
  const { code, request } = findRequestByCode(input.channel, state.pending, input, now);
  const block = findBlock(state.blocked, input.channel, requestAccount(request), request.id);
  if (block) {
    const scope = block.account === undefined ? "" : ` (account ${block.account})`;
    throw new MoltbotError(
      "BLOCKED",
      `Not approved: ${input.channel.name} sender ${request.id} (code ${code}) is blocked${scope} since ${block.at}. To let them in, run "moltbot pairing unblock ${input.channel.name} ${shellQuote(block.id)}" first.`,
    );
  }
  return approveCode(state, input, now);
}
