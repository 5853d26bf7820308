import { MoltbotError } from "../errors.js";

/** How one chat channel names its senders and how its allowlist entries are normalised. */
export interface ChannelInfo {
  /** Canonical, lower-case name; also the file-name stem of the channel's store files. */
  readonly name: string;
  /** Name of the sender id in tables, e.g. `telegramUserId`. */
  readonly idLabel: string;
  /** Prefixes stripped (case-insensitively) from sender ids before they reach the allowlist. */
  readonly stripPrefixes: readonly string[];
  /** The line of the pairing reply that tells the sender their id. */
  readonly replyIdLine: (senderId: string) => string;
}

const core = (
  name: string,
  idLabel: string,
  stripPrefixes: readonly string[],
  replyIdLine: (id: string) => string,
): ChannelInfo => ({ name, idLabel, stripPrefixes, replyIdLine });

export const CORE_CHANNELS: readonly ChannelInfo[] = [
  core("telegram", "telegramUserId", ["telegram:", "tg:"], (id) => `Your Telegram user id: ${id}`),
  core("whatsapp", "whatsappSenderId", [], (id) => `Your WhatsApp phone number: ${id}`),
  core("signal", "signalNumber", ["signal:"], (id) =>
    id.toLowerCase().startsWith("uuid:") ? `Your Signal sender id: ${id}` : `Your Signal number: ${id}`,
  ),
  core("imessage", "imessageSenderId", [], (id) => `Your iMessage sender id: ${id}`),
  core("discord", "discordUserId", ["discord:", "user:"], (id) => `Your Discord user id: ${id}`),
  core("slack", "slackUserId", ["slack:", "user:"], (id) => `Your Slack user id: ${id}`),
];

/** The gateway's extension channels, with their display names for the reply line. */
const EXTENSION_DISPLAY_NAMES: Readonly<Record<string, string>> = {
  matrix: "Matrix",
  msteams: "MSTeams",
  mattermost: "Mattermost",
  bluebubbles: "BlueBubbles",
  "nextcloud-talk": "Nextcloud-talk",
  zalo: "Zalo",
  zalouser: "Zalouser",
  nostr: "Nostr",
};

export const EXTENSION_CHANNELS: readonly ChannelInfo[] = Object.entries(EXTENSION_DISPLAY_NAMES).map(
  ([name, display]) => core(name, `${name}UserId`, [`${name}:`], (id) => `Your ${display} user id: ${id}`),
);

export const CHANNEL_ALIASES: Readonly<Record<string, string>> = { imsg: "imessage" };

const ALL_CHANNELS = [...CORE_CHANNELS, ...EXTENSION_CHANNELS];
const BY_NAME = new Map(ALL_CHANNELS.map((channel) => [channel.name, channel]));

/** Every accepted channel name, core channels first. */
export const CHANNEL_NAMES: readonly string[] = ALL_CHANNELS.map((channel) => channel.name);

/**
 * Resolve a user-typed channel name. Names are case-insensitive; anything not in the registry is
 * rejected (never "sanitised"), because the name becomes part of a file path.
 */
export function resolveChannel(input: string): ChannelInfo {
  const key = input.trim().toLowerCase();
  const channel = BY_NAME.get(CHANNEL_ALIASES[key] ?? key);
  if (channel) return channel;
  const suggestion = suggestChannel(key);
  const hint = suggestion ? ` Did you mean "${suggestion}"?` : "";
  throw new MoltbotError(
    "UNKNOWN_CHANNEL",
    `Unknown channel "${truncateForMessage(input)}".${hint} Valid channels: ${CHANNEL_NAMES.join(", ")}.`,
  );
}

/** The nearest known name (channels and aliases) within a small edit distance, if any. */
export function suggestChannel(input: string): string | undefined {
  const candidates = [...CHANNEL_NAMES, ...Object.keys(CHANNEL_ALIASES)];
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(input.toLowerCase(), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.max(2, Math.floor((best?.length ?? 0) / 3));
  return bestDistance <= limit ? best : undefined;
}

/** Damerau-Levenshtein (optimal string alignment), so transpositions like `telegarm` cost 1. */
export function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Number.POSITIVE_INFINITY;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = value;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Normalise a sender id for the allowlist: trim, then strip one known prefix
 * (case-insensitive). Returns undefined for values that must never be stored (empty, `*`).
 */
export function normalizeAllowEntry(channel: ChannelInfo, senderId: string): string | undefined {
  let value = senderId.trim();
  const lower = value.toLowerCase();
  for (const prefix of channel.stripPrefixes) {
    if (lower.startsWith(prefix)) {
      value = value.slice(prefix.length).trim();
      break;
    }
  }
  if (value === "" || value === "*") return undefined;
  return value;
}

function truncateForMessage(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
