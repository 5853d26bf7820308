import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { APPROVED_MESSAGE } from "../../src/core/dm-pairing.js";
import { notifyApprovedSender, type NotifyResult } from "../../src/notify/index.js";
import { createStoreContext } from "../../src/store/context.js";
import {
  closedPortUrl,
  fakeDiscord,
  fakeSignal,
  fakeSlack,
  fakeTelegram,
  type FakeApi,
  type FakeMode,
} from "./fake-apis.js";
import { ALL_TOKENS, DISCORD_TOKEN, SLACK_TOKEN, TELEGRAM_TOKEN, fullConfig, stateWithConfig } from "./helpers.js";

const open: FakeApi[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((api) => api.close()));
});

type Channel = "telegram" | "discord" | "slack" | "signal";

const SENDERS: Record<Channel, string> = {
  telegram: "123456789",
  discord: "222333444555666777",
  slack: "U0123ABCD",
  signal: "+15551234567",
};

async function startApi(channel: Channel): Promise<FakeApi> {
  const api =
    channel === "telegram"
      ? await fakeTelegram(TELEGRAM_TOKEN)
      : channel === "discord"
        ? await fakeDiscord(DISCORD_TOKEN)
        : channel === "slack"
          ? await fakeSlack(SLACK_TOKEN)
          : await fakeSignal();
  open.push(api);
  return api;
}

/** Notify `channel`'s sender with every API pointed at `url` (the config's signal URL too). */
async function notify(channel: Channel, url: string, timeoutMs?: number): Promise<NotifyResult> {
  const { stateDir } = stateWithConfig(fullConfig(url));
  const env = {
    PATH: process.env.PATH,
    MOLTBOT_TELEGRAM_API_URL: url,
    MOLTBOT_DISCORD_API_URL: url,
    MOLTBOT_SLACK_API_URL: url,
    ...(timeoutMs !== undefined ? { MOLTBOT_NOTIFY_TIMEOUT_MS: String(timeoutMs) } : {}),
  };
  const ctx = createStoreContext({ stateDir, env });
  return notifyApprovedSender(ctx, { channel, senderId: SENDERS[channel] });
}

function expectNoToken(result: NotifyResult): void {
  for (const token of ALL_TOKENS) expect(JSON.stringify(result)).not.toContain(token);
  expect(JSON.stringify(result)).not.toMatch(/SECRET|xoxb-|AAtest/);
}

describe("notifyApprovedSender against each API's local fake", () => {
  it("telegram: one POST /bot<token>/sendMessage with {chat_id, text}", async () => {
    const api = await startApi("telegram");
    expect(await notify("telegram", api.url)).toEqual({ status: "sent" });
    expect(api.requests).toHaveLength(1);
    const [request] = api.requests;
    expect(request!.path).toBe(`/bot${TELEGRAM_TOKEN}/sendMessage`);
    expect(request!.body).toEqual({ chat_id: "123456789", text: APPROVED_MESSAGE });
    expect(request!.headers["content-type"]).toBe("application/json");
  });

  it("discord: opens the DM channel with the user, then posts the message into it, with the Bot token", async () => {
    const api = await startApi("discord");
    expect(await notify("discord", api.url)).toEqual({ status: "sent" });
    expect(api.requests.map((request) => [request.path, request.body, request.headers.authorization])).toEqual([
      ["/users/@me/channels", { recipient_id: "222333444555666777" }, `Bot ${DISCORD_TOKEN}`],
      ["/channels/900000000000000001/messages", { content: APPROVED_MESSAGE }, `Bot ${DISCORD_TOKEN}`],
    ]);
  });

  it("slack: conversations.open with the user, then chat.postMessage to that DM, with the Bearer token", async () => {
    const api = await startApi("slack");
    expect(await notify("slack", api.url)).toEqual({ status: "sent" });
    expect(api.requests.map((request) => [request.path, request.body, request.headers.authorization])).toEqual([
      ["/conversations.open", { users: "U0123ABCD" }, `Bearer ${SLACK_TOKEN}`],
      ["/chat.postMessage", { channel: "D0FAKE123", text: APPROVED_MESSAGE }, `Bearer ${SLACK_TOKEN}`],
    ]);
    expect(api.requests[0]!.headers["content-type"]).toBe("application/json; charset=utf-8");
  });

  it("signal: one JSON-RPC send to <httpUrl>/api/v1/rpc with the account from the config, no auth header", async () => {
    const api = await startApi("signal");
    expect(await notify("signal", api.url)).toEqual({ status: "sent" });
    expect(api.requests).toHaveLength(1);
    const body = api.requests[0]!.body as { id: string };
    expect(body).toEqual({
      jsonrpc: "2.0",
      method: "send",
      params: { message: APPROVED_MESSAGE, account: "+15550001111", recipient: ["+15551234567"] },
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
    });
  });

  const API_ERRORS: [Channel, string][] = [
    ["telegram", "Telegram answered HTTP 403: Forbidden: bot was blocked by the user"],
    ["discord", "Discord answered HTTP 400: Cannot send messages to this user (code 50007)"],
    ["slack", "Slack refused: not_in_channel"],
    ["signal", 'signal-cli refused: Unregistered user "+15550000000" (code -1)'],
  ];
  it.each(API_ERRORS)("%s: an API error is `failed` with the API's own reason", async (channel, reason) => {
    const api = await startApi(channel);
    api.mode = "api-error";
    const result = await notify(channel, api.url);
    expect(result).toEqual({ status: "failed", reason });
    expectNoToken(result);
  });

  it.each(["telegram", "discord", "slack", "signal"] as const)(
    "%s: an API that never answers is `failed` at the time limit, asked once",
    async (channel) => {
      const api = await startApi(channel);
      api.mode = "hang";
      const started = Date.now();
      const result = await notify(channel, api.url, 400);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(result.status).toBe("failed");
      expect(result.reason).toMatch(/^no answer from 127\.0\.0\.1:\d+ within 0\.4 s \(the message may still arrive/);
      expect(api.requests).toHaveLength(1); // never sent twice
      expectNoToken(result);
    },
  );

  it.each(["telegram", "discord", "slack", "signal"] as const)(
    "%s: a refused connection is `failed` naming the host, not the URL",
    async (channel) => {
      const url = await closedPortUrl();
      const result = await notify(channel, url);
      expect(result).toEqual({
        status: "failed",
        reason: `cannot reach ${url.replace("http://", "")} (connection refused)`,
      });
    },
  );

  it.each(["telegram", "discord", "slack"] as const)(
    "%s: a redirect is not followed (the token would go with it)",
    async (channel) => {
      const api = await startApi(channel);
      api.mode = "redirect";
      const result = await notify(channel, api.url);
      expect(result.status).toBe("failed");
      expect(result.reason).toMatch(/answered with a redirect \(HTTP 307\); not followed$/);
      expect(api.requests).toHaveLength(1);
    },
  );

  it.each<[string, FakeMode]>([
    ["whatsapp", "ok"],
    ["msteams", "ok"],
    ["matrix", "ok"],
    ["nostr", "ok"],
  ])("%s is `unsupported` with the reason, and nothing is sent", async (channel) => {
    const api = await startApi("telegram");
    const { stateDir } = stateWithConfig(fullConfig());
    const ctx = createStoreContext({ stateDir, env: { MOLTBOT_TELEGRAM_API_URL: api.url } });
    const result = await notifyApprovedSender(ctx, { channel, senderId: "someone" });
    expect(result.status).toBe("unsupported");
    expect(result.reason).toMatch(/tell the sender yourself/);
    expect(api.requests).toHaveLength(0);
  });

  it("sender ids are normalised as on the allowlist (tg:123 is sent to 123)", async () => {
    const api = await startApi("telegram");
    const { stateDir } = stateWithConfig(fullConfig());
    const ctx = createStoreContext({ stateDir, env: { MOLTBOT_TELEGRAM_API_URL: api.url } });
    expect(await notifyApprovedSender(ctx, { channel: "Telegram", senderId: "tg:123456789" })).toEqual({
      status: "sent",
    });
    expect(api.requests[0]!.body).toEqual({ chat_id: "123456789", text: APPROVED_MESSAGE });
  });

  it("an account's own token is used with `account` (and the channel's token without it)", async () => {
    const workToken = "987654321:WORKtoken_abcdefghijklmnopqrstuv";
    const api = await fakeTelegram(workToken);
    open.push(api);
    const { stateDir } = stateWithConfig(
      `{ channels: { telegram: { botToken: "${TELEGRAM_TOKEN}", accounts: { work: { botToken: "${workToken}" } } } } }`,
    );
    const ctx = createStoreContext({ stateDir, env: { MOLTBOT_TELEGRAM_API_URL: api.url } });
    expect(await notifyApprovedSender(ctx, { channel: "telegram", senderId: "42", account: "Work" })).toEqual({
      status: "sent",
    });
    const withoutAccount = await notifyApprovedSender(ctx, { channel: "telegram", senderId: "42" });
    expect(withoutAccount).toEqual({ status: "failed", reason: "Telegram answered HTTP 401: Unauthorized" });
    expect(api.requests.map((request) => request.path)).toEqual([
      `/bot${workToken}/sendMessage`,
      `/bot${TELEGRAM_TOKEN}/sendMessage`,
    ]);
  });

  it("an API error text that quotes the token is redacted", async () => {
    const http = await import("node:http");
    const server = http.createServer((_req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ ok: false, description: `Bad Request: token ${TELEGRAM_TOKEN} at /bot${TELEGRAM_TOKEN}/x` }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as import("node:net").AddressInfo;
    try {
      const result = await notify("telegram", `http://127.0.0.1:${port}`);
      expect(result.status).toBe("failed");
      expect(result.reason).toContain("[redacted]");
      expectNoToken(result);
    } finally {
      server.close();
    }
  });

  describe("<state>/.env, as the gateway loads it (under the variables already set)", () => {
    async function withDotEnv(dotEnv: string, config: string, env: NodeJS.ProcessEnv = {}, mode = 0o600) {
      const api = await startApi("telegram");
      const { stateDir } = stateWithConfig(config);
      fs.writeFileSync(path.join(stateDir, ".env"), dotEnv, { mode });
      fs.chmodSync(path.join(stateDir, ".env"), mode);
      const ctx = createStoreContext({ stateDir, env: { MOLTBOT_TELEGRAM_API_URL: api.url, ...env } });
      return { api, result: await notifyApprovedSender(ctx, { channel: "telegram", senderId: "42" }) };
    }

    it("supplies TELEGRAM_BOT_TOKEN when the config has none", async () => {
      const { api, result } = await withDotEnv(`# tokens\nexport TELEGRAM_BOT_TOKEN="${TELEGRAM_TOKEN}"\n`, "{}");
      expect(result).toEqual({ status: "sent" });
      expect(api.requests[0]!.path).toBe(`/bot${TELEGRAM_TOKEN}/sendMessage`);
    });

    it("feeds ${VAR} in the config, but never beats a variable that is set", async () => {
      const config = `{ channels: { telegram: { botToken: "\${TG}" } } }`;
      const fromFile = await withDotEnv(`TG=${TELEGRAM_TOKEN}\n`, config);
      expect(fromFile.result).toEqual({ status: "sent" });
      const overridden = await withDotEnv(`TG=${TELEGRAM_TOKEN}\n`, config, { TG: "999:other" });
      expect(overridden.result).toEqual({ status: "failed", reason: "Telegram answered HTTP 401: Unauthorized" });
    });

    it("cannot set moltbot's own settings (MOLTBOT_*_API_URL come from moltbot's environment only)", async () => {
      const { stateDir } = stateWithConfig("{}");
      fs.writeFileSync(path.join(stateDir, ".env"), "MOLTBOT_TELEGRAM_API_URL=not a url\n", { mode: 0o600 });
      const ctx = createStoreContext({ stateDir, env: {} });
      const result = await notifyApprovedSender(ctx, { channel: "telegram", senderId: "42" });
      expect(result).toEqual({ status: "failed", reason: expect.stringMatching(/^no Telegram bot token/) });
    });

    it("one other users can change is refused", async () => {
      const { api, result } = await withDotEnv(`TELEGRAM_BOT_TOKEN=${TELEGRAM_TOKEN}\n`, "{}", {}, 0o666);
      expect(result).toEqual({
        status: "failed",
        reason: expect.stringMatching(/\.env can be changed by other users \(mode 0666\); run: chmod 600 /),
      });
      expect(api.requests).toHaveLength(0);
    });
  });
});
