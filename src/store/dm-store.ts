import fs from "node:fs";
import { CHANNEL_NAMES, resolveChannel, type ChannelInfo } from "../core/channels.js";
import { normalizeCode } from "../core/codes.js";
import {
  approveCode,
  emptyAllow,
  emptyPending,
  liveRequests,
  parseMaxPending,
  rejectCode,
  requestPairing,
  revokeSender,
  validateChannelSender,
  validateMeta,
  validateSenderId,
  viewRequest,
  type AllowState,
  type ApproveResult,
  type PairingRequestView,
  type PendingState,
  type RejectResult,
  type RequestResult,
  type RevokeResult,
} from "../core/dm-pairing.js";
import { isMoltbotError, type ErrorCode } from "../errors.js";
import type { StoreContext } from "./context.js";
import { readStoreFile, storeIoError, type StoreFile } from "./file-store.js";
import { updateStore } from "./locked-update.js";
import { dmAllowFile, dmPendingFile } from "./paths.js";
import { allowFileSchema, pendingFileSchema } from "./schemas.js";

export type ChannelRef = string | ChannelInfo;
const channelOf = (ref: ChannelRef): ChannelInfo => (typeof ref === "string" ? resolveChannel(ref) : ref);

export function pendingStoreFile(ctx: StoreContext, channel: ChannelInfo): StoreFile<PendingState> {
  return {
    path: dmPendingFile(ctx.paths, channel),
    label: `${channel.name} pairing requests`,
    schema: pendingFileSchema as StoreFile<PendingState>["schema"],
    empty: emptyPending,
  };
}

export function allowStoreFile(ctx: StoreContext, channel: ChannelInfo): StoreFile<AllowState> {
  return {
    path: dmAllowFile(ctx.paths, channel),
    label: `a ${channel.name} allowlist`,
    schema: allowFileSchema,
    empty: emptyAllow,
  };
}

export interface ChannelRequests {
  channel: string;
  requests: PairingRequestView[];
}

/** Live requests of one channel, oldest first. Takes no lock and creates nothing. */
export function listDmRequests(ctx: StoreContext, channelRef: ChannelRef): ChannelRequests {
  const channel = channelOf(channelRef);
  const pending = readStoreFile(pendingStoreFile(ctx, channel));
  return { channel: channel.name, requests: liveRequests(pending, ctx.now()).map(viewRequest) };
}

/** A channel whose pending file could not be listed, reported beside the channels that could. */
export interface ChannelListError {
  channel: string;
  file: string;
  code: ErrorCode;
  message: string;
}

/**
 * Every channel that has live requests, in registry order. One broken channel file does not hide
 * the others' waiting senders: it is reported in `errors` (present only when there are some).
 */
export function listAllDmRequests(ctx: StoreContext): { channels: ChannelRequests[]; errors?: ChannelListError[] } {
  let names: Set<string>;
  try {
    names = new Set(fs.readdirSync(ctx.paths.credentialsDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { channels: [] };
    throw storeIoError(error, ctx.paths.credentialsDir, "reading");
  }
  const channels: ChannelRequests[] = [];
  const errors: ChannelListError[] = [];
  for (const name of CHANNEL_NAMES) {
    if (!names.has(`${name}-pairing.json`)) continue;
    try {
      const listed = listDmRequests(ctx, name);
      if (listed.requests.length > 0) channels.push(listed);
    } catch (error) {
      if (!isMoltbotError(error)) throw error;
      const file = pendingStoreFile(ctx, resolveChannel(name)).path;
      errors.push({ channel: name, file, code: error.code, message: error.message });
    }
  }
  return errors.length > 0 ? { channels, errors } : { channels };
}

export interface DmRequestInput {
  channel: ChannelRef;
  senderId: string;
  meta?: Record<string, string>;
}

/** A stranger wrote to the bot: create or refresh their request (SPEC §3 "Request"). */
export async function requestDmPairing(ctx: StoreContext, input: DmRequestInput): Promise<RequestResult> {
  const channel = channelOf(input.channel);
  const senderId = validateChannelSender(channel, input.senderId);
  const meta = input.meta === undefined ? undefined : validateMeta(input.meta);
  const maxPending = parseMaxPending(ctx.env.MOLTBOT_PAIRING_MAX_PENDING);
  // Only the pending file is locked: approve holds that lock while it writes the allowlist, so
  // the allowlist read here is never a half-done approval.
  return updateStore([pendingStoreFile(ctx, channel)] as const, ([pending]) => {
    const allow = readStoreFile(allowStoreFile(ctx, channel));
    const outcome = requestPairing(
      { pending, allow },
      { channel, senderId, maxPending, ...(meta !== undefined ? { meta } : {}) },
      ctx.now(),
      ctx.random,
    );
    return { states: [outcome.pending], result: outcome.result };
  });
}

/**
 * Without a pending file there is no request to find: fail as the core would, before the lock
 * creates the state directory (a mistyped --state-dir must not leave an empty store behind).
 */
function failIfNoPendingFile(ctx: StoreContext, channel: ChannelInfo, code: string): void {
  const file = pendingStoreFile(ctx, channel);
  if (!fs.existsSync(file.path)) rejectCode(readStoreFile(file), { channel, code }, ctx.now());
}

/** Approve a code: allowlist written first, then the request removed (SPEC §3 "Approve"). */
export async function approveDmCode(
  ctx: StoreContext,
  input: { channel: ChannelRef; code: string },
): Promise<ApproveResult> {
  const channel = channelOf(input.channel);
  const code = normalizeCode(input.code);
  failIfNoPendingFile(ctx, channel, code);
  return updateStore(
    [pendingStoreFile(ctx, channel), allowStoreFile(ctx, channel)] as const,
    ([pending, allow]) => {
      const outcome = approveCode({ pending, allow }, { channel, code }, ctx.now());
      return { states: [outcome.pending, outcome.allow], result: outcome.result };
    },
    { writeOrder: [1, 0] },
  );
}

export async function rejectDmCode(
  ctx: StoreContext,
  input: { channel: ChannelRef; code: string },
): Promise<RejectResult> {
  const channel = channelOf(input.channel);
  const code = normalizeCode(input.code);
  failIfNoPendingFile(ctx, channel, code);
  return updateStore([pendingStoreFile(ctx, channel)] as const, ([pending]) => {
    const outcome = rejectCode(pending, { channel, code }, ctx.now());
    return { states: [outcome.pending], result: outcome.result };
  });
}

export function readDmAllowlist(ctx: StoreContext, channelRef: ChannelRef): { channel: string; allowFrom: string[] } {
  const channel = channelOf(channelRef);
  return { channel: channel.name, allowFrom: readStoreFile(allowStoreFile(ctx, channel)).allowFrom };
}

export async function revokeDmSender(
  ctx: StoreContext,
  input: { channel: ChannelRef; senderId: string },
): Promise<RevokeResult> {
  const channel = channelOf(input.channel);
  const senderId = validateSenderId(input.senderId);
  const file = allowStoreFile(ctx, channel);
  // Nothing to remove from a list that does not exist: do not create it (or its lock).
  if (!fs.existsSync(file.path)) {
    readStoreFile(file);
    return revokeSender(emptyAllow(), { channel, senderId }).result;
  }
  return updateStore([file] as const, ([allow]) => {
    const outcome = revokeSender(allow, { channel, senderId });
    return { states: [outcome.allow], result: outcome.result };
  });
}
