import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runJson, runMoltbot, tempDir, tempStateDir } from "../helpers.js";

function write(file: string, text: string, mode = 0o600): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
}

async function healthyStore(): Promise<string> {
  const stateDir = tempStateDir();
  expect((await runMoltbot(["pairing", "request", "telegram", "111"], { stateDir })).code).toBe(0);
  return stateDir;
}

interface Report {
  ok: boolean;
  findings: { file: string; problem: string; fixed: boolean; severity: string }[];
}

describe("moltbot doctor", () => {
  it("a healthy store: exit 0, nothing on stdout, a summary on stderr; --json is {ok:true, findings:[]}", async () => {
    const stateDir = await healthyStore();
    const human = await runMoltbot(["doctor"], { stateDir });
    expect(human).toMatchObject({ code: 0, stdout: "" });
    // The state dir, credentials and moltbot dirs, the pending file and moltbot's code history.
    expect(human.stderr).toMatch(
      /^.*\/state \(\$MOLTBOT_STATE_DIR\): January gateway \(Clawdbot\/Moltbot\) JSON files\.\nNo problems found \(5 store files and directories checked under .*\)\.\n$/,
    );
    const json = await runJson<Report>(["doctor"], { stateDir });
    expect(json.code).toBe(0);
    expect(json.json).toEqual({
      ok: true,
      findings: [],
      store: { stateDir, source: "$MOLTBOT_STATE_DIR", generation: "clawdbot-json" },
    });
  });

  it("problems: one line per finding on stdout, exit 1, and a last line saying to run doctor --fix", async () => {
    const stateDir = await healthyStore();
    const allow = path.join(stateDir, "credentials", "telegram-allowFrom.json");
    write(allow, "", 0o644);
    const human = await runMoltbot(["doctor"], { stateDir });
    expect(human.code).toBe(1);
    expect(human.stdout.split("\n")).toEqual([
      `[error] ${allow}: is empty, not JSON; nothing can use it as it is`,
      `[error] ${allow}: file mode is 0644 (other users can read it); it should be 0600`,
      "",
    ]);
    expect(human.stderr.split("\n").slice(1)).toEqual([
      '2 problems found. Run "moltbot doctor --fix" to repair what is safe to repair (it never deletes data).',
      "",
    ]);

    const json = await runJson<Report>(["doctor"], { stateDir });
    expect(json.code).toBe(1);
    expect(json.json.ok).toBe(false);
    for (const finding of json.json.findings)
      expect(Object.keys(finding)).toEqual(["file", "problem", "fixed", "severity"]);
  });

  it("--fix repairs, marks each finding fixed, and exits 0 once the store is healthy", async () => {
    const stateDir = await healthyStore();
    const allow = path.join(stateDir, "credentials", "telegram-allowFrom.json");
    write(allow, "\u0000\u0001garbage", 0o640);
    const fixed = await runMoltbot(["doctor", "--fix"], { stateDir });
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toMatch(
      /^\[fixed\] .*telegram-allowFrom\.json: is not valid JSON .*; moved aside to .*\.corrupt-.*\n\[fixed\] .*file mode is 0640/,
    );
    expect(fixed.stderr).toMatch(/\nFixed 2 problems; the store under .* is healthy\.\n$/);
    expect((await runMoltbot(["doctor"], { stateDir })).code).toBe(0);
  });

  it("what --fix must not touch stays a problem: exit 1 and a last line saying the rest needs the operator", async () => {
    const stateDir = await healthyStore();
    const allow = path.join(stateDir, "credentials", "telegram-allowFrom.json");
    write(allow, '{"version":2,"allowFrom":["111"]}\n');
    const json = await runJson<Report>(["doctor", "--fix"], { stateDir });
    expect(json.code).toBe(1);
    expect(json.json.findings).toEqual([
      { file: allow, problem: expect.stringContaining("upgrade moltbot"), fixed: false, severity: "error" },
    ]);
    const human = await runMoltbot(["doctor", "--fix"], { stateDir });
    expect(human.stderr.split("\n").slice(1)).toEqual([
      'Fixed 0 of 1 problem; the others need you (see above). Then run "moltbot doctor" again.',
      "",
    ]);
    expect(fs.readFileSync(allow, "utf8")).toBe('{"version":2,"allowFrom":["111"]}\n');
  });

  it("paths are printed with control characters escaped", async () => {
    const stateDir = path.join(tempDir(), "state\u001b[2J");
    write(path.join(stateDir, "credentials", "telegram-pairing.json"), "{");
    const human = await runMoltbot(["doctor"], { stateDir });
    expect(human.code).toBe(1);
    expect(human.stdout).toContain("state\\e[2J/credentials/telegram-pairing.json");
    expect(human.stdout + human.stderr).not.toContain("\u001b");
  });

  it("--help explains the exit status and shows examples", async () => {
    const help = await runMoltbot(["doctor", "--help"], { stateDir: tempStateDir() });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--fix");
    expect(help.stdout).toContain("Exit status: 0 when the store is healthy, 1 when a problem is left.");
    expect(help.stdout).toContain("$ moltbot doctor --fix");
  });
});
