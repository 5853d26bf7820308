/**
 * What a notice will do for one channel, decided from the parsed gateway config and the
 * environment without any I/O (token files are read through the injected `readSecretFile`).
 * Credential rules are the January gateway's (clawdbot@2026.1.24-3: telegram/token.ts,
 * discord/token.ts, slack/accounts.ts + the slack plugin's notifyApproval, signal/accounts.ts,
 * imessage/accounts.ts + send.ts); each resolver says where it follows them.
 */
import {
  DEFAULT_ACCOUNT_ID,
  MissingEnvVarError,
  accountEntry,
  envLookup,
  isObject,
  mergedAccount,
  pick,
  substituteEnv,
} from "./gateway-config.js";

export type SecretRead = { ok: true; value: string } | { ok: false; missing: boolean; reason: string };

export interface PlanInput {
  /** Canonical channel name (`imsg` already resolved to `imessage`). */
  channel: string;
  /** The sender id as it stands on the allowlist (prefixes such as `tg:` stripped). */
  senderId: string;
  /** Normalised account id; `default` when none was given. */
  accountId: string;
  text: string;
  config: unknown;
  /** How reasons name the config: its path, or where it was looked for. */
  configLabel: string;
  /** The environment the gateway would see: this process's, over `<state>/.env`. */
  env: NodeJS.ProcessEnv;
  /** This process's own environment, for moltbot's settings (MOLTBOT_*_API_URL). */
  moltbotEnv: NodeJS.ProcessEnv;
  readSecretFile: (file: string) => SecretRead;
}

export type ChannelPlan =
  | { kind: "telegram"; apiBase: string; token: string; chatId: string }
  | { kind: "discord"; apiBase: string; token: string; userId: string }
  | { kind: "slack"; apiBase: string; token: string; userId: string }
  | { kind: "signal"; baseUrl: string; account?: string; recipient: string }
  | { kind: "imessage"; cliPath: string; dbPath?: string; to: string; service: string; region: string }
  | { kind: "skip"; status: "unsupported" | "failed"; reason: string };

const failed = (reason: string): ChannelPlan => ({ kind: "skip", status: "failed", reason });
const unsupported = (reason: string): ChannelPlan => ({ kind: "skip", status: "unsupported", reason });

export const API_DEFAULTS = {
  telegram: { variable: "MOLTBOT_TELEGRAM_API_URL", url: "https://api.telegram.org" },
  discord: { variable: "MOLTBOT_DISCORD_API_URL", url: "https://discord.com/api/v10" },
  slack: { variable: "MOLTBOT_SLACK_API_URL", url: "https://slack.com/api" },
} as const;

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/**
 * An API base URL from the environment: a bot token travels in every request, so only https, or
 * plain http to this machine (tests, a local proxy); never a URL with a user or password in it.
 */
function apiBase(env: NodeJS.ProcessEnv, api: keyof typeof API_DEFAULTS): string | { reason: string } {
  const { variable, url: fallback } = API_DEFAULTS[api];
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === "") return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { reason: `${variable} is not a URL` };
  }
  if (url.username !== "" || url.password !== "") return { reason: `${variable} must not contain a user or password` };
  if (url.search !== "" || url.hash !== "") return { reason: `${variable} must not have a query or fragment` };
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname)))
    return { reason: `${variable} must be an https:// URL (plain http:// only to a loopback address)` };
  return url.href.replace(/\/+$/, "");
}

/** A config string the notice uses, with `${VAR}` substituted; blank counts as absent. */
function configString(value: unknown, env: NodeJS.ProcessEnv, where: string): string | undefined {
  if (typeof value !== "string") return undefined;
  const trimmed = substituteEnv(value, env, where).trim();
  return trimmed === "" ? undefined : trimmed;
}

const accountPath = (channel: string, accountId: string) => `channels.${channel}.accounts.${accountId}`;

// ---- Telegram (telegram/token.ts resolveTelegramToken) ----------------------------------------------

const TELEGRAM_TOKEN = /^\d{1,20}:[A-Za-z0-9_-]{1,200}$/;

function telegramToken(input: PlanInput): { token: string } | { reason: string } {
  const { config, env, accountId, configLabel } = input;
  const section = pick(config, "channels", "telegram");
  const account = accountEntry(section, accountId);
  const at = accountPath("telegram", accountId);
  const fromFile = (file: string, where: string): { token: string } | { reason: string } | undefined => {
    const read = input.readSecretFile(file);
    if (!read.ok) return { reason: `${where} (${file}) ${read.reason}` };
    const token = read.value.trim();
    return token === "" ? undefined : { token };
  };
  // An account's tokenFile, when set, is the only place looked at: missing or empty means no token.
  const accountFile = configString(account?.tokenFile, env, `${at}.tokenFile`);
  if (accountFile !== undefined)
    return fromFile(accountFile, `${at}.tokenFile`) ?? { reason: `${at}.tokenFile (${accountFile}) is empty` };
  const accountToken = configString(account?.botToken, env, `${at}.botToken`);
  if (accountToken !== undefined) return { token: accountToken };
  if (accountId !== DEFAULT_ACCOUNT_ID) {
    return {
      reason: `no Telegram bot token for account "${accountId}": set ${at}.botToken or .tokenFile in ${configLabel}`,
    };
  }
  // Only the default account falls back to the channel's own settings and the environment.
  const channelFile = configString(pick(section, "tokenFile"), env, "channels.telegram.tokenFile");
  if (channelFile !== undefined) {
    const read = input.readSecretFile(channelFile);
    if (!read.ok) return { reason: `channels.telegram.tokenFile (${channelFile}) ${read.reason}` };
    // An empty file falls through to botToken and the environment, as in the gateway.
    if (read.value.trim() !== "") return { token: read.value.trim() };
  }
  const channelToken = configString(pick(section, "botToken"), env, "channels.telegram.botToken");
  if (channelToken !== undefined) return { token: channelToken };
  const fromEnv = envLookup(env, config)("TELEGRAM_BOT_TOKEN");
  if (fromEnv !== undefined && fromEnv.value.trim() !== "") return { token: fromEnv.value.trim() };
  return {
    reason: `no Telegram bot token: set channels.telegram.botToken (or tokenFile) in ${configLabel}, or TELEGRAM_BOT_TOKEN`,
  };
}

function planTelegram(input: PlanInput): ChannelPlan {
  const merged = mergedAccount(pick(input.config, "channels", "telegram"), input.accountId);
  const base = apiBase(input.moltbotEnv, "telegram");
  if (typeof base !== "string") return failed(base.reason);
  // The gateway sends through channels.telegram.proxy when one is set (often because the API is
  // blocked, or to hide the host's address); going direct would defeat it.
  if (
    configString(merged.proxy, input.env, "channels.telegram.proxy") !== undefined &&
    !input.moltbotEnv.MOLTBOT_TELEGRAM_API_URL
  )
    return unsupported(
      "channels.telegram.proxy is set and moltbot does not send through proxies; point MOLTBOT_TELEGRAM_API_URL at one instead",
    );
  const resolved = telegramToken(input);
  if ("reason" in resolved) return failed(resolved.reason);
  // The token is part of the URL path: anything but a bot token's characters could change the path.
  if (!TELEGRAM_TOKEN.test(resolved.token))
    return failed("the Telegram bot token is not in the form <digits>:<letters>");
  if (!/^-?\d{1,20}$/.test(input.senderId)) return failed("the sender id is not a numeric Telegram user id");
  return { kind: "telegram", apiBase: base, token: resolved.token, chatId: input.senderId };
}

// ---- Discord (discord/token.ts resolveDiscordToken) ---------------------------------------------------

/** Header-safe: printable ASCII without spaces (a token with a newline would split the header). */
const HEADER_TOKEN = /^[\x21-\x7e]{1,500}$/;

function planDiscord(input: PlanInput): ChannelPlan {
  const { config, env, accountId, configLabel } = input;
  const section = pick(config, "channels", "discord");
  const at = accountPath("discord", accountId);
  // The gateway accepts tokens written with their "Bot " prefix.
  const strip = (token: string | undefined) => token?.replace(/^Bot\s+/i, "").trim() || undefined;
  let token = strip(configString(accountEntry(section, accountId)?.token, env, `${at}.token`));
  if (token === undefined && accountId === DEFAULT_ACCOUNT_ID) {
    token =
      strip(configString(pick(section, "token"), env, "channels.discord.token")) ??
      strip(envLookup(env, config)("DISCORD_BOT_TOKEN")?.value);
  }
  const base = apiBase(input.moltbotEnv, "discord");
  if (typeof base !== "string") return failed(base.reason);
  if (token === undefined) {
    return failed(
      accountId === DEFAULT_ACCOUNT_ID
        ? `no Discord bot token: set channels.discord.token in ${configLabel}, or DISCORD_BOT_TOKEN`
        : `no Discord bot token for account "${accountId}": set ${at}.token in ${configLabel}`,
    );
  }
  if (!HEADER_TOKEN.test(token)) return failed("the Discord bot token contains spaces or control characters");
  if (!/^\d{1,25}$/.test(input.senderId)) return failed("the sender id is not a Discord user id (digits)");
  return { kind: "discord", apiBase: base, token, userId: input.senderId };
}

// ---- Slack (slack/accounts.ts resolveSlackAccount + the plugin's getTokenForOperation("write")) --------

function planSlack(input: PlanInput): ChannelPlan {
  const { config, env, accountId, configLabel } = input;
  // Slack merges the channel's settings under every account, so a channel-level botToken serves
  // named accounts too; only the environment is reserved for the default account.
  const merged = mergedAccount(pick(config, "channels", "slack"), accountId);
  const where = accountId === DEFAULT_ACCOUNT_ID ? "channels.slack" : accountPath("slack", accountId);
  const botToken =
    configString(merged.botToken, env, `${where}.botToken`) ??
    (accountId === DEFAULT_ACCOUNT_ID
      ? envLookup(env, config)("SLACK_BOT_TOKEN")?.value.trim() || undefined
      : undefined);
  // A user token writes only when the config says it may (userTokenReadOnly: false).
  const token =
    botToken ??
    (merged.userTokenReadOnly === false ? configString(merged.userToken, env, `${where}.userToken`) : undefined);
  const base = apiBase(input.moltbotEnv, "slack");
  if (typeof base !== "string") return failed(base.reason);
  if (token === undefined) {
    return failed(
      accountId === DEFAULT_ACCOUNT_ID
        ? `no Slack bot token: set channels.slack.botToken in ${configLabel}, or SLACK_BOT_TOKEN`
        : `no Slack bot token for account "${accountId}": set ${where}.botToken in ${configLabel}`,
    );
  }
  if (!HEADER_TOKEN.test(token)) return failed("the Slack token contains spaces or control characters");
  if (!/^[A-Z0-9]{1,64}$/i.test(input.senderId)) return failed("the sender id is not a Slack user id");
  return { kind: "slack", apiBase: base, token, userId: input.senderId };
}

// ---- Signal (signal/accounts.ts resolveSignalAccount, signal/client.ts normalizeBaseUrl) ---------------

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function planSignal(input: PlanInput): ChannelPlan {
  const { config, env, accountId, configLabel } = input;
  const section = pick(config, "channels", "signal");
  if (!isObject(section)) return failed(`Signal is not configured: no channels.signal in ${configLabel}`);
  const merged = mergedAccount(section, accountId);
  const where = accountId === DEFAULT_ACCOUNT_ID ? "channels.signal" : accountPath("signal", accountId);
  const host = configString(merged.httpHost, env, `${where}.httpHost`) ?? "127.0.0.1";
  const port = typeof merged.httpPort === "number" ? merged.httpPort : 8080;
  let raw = configString(merged.httpUrl, env, `${where}.httpUrl`) ?? `http://${host}:${port}`;
  if (!/^https?:\/\//i.test(raw)) raw = `http://${raw}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return failed(`${where}.httpUrl is not a URL`);
  }
  if (url.username !== "" || url.password !== "") return failed(`${where}.httpUrl must not contain a user or password`);
  // Sender ids are attacker text: only a phone number or a UUID may become the recipient (the
  // gateway would also read "group:…" or "username:…" as other kinds of target).
  const id = input.senderId.replace(/^uuid:/i, "");
  if (!/^\+[1-9]\d{5,14}$/.test(id) && !UUID.test(id))
    return failed("the sender id is not a Signal phone number (+…) or UUID");
  const account = configString(merged.account, env, `${where}.account`);
  return {
    kind: "signal",
    baseUrl: url.href.replace(/\/+$/, ""),
    recipient: id,
    ...(account !== undefined ? { account } : {}),
  };
}

// ---- iMessage (imessage/accounts.ts + imessage/send.ts) -------------------------------------------------

function planIMessage(input: PlanInput): ChannelPlan {
  const { config, env, accountId } = input;
  const merged = mergedAccount(pick(config, "channels", "imessage"), accountId);
  const where = accountId === DEFAULT_ACCOUNT_ID ? "channels.imessage" : accountPath("imessage", accountId);
  const cliPath = configString(merged.cliPath, env, `${where}.cliPath`) ?? "imsg";
  const dbPath = configString(merged.dbPath, env, `${where}.dbPath`);
  const service = configString(merged.service, env, `${where}.service`) ?? "auto";
  const region = configString(merged.region, env, `${where}.region`) ?? "US";
  return {
    kind: "imessage",
    cliPath,
    to: input.senderId,
    service,
    region,
    ...(dbPath !== undefined ? { dbPath } : {}),
  };
}

// ---- the rest ----------------------------------------------------------------------------------------

const UNSUPPORTED: Readonly<Record<string, string>> = {
  whatsapp:
    "the gateway never notifies on WhatsApp (its WhatsApp Web session lives inside the gateway process); tell the sender yourself",
  msteams:
    "Teams messages go through the gateway's Bot Framework session (a conversation reference it records when the user first writes, and an Azure AD token); moltbot does not hold that session, so tell the sender yourself",
};

/** Decide what to do; never throws (a `${VAR}` that is not set becomes a failure naming it). */
export function planNotice(input: PlanInput): ChannelPlan {
  try {
    switch (input.channel) {
      case "telegram":
        return planTelegram(input);
      case "discord":
        return planDiscord(input);
      case "slack":
        return planSlack(input);
      case "signal":
        return planSignal(input);
      case "imessage":
        return planIMessage(input);
      default:
        return unsupported(
          UNSUPPORTED[input.channel] ?? `moltbot does not notify on ${input.channel}; tell the sender yourself`,
        );
    }
  } catch (error) {
    if (error instanceof MissingEnvVarError) return failed(`the gateway config refers to ${error.message}`);
    throw error;
  }
}
