import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { locateGatewayConfig, readGatewayConfig, readSecretFile } from "../../src/notify/config-file.js";
import { tempDir } from "../helpers.js";
import { TELEGRAM_TOKEN, stateWithConfig } from "./helpers.js";

const isRoot = process.getuid?.() === 0;

describe("which gateway config is read", () => {
  it("openclaw.json before clawdbot.json in the state dir; clawdbot.json when neither exists", () => {
    const { stateDir } = stateWithConfig("{}", "clawdbot.json");
    expect(locateGatewayConfig(stateDir, {}).path).toBe(path.join(stateDir, "clawdbot.json"));
    fs.writeFileSync(path.join(stateDir, "openclaw.json"), "{}", { mode: 0o600 });
    expect(locateGatewayConfig(stateDir, {}).path).toBe(path.join(stateDir, "openclaw.json"));
    const empty = tempDir();
    expect(locateGatewayConfig(empty, {})).toEqual({ path: path.join(empty, "clawdbot.json"), explicit: false });
  });

  it("MOLTBOT_CONFIG_PATH, then CLAWDBOT_CONFIG_PATH, then OPENCLAW_CONFIG_PATH name the file (~ expanded)", () => {
    const env = { MOLTBOT_CONFIG_PATH: "/a.json", CLAWDBOT_CONFIG_PATH: "/b.json", OPENCLAW_CONFIG_PATH: "/c.json" };
    expect(locateGatewayConfig("/s", env).path).toBe("/a.json");
    expect(locateGatewayConfig("/s", { ...env, MOLTBOT_CONFIG_PATH: " " }).path).toBe("/b.json");
    expect(locateGatewayConfig("/s", { OPENCLAW_CONFIG_PATH: "/c.json" }).path).toBe("/c.json");
    expect(locateGatewayConfig("/s", { CLAWDBOT_CONFIG_PATH: "~/x.json" }).path).toMatch(/^\/.+\/x\.json$/);
  });
});

describe("reading the gateway config", () => {
  it("JSON5 with comments, trailing commas, unquoted keys and a BOM", async () => {
    const { stateDir } = stateWithConfig(
      `\uFEFF// comment\n{ channels: { telegram: { botToken: '${TELEGRAM_TOKEN}', }, }, }\n`,
    );
    expect(await readGatewayConfig(stateDir, {})).toMatchObject({
      ok: true,
      exists: true,
      config: { channels: { telegram: { botToken: TELEGRAM_TOKEN } } },
    });
  });

  it("no config file is not an error: the environment still applies", async () => {
    const stateDir = tempDir();
    expect(await readGatewayConfig(stateDir, {})).toEqual({
      ok: true,
      exists: false,
      path: path.join(stateDir, "clawdbot.json"),
      config: {},
    });
  });

  it("invalid JSON5 names the position, never the text (which may hold a token)", async () => {
    const { stateDir, configPath } = stateWithConfig(`{ channels: { telegram: { botToken: ${TELEGRAM_TOKEN} } } }`);
    const read = await readGatewayConfig(stateDir, {});
    expect(read).toEqual({
      ok: false,
      reason: expect.stringMatching(/^.+ is not valid JSON5 \(line 1, column \d+\)$/),
    });
    expect(JSON.stringify(read)).toContain(configPath);
    expect(JSON.stringify(read)).not.toMatch(/AAtest|123456789/);
  });

  it("a config other users can change is refused, with the command that fixes it", async () => {
    const { stateDir, configPath } = stateWithConfig("{}");
    fs.chmodSync(configPath, 0o666);
    expect(await readGatewayConfig(stateDir, {})).toEqual({
      ok: false,
      reason: `${configPath} can be changed by other users (mode 0666); run: chmod 600 ${configPath}`,
    });
    fs.chmodSync(configPath, 0o644); // readable by others is a doctor finding, not a reason to refuse
    expect(await readGatewayConfig(stateDir, {})).toMatchObject({ ok: true });
  });

  it.runIf(isRoot)(
    "a config that belongs to another user is refused (it names the program imessage runs)",
    async () => {
      const { stateDir, configPath } = stateWithConfig("{}");
      fs.chownSync(configPath, 65534, 65534);
      expect(await readGatewayConfig(stateDir, {})).toEqual({
        ok: false,
        reason: `${configPath} belongs to uid 65534, not to you (uid 0); run moltbot as the gateway's user`,
      });
    },
  );

  it.runIf(isRoot)("another user who cannot read the config gets a clear reason", () => {
    const { stateDir, configPath } = stateWithConfig("{}");
    fs.chmodSync(path.dirname(stateDir), 0o755);
    fs.chmodSync(stateDir, 0o755);
    const script = `import(${JSON.stringify(path.resolve("dist/index.js"))}).then(async (m) => {
      const ctx = m.createStoreContext({ stateDir: ${JSON.stringify(stateDir)}, env: {} });
      console.log(JSON.stringify(await m.notifyApprovedSender(ctx, { channel: "telegram", senderId: "1" })));
    })`;
    const run = spawnSync(
      "setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", script],
      {
        encoding: "utf8",
      },
    );
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({
      status: "failed",
      reason: `the gateway config ${configPath} cannot be read (permission denied)`,
    });
  });

  it("a directory or a FIFO in the config's place is refused without hanging", async () => {
    const { stateDir, configPath } = stateWithConfig("{}");
    fs.rmSync(configPath);
    fs.mkdirSync(configPath);
    expect(await readGatewayConfig(stateDir, {})).toEqual({ ok: false, reason: `${configPath} is not a regular file` });
    fs.rmdirSync(configPath);
    expect(spawnSync("mkfifo", ["-m", "600", configPath]).status).toBe(0);
    expect(await readGatewayConfig(stateDir, {})).toEqual({ ok: false, reason: `${configPath} is not a regular file` });
  });

  it("$include inside the config's directory is followed; outside it is refused", async () => {
    const { stateDir, configPath } = stateWithConfig(`{ $include: "./channels.json5", gateway: { port: 1 } }`);
    fs.writeFileSync(path.join(stateDir, "channels.json5"), `{ channels: { slack: { botToken: "xoxb-x" } } }`, {
      mode: 0o600,
    });
    expect(await readGatewayConfig(stateDir, {})).toMatchObject({
      ok: true,
      config: { channels: { slack: { botToken: "xoxb-x" } }, gateway: { port: 1 } },
    });
    const outside = path.join(tempDir(), "x.json5");
    fs.writeFileSync(outside, "{}", { mode: 0o600 });
    fs.writeFileSync(configPath, `{ $include: ${JSON.stringify(outside)} }`);
    expect(await readGatewayConfig(stateDir, {})).toEqual({
      ok: false,
      reason: `${outside} (included from ${configPath}) lies outside ${fs.realpathSync(stateDir)}`,
    });
  });
});

describe("token files", () => {
  it("reads a regular file; refuses a symlink (it could make any file's bytes a 'token')", () => {
    const dir = tempDir();
    const file = path.join(dir, "token");
    fs.writeFileSync(file, `${TELEGRAM_TOKEN}\n`, { mode: 0o600 });
    expect(readSecretFile(file)).toEqual({ ok: true, value: `${TELEGRAM_TOKEN}\n` });
    fs.symlinkSync(file, path.join(dir, "link"));
    expect(readSecretFile(path.join(dir, "link"))).toEqual({
      ok: false,
      missing: false,
      reason: "is a symlink (refused)",
    });
    expect(readSecretFile(path.join(dir, "none"))).toEqual({ ok: false, missing: true, reason: "does not exist" });
    fs.writeFileSync(path.join(dir, "big"), "x".repeat(20_000));
    expect(readSecretFile(path.join(dir, "big"))).toMatchObject({ ok: false, reason: "is larger than 16 KiB" });
  });
});
