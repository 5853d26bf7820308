import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT, collectOutput, readJsonFile, runJson, runMoltbot, tempDir, type RunResult } from "../helpers.js";
import { closedPortUrl, fakeTelegram, type FakeApi, type FakeMode } from "./fake-apis.js";
import { ALL_TOKENS, TELEGRAM_TOKEN, fakeImsg, readLog, stateWithConfig } from "./helpers.js";

const APPROVED = "Moltbot access approved. Send a message to start chatting.";
const SENDER = "123456789";

const open: FakeApi[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((api) => api.close()));
});

/** Environment without any real credential or API override from the machine running the tests. */
function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    TELEGRAM_BOT_TOKEN: "",
    DISCORD_BOT_TOKEN: "",
    SLACK_BOT_TOKEN: "",
    MOLTBOT_CONFIG_PATH: "",
    CLAWDBOT_CONFIG_PATH: "",
    OPENCLAW_CONFIG_PATH: "",
    ...extra,
  };
}

/** A state dir with the gateway config and one pending request from `sender`; returns its code. */
async function pending(config: string, channel = "telegram", sender = SENDER) {
  const { stateDir, configPath } = stateWithConfig(config);
  const request = await runJson<{ code: string }>(["pairing", "request", channel, sender], { stateDir, env: env() });
  expect(request.code, request.stderr).toBe(0);
  return { stateDir, configPath, code: request.json.code };
}

/** The approval is in place: the sender is on the allowlist and the request is gone. */
function expectApproved(stateDir: string, channel = "telegram", sender = SENDER): void {
  const credentials = path.join(stateDir, "credentials");
  expect(readJsonFile<{ allowFrom: string[] }>(path.join(credentials, `${channel}-allowFrom.json`)).allowFrom).toEqual([
    sender,
  ]);
  expect(readJsonFile<{ requests: unknown[] }>(path.join(credentials, `${channel}-pairing.json`)).requests).toEqual([]);
}

function expectNoToken(result: RunResult): void {
  for (const token of ALL_TOKENS) {
    expect(result.stdout).not.toContain(token);
    expect(result.stderr).not.toContain(token);
  }
  expect(result.stdout + result.stderr).not.toMatch(/AAtest|SECRET/);
}

const config = `{ channels: { telegram: { botToken: "${TELEGRAM_TOKEN}" } } }`;

describe("moltbot pairing approve --notify (built bin, local Telegram fake)", () => {
  it("sends the real sendMessage request, says so on stderr, exit 0", async () => {
    const api = await fakeTelegram(TELEGRAM_TOKEN);
    open.push(api);
    const { stateDir, code } = await pending(config);
    const result = await runMoltbot(["pairing", "approve", "telegram", code, "--notify"], {
      stateDir,
      env: env({ MOLTBOT_TELEGRAM_API_URL: api.url }),
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`Approved telegram sender ${SENDER} (code ${code}).\n`);
    expect(result.stderr).toBe("notify: sent. Check with: moltbot pairing allowlist telegram\n");
    expect(api.requests.map((request) => [request.method, request.path, request.body])).toEqual([
      ["POST", `/bot${TELEGRAM_TOKEN}/sendMessage`, { chat_id: SENDER, text: APPROVED }],
    ]);
    expectApproved(stateDir);
    expectNoToken(result);
  });

  it("--json adds notify to the approve document (the --channel form too)", async () => {
    const api = await fakeTelegram(TELEGRAM_TOKEN);
    open.push(api);
    const { stateDir, code } = await pending(config);
    const result = await runJson(["pairing", "approve", "--channel", "telegram", code.toLowerCase(), "--notify"], {
      stateDir,
      env: env({ MOLTBOT_TELEGRAM_API_URL: api.url }),
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.json).toEqual({
      channel: "telegram",
      account: "default",
      code,
      id: SENDER,
      message: APPROVED,
      notify: { status: "sent" },
    });
  });

  interface Failure {
    mode?: FakeMode;
    refused?: true;
    config?: string;
    looseConfig?: true;
    extra?: NodeJS.ProcessEnv;
  }
  const FAILURES: [string, Failure, RegExp][] = [
    ["an API error", { mode: "api-error" }, /^Telegram answered HTTP 403: Forbidden: bot was blocked by the user$/],
    [
      "a hung API",
      { mode: "hang", extra: { MOLTBOT_NOTIFY_TIMEOUT_MS: "500" } },
      /^no answer from 127\.0\.0\.1:\d+ within 0\.5 s/,
    ],
    ["a refused connection", { refused: true }, /^cannot reach 127\.0\.0\.1:\d+ \(connection refused\)$/],
    ["no token configured", { config: "{}" }, /^no Telegram bot token: /],
    [
      "a config others can change",
      { looseConfig: true },
      /can be changed by other users \(mode 0666\); run: chmod 600 /,
    ],
  ];

  it.each(FAILURES)(
    "%s: the approval stays, the reason is reported (human and --json), exit 0, no token printed",
    async (_name, failure, reason) => {
      const api = await fakeTelegram(TELEGRAM_TOKEN);
      open.push(api);
      if (failure.mode) api.mode = failure.mode;
      const url = failure.refused ? await closedPortUrl() : api.url;
      for (const json of [false, true]) {
        const { stateDir, configPath, code } = await pending(failure.config ?? config);
        if (failure.looseConfig) fs.chmodSync(configPath, 0o666);
        const options = { stateDir, env: env({ MOLTBOT_TELEGRAM_API_URL: url, ...failure.extra }) };
        const started = Date.now();
        const args = ["pairing", "approve", "telegram", code, "--notify"];
        if (json) {
          const result = await runJson<{ notify: { status: string; reason: string } }>(args, options);
          expect(result.code).toBe(0);
          expect(result.stderr).toBe("");
          expect(result.json.notify).toEqual({ status: "failed", reason: expect.stringMatching(reason) });
          expectNoToken(result);
        } else {
          const result = await runMoltbot(args, options);
          expect(result.code).toBe(0);
          expect(result.stdout).toBe(`Approved telegram sender ${SENDER} (code ${code}).\n`);
          const line =
            /^notify: failed \((.+)\)\. Tell the sender: "Moltbot access approved\. Send a message to start chatting\."\n$/.exec(
              result.stderr,
            );
          expect(line, result.stderr).not.toBeNull();
          expect(line![1]).toMatch(reason);
          expectNoToken(result);
        }
        expect(Date.now() - started).toBeLessThan(8_000);
        expectApproved(stateDir);
      }
    },
  );

  it("an unsupported channel: `unsupported` with the reason, the approval done, exit 0", async () => {
    const { stateDir, code } = await pending(config, "whatsapp", "+15550009999");
    const result = await runJson<{ notify: { status: string; reason: string } }>(
      ["pairing", "approve", "whatsapp", code, "--notify"],
      { stateDir, env: env() },
    );
    expect(result.code).toBe(0);
    expect(result.json.notify).toEqual({
      status: "unsupported",
      reason: expect.stringMatching(/^the gateway never notifies on WhatsApp/),
    });
    expectApproved(stateDir, "whatsapp", "+15550009999");
  });

  it("without --notify nothing is sent and the config is not even read", async () => {
    const api = await fakeTelegram(TELEGRAM_TOKEN);
    open.push(api);
    const { stateDir, configPath, code } = await pending("{ this is not JSON5");
    fs.chmodSync(configPath, 0o666);
    const result = await runJson(["pairing", "approve", "telegram", code], {
      stateDir,
      env: env({ MOLTBOT_TELEGRAM_API_URL: api.url }),
    });
    expect(result.code).toBe(0);
    expect(result.json).toEqual({ channel: "telegram", account: "default", code, id: SENDER, message: APPROVED });
    expect(api.requests).toHaveLength(0);
  });

  it("imessage: a sender id a shell would run reaches the fake imsg as data; nothing runs", async () => {
    const log = path.join(tempDir(), "imsg.log");
    const binDir = fakeImsg(log);
    const cwd = tempDir();
    const hostile = "$(touch pwned)";
    const { stateDir, code } = await pending("{}", "imessage", hostile);
    const result = await runJson<{ notify: unknown }>(["pairing", "approve", "imessage", code, "--notify"], {
      stateDir,
      cwd,
      env: env({ PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ""}` }),
    });
    expect(result.code).toBe(0);
    expect(result.json.notify).toEqual({ status: "sent" });
    const entries = readLog(log);
    expect(entries[0]!.argv).toEqual(["rpc"]);
    expect((JSON.parse(entries.find((entry) => entry.stdin)!.stdin!) as { params: { to: string } }).params.to).toBe(
      hostile,
    );
    expect(fs.readdirSync(cwd)).toEqual([]);
    expectApproved(stateDir, "imessage", hostile);
  });

  it("the library bundle notifies on its own: a copy of dist/index.js with no node_modules parses the JSON5 config", async () => {
    const api = await fakeTelegram(TELEGRAM_TOKEN);
    open.push(api);
    const { stateDir } = stateWithConfig(`// JSON5\n{ channels: { telegram: { botToken: '${TELEGRAM_TOKEN}', }, }, }`);
    const alone = tempDir();
    fs.copyFileSync(path.join(ROOT, "dist", "index.js"), path.join(alone, "index.mjs"));
    const script = `import { createStoreContext, notifyApprovedSender } from "./index.mjs";
const ctx = createStoreContext({ stateDir: ${JSON.stringify(stateDir)}, env: { MOLTBOT_TELEGRAM_API_URL: ${JSON.stringify(api.url)} } });
console.log(JSON.stringify(await notifyApprovedSender(ctx, { channel: "telegram", senderId: "42" })));`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: alone,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const result = await collectOutput(child);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({ status: "sent" });
    expect(api.requests.map((request) => request.body)).toEqual([{ chat_id: "42", text: APPROVED }]);
  });
});
