import path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveChannel } from "../../src/core/channels.js";
import { DM_ALLOW, DM_PENDING } from "../../src/store/catalogue.js";
import { locate } from "../../src/store/json/backend.js";
import { fileInside, resolveStatePaths } from "../../src/store/paths.js";

const HOME = "/home/op";
const CWD = "/srv/work";
const none = () => false;

function resolve(options: { stateDir?: string; env?: NodeJS.ProcessEnv; existing?: string[] } = {}) {
  const existing = new Set(options.existing ?? []);
  return resolveStatePaths({
    ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
    env: options.env ?? {},
    home: HOME,
    cwd: CWD,
    exists: existing.size > 0 ? (dir) => existing.has(dir) : none,
  });
}

describe("state directory precedence", () => {
  const all = { MOLTBOT_STATE_DIR: "/m", CLAWDBOT_STATE_DIR: "/c", OPENCLAW_STATE_DIR: "/o" };

  it("--state-dir beats every environment variable", () => {
    expect(resolve({ stateDir: "/flag", env: all })).toMatchObject({ stateDir: "/flag", source: "--state-dir" });
  });

  it("MOLTBOT_STATE_DIR beats CLAWDBOT_STATE_DIR beats OPENCLAW_STATE_DIR", () => {
    expect(resolve({ env: all })).toMatchObject({ stateDir: "/m", source: "$MOLTBOT_STATE_DIR" });
    expect(resolve({ env: { ...all, MOLTBOT_STATE_DIR: "" } })).toMatchObject({ stateDir: "/c" });
    expect(resolve({ env: { OPENCLAW_STATE_DIR: "~/oc" } })).toMatchObject({
      stateDir: "/home/op/oc",
      source: "$OPENCLAW_STATE_DIR",
    });
  });

  it("CLAWDBOT_STATE_DIR beats the home default", () => {
    expect(resolve({ env: { CLAWDBOT_STATE_DIR: "/c" }, existing: ["/home/op/.moltbot"] }).stateDir).toBe("/c");
  });

  it("empty or blank variables count as unset", () => {
    expect(resolve({ env: { MOLTBOT_STATE_DIR: " ", CLAWDBOT_STATE_DIR: "/c" } }).stateDir).toBe("/c");
    expect(resolve({ env: { MOLTBOT_STATE_DIR: "", CLAWDBOT_STATE_DIR: "" } }).stateDir).toBe("/home/op/.clawdbot");
  });

  it("an empty or blank --state-dir is a usage error, never a fall back to the real store", () => {
    for (const stateDir of ["", "  "]) {
      expect(() => resolve({ stateDir, env: all })).toThrowError(expect.objectContaining({ code: "USAGE" }));
    }
  });

  it("~/.openclaw (the newest gateway's home) comes before ~/.clawdbot and ~/.moltbot", () => {
    expect(resolve({ existing: ["/home/op/.openclaw", "/home/op/.clawdbot"] })).toMatchObject({
      stateDir: "/home/op/.openclaw",
      source: "~/.openclaw",
    });
  });

  it("defaults to ~/.clawdbot when neither home directory exists", () => {
    const paths = resolve();
    expect(paths.stateDir).toBe("/home/op/.clawdbot");
    expect(paths.warning).toBeUndefined();
  });

  it("falls back to ~/.moltbot only when ~/.clawdbot does not exist", () => {
    expect(resolve({ existing: ["/home/op/.moltbot"] }).stateDir).toBe("/home/op/.moltbot");
    expect(resolve({ existing: ["/home/op/.clawdbot"] }).stateDir).toBe("/home/op/.clawdbot");
  });

  it("uses ~/.clawdbot and warns when both exist", () => {
    const paths = resolve({ existing: ["/home/op/.clawdbot", "/home/op/.moltbot"] });
    expect(paths.stateDir).toBe("/home/op/.clawdbot");
    expect(paths.warning).toContain("/home/op/.clawdbot");
    expect(paths.warning).toContain("/home/op/.moltbot");
  });

  it("does not warn about the home directories when the state dir is explicit", () => {
    const paths = resolve({ env: { MOLTBOT_STATE_DIR: "/m" }, existing: ["/home/op/.clawdbot", "/home/op/.moltbot"] });
    expect(paths.warning).toBeUndefined();
  });

  it("expands a leading ~ in the flag and in both variables", () => {
    expect(resolve({ stateDir: "~" }).stateDir).toBe(HOME);
    expect(resolve({ stateDir: "~/bot" }).stateDir).toBe("/home/op/bot");
    expect(resolve({ env: { MOLTBOT_STATE_DIR: "~/m" } }).stateDir).toBe("/home/op/m");
    expect(resolve({ env: { CLAWDBOT_STATE_DIR: "~/c/" } }).stateDir).toBe("/home/op/c");
    // Only a leading ~ is the home directory.
    expect(resolve({ stateDir: "a/~/b" }).stateDir).toBe("/srv/work/a/~/b");
  });

  it("resolves relative paths against the working directory", () => {
    expect(resolve({ stateDir: "state" }).stateDir).toBe("/srv/work/state");
    expect(resolve({ env: { MOLTBOT_STATE_DIR: "../s" } }).stateDir).toBe("/srv/s");
    expect(resolve({ env: { CLAWDBOT_STATE_DIR: "./c" } }).stateDir).toBe("/srv/work/c");
  });
});

describe("derived directories", () => {
  it("credentials, devices, nodes and moltbot's own records live under the state dir by default", () => {
    expect(resolve({ stateDir: "/s" })).toEqual({
      stateDir: "/s",
      credentialsDir: "/s/credentials",
      devicesDir: "/s/devices",
      nodesDir: "/s/nodes",
      moltbotDir: "/s/moltbot",
      source: "--state-dir",
    });
  });

  it("MOLTBOT_OAUTH_DIR beats CLAWDBOT_OAUTH_DIR beats <state>/credentials, with ~ and relative paths", () => {
    expect(
      resolve({ stateDir: "/s", env: { MOLTBOT_OAUTH_DIR: "/o1", CLAWDBOT_OAUTH_DIR: "/o2" } }).credentialsDir,
    ).toBe("/o1");
    expect(resolve({ stateDir: "/s", env: { CLAWDBOT_OAUTH_DIR: "/o2" } }).credentialsDir).toBe("/o2");
    expect(resolve({ stateDir: "/s", env: { MOLTBOT_OAUTH_DIR: "~/oauth" } }).credentialsDir).toBe("/home/op/oauth");
    expect(resolve({ stateDir: "/s", env: { CLAWDBOT_OAUTH_DIR: "creds" } }).credentialsDir).toBe("/srv/work/creds");
    expect(resolve({ stateDir: "/s", env: { MOLTBOT_OAUTH_DIR: "" } }).credentialsDir).toBe("/s/credentials");
  });

  it("names the DM files <channel>-pairing.json and <channel>[-<account>]-allowFrom.json in the credentials dir", () => {
    const paths = resolve({ stateDir: "/s" });
    const file = (record: typeof DM_ALLOW | typeof DM_PENDING, channel: string, account?: string) =>
      locate(paths, record, { channel: resolveChannel(channel), ...(account !== undefined ? { account } : {}) }).file;
    expect(file(DM_PENDING, "Telegram")).toBe("/s/credentials/telegram-pairing.json");
    expect(file(DM_ALLOW, "imsg")).toBe("/s/credentials/imessage-allowFrom.json");
    expect(file(DM_ALLOW, "nextcloud-talk")).toBe("/s/credentials/nextcloud-talk-allowFrom.json");
    expect(file(DM_ALLOW, "telegram", "default")).toBe("/s/credentials/telegram-default-allowFrom.json");
    expect(file(DM_ALLOW, "telegram", "Work")).toBe("/s/credentials/telegram-work-allowFrom.json");
  });
});

describe("fileInside", () => {
  it("joins a plain file name", () => {
    expect(fileInside("/s/credentials", "x.json")).toBe(path.join("/s/credentials", "x.json"));
  });

  it("refuses any name that would leave the directory or name a subpath", () => {
    for (const bad of ["../x.json", "..", "", ".", "a/b.json", "/etc/passwd", "a/../../x"]) {
      expect(() => fileInside("/s/credentials", bad), bad).toThrowError(expect.objectContaining({ code: "USAGE" }));
    }
  });
});
