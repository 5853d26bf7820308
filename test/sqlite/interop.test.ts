import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { collectOutput, runJson, tempDir, type RunResult } from "../helpers.js";
import { openclawSqlite } from "../interop/packages.js";
import { dbPath, query, track } from "./helpers.js";

/*
 * Interop with the real OpenClaw 2026.9.6, installed from the npm registry into the test cache
 * (scripts/test-packages.mjs; installed once, reused after). OpenClaw's own store functions run in
 * a separate Node 24 process (fixtures/openclaw-drive.mjs), its CLI as its users run it. If the
 * registry cannot be reached, the install fails and so does every test here: nothing is skipped.
 */

interface Cache {
  node: string;
  openclaw: string;
  openclawCli: string;
}

let cache: Cache;

beforeAll(() => {
  cache = openclawSqlite();
}, 900_000);

const DRIVE = path.join(import.meta.dirname, "fixtures", "openclaw-drive.mjs");

/** OpenClaw's environment: its state dir, a throw-away HOME, nothing of moltbot's. */
function openclawEnv(stateDir: string, home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, OPENCLAW_DIR: cache.openclaw };
  if (stateDir !== "") env.OPENCLAW_STATE_DIR = stateDir;
  return env;
}

/** A fresh state dir (0700) with its own HOME beside it. */
function freshState(): { stateDir: string; home: string } {
  const base = tempDir("moltbot-interop-");
  const stateDir = path.join(base, "state");
  const home = path.join(base, "home");
  fs.mkdirSync(stateDir, { mode: 0o700 });
  fs.mkdirSync(home, { mode: 0o700 });
  track(stateDir);
  return { stateDir, home };
}

type Op = Record<string, unknown> & { op: string };

/** Run operations through OpenClaw's own functions, in one Node 24 process; one result per operation. */
async function openclaw<T = unknown>(stateDir: string, home: string, ops: Op[]): Promise<T[]> {
  const child = spawn(cache.node, [DRIVE, JSON.stringify(ops)], {
    env: openclawEnv(stateDir, home),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const result = await collectOutput(child);
  if (result.code !== 0) throw new Error(`openclaw-drive exited ${result.code}: ${result.stderr.slice(-2000)}`);
  return result.stdout
    .trim()
    .split("\n")
    .map((line) => {
      const parsed = JSON.parse(line) as { ok?: T; error?: string };
      if (parsed.error !== undefined) throw new Error(`OpenClaw: ${parsed.error}`);
      return parsed.ok as T;
    });
}

/** OpenClaw's own CLI (`openclaw …`), as its users run it. */
async function openclawCli(stateDir: string, home: string, args: string[]): Promise<RunResult> {
  const child = spawn(cache.node, [cache.openclawCli, ...args], {
    env: openclawEnv(stateDir, home),
    stdio: ["ignore", "pipe", "pipe"],
  });
  return collectOutput(child);
}

interface DmRequest {
  id: string;
  code: string;
  meta?: Record<string, string>;
}

describe("interop with the real OpenClaw 2026.9.6", () => {
  it("OpenClaw's own requests, approved by moltbot, are seen approved by OpenClaw", async () => {
    const { stateDir, home } = freshState();
    const [dmDefault, dmWork, device] = await openclaw<{ code: string; request: { requestId: string } }>(
      stateDir,
      home,
      [
        { op: "dm.request", channel: "telegram", id: "tg:555", meta: { username: " alice ", blank: " " } },
        { op: "dm.request", channel: "telegram", id: "777", accountId: "Work" },
        {
          op: "dev.request",
          request: {
            deviceId: "dev-1",
            publicKey: "pk-1",
            displayName: "Laptop",
            role: "operator",
            scopes: ["operator.read"],
          },
        },
      ],
    );
    const listed = await runJson<{ requests: { id: string; account: string; code: string; meta?: object }[] }>(
      ["pairing", "list", "telegram"],
      { stateDir },
    );
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.json.requests.map(({ id, account, code, meta }) => ({ id, account, code, meta }))).toEqual([
      { id: "tg:555", account: "default", code: dmDefault!.code, meta: { username: "alice" } },
      { id: "777", account: "work", code: dmWork!.code, meta: undefined },
    ]);
    const devices = await runJson<{ pending: { requestId: string }[] }>(["devices", "list"], { stateDir });
    expect(devices.json.pending.map((request) => request.requestId)).toEqual([device!.request.requestId]);

    for (const code of [dmDefault!.code, dmWork!.code]) {
      const approved = await runJson(["pairing", "approve", "telegram", code.toLowerCase()], { stateDir });
      expect(approved.code, approved.stderr).toBe(0);
    }
    const approvedDevice = await runJson(["devices", "approve", "dev-1"], { stateDir });
    expect(approvedDevice.code, approvedDevice.stderr).toBe(0);

    const [pending, allowDefault, allowWork, deviceList] = await openclaw<unknown>(stateDir, home, [
      { op: "dm.list", channel: "telegram" },
      { op: "dm.allow", channel: "telegram" },
      { op: "dm.allow", channel: "telegram", accountId: "work" },
      { op: "dev.list" },
    ]);
    expect(pending).toEqual([]);
    expect(allowDefault).toEqual(["555"]);
    expect(allowWork).toEqual(["777"]);
    const { pending: devicePending, paired } = deviceList as {
      pending: unknown[];
      paired: {
        deviceId: string;
        approvedVia?: string;
        approvedScopes?: string[];
        tokens: Record<string, { token: string }>;
      }[];
    };
    expect(devicePending).toEqual([]);
    expect(paired).toHaveLength(1);
    expect(paired[0]).toMatchObject({ deviceId: "dev-1", approvedVia: "owner", approvedScopes: ["operator.read"] });
    expect(paired[0]!.tokens.operator!.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("moltbot's requests are listed by `openclaw pairing list --json`, and approved there, seen approved here", async () => {
    const { stateDir, home } = freshState();
    // The database is the gateway's to create: OpenClaw opens it first.
    await openclaw(stateDir, home, [{ op: "dm.list", channel: "telegram" }]);
    expect(fs.existsSync(dbPath(stateDir))).toBe(true);
    const ours = await runJson<{ code: string }>(
      ["pairing", "request", "telegram", "4242", "--account", "work", "--meta", "username=bob"],
      { stateDir },
    );
    expect(ours.code, ours.stderr).toBe(0);
    const ourDevice = await runJson<{ request: { requestId: string } }>(
      ["devices", "request", "--device-id", "dev-9", "--public-key", "pk-9", "--role", "node"],
      { stateDir },
    );
    expect(ourDevice.code, ourDevice.stderr).toBe(0);

    const cli = await openclawCli(stateDir, home, ["pairing", "list", "telegram", "--json"]);
    expect(cli.code, cli.stderr).toBe(0);
    const theirs = JSON.parse(cli.stdout.slice(cli.stdout.indexOf("{"))) as { channel: string; requests: DmRequest[] };
    expect(theirs.channel).toBe("telegram");
    expect(theirs.requests).toEqual([
      expect.objectContaining({ id: "4242", code: ours.json.code, meta: { username: "bob", accountId: "work" } }),
    ]);

    const [approved, devices, approvedDevice] = await openclaw<unknown>(stateDir, home, [
      { op: "dm.approve", channel: "telegram", code: ours.json.code },
      { op: "dev.list" },
      { op: "dev.approve", requestId: ourDevice.json.request.requestId },
    ]);
    expect(approved).toMatchObject({ id: "4242" });
    expect((devices as { pending: { requestId: string }[] }).pending.map((r) => r.requestId)).toEqual([
      ourDevice.json.request.requestId,
    ]);
    expect(approvedDevice).toMatchObject({ status: "approved" });

    const allow = await runJson<{ allowFrom: string[] }>(["pairing", "allowlist", "telegram", "--account", "work"], {
      stateDir,
    });
    expect(allow.json.allowFrom).toEqual(["4242"]);
    const list = await runJson<{ pending: unknown[]; paired: { deviceId: string; approvedVia?: string }[] }>(
      ["devices", "list"],
      { stateDir },
    );
    expect(list.json.pending).toEqual([]);
    expect(list.json.paired).toEqual([expect.objectContaining({ deviceId: "dev-9", approvedVia: "owner" })]);
  });

  it("device requests: a repeat refreshes OpenClaw's request in place, asking for more supersedes it, as OpenClaw does", async () => {
    const { stateDir, home } = freshState();
    const [asked] = await openclaw<{ request: { requestId: string } }>(stateDir, home, [
      {
        op: "dev.request",
        request: { deviceId: "dev-1", publicKey: "pk-1", role: "operator", scopes: ["operator.write"], silent: true },
      },
    ]);
    const requestId = asked!.request.requestId;
    // Covered by what it asked before (operator.write implies operator.read): the same request, refreshed.
    const repeat = await runJson<{ created: boolean; request: { requestId: string } }>(
      [
        "devices",
        "request",
        "--device-id",
        "dev-1",
        "--public-key",
        "pk-1",
        "--role",
        "operator",
        "--scope",
        "operator.read",
      ],
      { stateDir },
    );
    expect(repeat.json).toMatchObject({ created: false, request: { requestId } });
    expect(
      query(
        stateDir,
        "SELECT request_id, refreshed_at_ms IS NOT NULL AS refreshed, silent FROM device_pairing_pending",
      ),
    ).toEqual([{ request_id: requestId, refreshed: 1, silent: 0 }]);
    // Asking for more supersedes it with one merged request; OpenClaw then refreshes moltbot's in turn.
    const more = await runJson<{ created: boolean; replaced: string[]; request: { requestId: string } }>(
      [
        "devices",
        "request",
        "--device-id",
        "dev-1",
        "--public-key",
        "pk-1",
        "--role",
        "operator",
        "--scope",
        "operator.admin",
      ],
      { stateDir },
    );
    expect(more.json).toMatchObject({ created: true, replaced: [requestId] });
    const [again, listed] = await openclaw<unknown>(stateDir, home, [
      {
        op: "dev.request",
        request: { deviceId: "dev-1", publicKey: "pk-1", role: "operator", scopes: ["operator.admin"] },
      },
      { op: "dev.list" },
    ]);
    expect(again).toMatchObject({ created: false, request: { requestId: more.json.request.requestId } });
    expect((listed as { pending: { requestId: string; scopes: string[] }[] }).pending).toEqual([
      expect.objectContaining({
        requestId: more.json.request.requestId,
        scopes: ["operator.write", "operator.admin"],
      }),
    ]);
  });

  it("OpenClaw and moltbot writing at once lose nothing that either acknowledged", async () => {
    const { stateDir, home } = freshState();
    await openclaw(stateDir, home, [{ op: "dm.list", channel: "telegram" }]);
    const theirs = Promise.all(
      [0, 1, 2].map((i) =>
        openclaw<{ acknowledged: string[]; failures: Record<string, number> }>(stateDir, home, [
          { op: "dm.flood", channel: "telegram", tag: `oc${i}`, n: 60 },
        ]),
      ),
    );
    let theirsDone = false;
    void theirs.finally(() => (theirsDone = true));
    // moltbot keeps writing for as long as OpenClaw's writers run (at least 15 rounds per lane).
    let attempts = 0;
    const refused: string[] = [];
    const ours = [0, 1].map(async (i) => {
      const acknowledged: string[] = [];
      for (let j = 0; j < 15 || (!theirsDone && j < 200); j++) {
        const id = `mb${i}-${j}`;
        attempts += 2;
        const result = await runJson(["pairing", "request", "telegram", id, "--account", `mb${i}x${j}`], {
          stateDir,
          env: { MOLTBOT_LOCK_TIMEOUT_MS: "30000", MOLTBOT_DEBUG: "1" },
        });
        if (result.code === 0) acknowledged.push(id);
        else refused.push(`${id}: exit ${String(result.code)} ${result.stdout}${result.stderr}`);
        const device = await runJson(["devices", "request", "--device-id", id, "--public-key", "k"], {
          stateDir,
          env: { MOLTBOT_LOCK_TIMEOUT_MS: "30000", MOLTBOT_DEBUG: "1" },
        });
        if (device.code === 0) acknowledged.push(`device:${id}`);
        else refused.push(`device:${id}: exit ${String(device.code)} ${device.stdout}${device.stderr}`);
      }
      return acknowledged;
    });
    const openclawResults = (await theirs).map(([result]) => result!);
    const moltbotResults = await Promise.all(ours);

    const rows = new Set(
      query(stateDir, "SELECT request_id FROM channel_pairing_requests").map((row) => String(row.request_id)),
    );
    const devices = new Set(
      query(stateDir, "SELECT device_id FROM device_pairing_pending").map((row) => `device:${String(row.device_id)}`),
    );
    const acknowledged = [...openclawResults.flatMap((result) => result.acknowledged), ...moltbotResults.flat()];
    const lost = acknowledged.filter((id) => !(id.startsWith("device:") ? devices.has(id) : rows.has(id)));
    expect(lost).toEqual([]);
    // moltbot waits for the lock instead of failing: every one of its writes was acknowledged.
    expect(refused).toEqual([]);
    expect(moltbotResults.flat()).toHaveLength(attempts);
    // OpenClaw's writers may give up after its own 5 s wait ("another OpenClaw process owns
    // state-lifecycle"): that is a write it did not acknowledge, not a loss.
    for (const result of openclawResults) {
      for (const failure of Object.keys(result.failures))
        expect(failure).toMatch(/another OpenClaw process owns state-lifecycle|database is locked/);
    }
    expect(openclawResults.flatMap((result) => result.acknowledged).length).toBeGreaterThan(90);
  });

  it("`openclaw doctor --non-interactive` imports a January state; moltbot then lists, approves and diagnoses the result", async () => {
    const { stateDir, home } = freshState();
    const now = Date.now();
    const at = new Date(now).toISOString();
    const old = new Date(now - 2 * 3_600_000).toISOString();
    const write = (file: string, data: unknown) => {
      fs.mkdirSync(path.dirname(path.join(stateDir, file)), { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(stateDir, file), `${JSON.stringify(data)}\n`, { mode: 0o600 });
    };
    write("credentials/telegram-pairing.json", {
      version: 1,
      requests: [
        { id: "111", code: "ABCD2345", createdAt: at, lastSeenAt: at, meta: { username: "bob", blank: " " } },
        { id: "222", code: "EFGH6789", createdAt: old, lastSeenAt: old },
      ],
    });
    write("credentials/telegram-allowFrom.json", { version: 1, allowFrom: ["555", "tg:666", "*"] });
    write("credentials/telegram-default-allowFrom.json", { version: 1, allowFrom: ["888"] });
    write("credentials/telegram-work-allowFrom.json", { version: 1, allowFrom: ["777"] });
    write("devices/pending.json", {
      "req-1": {
        requestId: "req-1",
        deviceId: "dev-2",
        publicKey: "PK-2",
        role: "operator",
        roles: ["operator"],
        ts: now,
      },
    });
    write("devices/paired.json", {
      "dev-1": {
        deviceId: "dev-1",
        publicKey: "PK-1",
        displayName: "Laptop",
        role: "operator",
        roles: ["operator"],
        scopes: ["operator.read"],
        tokens: {
          operator: { token: "tok-aaaaaaaaaaaaaaaa", role: "operator", scopes: ["operator.read"], createdAtMs: now },
        },
        createdAtMs: now,
        approvedAtMs: now,
      },
    });

    const doctor = await openclawCli(stateDir, home, ["doctor", "--non-interactive"]);
    expect(doctor.code, doctor.stderr.slice(-2000)).toBe(0);
    expect(fs.existsSync(dbPath(stateDir))).toBe(true);
    expect(fs.existsSync(path.join(stateDir, "credentials", "telegram-pairing.json"))).toBe(false);

    const listed = await runJson<{ requests: { id: string; code: string; meta?: object }[] }>(
      ["pairing", "list", "telegram"],
      {
        stateDir,
      },
    );
    expect(listed.code, listed.stderr).toBe(0);
    // The expired request was imported too, and stays invisible; the imported meta has no accountId.
    expect(listed.json.requests.map(({ id, code, meta }) => ({ id, code, meta }))).toEqual([
      { id: "111", code: "ABCD2345", meta: { username: "bob" } },
    ]);
    const allow = await runJson<{ allowFrom: string[] }>(["pairing", "allowlist", "telegram"], { stateDir });
    expect(allow.json.allowFrom).toEqual(["555", "666", "888"]);
    const devices = await runJson<{ pending: unknown[]; paired: { deviceId: string }[] }>(["devices", "list"], {
      stateDir,
    });
    expect(devices.json).toMatchObject({ pending: [], paired: [{ deviceId: "dev-1" }] });

    // OpenClaw imported the expired request too: doctor sees it, --fix prunes it through the locked
    // write, and the imported row it keeps is left byte for byte (its legacy meta has no accountId).
    const report = await runJson<{ ok: boolean; findings: { file: string; problem: string; severity: string }[] }>(
      ["doctor"],
      {
        stateDir,
      },
    );
    expect(report.json.ok).toBe(false);
    expect(report.json.findings).toContainEqual(
      expect.objectContaining({
        problem: "1 expired request still stored (invisible to every command)",
        severity: "warning",
      }),
    );
    expect(report.json.findings).toContainEqual(
      expect.objectContaining({
        file: path.join(stateDir, "credentials", "telegram-work-allowFrom.json"),
        severity: "info",
      }),
    );
    const fixed = await runJson<{ ok: boolean }>(["doctor", "--fix"], { stateDir });
    expect(fixed.json.ok).toBe(true);
    expect(query(stateDir, "SELECT request_id, meta_json FROM channel_pairing_requests")).toEqual([
      { request_id: "111", meta_json: '{"username":"bob"}' },
    ]);

    const approve = await runJson(["pairing", "approve", "telegram", "ABCD2345"], { stateDir });
    expect(approve.code, approve.stderr).toBe(0);
    const [allowed, pending] = await openclaw<unknown>(stateDir, home, [
      { op: "dm.allow", channel: "telegram" },
      { op: "dm.list", channel: "telegram" },
    ]);
    expect(allowed).toEqual(["555", "666", "888", "111"]);
    expect(pending).toEqual([]);
  });
});
