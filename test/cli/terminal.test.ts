import { publicKeyFingerprint } from "../../src/core/fingerprint.js";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, ROOT, cliEnv, collectOutput, readJsonFile, runMoltbot, tempStateDir } from "../helpers.js";
import { runInPty, screenText, type Step } from "./pty.js";

/*
 * The terminal edge, through a real pseudo-terminal (test/fixtures/pty-run.py): the y/N prompt of
 * `devices approve --latest`, the hidden token prompt of `devices verify`, and colour. Nothing here
 * injects a confirm or read function: the bytes go through the kernel's terminal like a person's.
 */

const devicesFile = (stateDir: string, name: string) => path.join(stateDir, "devices", name);

function writeDevices(stateDir: string, name: string, data: unknown): string {
  const file = devicesFile(stateDir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  return file;
}

function onePendingDevice(stateDir: string): string {
  return writeDevices(stateDir, "pending.json", {
    r1: {
      requestId: "r1",
      deviceId: "dev-1",
      publicKey: "pk",
      role: "node",
      roles: ["node"],
      isRepair: false,
      ts: Date.now(),
    },
  });
}

describe("devices approve --latest on a real terminal", () => {
  const PROMPT = "Approve device dev-1? [y/N] ";

  it.each<[string, Step[], boolean]>([
    ["y", [{ expect: PROMPT }, { line: "y" }], true],
    ["yes", [{ expect: PROMPT }, { line: "yes" }], true],
    ["Y with spaces", [{ expect: PROMPT }, { line: "  Y " }], true],
    ["N", [{ expect: PROMPT }, { line: "N" }], false],
    ["an empty answer (Enter)", [{ expect: PROMPT }, { line: "" }], false],
    ["anything else", [{ expect: PROMPT }, { line: "sure" }], false],
    ["end of input (Ctrl-D)", [{ expect: PROMPT }, "eof"], false],
    ["Ctrl-C", [{ expect: PROMPT }, "interrupt"], false],
  ])("answered %s: approves only on yes", (_answer, steps, approves) => {
    const stateDir = tempStateDir();
    const pending = onePendingDevice(stateDir);
    const run = runInPty(["--state-dir", stateDir, "devices", "approve", "--latest"], { stateDir, steps });
    expect(run.timedOut).toBe(false);
    expect(run.missing).toBeNull();
    const screen = screenText(run.output);
    expect(screen).toContain("Newest pending request r1:\n  device  dev-1\n");
    if (approves) {
      expect(run.status).toBe(0);
      expect(screen).toContain("Approved device dev-1: roles node, scopes -.\n");
      expect(Object.keys(readJsonFile<object>(devicesFile(stateDir, "paired.json")))).toEqual(["dev-1"]);
      expect(readJsonFile(pending)).toEqual({});
    } else {
      expect(run.status).toBe(1);
      expect(screen).toContain(
        `moltbot: Not approved: --latest needs confirmation (answer "y" on a terminal, or pass --yes). To approve this request (and only while it presents this key) run: moltbot --state-dir ${stateDir} devices approve r1 --expect-fingerprint ${publicKeyFingerprint("pk")}\n`,
      );
      expect(fs.existsSync(devicesFile(stateDir, "paired.json"))).toBe(false);
      expect(Object.keys(readJsonFile<object>(pending))).toEqual(["r1"]);
    }
  });

  it("without a terminal it does not ask: it prints the exact command on stderr and exits 1", async () => {
    const stateDir = tempStateDir();
    const pending = onePendingDevice(stateDir);
    const before = fs.readFileSync(pending, "utf8");
    const run = await runMoltbot(["devices", "approve", "--latest"], { stateDir, input: "y\n" });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^Newest pending request r1:\n/);
    expect(run.stderr).toBe(
      `moltbot: Not approved: --latest needs confirmation (answer "y" on a terminal, or pass --yes). To approve this request (and only while it presents this key) run: moltbot devices approve r1 --expect-fingerprint ${publicKeyFingerprint("pk")}\n`,
    );
    expect(run.stderr).not.toContain("[y/N]");
    expect(fs.readFileSync(pending, "utf8")).toBe(before);
  });
});

describe("devices verify on a real terminal", () => {
  async function pairedWithToken(): Promise<{ stateDir: string; token: string }> {
    const stateDir = tempStateDir();
    const request = await runMoltbot(["devices", "request", "--device", "mac", "--public-key", "k", "--role", "node"], {
      stateDir,
    });
    expect(request.code).toBe(0);
    expect((await runMoltbot(["devices", "approve", "mac"], { stateDir })).code).toBe(0);
    const rotated = await runMoltbot(["devices", "rotate", "--device", "mac", "--role", "node"], { stateDir });
    return { stateDir, token: rotated.stdout.trim() };
  }
  const VERIFY = ["devices", "verify", "--device", "mac", "--role", "node"];

  it("prompts on stderr and reads the token without echo: the typed token never shows", async () => {
    const { stateDir, token } = await pairedWithToken();
    const valid = runInPty(VERIFY, { stateDir, steps: [{ expect: "Token: " }, { line: token }] });
    expect(valid.status).toBe(0);
    expect(screenText(valid.output)).toBe("Token: \nToken valid for device mac, role node.\n");
    expect(valid.output).not.toContain(token);
    expect(valid.output).not.toContain(token.slice(0, 8));

    const wrong = runInPty(VERIFY, { stateDir, steps: [{ expect: "Token: " }, { line: `${token}x` }] });
    expect(wrong.status).toBe(1);
    expect(screenText(wrong.output)).toMatch(
      /^Token: \nmoltbot: Token not accepted for device mac, role node: token-mismatch\./,
    );
    expect(wrong.output).not.toContain(token.slice(0, 8));
  });

  it("the prompt is on stderr: with stdout redirected, stdout holds only the result", async () => {
    const { stateDir, token } = await pairedWithToken();
    const out = path.join(path.dirname(stateDir), "out.txt");
    const run = runInPty([...VERIFY, "--json"], {
      stateDir,
      steps: [{ expect: "Token: " }, { line: token }],
      stdoutFile: out,
    });
    expect(run.status).toBe(0);
    expect(screenText(run.output)).toBe("Token: \n");
    expect(fs.readFileSync(out, "utf8")).toBe('{\n  "ok": true\n}\n');
  });

  it("Backspace and Ctrl-U edit the hidden line like a terminal's", async () => {
    const { stateDir, token } = await pairedWithToken();
    const steps: Step[] = [
      { expect: "Token: " },
      { type: "garbage\u0015" },
      { type: `${token}zz\u007f\u007f` },
      { line: "" },
    ];
    const run = runInPty(VERIFY, { stateDir, steps });
    expect(run.status).toBe(0);
    expect(screenText(run.output)).toBe("Token: \nToken valid for device mac, role node.\n");
  });

  it.each<[string, Step[]]>([
    ["Ctrl-C", [{ expect: "Token: " }, { type: "abc" }, "interrupt"]],
    ["Ctrl-D on an empty line", [{ expect: "Token: " }, "eof"]],
  ])("%s reads no token: exit 2, one line, and the terminal is given back", async (_name, steps) => {
    const { stateDir } = await pairedWithToken();
    const run = runInPty(VERIFY, { stateDir, steps });
    expect(run.status).toBe(2);
    const lines = screenText(run.output).split("\n");
    expect(lines[0]).toBe("Token: ");
    expect(lines[1]).toMatch(/^moltbot: (Cancelled: no token was read\.|No token given\. .*)$/);
    expect(lines.slice(2)).toEqual([""]);
  });

  it("a piped token still works, without a prompt", async () => {
    const { stateDir, token } = await pairedWithToken();
    const run = await runMoltbot(VERIFY, { stateDir, input: `${token}\n` });
    expect(run).toMatchObject({ code: 0, stdout: "Token valid for device mac, role node.\n", stderr: "" });
  });

  it("`yes | moltbot devices verify` stops reading at 8 KiB: exit 2 at once, one line, human and --json", async () => {
    const { stateDir } = await pairedWithToken();
    for (const json of [false, true]) {
      const started = Date.now();
      const child = spawn(
        "sh",
        ["-c", 'yes | "$0" "$@"', process.execPath, BIN, ...VERIFY, ...(json ? ["--json"] : [])],
        {
          env: cliEnv(stateDir),
          cwd: ROOT,
          stdio: ["ignore", "pipe", "pipe"],
          timeout: 20_000,
        },
      );
      const run = await collectOutput(child);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(run.code).toBe(2);
      const message = "Standard input is longer than 8192 bytes, more than any token; pipe in only the token.";
      if (json) {
        expect(JSON.parse(run.stdout)).toEqual({ error: { code: "USAGE", message } });
        expect(run.stderr).toBe("");
      } else {
        expect(run.stdout).toBe("");
        expect(run.stderr).toBe(`moltbot: ${message}\n`);
      }
    }
  });
});

describe("colour on a real terminal", () => {
  const seeded = async () => {
    const stateDir = tempStateDir();
    expect((await runMoltbot(["pairing", "request", "telegram", "123"], { stateDir })).code).toBe(0);
    return stateDir;
  };

  it.each<[string, string | undefined, boolean]>([
    ["NO_COLOR unset", undefined, true],
    ["NO_COLOR set but empty (no-color.org: only a non-empty value counts)", "", true],
    ["NO_COLOR=1", "1", false],
    ["NO_COLOR=0 (any non-empty value)", "0", false],
  ])("%s: colour follows it", async (_name, noColor, coloured) => {
    const stateDir = await seeded();
    const run = runInPty(["pairing", "list", "telegram"], { stateDir, steps: [], env: { NO_COLOR: noColor } });
    expect(run.status).toBe(0);
    expect(run.output.includes("\u001b[")).toBe(coloured);
    expect(screenText(run.output)).toMatch(/^CODE +telegramUserId/);
  });
});
