import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createStoreContext } from "../../src/store/context.js";
import {
  approveDevice,
  listDevices,
  rejectDevice,
  requestDevice,
  revokeDevice,
  rotateDevice,
  verifyDevice,
} from "../../src/store/device-store.js";
import {
  approveDmCode,
  listAllDmRequests,
  listDmRequests,
  readDmAllowlist,
  rejectDmCode,
  requestDmPairing,
  revokeDmSender,
} from "../../src/store/dm-store.js";
import { approveNode, listNodeRequests, requestNode } from "../../src/store/node-store.js";
import { DM_ALLOW, singleRecord } from "../../src/store/catalogue.js";
import { resolveChannel } from "../../src/core/channels.js";
import { runTransaction } from "../../src/store/transaction.js";
import { listTree, seededRandom } from "../helpers.js";
import { dbPath, iso, openclawState, query, schemaText, track } from "./helpers.js";

/*
 * The SQLite backend through the store operations the CLI and the library call, on databases laid
 * out as OpenClaw 2026.9.6 lays them out: which rows each operation reads and writes, by column
 * name, and that nothing else changes.
 */

const NOW = Date.parse("2026-12-04T10:00:00.000Z");

function ctxFor(stateDir: string, options: { now?: number; env?: NodeJS.ProcessEnv } = {}) {
  let now = options.now ?? NOW;
  const ctx = createStoreContext({
    stateDir,
    env: { ...options.env },
    now: () => now,
    random: seededRandom(7),
  });
  return Object.assign(ctx, { advance: (ms: number) => (now += ms) });
}

const request = (channel: string, account: string, id: string, code: string, at: number, meta: string | null) =>
  `INSERT INTO channel_pairing_requests VALUES ('${channel}', '${account}', '${id}', '${code}', '${iso(at)}', '${iso(at)}', ${meta === null ? "NULL" : `'${meta}'`});`;

describe("DM pairing on OpenClaw's SQLite state", () => {
  it("is chosen automatically when state/openclaw.sqlite exists", () => {
    const stateDir = openclawState();
    expect(ctxFor(stateDir).backend.kind).toBe("sqlite");
    fs.rmSync(dbPath(stateDir));
    expect(ctxFor(stateDir).backend.kind).toBe("json");
  });

  it.each([
    ["json", "json"],
    ["sqlite", "sqlite"],
    [" SQLite ", "sqlite"],
    ["auto", "sqlite"],
    ["", "sqlite"],
  ])("MOLTBOT_STORE=%j picks the %s backend", (value, kind) => {
    const stateDir = openclawState();
    expect(ctxFor(stateDir, { env: { MOLTBOT_STORE: value } }).backend.kind).toBe(kind);
  });

  it("MOLTBOT_STORE with another value is a usage error", () => {
    const stateDir = openclawState();
    expect(() => ctxFor(stateDir, { env: { MOLTBOT_STORE: "postgres" } }).backend).toThrow(
      expect.objectContaining({ code: "USAGE", message: expect.stringContaining("json, sqlite or auto") }),
    );
  });

  it("lists requests with their account from the account_id column, whatever meta_json says", () => {
    const stateDir = openclawState({
      sql: [
        // As OpenClaw's importer leaves a January request: legacy meta without accountId.
        request("telegram", "default", "111", "ABCD2345", NOW - 60_000, '{"username":"bob"}'),
        request("telegram", "work", "222", "EFGH6789", NOW - 30_000, '{"accountId":"other","blank":"  ","n":3}'),
        request("telegram", "default", "333", "JKLM2345", NOW - 2 * 3_600_000, null),
        request("discord", "default", "444", "NPQR2345", NOW - 1000, null),
        // A channel moltbot does not know (OpenClaw has more plugins): never listed.
        request("feishu", "default", "555", "STUV2345", NOW - 1000, null),
      ].join("\n"),
    });
    const ctx = ctxFor(stateDir);
    expect(listDmRequests(ctx, "telegram").requests).toEqual([
      {
        id: "111",
        account: "default",
        code: "ABCD2345",
        createdAt: iso(NOW - 60_000),
        lastSeenAt: iso(NOW - 60_000),
        expiresAt: iso(NOW - 60_000 + 3_600_000),
        meta: { username: "bob" },
      },
      {
        id: "222",
        account: "work",
        code: "EFGH6789",
        createdAt: iso(NOW - 30_000),
        lastSeenAt: iso(NOW - 30_000),
        expiresAt: iso(NOW - 30_000 + 3_600_000),
      },
    ]);
    expect(listDmRequests(ctx, "telegram", { account: "work" }).requests.map((r) => r.id)).toEqual(["222"]);
    expect(listAllDmRequests(ctx).channels.map((c) => c.channel)).toEqual(["telegram", "discord"]);
  });

  it("list writes nothing: the expired row stays, the file and its directory are unchanged", () => {
    const stateDir = openclawState({
      sql: request("telegram", "default", "333", "JKLM2345", NOW - 2 * 3_600_000, null),
    });
    const before = listTree(stateDir);
    const bytes = fs.readFileSync(dbPath(stateDir));
    expect(listDmRequests(ctxFor(stateDir), "telegram").requests).toEqual([]);
    expect(listTree(stateDir)).toEqual(before);
    expect(fs.readFileSync(dbPath(stateDir)).equals(bytes)).toBe(true);
    expect(query(stateDir, "SELECT request_id FROM channel_pairing_requests")).toEqual([{ request_id: "333" }]);
  });

  it("a request is one row: account_id and meta_json with accountId last, as OpenClaw writes it", async () => {
    const stateDir = openclawState();
    const ctx = ctxFor(stateDir);
    const created = await requestDmPairing(ctx, {
      channel: "telegram",
      senderId: " 123 ",
      account: "Work",
      meta: { username: " alice ", blank: " " },
    });
    expect(created).toMatchObject({ status: "created", account: "work", id: "123" });
    expect(query(stateDir, "SELECT * FROM channel_pairing_requests")).toEqual([
      {
        channel_key: "telegram",
        account_id: "work",
        request_id: "123",
        code: created.code,
        created_at: iso(NOW),
        last_seen_at: iso(NOW),
        meta_json: '{"username":"alice","accountId":"work"}',
      },
    ]);
  });

  it("a repeat without meta clears the stored meta (only the account stays), as OpenClaw 2026.9.6 does", async () => {
    const stateDir = openclawState();
    const ctx = ctxFor(stateDir);
    const first = await requestDmPairing(ctx, { channel: "telegram", senderId: "123", meta: { username: "alice" } });
    ctx.advance(1000);
    const again = await requestDmPairing(ctx, { channel: "telegram", senderId: "123" });
    expect(again).toMatchObject({ status: "pending", code: first.code });
    expect(query(stateDir, "SELECT meta_json, created_at, last_seen_at FROM channel_pairing_requests")).toEqual([
      { meta_json: '{"accountId":"default"}', created_at: iso(NOW), last_seen_at: iso(NOW + 1000) },
    ]);
  });

  it("approve deletes the request row and appends one allowlist row; other rows keep their bytes", async () => {
    const stateDir = openclawState({
      sql: [
        request("telegram", "default", "tg:111", "ABCD2345", NOW - 60_000, '{"username":"bob"}'),
        request("telegram", "default", "222", "EFGH6789", NOW - 50_000, '{"username":"imported"}'),
        "INSERT INTO channel_pairing_allow_entries VALUES ('telegram', 'default', '555', 0, 1000), ('telegram', 'default', '666', 1, 1000), ('telegram', 'work', '777', 0, 1000);",
      ].join("\n"),
    });
    const ctx = ctxFor(stateDir);
    const approved = await approveDmCode(ctx, { channel: "telegram", code: " abcd2345 " });
    expect(approved).toMatchObject({ account: "default", id: "tg:111", code: "ABCD2345" });
    expect(query(stateDir, "SELECT * FROM channel_pairing_allow_entries ORDER BY account_id, sort_order")).toEqual([
      { channel_key: "telegram", account_id: "default", entry: "555", sort_order: 0, updated_at: 1000 },
      { channel_key: "telegram", account_id: "default", entry: "666", sort_order: 1, updated_at: 1000 },
      // Normalised as telegram's adapter does (tg: stripped), appended after the highest sort_order.
      { channel_key: "telegram", account_id: "default", entry: "111", sort_order: 2, updated_at: NOW },
      { channel_key: "telegram", account_id: "work", entry: "777", sort_order: 0, updated_at: 1000 },
    ]);
    // The imported request keeps its legacy meta_json (no accountId): its row was not touched.
    expect(query(stateDir, "SELECT request_id, meta_json FROM channel_pairing_requests")).toEqual([
      { request_id: "222", meta_json: '{"username":"imported"}' },
    ]);
    expect(readDmAllowlist(ctx, "telegram").allowFrom).toEqual(["555", "666", "111"]);
  });

  it("approve with --account only matches that account's request; the entry goes to the request's account", async () => {
    const stateDir = openclawState({ sql: request("telegram", "work", "222", "EFGH6789", NOW - 1000, null) });
    const ctx = ctxFor(stateDir);
    await expect(
      approveDmCode(ctx, { channel: "telegram", code: "EFGH6789", account: "default" }),
    ).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await approveDmCode(ctx, { channel: "telegram", code: "EFGH6789" });
    expect(query(stateDir, "SELECT account_id, entry FROM channel_pairing_allow_entries")).toEqual([
      { account_id: "work", entry: "222" },
    ]);
    expect(readDmAllowlist(ctx, "telegram", { account: "work" }).allowFrom).toEqual(["222"]);
    expect(readDmAllowlist(ctx, "telegram").allowFrom).toEqual([]);
  });

  it("revoke deletes the row and renumbers nothing; reject deletes only the request", async () => {
    const stateDir = openclawState({
      sql: [
        request("telegram", "default", "222", "EFGH6789", NOW - 1000, null),
        "INSERT INTO channel_pairing_allow_entries VALUES ('telegram', 'default', '555', 0, 1000), ('telegram', 'default', '666', 1, 1000), ('telegram', 'default', '777', 2, 1000);",
      ].join("\n"),
    });
    const ctx = ctxFor(stateDir);
    expect(await revokeDmSender(ctx, { channel: "telegram", senderId: "tg:555" })).toMatchObject({ removed: true });
    expect(
      query(stateDir, "SELECT entry, sort_order, updated_at FROM channel_pairing_allow_entries ORDER BY sort_order"),
    ).toEqual([
      { entry: "666", sort_order: 1, updated_at: 1000 },
      { entry: "777", sort_order: 2, updated_at: 1000 },
    ]);
    await rejectDmCode(ctx, { channel: "telegram", code: "EFGH6789" });
    expect(query(stateDir, "SELECT count(*) AS n FROM channel_pairing_requests")).toEqual([{ n: 0 }]);
    expect(await revokeDmSender(ctx, { channel: "telegram", senderId: "999" })).toMatchObject({ removed: false });
  });

  it("the January unscoped allowlist has no rows here: it reads empty and is never written", async () => {
    const stateDir = openclawState({
      sql: "INSERT INTO channel_pairing_allow_entries VALUES ('telegram', 'default', '555', 0, 1000);",
    });
    const ctx = ctxFor(stateDir);
    const telegram = resolveChannel("telegram");
    expect(ctx.backend.read(DM_ALLOW, { channel: telegram }).state.allowFrom).toEqual([]);
    expect(ctx.backend.read(DM_ALLOW, { channel: telegram, account: "default" }).state.allowFrom).toEqual(["555"]);
    await expect(
      runTransaction(ctx, singleRecord(DM_ALLOW), { state: { channel: telegram } }, () => ({
        state: { version: 1 as const, allowFrom: ["1"] },
        result: undefined,
      })),
    ).rejects.toMatchObject({
      code: "STORE_IO",
      message: expect.stringContaining("has no rows in OpenClaw's database"),
    });
    expect(query(stateDir, "SELECT entry FROM channel_pairing_allow_entries")).toEqual([{ entry: "555" }]);
  });

  it("a request that writes drops the channel's expired rows, as every write does", async () => {
    const stateDir = openclawState({
      sql: request("telegram", "default", "333", "JKLM2345", NOW - 2 * 3_600_000, null),
    });
    await requestDmPairing(ctxFor(stateDir), { channel: "telegram", senderId: "444" });
    expect(query(stateDir, "SELECT request_id FROM channel_pairing_requests")).toEqual([{ request_id: "444" }]);
  });

  it("a sender already allowed, or a full account, reads and writes nothing (no lock file either)", async () => {
    const stateDir = openclawState({
      sql: [
        "INSERT INTO channel_pairing_allow_entries VALUES ('telegram', 'default', '555', 0, 1000);",
        request("telegram", "default", "1", "AAAA2345", NOW, null),
        request("telegram", "default", "2", "BBBB2345", NOW, null),
        request("telegram", "default", "3", "CCCC2345", NOW, null),
      ].join("\n"),
    });
    const ctx = ctxFor(stateDir);
    const bytes = fs.readFileSync(dbPath(stateDir));
    expect(await requestDmPairing(ctx, { channel: "telegram", senderId: "tg:555" })).toMatchObject({
      status: "allowed",
    });
    expect(await requestDmPairing(ctx, { channel: "telegram", senderId: "4" })).toMatchObject({ status: "capped" });
    expect(fs.readFileSync(dbPath(stateDir)).equals(bytes)).toBe(true);
    // Another account is still admitted.
    expect(await requestDmPairing(ctx, { channel: "telegram", senderId: "4", account: "work" })).toMatchObject({
      status: "created",
    });
  });

  it("never runs DDL: the schema and user_version are byte-identical after every kind of write", async () => {
    const stateDir = openclawState({ userVersion: 0 });
    const before = schemaText(stateDir);
    const ctx = ctxFor(stateDir);
    const { code } = await requestDmPairing(ctx, { channel: "telegram", senderId: "1" });
    await approveDmCode(ctx, { channel: "telegram", code: code! });
    await revokeDmSender(ctx, { channel: "telegram", senderId: "1" });
    const device = await requestDevice(ctx, { deviceId: "d1", publicKey: "pk", role: "node" });
    await approveDevice(ctx, { id: device.request.requestId });
    expect(schemaText(stateDir)).toBe(before);
  });
});

describe("refusals on OpenClaw's SQLite state", () => {
  it("a newer schema (user_version 19) lists but refuses to write, and nothing changes", async () => {
    const stateDir = openclawState({
      userVersion: 19,
      sql: request("telegram", "default", "1", "AAAA2345", NOW, null),
    });
    const ctx = ctxFor(stateDir);
    expect(listDmRequests(ctx, "telegram").requests).toHaveLength(1);
    const bytes = fs.readFileSync(dbPath(stateDir));
    await expect(requestDmPairing(ctx, { channel: "telegram", senderId: "2" })).rejects.toMatchObject({
      code: "STORE_UNSUPPORTED",
      exitCode: 3,
      message: expect.stringContaining("uses OpenClaw state schema 19, newer than the newest moltbot knows (18)"),
    });
    expect(fs.readFileSync(dbPath(stateDir)).equals(bytes)).toBe(true);
  });

  it("the content version OpenClaw records beside user_version counts too", async () => {
    const stateDir = openclawState({
      sql: "CREATE TABLE config_machine_state (state_key TEXT NOT NULL PRIMARY KEY, value_json TEXT NOT NULL, updated_at_ms INTEGER NOT NULL) STRICT; INSERT INTO config_machine_state VALUES ('state.schema.contentVersion', '20', 0);",
    });
    await expect(requestDmPairing(ctxFor(stateDir), { channel: "telegram", senderId: "2" })).rejects.toMatchObject({
      code: "STORE_UNSUPPORTED",
      message: expect.stringContaining("schema 20"),
    });
  });

  it.each([
    ["a missing table", "DROP TABLE channel_pairing_requests;", "has no table channel_pairing_requests"],
    [
      "a missing column (an older shape)",
      "DROP TABLE device_pairing_pending; CREATE TABLE device_pairing_pending (request_id TEXT NOT NULL PRIMARY KEY, device_id TEXT NOT NULL, public_key TEXT NOT NULL, ts INTEGER NOT NULL) STRICT;",
      "lacks the columns",
    ],
  ])("%s: the write is refused with exit 3 and the schema left alone", async (_name, sql, message) => {
    const stateDir = openclawState({ sql });
    const before = schemaText(stateDir);
    const ctx = ctxFor(stateDir);
    const write = sql.includes("channel_pairing_requests")
      ? requestDmPairing(ctx, { channel: "telegram", senderId: "2" })
      : requestDevice(ctx, { deviceId: "d1", publicKey: "pk" });
    await expect(write).rejects.toMatchObject({ code: "STORE_UNSUPPORTED", message: expect.stringContaining(message) });
    expect(schemaText(stateDir)).toBe(before);
  });

  it("columns are used by name: a table whose additive columns came last (an upgraded database) works", async () => {
    const stateDir = openclawState({
      sql: "DROP TABLE device_pairing_pending; CREATE TABLE device_pairing_pending (request_id TEXT NOT NULL PRIMARY KEY, device_id TEXT NOT NULL, public_key TEXT NOT NULL, display_name TEXT, platform TEXT, device_family TEXT, client_id TEXT, client_mode TEXT, role TEXT, roles_json TEXT, scopes_json TEXT, remote_ip TEXT, silent INTEGER, is_repair INTEGER, ts INTEGER NOT NULL) STRICT; ALTER TABLE device_pairing_pending ADD COLUMN refreshed_at_ms INTEGER; ALTER TABLE device_pairing_pending ADD COLUMN browser_origin TEXT;",
    });
    const ctx = ctxFor(stateDir);
    const created = await requestDevice(ctx, { deviceId: "d1", publicKey: "pk", role: "node", displayName: "Phone" });
    ctx.advance(60_000);
    await requestDevice(ctx, { deviceId: "d1", publicKey: "pk", role: "node" });
    expect(
      query(
        stateDir,
        "SELECT request_id, display_name, role, ts, refreshed_at_ms, browser_origin FROM device_pairing_pending",
      ),
    ).toEqual([
      {
        request_id: created.request.requestId,
        display_name: "Phone",
        role: "node",
        ts: NOW,
        refreshed_at_ms: NOW + 60_000,
        browser_origin: null,
      },
    ]);
  });

  it("an externally supervised database is not written (OpenClaw's ownership fence), unless OPENCLAW_SUPERVISOR_MODE=external", async () => {
    const stateDir = openclawState({
      sql: `CREATE TABLE config_machine_state (state_key TEXT NOT NULL PRIMARY KEY, value_json TEXT NOT NULL, updated_at_ms INTEGER NOT NULL) STRICT; INSERT INTO config_machine_state VALUES ('gateway.supervision', '{"version":1,"mode":"external","managerId":"k8s-operator","claimedAt":1}', 0);`,
    });
    await expect(requestDmPairing(ctxFor(stateDir), { channel: "telegram", senderId: "2" })).rejects.toMatchObject({
      code: "STORE_PERMISSION",
      message: expect.stringContaining('externally supervised by "k8s-operator"'),
    });
    const env = { OPENCLAW_SUPERVISOR_MODE: "external" };
    expect(await requestDmPairing(ctxFor(stateDir, { env }), { channel: "telegram", senderId: "2" })).toMatchObject({
      status: "created",
    });
  });

  it("moltbot never creates the gateway's database: with MOLTBOT_STORE=sqlite and none, reads are empty and writes refused", async () => {
    const stateDir = openclawState();
    fs.rmSync(dbPath(stateDir));
    const ctx = ctxFor(stateDir, { env: { MOLTBOT_STORE: "sqlite" } });
    expect(listDmRequests(ctx, "telegram").requests).toEqual([]);
    await expect(requestDmPairing(ctx, { channel: "telegram", senderId: "2" })).rejects.toMatchObject({
      code: "STORE_UNSUPPORTED",
      message: expect.stringContaining("moltbot never creates the gateway's database"),
    });
    expect(fs.readdirSync(path.join(stateDir, "state"))).toEqual([]);
  });

  it.each([
    [
      "state/ is a symbolic link",
      (s: string) => {
        fs.renameSync(path.join(s, "state"), path.join(s, "real-state"));
        fs.symlinkSync(path.join(s, "real-state"), path.join(s, "state"));
      },
      "STORE_CORRUPT",
      "is a symbolic link",
    ],
    [
      "the database is a symbolic link",
      (s: string) => {
        fs.renameSync(dbPath(s), path.join(s, "elsewhere.sqlite"));
        fs.symlinkSync(path.join(s, "elsewhere.sqlite"), dbPath(s));
      },
      "STORE_CORRUPT",
      "is a symbolic link",
    ],
    [
      "the state dir can be written by others",
      (s: string) => fs.chmodSync(s, 0o777),
      "STORE_PERMISSION",
      "can be written by every user",
    ],
    [
      "state/ can be written by its group",
      (s: string) => fs.chmodSync(path.join(s, "state"), 0o770),
      "STORE_PERMISSION",
      "can be written by its group",
    ],
    [
      "the database belongs to another user",
      (s: string) => fs.chownSync(dbPath(s), 65534, 65534),
      "STORE_PERMISSION",
      "belongs to nobody, not to you",
    ],
  ])("%s: the write is refused (the ownership rule)", async (_name, prepare, code, message) => {
    const stateDir = openclawState();
    prepare(stateDir);
    await expect(requestDmPairing(ctxFor(stateDir), { channel: "telegram", senderId: "2" })).rejects.toMatchObject({
      code,
      message: expect.stringContaining(message),
    });
  });

  it("a file that is not a database is STORE_CORRUPT and left untouched", async () => {
    const stateDir = openclawState();
    fs.writeFileSync(
      dbPath(stateDir),
      "this is not sqlite, just text long enough to have a header............................................",
    );
    const bytes = fs.readFileSync(dbPath(stateDir));
    expect(() => listDmRequests(ctxFor(stateDir), "telegram")).toThrow(
      expect.objectContaining({ code: "STORE_CORRUPT" }),
    );
    await expect(requestDmPairing(ctxFor(stateDir), { channel: "telegram", senderId: "2" })).rejects.toMatchObject({
      code: "STORE_CORRUPT",
    });
    expect(fs.readFileSync(dbPath(stateDir)).equals(bytes)).toBe(true);
  });
});

describe("devices on OpenClaw's SQLite state", () => {
  it("rows map to records: NULL is an absent key, *_json is JSON, silent and is_repair are 0/1", async () => {
    const stateDir = openclawState({
      sql: `INSERT INTO device_pairing_paired (device_id, public_key, display_name, operator_label, role, roles_json, scopes_json, approved_scopes_json, tokens_json, approved_via, created_at_ms, approved_at_ms, last_seen_at_ms)
        VALUES ('dev-1', 'PK-1', 'Laptop', 'Work laptop', 'operator', '["operator"]', '["operator.read"]', '["operator.read"]',
        '{"operator":{"token":"rEEhml2JgUc2mdtfiR6Nc7pc09pULZPCaThURImGTys","role":"operator","scopes":["operator.read"],"createdAtMs":5}}', 'owner', 5, 6, 7);
        INSERT INTO device_pairing_pending (request_id, device_id, public_key, role, roles_json, silent, is_repair, ts)
        VALUES ('r-1', 'dev-2', 'PK-2', 'node', '["node"]', 0, 1, ${NOW - 1000});`,
    });
    const listing = listDevices(ctxFor(stateDir));
    expect(listing.pending).toEqual([
      {
        requestId: "r-1",
        deviceId: "dev-2",
        publicKey: "PK-2",
        fingerprint: "8bd6-1fb0-0f7c-b15a-1250",
        role: "node",
        roles: ["node"],
        silent: false,
        isRepair: true,
        ts: NOW - 1000,
      },
    ]);
    expect(listing.paired).toEqual([
      {
        deviceId: "dev-1",
        publicKey: "PK-1",
        displayName: "Laptop",
        fingerprint: "03e7-29c1-c036-6e8b-985b",
        role: "operator",
        roles: ["operator"],
        scopes: ["operator.read"],
        operatorLabel: "Work laptop",
        tokens: [{ role: "operator", scopes: ["operator.read"], createdAtMs: 5 }],
        createdAtMs: 5,
        approvedAtMs: 6,
        approvedVia: "owner",
        lastSeenAtMs: 7,
      },
    ]);
  });

  it("approve records approved_via 'owner', approved scopes and a 43-character base64url token; the request row goes", async () => {
    const stateDir = openclawState({
      sql: `INSERT INTO device_pairing_pending (request_id, device_id, public_key, display_name, device_family, browser_origin, role, roles_json, scopes_json, silent, is_repair, ts)
        VALUES ('r-1', 'dev-2', 'PK-2', 'Tablet', 'ipad', 'https://app.example', 'operator', '["operator"]', '["operator.read"]', 0, 0, ${NOW - 1000});`,
    });
    const ctx = ctxFor(stateDir);
    const approved = await approveDevice(ctx, { id: "r-1" });
    expect(approved.device).toMatchObject({ deviceId: "dev-2", approvedVia: "owner" });
    const [row] = query(stateDir, "SELECT * FROM device_pairing_paired");
    expect(row).toMatchObject({
      device_id: "dev-2",
      public_key: "PK-2",
      display_name: "Tablet",
      device_family: "ipad",
      browser_origin: "https://app.example",
      role: "operator",
      roles_json: '["operator"]',
      scopes_json: '["operator.read"]',
      approved_scopes_json: '["operator.read"]',
      approved_via: "owner",
      operator_label: null,
      created_at_ms: NOW,
      approved_at_ms: NOW,
    });
    const tokens = JSON.parse(String(row!.tokens_json)) as Record<string, { token: string }>;
    expect(Object.keys(tokens)).toEqual(["operator"]);
    expect(tokens.operator!.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(query(stateDir, "SELECT count(*) AS n FROM device_pairing_pending")).toEqual([{ n: 0 }]);
  });

  it("the owner's approval replaces an earlier trusted-cidr approval (approved_via 'owner'); created_at_ms is kept", async () => {
    const stateDir = openclawState({
      sql: `INSERT INTO device_pairing_paired (device_id, public_key, role, roles_json, approved_via, created_at_ms, approved_at_ms) VALUES ('dev-2', 'PK-2', 'node', '["node"]', 'trusted-cidr', 1, 2);
        INSERT INTO device_pairing_pending (request_id, device_id, public_key, role, roles_json, ts) VALUES ('r-1', 'dev-2', 'PK-2', 'node', '["node"]', ${NOW});`,
    });
    await approveDevice(ctxFor(stateDir), { id: "r-1" });
    expect(query(stateDir, "SELECT approved_via, created_at_ms FROM device_pairing_paired")).toEqual([
      { approved_via: "owner", created_at_ms: 1 },
    ]);
  });

  it("a repeated request refreshes the one pending request in place (refreshed_at_ms), keeping it alive while the device retries", async () => {
    const stateDir = openclawState();
    const ctx = ctxFor(stateDir);
    const first = await requestDevice(ctx, {
      deviceId: "d1",
      publicKey: "pk",
      role: "operator",
      scopes: ["operator.admin"],
      remoteIp: "10.0.0.1",
    });
    for (let i = 0; i < 3; i++) {
      ctx.advance(4 * 60_000);
      // A narrower request (operator.read is implied by operator.admin) is covered: refreshed, not replaced.
      const again = await requestDevice(ctx, {
        deviceId: "d1",
        publicKey: "pk",
        role: "operator",
        scopes: ["operator.read"],
        remoteIp: "10.0.0.2",
      });
      expect(again).toMatchObject({ created: false, request: { requestId: first.request.requestId } });
    }
    expect(
      query(
        stateDir,
        "SELECT request_id, ts, refreshed_at_ms, remote_ip, scopes_json, silent FROM device_pairing_pending",
      ),
    ).toEqual([
      {
        request_id: first.request.requestId,
        ts: NOW,
        refreshed_at_ms: NOW + 12 * 60_000,
        remote_ip: "10.0.0.2",
        scopes_json: '["operator.admin"]',
        silent: 0,
      },
    ]);
    expect(listDevices(ctx).pending).toHaveLength(1);
  });

  it("a request asking for more supersedes every pending request of the device with one merged request", async () => {
    const stateDir = openclawState({
      sql: `INSERT INTO device_pairing_pending (request_id, device_id, public_key, role, roles_json, scopes_json, silent, ts) VALUES
        ('old-1', 'd1', 'pk', 'node', '["node"]', '["node.camera"]', 1, ${NOW - 2000}),
        ('old-2', 'd1', 'pk', 'node', '["node"]', '["node.screen"]', 0, ${NOW - 1000}),
        ('other', 'd2', 'pk2', 'node', '["node"]', NULL, 0, ${NOW - 1000});`,
    });
    const ctx = ctxFor(stateDir);
    const result = await requestDevice(ctx, {
      deviceId: "d1",
      publicKey: "pk",
      scopes: ["node.location"],
      silent: true,
    });
    expect(result.created).toBe(true);
    expect(result.replaced?.sort()).toEqual(["old-1", "old-2"]);
    expect(
      query(
        stateDir,
        "SELECT device_id, role, roles_json, scopes_json, silent FROM device_pairing_pending ORDER BY device_id",
      ),
    ).toEqual([
      // The newest request's role stands; silent only if every request was.
      {
        device_id: "d1",
        role: "node",
        roles_json: '["node"]',
        scopes_json: '["node.screen","node.camera","node.location"]',
        silent: 0,
      },
      { device_id: "d2", role: "node", roles_json: '["node"]', scopes_json: null, silent: 0 },
    ]);
  });

  it("rotate, revoke and verify change only the device's tokens_json; reject deletes the request row", async () => {
    const stateDir = openclawState();
    const ctx = ctxFor(stateDir);
    const { request: pending } = await requestDevice(ctx, { deviceId: "d1", publicKey: "pk", role: "node" });
    await approveDevice(ctx, { id: pending.requestId });
    const rotated = await rotateDevice(ctx, { deviceId: "d1", role: "node" });
    expect(await verifyDevice(ctx, { deviceId: "d1", role: "node", token: rotated.token })).toEqual({ ok: true });
    await revokeDevice(ctx, { deviceId: "d1", role: "node" });
    const tokens = JSON.parse(
      String(query(stateDir, "SELECT tokens_json FROM device_pairing_paired")[0]!.tokens_json),
    ) as {
      node: Record<string, unknown>;
    };
    expect(tokens.node).toEqual({
      token: rotated.token,
      role: "node",
      scopes: [],
      createdAtMs: NOW,
      rotatedAtMs: NOW,
      revokedAtMs: NOW,
      lastUsedAtMs: NOW,
    });
    const again = await requestDevice(ctx, { deviceId: "d9", publicKey: "pk9" });
    await rejectDevice(ctx, { id: again.request.requestId });
    expect(query(stateDir, "SELECT count(*) AS n FROM device_pairing_pending")).toEqual([{ n: 0 }]);
  });
});

describe("legacy nodes on OpenClaw's SQLite state", () => {
  it("there are none to list or approve, and a node request is refused with one clear line", async () => {
    const stateDir = openclawState();
    track(stateDir);
    const ctx = ctxFor(stateDir);
    expect(listNodeRequests(ctx)).toEqual({ pending: [] });
    await expect(approveNode(ctx, { requestId: "r1" })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(requestNode(ctx, { nodeId: "n1" })).rejects.toMatchObject({
      code: "STORE_UNSUPPORTED",
      message: expect.stringContaining(
        'no legacy node pairing (its nodes pair as devices with the role node): use "moltbot devices"',
      ),
    });
  });
});
