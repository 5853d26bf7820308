import { describe, expect, it } from "vitest";
import { normalizeAccountId } from "../../src/notify/gateway-config.js";
import { planNotice, type ChannelPlan, type SecretRead } from "../../src/notify/plan.js";

const TG = "111:aaa";
const TG2 = "222:bbb";

interface Case {
  channel?: string;
  sender?: string;
  account?: string;
  config: unknown;
  env?: NodeJS.ProcessEnv;
  files?: Record<string, string>;
}

function plan({ channel = "telegram", sender = "42", account, config, env = {}, files = {} }: Case): ChannelPlan {
  const readSecretFile = (file: string): SecretRead =>
    file in files ? { ok: true, value: files[file]! } : { ok: false, missing: true, reason: "does not exist" };
  return planNotice({
    channel,
    senderId: sender,
    accountId: normalizeAccountId(account),
    text: "hi",
    config,
    configLabel: "/s/clawdbot.json",
    env,
    moltbotEnv: env,
    readSecretFile,
  });
}

const tokenOf = (result: ChannelPlan) => ("token" in result ? result.token : result);

describe("telegram token resolution follows the January gateway (telegram/token.ts)", () => {
  const telegram = (section: unknown) => ({ channels: { telegram: section } });
  it.each<[string, Case, string]>([
    ["the channel's botToken", { config: telegram({ botToken: TG }) }, TG],
    ["TELEGRAM_BOT_TOKEN when the config has none", { config: {}, env: { TELEGRAM_BOT_TOKEN: TG } }, TG],
    [
      "the config's botToken before the environment",
      { config: telegram({ botToken: TG }), env: { TELEGRAM_BOT_TOKEN: TG2 } },
      TG,
    ],
    [
      "accounts.default before the channel's own",
      { config: telegram({ botToken: TG2, accounts: { default: { botToken: TG } } }) },
      TG,
    ],
    [
      "an account's tokenFile before its botToken",
      { config: telegram({ accounts: { default: { tokenFile: "/t", botToken: TG2 } } }), files: { "/t": `${TG}\n` } },
      TG,
    ],
    [
      "the channel's tokenFile before its botToken",
      { config: telegram({ tokenFile: "/t", botToken: TG2 }), files: { "/t": TG } },
      TG,
    ],
    [
      "an empty channel tokenFile falls through to botToken",
      { config: telegram({ tokenFile: "/t", botToken: TG }), files: { "/t": " \n" } },
      TG,
    ],
    [
      "a named account's botToken",
      { account: "Work", config: telegram({ botToken: TG2, accounts: { work: { botToken: TG } } }) },
      TG,
    ],
    [
      "an account key written in capitals",
      { account: "work", config: telegram({ accounts: { Work: { botToken: TG } } }) },
      TG,
    ],
    ["the config's env section", { config: { env: { TELEGRAM_BOT_TOKEN: TG } } }, TG],
    ["the config's env.vars", { config: { env: { vars: { TELEGRAM_BOT_TOKEN: TG } } } }, TG],
    [
      "the process environment before the config's env section",
      { config: { env: { TELEGRAM_BOT_TOKEN: TG2 } }, env: { TELEGRAM_BOT_TOKEN: TG } },
      TG,
    ],
    ["${VAR} in the config", { config: telegram({ botToken: "${MY_TG}" }), env: { MY_TG: TG } }, TG],
  ])("uses %s", (_name, input, token) => {
    expect(tokenOf(plan(input))).toBe(token);
  });

  it.each<[string, Case, RegExp]>([
    [
      "no token anywhere",
      { config: {} },
      /^no Telegram bot token: set channels\.telegram\.botToken .* in \/s\/clawdbot\.json, or TELEGRAM_BOT_TOKEN$/,
    ],
    [
      "a named account never falls back to the channel's token or the environment",
      { account: "work", config: telegram({ botToken: TG }), env: { TELEGRAM_BOT_TOKEN: TG } },
      /^no Telegram bot token for account "work": set channels\.telegram\.accounts\.work\.botToken/,
    ],
    [
      "an account's missing tokenFile (no fallback to its botToken or the environment)",
      { config: telegram({ accounts: { default: { tokenFile: "/gone" } } }), env: { TELEGRAM_BOT_TOKEN: TG } },
      /^channels\.telegram\.accounts\.default\.tokenFile \(\/gone\) does not exist$/,
    ],
    [
      "a ${VAR} that is not set",
      { config: telegram({ botToken: "${MISSING_TG}" }) },
      /refers to \$\{MISSING_TG\} \(at channels\.telegram\.botToken\) is not set/,
    ],
    [
      "a token that could change the URL path",
      { config: telegram({ botToken: "1:a/../../x" }) },
      /not in the form <digits>:<letters>$/,
    ],
    [
      "a sender id that is not a number",
      { sender: "@alice", config: telegram({ botToken: TG }) },
      /not a numeric Telegram user id/,
    ],
  ])("fails on %s", (_name, input, reason) => {
    expect(plan(input)).toEqual({ kind: "skip", status: "failed", reason: expect.stringMatching(reason) });
  });

  it("a configured proxy is `unsupported` (moltbot would go direct), unless the API URL is pointed elsewhere", () => {
    const config = telegram({ botToken: TG, proxy: "http://proxy:3128" });
    expect(plan({ config })).toMatchObject({ kind: "skip", status: "unsupported" });
    expect(plan({ config, env: { MOLTBOT_TELEGRAM_API_URL: "https://tg.example" } })).toMatchObject({
      kind: "telegram",
      apiBase: "https://tg.example",
    });
  });

  it.each([
    ["https://tg.example/base/", "https://tg.example/base"],
    ["http://127.0.0.1:8081", "http://127.0.0.1:8081"],
    ["http://localhost:8081", "http://localhost:8081"],
    ["http://[::1]:8081", "http://[::1]:8081"],
  ])("MOLTBOT_TELEGRAM_API_URL=%s is used as %s", (url, base) => {
    expect(plan({ config: telegram({ botToken: TG }), env: { MOLTBOT_TELEGRAM_API_URL: url } })).toMatchObject({
      apiBase: base,
    });
  });

  it.each([
    ["http://tg.example", /must be an https:\/\/ URL/],
    ["https://user:pw@tg.example", /must not contain a user or password/],
    ["https://tg.example/?x=1", /must not have a query/],
    ["not a url", /is not a URL/],
  ])("MOLTBOT_TELEGRAM_API_URL=%s is refused (the token would leak)", (url, reason) => {
    expect(plan({ config: telegram({ botToken: TG }), env: { MOLTBOT_TELEGRAM_API_URL: url } })).toMatchObject({
      status: "failed",
      reason: expect.stringMatching(reason),
    });
  });
});

describe("discord, slack, signal and imessage settings follow the January gateway", () => {
  it.each<[string, Case, Partial<ChannelPlan>]>([
    [
      "discord: the channel token, its 'Bot ' prefix dropped",
      { channel: "discord", sender: "9", config: { channels: { discord: { token: "Bot abc" } } } },
      { token: "abc" },
    ],
    [
      "discord: DISCORD_BOT_TOKEN for the default account",
      { channel: "discord", sender: "9", config: {}, env: { DISCORD_BOT_TOKEN: "env" } },
      { token: "env" },
    ],
    [
      "discord: a named account's token",
      {
        channel: "discord",
        sender: "9",
        account: "b",
        config: { channels: { discord: { token: "top", accounts: { b: { token: "acc" } } } } },
      },
      { token: "acc", apiBase: "https://discord.com/api/v10" },
    ],
    [
      "slack: the bot token",
      { channel: "slack", sender: "U1", config: { channels: { slack: { botToken: "xoxb-1" } } } },
      { token: "xoxb-1", apiBase: "https://slack.com/api" },
    ],
    [
      "slack: a named account inherits the channel's botToken (Slack merges them)",
      {
        channel: "slack",
        sender: "U1",
        account: "b",
        config: { channels: { slack: { botToken: "xoxb-top", accounts: { b: {} } } } },
      },
      { token: "xoxb-top" },
    ],
    [
      "slack: SLACK_BOT_TOKEN for the default account",
      { channel: "slack", sender: "U1", config: {}, env: { SLACK_BOT_TOKEN: "xoxb-env" } },
      { token: "xoxb-env" },
    ],
    [
      "slack: the user token only when userTokenReadOnly is false",
      {
        channel: "slack",
        sender: "U1",
        config: { channels: { slack: { userToken: "xoxp-1", userTokenReadOnly: false } } },
      },
      { token: "xoxp-1" },
    ],
    [
      "signal: httpHost and httpPort defaults",
      { channel: "signal", sender: "+15551234567", config: { channels: { signal: {} } } },
      { baseUrl: "http://127.0.0.1:8080" },
    ],
    [
      "signal: httpUrl without a scheme gets http://, an account's number",
      {
        channel: "signal",
        sender: "uuid:0b5e7a8c-1111-4222-8333-944455556666",
        account: "b",
        config: { channels: { signal: { httpUrl: "host:9/", accounts: { b: { account: "+1555" } } } } },
      },
      { baseUrl: "http://host:9", account: "+1555", recipient: "0b5e7a8c-1111-4222-8333-944455556666" },
    ],
    [
      "imessage: imsg, service auto, region US",
      { channel: "imessage", sender: "a@b.c", config: {} },
      { cliPath: "imsg", service: "auto", region: "US", to: "a@b.c" },
    ],
    [
      "imessage: an account's cliPath and dbPath",
      {
        channel: "imessage",
        sender: "a@b.c",
        account: "mac2",
        config: {
          channels: { imessage: { service: "sms", accounts: { mac2: { cliPath: "/opt/imsg", dbPath: "/db" } } } },
        },
      },
      { cliPath: "/opt/imsg", dbPath: "/db", service: "sms" },
    ],
  ])("%s", (_name, input, expected) => {
    expect(plan(input)).toMatchObject(expected);
  });

  it.each<[string, Case, RegExp]>([
    [
      "slack: a user token that may not write",
      { channel: "slack", sender: "U1", config: { channels: { slack: { userToken: "xoxp-1" } } } },
      /^no Slack bot token/,
    ],
    [
      "slack: SLACK_BOT_TOKEN is not for named accounts",
      { channel: "slack", sender: "U1", account: "b", config: {}, env: { SLACK_BOT_TOKEN: "x" } },
      /account "b"/,
    ],
    [
      "discord: a token with a newline (header injection)",
      { channel: "discord", sender: "9", config: { channels: { discord: { token: "a\nX-Evil: 1" } } } },
      /spaces or control characters/,
    ],
    [
      "discord: a sender id that is not a snowflake",
      { channel: "discord", sender: "../x", config: { channels: { discord: { token: "t" } } } },
      /not a Discord user id/,
    ],
    [
      "signal: no channels.signal at all",
      { channel: "signal", sender: "+15551234567", config: {} },
      /Signal is not configured/,
    ],
    [
      "signal: a sender id naming a group",
      { channel: "signal", sender: "group:abc", config: { channels: { signal: {} } } },
      /not a Signal phone number/,
    ],
  ])("fails: %s", (_name, input, reason) => {
    expect(plan(input)).toMatchObject({ kind: "skip", status: "failed", reason: expect.stringMatching(reason) });
  });
});
