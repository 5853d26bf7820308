import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, ROOT, cliEnv, collectOutput, listTree, runJson, runMoltbot, tempDir, tempStateDir } from "../helpers.js";

/*
 * --state-dir as a user meets it: an empty value (an unset shell variable) never falls back to the
 * real store; a directory that cannot hold a store ends in time; every command the CLI suggests,
 * in a hint or in an error, names the same state directory, quoted so that running it works.
 */

/** A HOME with a real-looking ~/.clawdbot and a $MOLTBOT_STATE_DIR with data: what a fallback would touch. */
function realStores(): { home: string; envDir: string; env: NodeJS.ProcessEnv } {
  const home = tempDir();
  const envDir = path.join(tempDir(), "env-state");
  for (const dir of [path.join(home, ".clawdbot"), envDir]) {
    fs.mkdirSync(path.join(dir, "credentials"), { recursive: true, mode: 0o700 });
    const at = new Date().toISOString();
    fs.writeFileSync(
      path.join(dir, "credentials", "telegram-pairing.json"),
      `${JSON.stringify({ version: 1, requests: [{ id: "1", code: "ABCD2345", createdAt: at, lastSeenAt: at }] })}\n`,
    );
  }
  return { home, envDir, env: { HOME: home, MOLTBOT_STATE_DIR: envDir } };
}

describe("an empty --state-dir", () => {
  it.each([
    ["--state-dir ''", ["--state-dir", ""]],
    ["--state-dir '   '", ["--state-dir", "   "]],
    ["--state-dir=''", ["--state-dir="]],
    ["--state-dir with a tab", ["--state-dir", "\t"]],
  ])("%s is a usage error (exit 2, one line), never $MOLTBOT_STATE_DIR or ~/.clawdbot", async (_name, option) => {
    const { home, envDir, env } = realStores();
    const before = [listTree(home), listTree(envDir)];
    for (const args of [
      ["pairing", "list"],
      ["pairing", "approve", "telegram", "ABCD2345"],
      ["pairing", "request", "telegram", "42"],
      ["devices", "list"],
      ["doctor", "--fix"],
    ]) {
      const human = await runMoltbot([...option, ...args], { stateDir: envDir, env });
      expect(human.code, args.join(" ")).toBe(2);
      expect(human.stdout).toBe("");
      expect(human.stderr).toBe(
        "moltbot: --state-dir is empty. Give the state directory (e.g. --state-dir ~/.clawdbot), or leave the option out to use $MOLTBOT_STATE_DIR or ~/.clawdbot.\n",
      );
      const json = await runJson<{ error: { code: string } }>([...option, ...args], { stateDir: envDir, env });
      expect(json.code).toBe(2);
      expect(json.json.error.code).toBe("USAGE");
    }
    expect([listTree(home), listTree(envDir)]).toEqual(before);
  });
});

describe("a state dir that cannot hold a store", () => {
  // Node's recursive mkdir loops forever on ENOENT from a parent that exists, which /proc/self gives;
  // the store creates the directories below the state dir one level at a time, so it fails at once.
  it("--state-dir /proc/self: a write ends within the lock timeout with exit 3", async () => {
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, "--state-dir", "/proc/self", "pairing", "request", "telegram", "1"], {
      env: cliEnv(tempStateDir(), { MOLTBOT_LOCK_TIMEOUT_MS: "500" }),
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 4_000,
      killSignal: "SIGKILL",
    });
    const result = await collectOutput(child);
    expect(result.signal).toBeNull();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^moltbot: [^\n]*\/proc\/self[^\n]*\n$/);
  });

  it("--state-dir /proc/self: reading finds an empty store", async () => {
    const result = await runMoltbot(["--state-dir", "/proc/self", "pairing", "list", "--json"], {
      stateDir: tempStateDir(),
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ channels: [] });
  });

  it("a store message is printed as one line, whatever the path holds", async () => {
    const stateDir = path.join(tempDir(), "two\nlines");
    fs.mkdirSync(path.join(stateDir, "credentials"), { recursive: true });
    fs.writeFileSync(path.join(stateDir, "credentials", "telegram-pairing.json"), "garbage");
    const result = await runMoltbot(["pairing", "list", "telegram"], { stateDir });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^moltbot: [^\n]*two\\nlines[^\n]*\n$/);
  });
});

describe("suggested commands keep --state-dir", () => {
  // A directory name a shell would split, expand or choke on.
  const awkward = () => path.join(tempDir(), "it's my $HOME dir");
  const quoted = (dir: string) => `'${dir.replace(/'/g, `'\\''`)}'`;

  it("every hint and error names the state dir given, quoted for the shell", async () => {
    const stateDir = awkward();
    const sd = ["--state-dir", stateDir];
    const prefix = `moltbot --state-dir ${quoted(stateDir)}`;
    const created = await runMoltbot([...sd, "pairing", "request", "telegram", "123"], { stateDir });
    const code = /Pairing code: ([A-Z2-9]{8})/.exec(created.stdout)![1]!;
    // The reply goes to a stranger: it never names the operator's directory.
    expect(created.stdout).toContain(`moltbot pairing approve telegram ${code}\n`);
    expect(created.stderr).toContain(`approve with: ${prefix} pairing approve telegram ${code}\n`);
    const listed = await runMoltbot([...sd, "pairing", "list"], { stateDir });
    expect(listed.stderr).toBe(`Approve it with: ${prefix} pairing approve telegram ${code}\n`);
    const missing = await runMoltbot([...sd, "pairing", "approve", "telegram", "ZZZZ2345"], { stateDir });
    expect(missing.stderr).toContain(`Run "${prefix} pairing list telegram" to see pending codes.`);
    const approved = await runMoltbot([...sd, "pairing", "approve", "telegram", code], { stateDir });
    expect(approved.stderr).toContain(`Check with: ${prefix} pairing allowlist telegram\n`);
    const empty = await runMoltbot([...sd, "pairing", "allowlist", "slack"], { stateDir });
    expect(empty.stderr).toContain(`Approve one with: ${prefix} pairing approve slack <CODE>\n`);
    const device = await runMoltbot([...sd, "devices", "request", "--device", "d1", "--public-key", "k"], { stateDir });
    expect(device.stderr).toMatch(
      new RegExp(`^Approve with: ${escapeRegExp(prefix)} devices approve [0-9a-f-]{36}\\n$`),
    );
    fs.writeFileSync(path.join(stateDir, "credentials", "slack-pairing.json"), "garbage");
    const broken = await runMoltbot([...sd, "pairing", "list", "slack"], { stateDir });
    expect(broken.stderr).toContain(`Run "${prefix} doctor" to diagnose it`);
    // Pointers to help are the same in every state directory: left as they are.
    const usage = await runMoltbot([...sd, "pairing", "list", "--bogus"], { stateDir });
    expect(usage.stderr).toContain('Run "moltbot pairing list --help" for usage.');
  });

  it("the printed command, pasted into a shell, acts on the same store", async () => {
    const stateDir = awkward();
    const created = await runJson<{ code: string }>(["--state-dir", stateDir, "pairing", "request", "telegram", "7"], {
      stateDir: tempStateDir(),
    });
    const listed = await runMoltbot(["--state-dir", stateDir, "pairing", "list"], { stateDir: tempStateDir() });
    const hint = /^Approve it with: (moltbot .*)\n$/.exec(listed.stderr)![1]!;
    // `moltbot` in the pasted line is this build; MOLTBOT_STATE_DIR points elsewhere, so only the hint's --state-dir can work.
    const child = spawn("sh", ["-c", `moltbot() { "$NODE" "$MOLTBOT_BIN" "$@"; }; ${hint}`], {
      env: { ...cliEnv(tempStateDir()), NODE: process.execPath, MOLTBOT_BIN: BIN },
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const result = await collectOutput(child);
    expect(result.stderr).toContain("Check with:");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`Approved telegram sender 7 (code ${created.json.code}).\n`);
  });
});

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
