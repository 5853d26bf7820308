/**
 * Local stand-ins for the chat APIs a notice talks to: real HTTP servers on 127.0.0.1 that check
 * each request against the API's documented shape (method, path, headers, JSON body) and answer
 * as the real API does, or with an API error, or not at all (a hung API). A request of the wrong
 * shape gets HTTP 400 "fake: …", so a test that expects `sent` fails loudly.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export type FakeMode = "ok" | "api-error" | "hang" | "redirect";

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  raw: string;
}

export interface FakeApi {
  url: string;
  requests: Recorded[];
  mode: FakeMode;
  close: () => Promise<void>;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };
type Handler = (request: Recorded, api: FakeApi) => Answer;

const jsonKeys = (body: unknown) =>
  typeof body === "object" && body !== null && !Array.isArray(body) ? Object.keys(body).sort() : undefined;

function shapeProblem(
  request: Recorded,
  expected: { path: RegExp; keys: string[]; auth?: RegExp },
): string | undefined {
  if (request.method !== "POST") return `method ${request.method}`;
  if (!expected.path.test(request.path)) return `path ${request.path}`;
  if (!/^application\/json(?:; charset=utf-8)?$/.test(String(request.headers["content-type"])))
    return `content-type ${String(request.headers["content-type"])}`;
  if (expected.auth && !expected.auth.test(String(request.headers.authorization))) return "authorization";
  if (!expected.auth && request.headers.authorization !== undefined) return "unexpected authorization";
  const keys = jsonKeys(request.body);
  if (keys === undefined || keys.join() !== [...expected.keys].sort().join()) return `body keys ${String(keys)}`;
  return undefined;
}

async function startFake(handler: Handler): Promise<FakeApi> {
  const sockets = new Set<import("node:net").Socket>();
  const api = { requests: [], mode: "ok" } as unknown as FakeApi;
  const server = http.createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8").on("data", (chunk: string) => (raw += chunk));
    req.on("end", () => {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const recorded: Recorded = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, raw };
      api.requests.push(recorded);
      if (api.mode === "hang") return; // never answers; the socket is destroyed on close()
      if (api.mode === "redirect") {
        res.writeHead(307, { location: "http://127.0.0.1:9/steal" }).end();
        return;
      }
      const answer = handler(recorded, api);
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return api;
}

/** Telegram Bot API: POST /bot<token>/sendMessage {chat_id, text}. */
export function fakeTelegram(token: string): Promise<FakeApi> {
  return startFake((request, api) => {
    const problem = shapeProblem(request, { path: /^\/bot[^/]+\/sendMessage$/, keys: ["chat_id", "text"] });
    if (problem) return { status: 400, body: { ok: false, error_code: 400, description: `fake: ${problem}` } };
    if (request.path !== `/bot${token}/sendMessage`)
      return { status: 401, body: { ok: false, error_code: 401, description: "Unauthorized" } };
    if (api.mode === "api-error")
      return {
        status: 403,
        body: { ok: false, error_code: 403, description: "Forbidden: bot was blocked by the user" },
      };
    const { chat_id } = request.body as { chat_id: string };
    return {
      status: 200,
      body: { ok: true, result: { message_id: 7, date: 0, chat: { id: Number(chat_id), type: "private" } } },
    };
  });
}

/** Discord API v10: POST /users/@me/channels {recipient_id}, then POST /channels/<id>/messages {content}. */
export function fakeDiscord(token: string, dmChannelId = "900000000000000001"): Promise<FakeApi> {
  return startFake((request, api) => {
    const auth = new RegExp(`^Bot ${token.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
    const open = request.path === "/users/@me/channels";
    const problem = shapeProblem(request, {
      path: /^\/(users\/@me\/channels|channels\/\d+\/messages)$/,
      keys: open ? ["recipient_id"] : ["content"],
      auth: /^Bot /,
    });
    if (problem) return { status: 400, body: { message: `fake: ${problem}`, code: 50035 } };
    if (!auth.test(String(request.headers.authorization)))
      return { status: 401, body: { message: "401: Unauthorized", code: 0 } };
    if (open) {
      const { recipient_id } = request.body as { recipient_id: string };
      if (api.mode === "api-error")
        return { status: 400, body: { message: "Cannot send messages to this user", code: 50007 } };
      return { status: 200, body: { id: dmChannelId, type: 1, recipients: [{ id: recipient_id }] } };
    }
    if (request.path !== `/channels/${dmChannelId}/messages`)
      return { status: 404, body: { message: "Unknown Channel", code: 10003 } };
    const { content } = request.body as { content: string };
    return { status: 200, body: { id: "900000000000000002", channel_id: dmChannelId, content } };
  });
}

/** Slack Web API: POST /conversations.open {users}, then POST /chat.postMessage {channel, text}; errors are HTTP 200 {ok:false}. */
export function fakeSlack(token: string, dmChannelId = "D0FAKE123"): Promise<FakeApi> {
  return startFake((request, api) => {
    const open = request.path === "/conversations.open";
    const problem = shapeProblem(request, {
      path: /^\/(conversations\.open|chat\.postMessage)$/,
      keys: open ? ["users"] : ["channel", "text"],
      auth: /^Bearer /,
    });
    if (problem) return { status: 200, body: { ok: false, error: `fake: ${problem}` } };
    if (request.headers.authorization !== `Bearer ${token}`)
      return { status: 200, body: { ok: false, error: "invalid_auth" } };
    if (open) return { status: 200, body: { ok: true, channel: { id: dmChannelId } } };
    if (api.mode === "api-error") return { status: 200, body: { ok: false, error: "not_in_channel" } };
    const { channel } = request.body as { channel: string };
    if (channel !== dmChannelId) return { status: 200, body: { ok: false, error: "channel_not_found" } };
    return { status: 200, body: { ok: true, channel, ts: "1700000000.000100" } };
  });
}

/** signal-cli daemon: POST /api/v1/rpc, JSON-RPC 2.0 `send` with params {message, recipient[], account?}. */
export function fakeSignal(): Promise<FakeApi> {
  return startFake((request, api) => {
    const body = request.body as { jsonrpc?: string; method?: string; id?: unknown; params?: unknown };
    const problem = shapeProblem(request, { path: /^\/api\/v1\/rpc$/, keys: ["id", "jsonrpc", "method", "params"] });
    const paramKeys = jsonKeys(body?.params);
    const bad =
      problem ??
      (body.jsonrpc !== "2.0" || body.method !== "send" || typeof body.id !== "string"
        ? "json-rpc envelope"
        : !paramKeys || !["message", "recipient"].every((key) => paramKeys.includes(key))
          ? "params"
          : undefined);
    if (bad)
      return {
        status: 200,
        body: { jsonrpc: "2.0", id: body?.id ?? null, error: { code: -32600, message: `fake: ${bad}` } },
      };
    if (api.mode === "api-error")
      return {
        status: 200,
        body: { jsonrpc: "2.0", id: body.id, error: { code: -1, message: 'Unregistered user "+15550000000"' } },
      };
    return { status: 200, body: { jsonrpc: "2.0", id: body.id, result: { timestamp: 1700000000000 } } };
  });
}

/** A port on 127.0.0.1 that nothing listens on (connections are refused). */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
