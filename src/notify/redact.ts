/**
 * Bot tokens must never reach output, errors or logs. Every reason a notice reports passes through
 * here: the secrets known for the call are cut out wherever they appear, and so is anything shaped
 * like a bot token or a Telegram API path, in case a secret reached a message by a route we did not
 * foresee (an error from fetch can quote the URL, and a Telegram URL carries the token).
 */
const TOKEN_SHAPES: readonly RegExp[] = [
  /\/bot\d+:[^/\s?#]*/gi, // Telegram: https://api.telegram.org/bot<token>/sendMessage
  /\b\d{5,}:[A-Za-z0-9_-]{20,}/g, // a Telegram bot token on its own
  /\bxox[a-z]-[A-Za-z0-9-]+/gi, // Slack bot, user and app tokens
  /\b(?:Bot|Bearer) [A-Za-z0-9._~+/=-]{20,}/g, // an Authorization header value
];

export const REDACTED = "[redacted]";

export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  // Longest first, so a secret that contains another is cut out whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  for (const shape of TOKEN_SHAPES) {
    out = out.replace(shape, (match) => (match.startsWith("/") ? `/bot${REDACTED}` : REDACTED));
  }
  return out;
}
