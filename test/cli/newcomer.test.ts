import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CHANNEL_NAMES } from "../../src/core/channels.js";
import { readJsonFile, runJson, runMoltbot, tempStateDir } from "../helpers.js";

/* What a newcomer trips over first: names that differ for the same thing, help that hides what is required or valid. */

describe("one option name for a device id: --device", () => {
  it("devices request takes --device; --device-id still works but is not in help", async () => {
    const stateDir = tempStateDir();
    const byDevice = await runJson<{ request: { deviceId: string } }>(
      ["devices", "request", "--device", "phone", "--public-key", "k"],
      { stateDir },
    );
    expect(byDevice.code).toBe(0);
    expect(byDevice.json.request.deviceId).toBe("phone");
    const byOldName = await runJson<{ request: { deviceId: string } }>(
      ["devices", "request", "--device-id", "mac", "--public-key", "k"],
      { stateDir },
    );
    expect(byOldName.code).toBe(0);
    expect(byOldName.json.request.deviceId).toBe("mac");
    const help = await runMoltbot(["devices", "request", "--help"], { stateDir });
    expect(help.stdout).toContain("--device <id>");
    expect(help.stdout).not.toContain("--device-id");
    const missing = await runMoltbot(["devices", "request", "--public-key", "k"], { stateDir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      `moltbot: Required option '--device <id>' not specified. Run "moltbot devices request --help" for usage.\n`,
    );
  });

  it("devices remove takes --device (and still the id as an argument); both at once is a usage error", async () => {
    const stateDir = tempStateDir();
    for (const id of ["a", "b"]) {
      await runMoltbot(["devices", "request", "--device", id, "--public-key", "k"], { stateDir });
      await runMoltbot(["devices", "approve", id], { stateDir });
    }
    expect((await runJson(["devices", "remove", "--device", "a"], { stateDir })).json).toEqual({ deviceId: "a" });
    expect((await runJson(["devices", "remove", "b"], { stateDir })).json).toEqual({ deviceId: "b" });
    const paired = readJsonFile<object>(path.join(stateDir, "devices", "paired.json"));
    expect(paired).toEqual({});
    for (const args of [
      ["devices", "remove"],
      ["devices", "remove", "x", "--device", "y"],
    ]) {
      const result = await runMoltbot(args, { stateDir });
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(
        /^moltbot: Give the device once: "moltbot devices remove --device <id>"\.[^\n]*\n$/,
      );
    }
  });

  it.each([
    ["request", ["--device <id>", "--public-key <key>"]],
    ["rotate", ["--device <id>", "--role <role>"]],
    ["revoke", ["--device <id>", "--role <role>"]],
    ["verify", ["--device <id>", "--role <role>"]],
  ])("devices %s --help marks %j as (required), and nothing else", async (verb, required) => {
    const help = await runMoltbot(["devices", verb, "--help"], { stateDir: tempStateDir() });
    const marked = help.stdout
      .split("\n")
      .filter((line) => line.includes("(required)"))
      .map((line) => line.trim().split(/\s{2,}/)[0]);
    expect(marked).toEqual(required);
  });
});

describe("help lists the channels", () => {
  it.each([[["--help"]], [["pairing", "--help"]], [["help", "pairing"]]])("%j", async (args) => {
    const help = await runMoltbot(args, { stateDir: tempStateDir(), env: { COLUMNS: "200" } });
    expect(help.code).toBe(0);
    const channels = /Channels: ([^\n]*(?:\n[^\n]+)*)/.exec(help.stdout)![1]!.replace(/\n/g, " ");
    for (const name of CHANNEL_NAMES) expect(channels, name).toContain(name);
    expect(channels).toContain("imessage (or imsg)");
  });
});

describe("pairing list --channel", () => {
  it("is accepted like approve --channel, and is the same as the positional channel", async () => {
    const stateDir = tempStateDir();
    await runMoltbot(["pairing", "request", "discord", "42"], { stateDir });
    const byOption = await runJson(["pairing", "list", "--channel", "DISCORD"], { stateDir });
    const byArgument = await runJson(["pairing", "list", "discord"], { stateDir });
    expect(byOption.code).toBe(0);
    expect(byOption.json).toEqual(byArgument.json);
    const human = await runMoltbot(["pairing", "list", "--channel", "discord"], { stateDir });
    expect(human.stdout).toMatch(/^CODE +discordUserId/);
    const both = await runMoltbot(["pairing", "list", "discord", "--channel", "slack"], { stateDir });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^moltbot: Give the channel once[^\n]*\n$/);
    const unknown = await runJson<{ error: { code: string } }>(["pairing", "list", "--channel", "telegarm"], {
      stateDir,
    });
    expect(unknown.code).toBe(2);
    expect(unknown.json.error.code).toBe("UNKNOWN_CHANNEL");
  });
});

describe("pairing list across channels with a broken channel file", () => {
  function seed(stateDir: string): { slack: string; nostr: string } {
    const dir = path.join(stateDir, "credentials");
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const at = new Date().toISOString();
    const ok = (id: string, code: string) =>
      `${JSON.stringify({ version: 1, requests: [{ id, code, createdAt: at, lastSeenAt: at }] })}\n`;
    fs.writeFileSync(path.join(dir, "telegram-pairing.json"), ok("111", "ABCD2345"));
    fs.writeFileSync(path.join(dir, "discord-pairing.json"), ok("222", "WXYZ6789"));
    const slack = path.join(dir, "slack-pairing.json");
    fs.writeFileSync(slack, "{ half a file");
    const nostr = path.join(dir, "nostr-pairing.json");
    fs.writeFileSync(nostr, `${JSON.stringify({ version: 1, requests: "nope" })}\n`);
    return { slack, nostr };
  }

  it("lists the good channels, gives each broken one an error line on stderr, and exits 3", async () => {
    const stateDir = tempStateDir();
    const { slack, nostr } = seed(stateDir);
    const human = await runMoltbot(["pairing", "list"], { stateDir });
    expect(human.code).toBe(3);
    expect(human.stdout).toMatch(
      /^telegram \(1 pending\)\nCODE[^\n]*\nABCD2345 [^\n]*\n\ndiscord \(1 pending\)\nCODE[^\n]*\nWXYZ6789 /,
    );
    const lines = human.stderr.split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(new RegExp(`^moltbot: ${slack}[^\\n]* is not valid JSON.*moltbot doctor`));
    expect(lines[1]).toMatch(new RegExp(`^moltbot: ${nostr} does not have the shape`));
    expect(lines[2]).toBe("Approve one with: moltbot pairing approve <channel> <CODE>");
    expect(lines[3]).toBe("");
  });

  it("with --json: one document {channels, errors}, exit 3; without a broken file no errors key", async () => {
    const stateDir = tempStateDir();
    const { slack, nostr } = seed(stateDir);
    const json = await runJson<{ channels: { channel: string }[]; errors: unknown[] }>(["pairing", "list"], {
      stateDir,
    });
    expect(json.code).toBe(3);
    expect(json.stderr).toBe("");
    expect(Object.keys(json.json)).toEqual(["channels", "errors"]);
    expect(json.json.channels.map((listed) => listed.channel)).toEqual(["telegram", "discord"]);
    expect(json.json.errors).toEqual([
      { channel: "slack", code: "STORE_CORRUPT", message: expect.stringContaining(slack) },
      {
        channel: "nostr",
        code: "STORE_CORRUPT",
        message: expect.stringContaining("does not have the shape"),
      },
    ]);
    fs.rmSync(slack);
    fs.rmSync(nostr);
    const healthy = await runJson(["pairing", "list"], { stateDir });
    expect(healthy.code).toBe(0);
    expect(Object.keys(healthy.json as object)).toEqual(["channels"]);
  });

  it("only broken channels: the error lines, nothing on stdout, exit 3", async () => {
    const stateDir = tempStateDir();
    seed(stateDir);
    fs.rmSync(path.join(stateDir, "credentials", "telegram-pairing.json"));
    fs.rmSync(path.join(stateDir, "credentials", "discord-pairing.json"));
    const human = await runMoltbot(["pairing", "list"], { stateDir });
    expect(human.code).toBe(3);
    expect(human.stdout).toBe("");
    expect(human.stderr.split("\n").filter((line) => line.startsWith("moltbot: "))).toHaveLength(2);
    expect(human.stderr).not.toContain("nobody is waiting");
  });
});
