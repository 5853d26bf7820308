import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { completeWords } from "../../src/cli/completion-engine.js";
import { buildProgram } from "../../src/cli/program.js";
import { BIN, ROOT, cliEnv, collectOutput, runJson, runMoltbot, tempStateDir, type RunResult } from "../helpers.js";
import { openclawState, query } from "./helpers.js";

/*
 * The built CLI on an OpenClaw SQLite state: every command, the same JSON shapes and exit codes as
 * on the JSON files, and node:sqlite loaded only for such a state.
 */

const TOKEN = "q8Vf2m0T1xvY8o0kLr3sJvW1rY5eQ6dZ7uC9bN4aH2E";

/** The same records in both generations: two DM requests, an allowlist, a pending and a paired device. */
function seedSqlite(): string {
  const now = Date.now();
  const at = new Date(now).toISOString();
  return openclawState({
    sql: `
      INSERT INTO channel_pairing_requests VALUES ('telegram', 'default', '111', 'ABCD2345', '${at}', '${at}', '{"accountId":"default"}'),
        ('telegram', 'default', '222', 'WXYZ6789', '${at}', '${at}', '{"accountId":"default"}');
      INSERT INTO channel_pairing_allow_entries VALUES ('telegram', 'default', '999', 0, ${now});
      INSERT INTO device_pairing_pending (request_id, device_id, public_key, role, roles_json, is_repair, ts) VALUES ('r1', 'dev-1', 'pk', 'node', '["node"]', 0, ${now});
      INSERT INTO device_pairing_paired (device_id, public_key, role, roles_json, tokens_json, created_at_ms, approved_at_ms)
        VALUES ('p1', 'pk', 'node', '["node"]', '{"node":{"token":"${TOKEN}","role":"node","scopes":[],"createdAtMs":${now}}}', ${now}, ${now});`,
  });
}

function seedJson(): string {
  const stateDir = tempStateDir();
  const now = Date.now();
  const at = new Date(now).toISOString();
  const write = (file: string, data: unknown) => {
    fs.mkdirSync(path.dirname(path.join(stateDir, file)), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(stateDir, file), `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  };
  write("credentials/telegram-pairing.json", {
    version: 1,
    requests: [
      { id: "111", code: "ABCD2345", createdAt: at, lastSeenAt: at, meta: { accountId: "default" } },
      { id: "222", code: "WXYZ6789", createdAt: at, lastSeenAt: at, meta: { accountId: "default" } },
    ],
  });
  write("credentials/telegram-default-allowFrom.json", { version: 1, allowFrom: ["999"] });
  write("devices/pending.json", {
    r1: {
      requestId: "r1",
      deviceId: "dev-1",
      publicKey: "pk",
      role: "node",
      roles: ["node"],
      isRepair: false,
      ts: now,
    },
  });
  write("devices/paired.json", {
    p1: {
      deviceId: "p1",
      publicKey: "pk",
      role: "node",
      roles: ["node"],
      tokens: { node: { token: TOKEN, role: "node", scopes: [], createdAtMs: now } },
      createdAtMs: now,
      approvedAtMs: now,
    },
  });
  return stateDir;
}

const COMMANDS: [string, string[], string?][] = [
  ["pairing list", ["pairing", "list"]],
  ["pairing list <channel>", ["pairing", "list", "telegram"]],
  ["pairing request", ["pairing", "request", "telegram", "333", "--meta", "username=carol"]],
  ["pairing request (again)", ["pairing", "request", "telegram", "111"]],
  ["pairing approve", ["pairing", "approve", "telegram", "abcd2345"]],
  ["pairing reject", ["pairing", "reject", "telegram", "WXYZ6789"]],
  ["pairing allowlist", ["pairing", "allowlist", "telegram"]],
  ["pairing revoke", ["pairing", "revoke", "telegram", "999"]],
  ["pairing approve (miss)", ["pairing", "approve", "telegram", "ZZZZ2345"]],
  ["pairing list (unknown channel)", ["pairing", "list", "telegarm"]],
  ["devices list", ["devices", "list"]],
  ["devices request", ["devices", "request", "--device-id", "d9", "--public-key", "k", "--role", "node"]],
  ["devices approve", ["devices", "approve", "r1"]],
  ["devices reject", ["devices", "reject", "r1"]],
  ["devices approve --latest --yes", ["devices", "approve", "--latest", "--yes"]],
  ["devices rotate", ["devices", "rotate", "--device", "p1", "--role", "node"]],
  ["devices revoke", ["devices", "revoke", "--device", "p1", "--role", "node"]],
  ["devices remove", ["devices", "remove", "--device", "p1"]],
  ["devices verify", ["devices", "verify", "--device", "p1", "--role", "node"], TOKEN],
  ["devices verify (wrong)", ["devices", "verify", "--device", "p1", "--role", "node"], "wrong"],
  ["nodes pending", ["nodes", "pending"]],
  ["nodes approve (none)", ["nodes", "approve", "n1"]],
  // Issue 16's verbs: moltbot's own records stay JSON files under <state>/moltbot/ on either store.
  [
    "pairing approve --expect-id",
    ["pairing", "approve", "telegram", "ABCD2345", "--expect-id", "111", "--reason", "ok"],
  ],
  ["pairing approve --expect-id (other sender)", ["pairing", "approve", "telegram", "ABCD2345", "--expect-id", "222"]],
  ["pairing block", ["pairing", "block", "telegram", "111", "--reason", "spam"]],
  ["pairing unblock (not blocked)", ["pairing", "unblock", "telegram", "111"]],
  ["pairing blocked", ["pairing", "blocked"]],
  [
    "devices approve --expect-fingerprint (wrong)",
    ["devices", "approve", "r1", "--expect-fingerprint", "0000-0000-0000-0000-0000"],
  ],
  ["devices rename", ["devices", "rename", "p1", "Kitchen"]],
  ["devices clear --pending --yes", ["devices", "clear", "--pending", "--yes"]],
  ["log", ["log"]],
  ["log --verify", ["log", "--verify"]],
];

/** The shape of a document: keys in order, recursively; values reduced to their type. */
function shape(value: unknown, keep: (key: string) => boolean = () => true): unknown {
  if (Array.isArray(value)) return value.map((item) => shape(item, keep));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).flatMap(([key, inner]) => (keep(key) ? [[key, shape(inner, keep)]] : [])),
    );
  }
  return typeof value;
}

async function run(args: string[], stateDir: string, input?: string): Promise<RunResult & { json: unknown }> {
  const result = await runMoltbot([...args, "--json"], { stateDir, ...(input !== undefined ? { input } : {}) });
  return { ...result, json: JSON.parse(result.stdout) };
}

describe("every command on an OpenClaw SQLite state", () => {
  it.each(COMMANDS)("%s: the same exit code and JSON shape as on the JSON files", async (_name, args, input) => {
    const [sqlite, json] = await Promise.all([run(args, seedSqlite(), input), run(args, seedJson(), input)]);
    expect(sqlite.stderr).toBe(json.stderr);
    expect(sqlite.code).toBe(json.code);
    // How a device was approved is shown where OpenClaw records it (the SQLite generation only).
    expect(shape(sqlite.json, (key) => key !== "approvedVia")).toEqual(shape(json.json));
  });

  it("what the commands write is what OpenClaw reads: rows with its keys and columns", async () => {
    const stateDir = seedSqlite();
    await runJson(["pairing", "approve", "telegram", "ABCD2345"], { stateDir });
    await runJson(["devices", "approve", "r1"], { stateDir });
    expect(
      query(stateDir, "SELECT account_id, entry, sort_order FROM channel_pairing_allow_entries ORDER BY sort_order"),
    ).toEqual([
      { account_id: "default", entry: "999", sort_order: 0 },
      { account_id: "default", entry: "111", sort_order: 1 },
    ]);
    expect(query(stateDir, "SELECT device_id, approved_via FROM device_pairing_paired ORDER BY device_id")).toEqual([
      { device_id: "dev-1", approved_via: "owner" },
      { device_id: "p1", approved_via: null },
    ]);
  });

  it("issue 16's verbs change the database's rows, and their decisions are logged beside it", async () => {
    const stateDir = seedSqlite();
    expect((await runJson(["pairing", "block", "telegram", "222", "--reason", "spam"], { stateDir })).code).toBe(0);
    expect(query(stateDir, "SELECT request_id FROM channel_pairing_requests ORDER BY request_id")).toEqual([
      { request_id: "111" },
    ]);
    // The dropped code is answered as blocked, not as unknown; the other is approved only for its sender.
    const dead = await runJson<{ error: { code: string } }>(["pairing", "approve", "telegram", "WXYZ6789"], {
      stateDir,
    });
    expect(dead.json.error.code).toBe("BLOCKED");
    expect(
      (await runJson(["pairing", "approve", "telegram", "ABCD2345", "--expect-id", "111"], { stateDir })).code,
    ).toBe(0);
    expect((await runJson(["devices", "rename", "p1", "Kitchen"], { stateDir })).code).toBe(0);
    expect(query(stateDir, "SELECT device_id, operator_label FROM device_pairing_paired")).toEqual([
      { device_id: "p1", operator_label: "Kitchen" },
    ]);
    const log = await runJson<{ entries: { action: string }[] }>(["log"], { stateDir });
    expect(log.json.entries.map((entry) => entry.action)).toEqual([
      "pairing.block",
      "pairing.approve",
      "devices.rename",
    ]);
    expect((await runMoltbot(["log", "--verify"], { stateDir })).code).toBe(0);
  });

  it("doctor --json on a healthy state: ok, and the state named as OpenClaw's SQLite state", async () => {
    const stateDir = seedSqlite();
    const result = await runJson<{ ok: boolean; findings: { file: string; problem: string; severity: string }[] }>(
      ["doctor"],
      {
        stateDir,
      },
    );
    expect(result.code, result.stdout).toBe(0);
    expect(result.json.ok).toBe(true);
    expect(result.json.findings[0]).toMatchObject({
      file: path.join(stateDir, "state", "openclaw.sqlite"),
      problem: expect.stringMatching(/^OpenClaw's SQLite state \(schema 18, journal wal\)/),
      severity: "info",
    });
  });
});

describe("MOLTBOT_DEBUG=1", () => {
  it("prints the one line, then the stack with the failure under it (here SQLite's own)", async () => {
    const stateDir = openclawState();
    const database = path.join(stateDir, "state", "openclaw.sqlite");
    fs.writeFileSync(database, Buffer.alloc(8192, 0x5a));
    const plain = await runMoltbot(["pairing", "list", "telegram"], { stateDir });
    const debug = await runMoltbot(["pairing", "list", "telegram"], { stateDir, env: { MOLTBOT_DEBUG: "1" } });
    expect(plain.code).toBe(3);
    expect(plain.stderr.split("\n")).toHaveLength(2);
    expect(debug.code).toBe(3);
    const lines = debug.stderr.split("\n");
    expect(lines[0]).toBe(plain.stderr.split("\n")[0]);
    expect(lines[1]).toMatch(/^MoltbotError: .*cannot be read as an SQLite database/);
    expect(lines).toContain("Caused by: Error: file is not a database");
  });
});

describe("pairing wait on an OpenClaw SQLite state", () => {
  it.each([
    ["file-system notifications (the database's directory)", {}],
    ["polling", { MOLTBOT_WATCH_POLL_MS: "50" }],
  ])("with %s: a request written by another process is printed; one already pending is not", async (_name, env) => {
    const stateDir = seedSqlite();
    const child = spawn(process.execPath, [BIN, "pairing", "wait", "telegram", "--timeout", "15s", "--json"], {
      env: cliEnv(stateDir, env),
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output = collectOutput(child);
    // Started once it says it waits (the baseline, 111 and 222, is read by then).
    await new Promise<void>((resolve, reject) => {
      let seen = "";
      child.stderr.on("data", (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes("Waiting up to")) resolve();
      });
      child.on("close", () => reject(new Error(`exited before waiting: ${seen}`)));
    });
    expect((await runMoltbot(["pairing", "request", "telegram", "111"], { stateDir })).code).toBe(0);
    const fresh = await runJson<{ code: string }>(["pairing", "request", "telegram", "333"], { stateDir });
    const result = await output;
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ channel: "telegram", id: "333", code: fresh.json.code });
  });
});

describe("shell completion on an OpenClaw SQLite state", () => {
  it("offers the codes and device ids stored in the database, read without a lock", async () => {
    const stateDir = seedSqlite();
    const io = { out: () => {}, err: () => {}, color: false, columns: 80, interactive: false, env: {} };
    const program = await buildProgram(
      { ...io, readStdin: async () => "", confirm: async () => false },
      () => async () => {},
    );
    const env = { MOLTBOT_STATE_DIR: stateDir };
    expect(completeWords(program, ["pairing", "approve", "telegram", ""], { env })).toEqual({
      type: "values",
      candidates: [
        { value: "ABCD2345", description: "111" },
        { value: "WXYZ6789", description: "222" },
      ],
    });
    expect(completeWords(program, ["devices", "approve", ""], { env })).toMatchObject({
      candidates: [{ value: "r1" }],
    });
  });
});

describe("start-up", () => {
  /** Run the CLI with a preload that reports, at exit, whether node:sqlite was loaded. */
  async function loadsSqlite(stateDir: string): Promise<boolean> {
    const preload = path.join(path.dirname(stateDir), "report.cjs");
    fs.writeFileSync(
      preload,
      'process.on("exit",()=>require("fs").writeSync(2,"\\nSQLITE:"+process.moduleLoadList.includes("NativeModule sqlite")+"\\n"))',
    );
    const child = spawn(process.execPath, ["--require", preload, BIN, "pairing", "list", "telegram", "--json"], {
      env: cliEnv(stateDir),
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const result = await collectOutput(child);
    expect(result.code, result.stderr).toBe(0);
    return /SQLITE:true/.test(result.stderr);
  }

  it("a JSON state never loads node:sqlite; an OpenClaw SQLite state does", async () => {
    expect(await loadsSqlite(seedJson())).toBe(false);
    expect(await loadsSqlite(seedSqlite())).toBe(true);
  });
});
