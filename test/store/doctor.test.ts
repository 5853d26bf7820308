import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DM_REQUEST_TTL_MS } from "../../src/core/dm-pairing.js";
import { createStoreContext } from "../../src/store/context.js";
import { runDoctor } from "../../src/store/doctor.js";
import { LOCK_STALE_MS } from "../../src/store/json/lock.js";
import { fileMode, listTree, readJsonFile, tempStateDir } from "../helpers.js";

function backdate(target: string, ms: number): void {
  const at = new Date(Date.now() - ms);
  fs.utimesSync(target, at, at);
}

function write(file: string, value: unknown, mode = 0o600): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, typeof value === "string" ? value : `${JSON.stringify(value, null, 2)}\n`, { mode });
  fs.chmodSync(file, mode);
}

function setup() {
  const stateDir = tempStateDir();
  const credentials = path.join(stateDir, "credentials");
  const ctx = createStoreContext({ stateDir, env: {} });
  return {
    stateDir,
    credentials,
    ctx,
    pending: path.join(credentials, "telegram-pairing.json"),
    allow: path.join(credentials, "telegram-allowFrom.json"),
  };
}

const requestAged = (id: string, ageMs: number) => {
  const at = new Date(Date.now() - ageMs).toISOString();
  return { id, code: `${id}AAAAAAA`.slice(0, 8), createdAt: at, lastSeenAt: at };
};

/** Every path with its mode and bytes, to prove a run changed nothing. */
function snapshot(dir: string): string[] {
  return listTree(dir).map((entry) => {
    const at = path.join(dir, entry);
    const stat = fs.statSync(at);
    return `${entry} ${(stat.mode & 0o777).toString(8)} ${stat.mtimeMs} ${stat.isFile() ? fs.readFileSync(at, "base64") : "dir"}`;
  });
}

describe("doctor on a real state dir", () => {
  it("a state dir that does not exist is healthy and stays absent: doctor creates nothing", async () => {
    const { stateDir, ctx } = setup();
    expect(await runDoctor(ctx, { fix: true })).toEqual({
      ok: true,
      findings: [],
      checked: 0,
      store: { stateDir, source: "--state-dir", generation: "clawdbot-json" },
    });
    expect(fs.existsSync(stateDir)).toBe(false);
  });

  it("without --fix nothing on disk changes, whatever is wrong", async () => {
    const { stateDir, credentials, ctx, pending, allow } = setup();
    write(pending, { version: 1, requests: [requestAged("1", DM_REQUEST_TTL_MS + 1)] }, 0o644);
    write(allow, "{ truncated");
    fs.mkdirSync(`${pending}.lock`);
    backdate(`${pending}.lock`, LOCK_STALE_MS * 3);
    write(`${pending}.moltbot-${"d".repeat(32)}.tmp`, "{}");
    backdate(`${pending}.moltbot-${"d".repeat(32)}.tmp`, LOCK_STALE_MS * 3);
    fs.chmodSync(credentials, 0o755);
    const before = snapshot(stateDir);

    const report = await runDoctor(ctx, { fix: false });
    expect(report.ok).toBe(false);
    expect(report.findings.map((finding) => [path.relative(stateDir, finding.file), finding.fixed])).toEqual([
      ["credentials", false],
      ["credentials/telegram-pairing.json.lock", false],
      [`credentials/telegram-pairing.json.moltbot-${"d".repeat(32)}.tmp`, false],
      ["credentials/telegram-pairing.json", false],
      ["credentials/telegram-pairing.json", false],
      ["credentials/telegram-allowFrom.json", false],
    ]);
    expect(snapshot(stateDir)).toEqual(before);
  });

  it("--fix prunes expired requests through the locked write, keeping live ones and unknown fields", async () => {
    const { ctx, pending } = setup();
    const live = requestAged("LIVE", 1_000);
    write(pending, {
      version: 1,
      requests: [requestAged("OLD", DM_REQUEST_TTL_MS + 1), live],
      gatewayField: { kept: true },
    });
    const report = await runDoctor(ctx, { fix: true });
    expect(report).toMatchObject({
      ok: true,
      findings: [{ file: pending, fixed: true, problem: expect.stringContaining("1 expired entry") }],
    });
    expect(readJsonFile(pending)).toEqual({ version: 1, requests: [live], gatewayField: { kept: true } });
    expect(fileMode(pending)).toBe(0o600);
    expect(fs.existsSync(`${pending}.lock`)).toBe(false);
    expect((await runDoctor(ctx, { fix: false })).findings).toEqual([]);
  });

  it("--fix takes over a stale lock and removes old temp files (ours and the gateway's), but leaves a lock in use, a temp file being written and every backup", async () => {
    const { ctx, pending, allow } = setup();
    const ours = `${pending}.moltbot-${"a".repeat(32)}.tmp`;
    const gateways = `${pending}.6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70.tmp`;
    const writing = `${allow}.moltbot-${"b".repeat(32)}.tmp`;
    const backups = [`${allow}.20261204`, `${allow}.3735928559`, `${allow}.bak`, `${pending}.1.tmp`];
    write(pending, { version: 1, requests: [] });
    write(allow, { version: 1, allowFrom: ["1"] });
    fs.mkdirSync(`${pending}.lock`);
    backdate(`${pending}.lock`, LOCK_STALE_MS * 2);
    for (const temp of [ours, gateways]) {
      write(temp, '{"version":1,"requ');
      backdate(temp, LOCK_STALE_MS * 2);
    }
    for (const backup of backups) {
      write(backup, '{"version":1,"allowFrom":["old"]}');
      backdate(backup, LOCK_STALE_MS * 20);
    }
    fs.mkdirSync(`${allow}.lock`);
    write(writing, "{}");

    const report = await runDoctor(ctx, { fix: true });
    expect(report.findings.map((finding) => [path.basename(finding.file), finding.severity, finding.fixed])).toEqual([
      ["telegram-pairing.json.lock", "warning", true],
      [path.basename(gateways), "warning", true],
      [path.basename(ours), "warning", true],
      ["telegram-allowFrom.json.lock", "info", false],
      [path.basename(writing), "info", false],
    ]);
    expect(report.ok).toBe(true);
    expect(fs.existsSync(`${pending}.lock`)).toBe(false);
    expect(fs.existsSync(ours)).toBe(false);
    expect(fs.existsSync(gateways)).toBe(false);
    expect(fs.existsSync(`${allow}.lock`)).toBe(true);
    expect(fs.existsSync(writing)).toBe(true);
    // A dated or numbered backup is the operator's: doctor never lists it, let alone removes it.
    for (const backup of backups) expect(fs.existsSync(backup), backup).toBe(true);
  });

  it("--fix sets modes to 0600/0700 and moves a corrupt file aside without replacing an earlier copy", async () => {
    const { stateDir, credentials, ctx, allow } = setup();
    write(allow, '{"version":1,"allowFrom":["1",', 0o644);
    fs.chmodSync(credentials, 0o711);
    fs.chmodSync(stateDir, 0o755);
    const stamp = new Date(Date.parse("2026-01-31T12:00:00.000Z"));
    const fixedClock = createStoreContext({ stateDir, env: {}, now: () => stamp.getTime() });
    const earlier = `${allow}.corrupt-2026-01-31T12-00-00.000Z`;
    write(earlier, "an earlier copy");

    const report = await runDoctor(fixedClock, { fix: true });
    expect(report.ok).toBe(true);
    expect(report.findings.every((finding) => finding.fixed)).toBe(true);
    expect(fs.readFileSync(earlier, "utf8")).toBe("an earlier copy");
    expect(fs.readFileSync(`${earlier}-1`, "utf8")).toBe('{"version":1,"allowFrom":["1",');
    expect(fileMode(`${earlier}-1`)).toBe(0o600);
    expect(fs.existsSync(allow)).toBe(false);
    expect([fileMode(stateDir), fileMode(credentials)]).toEqual([0o700, 0o700]);
    expect((await runDoctor(ctx, { fix: false })).findings).toEqual([]);
  });

  it("device and node files: expired requests pruned with the 5-minute rule, a corrupt file moved aside", async () => {
    const { stateDir, ctx } = setup();
    const devicePending = path.join(stateDir, "devices", "pending.json");
    const nodePaired = path.join(stateDir, "nodes", "paired.json");
    const fresh = { requestId: "r1", deviceId: "d1", publicKey: "k", isRepair: false, ts: Date.now() - 1_000 };
    const old = {
      requestId: "r2",
      deviceId: "d2",
      publicKey: "k",
      isRepair: false,
      ts: Date.now() - 5 * 60 * 1000 - 1,
    };
    write(devicePending, { r1: fresh, r2: old });
    write(nodePaired, { n1: { nodeId: "n1" } });

    const report = await runDoctor(ctx, { fix: true });
    expect(report.findings.map((finding) => [finding.file, finding.fixed])).toEqual([
      [devicePending, true],
      [nodePaired, true],
    ]);
    expect(readJsonFile(devicePending)).toEqual({ r1: fresh });
    expect(fs.readdirSync(path.dirname(nodePaired)).some((name) => name.startsWith("paired.json.corrupt-"))).toBe(true);
  });
});

describe("doctor names the generation and explains OpenClaw's migration", () => {
  it("the store of each generation is named: January files, files with accounts, the SQLite database", async () => {
    const { stateDir, ctx, allow } = setup();
    write(allow, { version: 1, allowFrom: ["1"] });
    expect((await runDoctor(ctx, { fix: false })).store.generation).toBe("clawdbot-json");
    write(path.join(stateDir, "credentials", "telegram-work-allowFrom.json"), { version: 1, allowFrom: ["2"] });
    expect((await runDoctor(ctx, { fix: false })).store.generation).toBe("openclaw-json-accounts");
    // The SQLite generation is the SQLite backend's to name (test/sqlite/doctor.test.ts): a store
    // chosen as JSON (MOLTBOT_STORE=json) is named by the JSON files it reads.
    fs.mkdirSync(path.join(stateDir, "state"), { mode: 0o700 });
    fs.writeFileSync(path.join(stateDir, "state", "openclaw.sqlite"), "");
    expect((await runDoctor(ctx, { fix: false })).store.generation).toBe("openclaw-json-accounts");
  });

  it("a request naming its account marks OpenClaw's JSON generation", async () => {
    const { ctx, pending } = setup();
    write(pending, { version: 1, requests: [{ ...requestAged("1", 1000), meta: { accountId: "work" } }] });
    expect((await runDoctor(ctx, { fix: false })).store.generation).toBe("openclaw-json-accounts");
  });

  it("~/.clawdbot left as a link to ~/.openclaw, and the device requests OpenClaw set aside, are explained", async () => {
    const home = path.dirname(tempStateDir());
    const real = path.join(home, ".openclaw");
    const link = path.join(home, ".clawdbot");
    write(path.join(real, "devices", "pending.json.migrated"), { r1: { requestId: "r1" }, r2: { requestId: "r2" } });
    fs.symlinkSync(real, link);
    const report = await runDoctor(createStoreContext({ stateDir: link, env: {} }), { fix: true });
    expect(report.findings).toEqual([
      {
        file: link,
        problem: expect.stringContaining(`is a link to ${real}: OpenClaw moved the state there`),
        fixed: false,
        severity: "info",
      },
      {
        file: path.join(link, "devices", "pending.json.migrated"),
        problem: expect.stringContaining("set aside the pending device requests (2 of them)"),
        fixed: false,
        severity: "info",
      },
    ]);
    // Explained, not problems: nothing to repair, and the file is kept.
    expect(report.ok).toBe(true);
    expect(fs.existsSync(path.join(real, "devices", "pending.json.migrated"))).toBe(true);
  });
});
