/**
 * The exact requests a notice makes, and how each API's answer is read: pure functions, no I/O.
 * Shapes are the APIs' documented ones, checked against what the gateway (clawdbot@2026.1.24-3)
 * sends; where moltbot differs on purpose, the comment says so.
 */

export interface HttpRequest {
  method: "POST";
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What one API answer means: go on (with the value the next step needs), or stop with a reason. */
export type Reading<T = undefined> = { ok: true; value: T } | { ok: false; reason: string };

const JSON_HEADERS = { "Content-Type": "application/json" };

function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}${path}`;
}

function field(body: unknown, key: string): unknown {
  return typeof body === "object" && body !== null ? (body as Record<string, unknown>)[key] : undefined;
}

/** API error texts are shown to the operator: one line, bounded. */
function short(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

function httpFailure(api: string, status: number, detail?: unknown): Reading<never> {
  const text = typeof detail === "string" && detail.trim() !== "" ? `: ${short(detail)}` : "";
  return { ok: false, reason: `${api} answered HTTP ${status}${text}` };
}

// ---- Telegram Bot API ------------------------------------------------------------------------

/**
 * `sendMessage` with the bot token in the path. Plain text, no `parse_mode`: the gateway renders
 * its message to HTML first, but moltbot's message has no markup, so there is nothing to render
 * and nothing Telegram could fail to parse.
 */
export function telegramSendMessage(base: string, token: string, chatId: string, text: string): HttpRequest {
  return {
    method: "POST",
    url: joinUrl(base, `/bot${token}/sendMessage`),
    headers: { ...JSON_HEADERS },
    body: JSON.stringify({ chat_id: chatId, text }),
  };
}

/** Telegram answers `{ok:true,result}` or `{ok:false,error_code,description}` (HTTP 4xx/5xx). */
export function readTelegram(status: number, body: unknown): Reading {
  if (status >= 200 && status < 300 && field(body, "ok") === true) return { ok: true, value: undefined };
  const description = field(body, "description");
  return httpFailure("Telegram", status, description);
}

// ---- Discord (HTTP API v10) --------------------------------------------------------------------

function discordHeaders(token: string): Record<string, string> {
  return { ...JSON_HEADERS, Authorization: `Bot ${token}` };
}

/** Step 1: open (or find) the DM channel with the user. Idempotent: Discord returns the same channel. */
export function discordOpenDm(base: string, token: string, userId: string): HttpRequest {
  return {
    method: "POST",
    url: joinUrl(base, "/users/@me/channels"),
    headers: discordHeaders(token),
    body: JSON.stringify({ recipient_id: userId }),
  };
}

/** Step 2: post the message into that channel. */
export function discordPostMessage(base: string, token: string, channelId: string, text: string): HttpRequest {
  return {
    method: "POST",
    url: joinUrl(base, `/channels/${channelId}/messages`),
    headers: discordHeaders(token),
    body: JSON.stringify({ content: text }),
  };
}

function readDiscordError(status: number, body: unknown): Reading<never> {
  const message = field(body, "message");
  const code = field(body, "code");
  const detail = typeof message === "string" ? `${message}${typeof code === "number" ? ` (code ${code})` : ""}` : "";
  return httpFailure("Discord", status, detail);
}

/**
 * The DM channel's id goes into the next URL's path, so it must be a snowflake (digits): an answer
 * from a proxy or an impostor must not be able to steer the token to another path.
 */
export function readDiscordDm(status: number, body: unknown): Reading<string> {
  if (status < 200 || status >= 300) return readDiscordError(status, body);
  const id = field(body, "id");
  if (typeof id === "string" && /^\d{1,25}$/.test(id)) return { ok: true, value: id };
  return { ok: false, reason: "Discord opened no DM channel (its answer has no channel id)" };
}

export function readDiscordMessage(status: number, body: unknown): Reading {
  if (status >= 200 && status < 300) return { ok: true, value: undefined };
  return readDiscordError(status, body);
}

// ---- Slack Web API ---------------------------------------------------------------------------

function slackHeaders(token: string): Record<string, string> {
  // Slack asks for the charset on JSON bodies (it warns "missing_charset" otherwise).
  return { "Content-Type": "application/json; charset=utf-8", Authorization: `Bearer ${token}` };
}

/** Step 1, as the gateway does: `conversations.open` with the user gives the DM channel (D…). */
export function slackOpenDm(base: string, token: string, userId: string): HttpRequest {
  return {
    method: "POST",
    url: joinUrl(base, "/conversations.open"),
    headers: slackHeaders(token),
    body: JSON.stringify({ users: userId }),
  };
}

/** Step 2: `chat.postMessage` into that channel. */
export function slackPostMessage(base: string, token: string, channelId: string, text: string): HttpRequest {
  return {
    method: "POST",
    url: joinUrl(base, "/chat.postMessage"),
    headers: slackHeaders(token),
    body: JSON.stringify({ channel: channelId, text }),
  };
}

/** Slack answers HTTP 200 with `{ok:false,error}` for API errors; other statuses are transport trouble. */
function readSlackCommon(status: number, body: unknown): Reading<never> | undefined {
  if (status !== 200) return httpFailure("Slack", status, field(body, "error"));
  if (field(body, "ok") !== true) {
    const error = field(body, "error");
    return { ok: false, reason: `Slack refused: ${typeof error === "string" ? short(error) : "no reason given"}` };
  }
  return undefined;
}

export function readSlackDm(status: number, body: unknown): Reading<string> {
  const failure = readSlackCommon(status, body);
  if (failure) return failure;
  const id = field(field(body, "channel"), "id");
  if (typeof id === "string" && /^[A-Z0-9]{1,64}$/i.test(id)) return { ok: true, value: id };
  return { ok: false, reason: "Slack opened no DM channel (its answer has no channel id)" };
}

export function readSlackMessage(status: number, body: unknown): Reading {
  return readSlackCommon(status, body) ?? { ok: true, value: undefined };
}

// ---- signal-cli JSON-RPC over HTTP ---------------------------------------------------------------

export interface SignalSend {
  recipient: string;
  message: string;
  /** The bot's own number, for a daemon that serves several accounts (`channels.signal.account`). */
  account?: string;
}

/** `POST <base>/api/v1/rpc` with a JSON-RPC 2.0 `send`, as the gateway's signal client does. */
export function signalRpcSend(baseUrl: string, send: SignalSend, id: string): HttpRequest {
  const params: Record<string, unknown> = { message: send.message };
  if (send.account !== undefined) params.account = send.account;
  params.recipient = [send.recipient];
  return {
    method: "POST",
    url: joinUrl(baseUrl, "/api/v1/rpc"),
    headers: { ...JSON_HEADERS },
    body: JSON.stringify({ jsonrpc: "2.0", method: "send", params, id }),
  };
}

/** signal-cli answers 201 with no body, or 200 with `{result}` or `{error:{code,message}}`. */
export function readSignal(status: number, body: unknown): Reading {
  if (status === 201) return { ok: true, value: undefined };
  const error = field(body, "error");
  if (error !== undefined && error !== null) {
    const message = field(error, "message");
    const code = field(error, "code");
    return {
      ok: false,
      reason: `signal-cli refused: ${typeof message === "string" ? short(message) : "no reason given"}${typeof code === "number" ? ` (code ${code})` : ""}`,
    };
  }
  if (status >= 200 && status < 300 && field(body, "result") !== undefined) return { ok: true, value: undefined };
  return httpFailure("signal-cli", status);
}

// ---- imsg (iMessage) JSON-RPC over stdio -----------------------------------------------------------

export interface ImsgSend {
  to: string;
  text: string;
  service: string;
  region: string;
}

/** `imsg rpc [--db <path>]`: the argument vector, the same for every sender (ids never reach it). */
export function imsgArgs(dbPath: string | undefined): string[] {
  return dbPath === undefined ? ["rpc"] : ["rpc", "--db", dbPath];
}

/** The one JSON-RPC line written to `imsg rpc`'s stdin, as the gateway's imsg client writes it. */
export function imsgSendLine(send: ImsgSend, id: number): string {
  const params = { text: send.text, service: send.service, region: send.region, to: send.to };
  return `${JSON.stringify({ jsonrpc: "2.0", id, method: "send", params })}\n`;
}

/** A line of `imsg rpc` output: the answer to our request, or something else (a notification). */
export function readImsgLine(line: string, id: number): Reading | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  const answerId = field(parsed, "id");
  if ((typeof answerId !== "number" && typeof answerId !== "string") || String(answerId) !== String(id))
    return undefined;
  const error = field(parsed, "error");
  if (error !== undefined && error !== null) {
    const message = field(error, "message");
    return { ok: false, reason: `imsg refused: ${typeof message === "string" ? short(message) : "no reason given"}` };
  }
  return { ok: true, value: undefined };
}
