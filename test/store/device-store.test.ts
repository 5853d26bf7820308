import fs from "node:fs";
import path from "node:path";
import lockfile from "proper-lockfile";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createStoreContext, type StoreContext } from "../../src/store/context.js";
import {
  approveDevice,
  listDevices,
  rejectDevice,
  removeDeviceEverywhere,
  requestDevice,
  revokeDevice,
  rotateDevice,
  verifyDevice,
} from "../../src/store/device-store.js";
import { fileMode, listTree, readJsonFile, seededRandom, tempStateDir } from "../helpers.js";

// Record the order of atomic writes (the real writer still writes).
const spy = vi.hoisted(() => ({ writes: [] as string[] }));
vi.mock("../../src/store/json/files.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/store/json/files.js")>();
  return {
    ...real,
    writeFileAtomic: (file: string, text: string) => {
      spy.writes.push(`${path.basename(path.dirname(file))}/${path.basename(file)}`);
      real.writeFileAtomic(file, text);
    },
  };
});

const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const originalUmask = process.umask();
let clock = T0;

function context(stateDir: string, seed = 1): StoreContext {
  return createStoreContext({ stateDir, env: {}, now: () => clock, random: seededRandom(seed) });
}

async function errorOf(run: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await run();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error("expected an error");
}

beforeEach(() => {
  clock = T0;
  spy.writes.length = 0;
});
afterEach(() => {
  process.umask(originalUmask);
  delete process.env.MOLTBOT_LOCK_TIMEOUT_MS;
});

describe("device store on disk", () => {
  it("writes devices/ 0700 and pending.json/paired.json 0600 under umask 000, as 2-space JSON with a newline", async () => {
    process.umask(0o000);
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    const { request } = (await requestDevice(ctx, { deviceId: "phone", publicKey: "pk", role: "node" })) as {
      request: { requestId: string };
    };
    const pendingFile = path.join(stateDir, "devices", "pending.json");
    expect(fileMode(path.join(stateDir, "devices"))).toBe(0o700);
    expect(fileMode(pendingFile)).toBe(0o600);
    const text = fs.readFileSync(pendingFile, "utf8");
    expect(text).toBe(`${JSON.stringify(readJsonFile(pendingFile), null, 2)}\n`);
    expect(Object.keys(readJsonFile<object>(pendingFile))).toEqual([request.requestId]);

    await approveDevice(ctx, { id: request.requestId });
    const pairedFile = path.join(stateDir, "devices", "paired.json");
    expect(fileMode(pairedFile)).toBe(0o600);
    expect(readJsonFile(pendingFile)).toEqual({});
    // Only the store files are left: no locks, no temp files.
    expect(listTree(path.join(stateDir, "devices"))).toEqual(["paired.json", "pending.json"]);
  });

  it("approve writes paired.json before pending.json, so a crash in between never loses an approval", async () => {
    const ctx = context(tempStateDir());
    await requestDevice(ctx, { deviceId: "d", publicKey: "pk", role: "node" });
    spy.writes.length = 0;
    await approveDevice(ctx, { id: "d" });
    // Around them, the decision log's head: its journal first, then moved past the appended line.
    expect(spy.writes).toEqual([
      "moltbot/decisions.head.json",
      "devices/paired.json",
      "devices/pending.json",
      "moltbot/decisions.head.json",
    ]);
  });

  it("keeps fields it does not know, in both files and in tokens", async () => {
    const stateDir = tempStateDir();
    const dir = path.join(stateDir, "devices");
    fs.mkdirSync(dir, { recursive: true });
    const other = { requestId: "r-x", deviceId: "x", publicKey: "k", isRepair: false, ts: T0, future: [1, 2] };
    fs.writeFileSync(path.join(dir, "pending.json"), JSON.stringify({ "r-x": other }));
    const device = {
      deviceId: "d",
      publicKey: "pk",
      roles: ["node"],
      tokens: { node: { token: "t".repeat(43), role: "node", scopes: [], createdAtMs: 1, newTokenField: "k" } },
      createdAtMs: 1,
      approvedAtMs: 2,
      newDeviceField: { a: 1 },
    };
    fs.writeFileSync(path.join(dir, "paired.json"), JSON.stringify({ d: device }));
    const ctx = context(stateDir);
    await rotateDevice(ctx, { deviceId: "d", role: "node" });
    await requestDevice(ctx, { deviceId: "y", publicKey: "k" });
    const paired = readJsonFile<Record<string, typeof device>>(path.join(dir, "paired.json"));
    expect(paired.d!.newDeviceField).toEqual({ a: 1 });
    expect(paired.d!.tokens.node.newTokenField).toBe("k");
    expect(readJsonFile<Record<string, unknown>>(path.join(dir, "pending.json"))["r-x"]).toEqual(other);
  });

  it("reads create nothing; a miss fails before locking and creates nothing", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    expect(listDevices(ctx)).toEqual({ pending: [], paired: [] });
    expect(await verifyDevice(ctx, { deviceId: "d", role: "node", token: "x" })).toEqual({
      ok: false,
      reason: "device-not-paired",
    });
    for (const miss of [
      () => approveDevice(ctx, { id: "nope" }),
      () => rejectDevice(ctx, { id: "nope" }),
      () => rotateDevice(ctx, { deviceId: "d", role: "node" }),
      () => revokeDevice(ctx, { deviceId: "d", role: "node" }),
      () => removeDeviceEverywhere(ctx, { deviceId: "d" }),
    ]) {
      expect((await errorOf(miss)).code).toBe("NOT_FOUND");
    }
    const bad = await errorOf(() => requestDevice(ctx, { deviceId: "d", publicKey: "k", displayName: "a\u001b[2Jb" }));
    expect(bad.code).toBe("USAGE");
    expect(fs.existsSync(stateDir)).toBe(false);
  });

  it("a corrupt or wrongly shaped file stops every change and is never overwritten", async () => {
    const stateDir = tempStateDir();
    const dir = path.join(stateDir, "devices");
    fs.mkdirSync(dir, { recursive: true });
    const pendingFile = path.join(dir, "pending.json");
    const pairedFile = path.join(dir, "paired.json");
    for (const [file, bytes] of [
      [pairedFile, "{ not json"],
      [pairedFile, '{"d":{"deviceId":"d"}}'],
      [pairedFile, "[]"],
    ] as const) {
      const live = { requestId: "r1", deviceId: "d", publicKey: "k", role: "node", isRepair: false, ts: T0 };
      fs.writeFileSync(pendingFile, JSON.stringify({ r1: live }));
      fs.writeFileSync(file, bytes);
      const ctx = context(stateDir);
      // isRepair cannot be known either: a new request stops too.
      expect((await errorOf(() => requestDevice(ctx, { deviceId: "e", publicKey: "k" }))).code).toBe("STORE_CORRUPT");
      const error = await errorOf(() => approveDevice(ctx, { id: "r1" }));
      expect(error.code).toBe("STORE_CORRUPT");
      expect(error.message).toContain(pairedFile);
      expect(error.message).toContain("moltbot doctor");
      expect(fs.readFileSync(file, "utf8")).toBe(bytes);
      expect(fs.readFileSync(pendingFile, "utf8")).toBe(JSON.stringify({ r1: live }));
      expect((await errorOf(() => listDevices(ctx))).code).toBe("STORE_CORRUPT");
      expect((await errorOf(() => rotateDevice(ctx, { deviceId: "d", role: "node" }))).code).toBe("STORE_CORRUPT");
    }
    fs.writeFileSync(pendingFile, "null");
    expect((await errorOf(() => requestDevice(context(stateDir), { deviceId: "z", publicKey: "k" }))).code).toBe(
      "STORE_CORRUPT",
    );
    expect(fs.readFileSync(pendingFile, "utf8")).toBe("null");
  });

  it("approve locks pending.json then paired.json: a busy paired lock is a clear STORE_LOCKED, nothing written", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    await requestDevice(ctx, { deviceId: "d", publicKey: "k", role: "node" });
    const pendingBefore = fs.readFileSync(path.join(stateDir, "devices", "pending.json"), "utf8");
    const pairedFile = path.join(stateDir, "devices", "paired.json");
    const release = await lockfile.lock(pairedFile, { realpath: false });
    try {
      const error = await errorOf(() =>
        approveDevice(createStoreContext({ stateDir, env: { MOLTBOT_LOCK_TIMEOUT_MS: "200" }, now: () => clock }), {
          id: "d",
        }),
      );
      expect(error.code).toBe("STORE_LOCKED");
      expect(error.message).toContain(`${pairedFile}.lock`);
    } finally {
      await release();
    }
    expect(fs.readFileSync(path.join(stateDir, "devices", "pending.json"), "utf8")).toBe(pendingBefore);
    expect(fs.existsSync(pairedFile)).toBe(false);
    // The pending lock was released on the way out.
    expect(fs.existsSync(path.join(stateDir, "devices", "pending.json.lock"))).toBe(false);
  });
});

describe("device store operations", () => {
  it("request, approve, verify, rotate, revoke and remove round-trip through the files", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    const asked = await requestDevice(ctx, {
      deviceId: "mac",
      publicKey: "pk",
      role: "operator",
      scopes: ["operator.read"],
    });
    expect(asked.created).toBe(true);
    const repeat = { deviceId: "mac", publicKey: "pk", role: "operator", scopes: ["operator.read"] };
    expect((await requestDevice(ctx, repeat)).created).toBe(false);
    clock += 1000;
    const approved = await approveDevice(ctx, { id: asked.request.requestId });
    expect(approved.device.tokens).toEqual([{ role: "operator", scopes: ["operator.read"], createdAtMs: T0 + 1000 }]);
    const secret = readJsonFile<Record<string, { tokens: Record<string, { token: string }> }>>(
      path.join(stateDir, "devices", "paired.json"),
    ).mac!.tokens.operator!.token;

    clock += 1000;
    expect(await verifyDevice(ctx, { deviceId: "mac", role: "operator", token: secret })).toEqual({ ok: true });
    expect(listDevices(ctx).paired[0]!.tokens![0]!.lastUsedAtMs).toBe(T0 + 2000);
    expect(
      await verifyDevice(ctx, { deviceId: "mac", role: "operator", token: secret, scopes: ["operator.admin"] }),
    ).toEqual({
      ok: false,
      reason: "scope-mismatch",
    });

    const rotated = await rotateDevice(ctx, { deviceId: "mac", role: "operator" });
    expect(rotated.token).not.toBe(secret);
    expect(await verifyDevice(ctx, { deviceId: "mac", role: "operator", token: secret })).toEqual({
      ok: false,
      reason: "token-mismatch",
    });
    expect(await verifyDevice(ctx, { deviceId: "mac", role: "operator", token: rotated.token })).toEqual({ ok: true });

    await revokeDevice(ctx, { deviceId: "mac", role: "operator" });
    expect(await verifyDevice(ctx, { deviceId: "mac", role: "operator", token: rotated.token })).toEqual({
      ok: false,
      reason: "token-revoked",
    });

    await requestDevice(ctx, { deviceId: "mac", publicKey: "pk2", role: "node" });
    expect(listDevices(ctx).pending[0]!.isRepair).toBe(true);
    await removeDeviceEverywhere(ctx, { deviceId: "mac" });
    expect(listDevices(ctx)).toEqual({ pending: [], paired: [] });
  });

  it("reject removes the request and leaves the pairing as it was", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    await requestDevice(ctx, { deviceId: "d", publicKey: "k", role: "node" });
    await approveDevice(ctx, { id: "d" });
    const pairedBefore = fs.readFileSync(path.join(stateDir, "devices", "paired.json"), "utf8");
    const again = await requestDevice(ctx, { deviceId: "d", publicKey: "k", role: "operator" });
    expect(await rejectDevice(ctx, { id: again.request.requestId })).toEqual({
      requestId: again.request.requestId,
      deviceId: "d",
    });
    expect(fs.readFileSync(path.join(stateDir, "devices", "paired.json"), "utf8")).toBe(pairedBefore);
    expect(listDevices(ctx).pending).toEqual([]);
  });
});
