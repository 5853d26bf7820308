import { MoltbotError } from "../errors.js";

/**
 * How one chat channel names its senders and how its allowlist entries are normalised. The rules
 * are the gateway's own channel adapters (clawdbot@2026.1.24-3, `pairing.normalizeAllowEntry` and
 * `pairing.idLabel` of each channel plugin), so an entry matches exactly when the gateway would
 * honour it.
 */
export interface ChannelInfo {
  /** Canonical, lower-case name; also the file-name stem of the channel's store files. */
  readonly name: string;
  /** Name of the sender id in tables, e.g. `telegramUserId`. */
  readonly idLabel: string;
  /**
   * The adapter's normalisation of a trimmed entry (prefix stripping, case folding). The store
   * trims again and drops empty and `*` results: see normalizeAllowEntry.
   */
  readonly normalize: (entry: string) => string;
  /** The line of the pairing reply that tells the sender their id (none for matrix). */
  readonly replyIdLine?: (senderId: string) => string;
}

const stripPrefix =
  (pattern: RegExp) =>
  (entry: string): string =>
    entry.replace(pattern, "");
const idLine = (what: string) => (id: string) => `Your ${what}: ${id}`;

/** BlueBubbles handles: service prefixes off, e-mail addresses lower-cased, phone numbers without blanks. */
function normalizeBlueBubblesHandle(raw: string): string {
  let value = raw.trim();
  for (let previous = ""; previous !== value;) {
    previous = value;
    value = value.replace(/^(imessage|sms|auto):/i, "").trim();
  }
  return value.includes("@") ? value.toLowerCase() : value.replace(/\s+/g, "");
}

/** Nostr keys: 64 hex digits, lower-cased; anything else (npub…) is kept as given, prefix included. */
function normalizeNostrKey(entry: string): string {
  const key = entry.replace(/^nostr:/i, "").trim();
  return /^[0-9a-fA-F]{64}$/.test(key) ? key.toLowerCase() : entry;
}

const channel = (
  name: string,
  idLabel: string,
  normalize: (entry: string) => string,
  replyIdLine?: (id: string) => string,
): ChannelInfo => (replyIdLine ? { name, idLabel, normalize, replyIdLine } : { name, idLabel, normalize });

export const CORE_CHANNELS: readonly ChannelInfo[] = [
  channel("telegram", "telegramUserId", stripPrefix(/^(telegram|tg):/i), idLine("Telegram user id")),
  channel("whatsapp", "whatsappSenderId", (entry) => entry, idLine("WhatsApp phone number")),
  channel("signal", "signalNumber", stripPrefix(/^signal:/i), (id) =>
    id.toLowerCase().startsWith("uuid:") ? `Your Signal sender id: ${id}` : `Your Signal number: ${id}`,
  ),
  channel("imessage", "imessageSenderId", (entry) => entry, idLine("iMessage sender id")),
  channel("discord", "discordUserId", stripPrefix(/^(discord|user):/i), idLine("Discord user id")),
  channel("slack", "slackUserId", stripPrefix(/^(slack|user):/i), idLine("Slack user id")),
];

/** The gateway's extension channels (its `extensions/<name>` plugins). */
export const EXTENSION_CHANNELS: readonly ChannelInfo[] = [
  // Matrix's pairing reply has no id line.
  channel("matrix", "matrixUserId", stripPrefix(/^matrix:/i)),
  channel("msteams", "msteamsUserId", stripPrefix(/^(msteams|user):/i), idLine("MSTeams user id")),
  channel(
    "mattermost",
    "mattermostUserId",
    (entry) =>
      entry
        .trim()
        .replace(/^(mattermost|user):/i, "")
        .replace(/^@/, "")
        .toLowerCase(),
    idLine("Mattermost user id"),
  ),
  channel(
    "bluebubbles",
    "bluebubblesSenderId",
    (entry) => normalizeBlueBubblesHandle(entry.replace(/^bluebubbles:/i, "")),
    idLine("BlueBubbles sender id"),
  ),
  channel(
    "nextcloud-talk",
    "nextcloudUserId",
    (entry) => entry.replace(/^(nextcloud-talk|nc-talk|nc):/i, "").toLowerCase(),
    idLine("Nextcloud user id"),
  ),
  channel("zalo", "zaloUserId", stripPrefix(/^(zalo|zl):/i), idLine("Zalo user id")),
  channel("zalouser", "zalouserUserId", stripPrefix(/^(zalouser|zlu):/i), idLine("Zalo user id")),
  channel("nostr", "nostrPubkey", normalizeNostrKey, idLine("Nostr public key")),
  channel(
    "googlechat",
    "googlechatUserId",
    (entry) =>
      entry
        .trim()
        .replace(/^(googlechat|google-chat|gchat):/i, "")
        .replace(/^user:/i, "")
        .replace(/^users\//i, "")
        .toLowerCase(),
    idLine("Google Chat user id"),
  ),
  channel("line", "lineUserId", stripPrefix(/^line:(?:user:)?/i), idLine("lineUserId")),
];

export const CHANNEL_ALIASES: Readonly<Record<string, string>> = { imsg: "imessage" };

const ALL_CHANNELS = [...CORE_CHANNELS, ...EXTENSION_CHANNELS];
const BY_NAME = new Map(ALL_CHANNELS.map((info) => [info.name, info]));

/** Every accepted channel name, core channels first. */
export const CHANNEL_NAMES: readonly string[] = ALL_CHANNELS.map((info) => info.name);

/**
 * Resolve a user-typed channel name. Names are case-insensitive; anything not in the registry is
 * rejected (never "sanitised"), because the name becomes part of a file path.
 */
export function resolveChannel(input: string): ChannelInfo {
  const key = input.trim().toLowerCase();
  const info = BY_NAME.get(CHANNEL_ALIASES[key] ?? key);
  if (info) return info;
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
 * An allowlist entry as the gateway reads it: trimmed, the channel adapter's normalisation, trimmed
 * again. Undefined for values that never count (empty, `*`): those are never stored.
 */
export function normalizeAllowEntry(info: ChannelInfo, senderId: string): string | undefined {
  const trimmed = senderId.trim();
  if (trimmed === "" || trimmed === "*") return undefined;
  const value = info.normalize(trimmed).trim();
  return value === "" || value === "*" ? undefined : value;
}

/**
 * Whether two ids name the same sender on a channel, compared as the gateway reads allowlist
 * entries (a value that never counts, such as `*`, is compared trimmed, as it is).
 */
export function sameSender(info: ChannelInfo, a: string, b: string): boolean {
  return (normalizeAllowEntry(info, a) ?? a.trim()) === (normalizeAllowEntry(info, b) ?? b.trim());
}

function truncateForMessage(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
