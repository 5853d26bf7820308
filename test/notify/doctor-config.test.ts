import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fileMode, runJson, tempDir } from "../helpers.js";
import { stateWithConfig } from "./helpers.js";

interface DoctorJson {
  ok: boolean;
  findings: { file: string; problem: string; fixed: boolean; severity: string }[];
}

describe("moltbot doctor looks at the gateway config (it holds bot tokens)", () => {
  it("a config others can read is an error; --fix makes it 0600; then doctor is clean", async () => {
    const { stateDir, configPath } = stateWithConfig("{}");
    fs.chmodSync(configPath, 0o644);
    const before = await runJson<DoctorJson>(["doctor"], { stateDir });
    expect(before.code).toBe(1);
    expect(before.json.findings).toContainEqual({
      file: configPath,
      problem: "gateway config holds bot tokens and other users can read it (mode 0644); it should be 0600",
      fixed: false,
      severity: "error",
    });
    expect(fileMode(configPath)).toBe(0o644); // doctor without --fix changes nothing
    const fixed = await runJson<DoctorJson>(["doctor", "--fix"], { stateDir });
    expect(fixed.code).toBe(0);
    expect(fixed.json.findings).toContainEqual(expect.objectContaining({ file: configPath, fixed: true }));
    expect(fileMode(configPath)).toBe(0o600);
    const after = await runJson<DoctorJson>(["doctor"], { stateDir });
    expect(after.json).toMatchObject({ ok: true, findings: [] });
  });

  it("a config outside the state dir (CLAWDBOT_CONFIG_PATH) is reported with the command, never changed", async () => {
    const stateDir = path.join(tempDir(), "state");
    fs.mkdirSync(stateDir, { mode: 0o700 });
    const outside = path.join(tempDir(), "gateway.json5");
    fs.writeFileSync(outside, "{}", { mode: 0o666 });
    fs.chmodSync(outside, 0o666);
    const result = await runJson<DoctorJson>(["doctor", "--fix"], { stateDir, env: { CLAWDBOT_CONFIG_PATH: outside } });
    expect(result.code).toBe(1);
    expect(result.json.findings).toEqual([
      {
        file: outside,
        problem: `gateway config holds bot tokens and other users can change and read it (mode 0666); it should be 0600; run: chmod 600 ${outside}`,
        fixed: false,
        severity: "error",
      },
    ]);
    expect(fileMode(outside)).toBe(0o666);
  });

  it("a <state>/.env others can read is reported and fixed the same way", async () => {
    const { stateDir } = stateWithConfig("{}");
    const dotEnv = path.join(stateDir, ".env");
    fs.writeFileSync(dotEnv, "TELEGRAM_BOT_TOKEN=1:x\n", { mode: 0o640 });
    fs.chmodSync(dotEnv, 0o640);
    const result = await runJson<DoctorJson>(["doctor", "--fix"], { stateDir });
    expect(result.json.findings).toEqual([
      {
        file: dotEnv,
        problem: "gateway .env file holds bot tokens and other users can read it (mode 0640); it should be 0600",
        fixed: true,
        severity: "error",
      },
    ]);
    expect(fileMode(dotEnv)).toBe(0o600);
  });
});
