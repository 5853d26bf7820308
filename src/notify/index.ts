/**
 * Tell an approved sender, on their own channel, that they may now talk to the bot: what the
 * gateway's `pairing approve --notify` does. Runs after the approval is written and never undoes
 * or fails it: every outcome is a result, never an exception.
 */
import { normalizeAllowEntry, resolveChannel } from "../core/channels.js";
import { APPROVED_MESSAGE } from "../core/dm-pairing.js";
import { generateUuidV4 } from "../core/tokens.js";
import { isMoltbotError } from "../errors.js";
import type { StoreContext } from "../store/context.js";
import { readGatewayConfig, readSecretFile, readStateDotEnv } from "./config-file.js";
import { normalizeAccountId } from "./gateway-config.js";
import { planNotice, type ChannelPlan } from "./plan.js";
import { redact } from "./redact.js";
import {
  discordOpenDm,
  discordPostMessage,
  imsgArgs,
  imsgSendLine,
  readDiscordDm,
  readDiscordMessage,
  readImsgLine,
  readSignal,
  readSlackDm,
  readSlackMessage,
  readTelegram,
  signalRpcSend,
  slackOpenDm,
  slackPostMessage,
  telegramSendMessage,
} from "./requests.js";
import { NoticeFailure, expectOk, findOnPath, runImsg, sendHttp } from "./transport.js";

export type NotifyStatus = "sent" | "unsupported" | "failed";

/**
 * `sent`: the channel's API accepted the message. `unsupported`: moltbot cannot notify on this
 * channel (or not with this setup); nothing was attempted. `failed`: it tried, or could not try
 * for a reason the operator can fix (no token, unreachable API, API error); `reason` says which.
 */
export interface NotifyResult {
  status: NotifyStatus;
  reason?: string;
}

export interface NotifyTarget {
  channel: string;
  /** The approved sender's id (as `approveDmCode` returns it). */
  senderId: string;
  /** The bot account the sender wrote to; its own credentials are used. Default: the default account. */
  account?: string;
}

export interface NotifyOptions {
  /** Time limit for the whole notice (default: $MOLTBOT_NOTIFY_TIMEOUT_MS, else 10 s). */
  timeoutMs?: number;
  /** The text sent (default: APPROVED_MESSAGE). */
  text?: string;
}

export const DEFAULT_NOTIFY_TIMEOUT_MS = 10_000;

export function notifyTimeoutMs(env: NodeJS.ProcessEnv): number {
  const raw = env.MOLTBOT_NOTIFY_TIMEOUT_MS;
  const value = raw === undefined || raw.trim() === "" ? Number.NaN : Number(raw);
  return Number.isInteger(value) && value > 0 && value <= 600_000 ? value : DEFAULT_NOTIFY_TIMEOUT_MS;
}

async function deliver(
  plan: Exclude<ChannelPlan, { kind: "skip" }>,
  text: string,
  ctx: StoreContext,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<NotifyResult> {
  const call = async <T>(request: Parameters<typeof sendHttp>[0], read: (s: number, b: unknown) => T) => {
    const answer = await sendHttp(request, signal, timeoutMs);
    return read(answer.status, answer.body);
  };
  switch (plan.kind) {
    case "telegram":
      expectOk(await call(telegramSendMessage(plan.apiBase, plan.token, plan.chatId, text), readTelegram));
      break;
    case "discord": {
      const channelId = expectOk(await call(discordOpenDm(plan.apiBase, plan.token, plan.userId), readDiscordDm));
      expectOk(await call(discordPostMessage(plan.apiBase, plan.token, channelId, text), readDiscordMessage));
      break;
    }
    case "slack": {
      const channelId = expectOk(await call(slackOpenDm(plan.apiBase, plan.token, plan.userId), readSlackDm));
      expectOk(await call(slackPostMessage(plan.apiBase, plan.token, channelId, text), readSlackMessage));
      break;
    }
    case "signal": {
      const send = { recipient: plan.recipient, message: text, ...(plan.account ? { account: plan.account } : {}) };
      expectOk(await call(signalRpcSend(plan.baseUrl, send, generateUuidV4(ctx.random)), readSignal));
      break;
    }
    case "imessage": {
      // "When present": a bare `imsg` that is not installed means this machine cannot send iMessages.
      const command = plan.cliPath.includes("/") ? plan.cliPath : findOnPath(plan.cliPath, ctx.env.PATH);
      if (command === undefined) {
        return {
          status: "unsupported",
          reason: `${plan.cliPath} is not installed here (iMessage is sent with the imsg tool on the Mac that runs the gateway)`,
        };
      }
      const send = { to: plan.to, text, service: plan.service, region: plan.region };
      await runImsg(
        {
          command,
          args: imsgArgs(plan.dbPath),
          line: imsgSendLine(send, 1),
          read: (line) => readImsgLine(line, 1),
          env: ctx.env,
        },
        signal,
        timeoutMs,
      );
      break;
    }
  }
  return { status: "sent" };
}

function secretsOf(plan: ChannelPlan): string[] {
  return "token" in plan ? [plan.token] : [];
}

/**
 * Send the approval message to `senderId` on `channel`, with the gateway config's credentials.
 * Resolves to `{status, reason?}`; never throws, never retries, gives up after the time limit.
 *
 * @example
 * const approved = await approveDmCode(ctx, { channel: "telegram", code: "ABCD2345" });
 * const notice = await notifyApprovedSender(ctx, { channel: approved.channel, senderId: approved.id });
 * if (notice.status !== "sent") console.warn(`not notified: ${notice.reason}`);
 */
export async function notifyApprovedSender(
  ctx: StoreContext,
  target: NotifyTarget,
  options: NotifyOptions = {},
): Promise<NotifyResult> {
  let secrets: string[] = [];
  try {
    const channel = resolveChannel(target.channel);
    const senderId = normalizeAllowEntry(channel, target.senderId);
    if (senderId === undefined) return { status: "failed", reason: "the sender id is empty" };
    const timeoutMs = options.timeoutMs ?? notifyTimeoutMs(ctx.env);
    const read = await readGatewayConfig(ctx.paths.stateDir, ctx.env);
    if (!read.ok) return { status: "failed", reason: redact(read.reason) };
    const dotEnv = await readStateDotEnv(ctx.paths.stateDir);
    if (!dotEnv.ok) return { status: "failed", reason: redact(dotEnv.reason) };
    const plan = planNotice({
      channel: channel.name,
      senderId,
      accountId: normalizeAccountId(target.account),
      text: options.text ?? APPROVED_MESSAGE,
      config: read.config,
      configLabel: read.exists ? read.path : `the gateway config (none at ${read.path})`,
      // As the gateway loads it: <state>/.env never overrides a variable that is set.
      env: { ...dotEnv.vars, ...ctx.env },
      moltbotEnv: ctx.env,
      readSecretFile,
    });
    secrets = secretsOf(plan);
    if (plan.kind === "skip") return { status: plan.status, reason: redact(plan.reason, secrets) };
    const result = await deliver(
      plan,
      options.text ?? APPROVED_MESSAGE,
      ctx,
      AbortSignal.timeout(timeoutMs),
      timeoutMs,
    );
    return result.reason === undefined ? result : { ...result, reason: redact(result.reason, secrets) };
  } catch (error) {
    if (error instanceof NoticeFailure) return { status: "failed", reason: redact(error.reason, secrets) };
    if (isMoltbotError(error)) return { status: "failed", reason: redact(error.message, secrets) };
    const message = error instanceof Error ? error.message : String(error);
    return { status: "failed", reason: redact(`unexpected error: ${message}`, secrets) };
  }
}
