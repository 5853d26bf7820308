import path from "node:path";
import { describe, expect, it } from "vitest";
import { createStoreContext } from "../../src/store/context.js";
import { approveDevice, listDevices, requestDevice } from "../../src/store/device-store.js";
import { listTree, readJsonFile, runJson, tempStateDir, verifiedLog } from "../helpers.js";

interface LogEntry {
  seq: number;
  action: string;
  deviceId?: string;
}

// Real processes racing on real files: proper-lockfile and the atomic rename are what is under
// test (the gateway's own device store, without a cross-process lock, kept 10 of 24 requests).
// Bounded: 24 processes at once, each with a 25 s kill timer, and the lock wait capped at 20 s.
const env = { MOLTBOT_LOCK_TIMEOUT_MS: "20000" };
const PROCESSES = 24;

interface RequestJson {
  created: boolean;
  request: { requestId: string; deviceId: string };
}

const devicesDir = (stateDir: string) => path.join(stateDir, "devices");
const readPending = (stateDir: string) =>
  readJsonFile<Record<string, { deviceId: string }>>(path.join(devicesDir(stateDir), "pending.json"));
const readPaired = (stateDir: string) =>
  readJsonFile<Record<string, { deviceId: string; tokens: Record<string, { token: string }> }>>(
    path.join(devicesDir(stateDir), "paired.json"),
  );

/** Only the two store files are left: no lock directory, no write-file-atomic temp file. */
const expectOnlyStoreFiles = (stateDir: string) =>
  expect(listTree(devicesDir(stateDir))).toEqual(["paired.json", "pending.json"]);

describe("device pairing under concurrent processes", () => {
  it(`${PROCESSES} simultaneous "devices request" for different devices keep all ${PROCESSES}`, async () => {
    const stateDir = tempStateDir();
    const deviceIds = Array.from({ length: PROCESSES }, (_, i) => `device-${i}`);
    const started = Date.now();
    const results = await Promise.all(
      deviceIds.map((deviceId) =>
        runJson<RequestJson>(
          ["devices", "request", "--device-id", deviceId, "--public-key", `pk-${deviceId}`, "--role", "node"],
          { stateDir, env },
        ),
      ),
    );
    const wallMs = Date.now() - started;
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    expect(results.every((result) => result.json.created)).toBe(true);

    const pending = readPending(stateDir);
    expect(
      Object.values(pending)
        .map((request) => request.deviceId)
        .sort(),
    ).toEqual([...deviceIds].sort());
    expect(Object.keys(pending).sort()).toEqual(results.map((result) => result.json.request.requestId).sort());
    expect(listTree(devicesDir(stateDir))).toEqual(["pending.json"]);
    console.info(`[concurrency] ${PROCESSES} devices request processes: ${wallMs} ms wall`);
  });

  it(`${PROCESSES} simultaneous "devices approve" pair all ${PROCESSES} and leave nothing pending`, async () => {
    const stateDir = tempStateDir();
    // Set up in-process (fast); the approvals are the race.
    const ctx = createStoreContext({ stateDir, env: {} });
    const requests: { requestId: string; deviceId: string }[] = [];
    for (let i = 0; i < PROCESSES; i++) {
      const { request } = await requestDevice(ctx, { deviceId: `device-${i}`, publicKey: `pk-${i}`, role: "node" });
      requests.push(request);
    }
    const started = Date.now();
    const results = await Promise.all(
      requests.map(({ requestId }) =>
        runJson<{ requestId: string; device: { deviceId: string } }>(["devices", "approve", requestId], {
          stateDir,
          env,
        }),
      ),
    );
    const wallMs = Date.now() - started;
    results.forEach((result, index) => {
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.json.device.deviceId).toBe(requests[index]!.deviceId);
    });

    const paired = readPaired(stateDir);
    expect(Object.keys(paired).sort()).toEqual(requests.map((request) => request.deviceId).sort());
    expect(new Set(Object.values(paired).map((device) => device.tokens.node!.token)).size).toBe(PROCESSES);
    expect(readPending(stateDir)).toEqual({});
    expect(listDevices(ctx).pending).toEqual([]);
    expectOnlyStoreFiles(stateDir);
    const entries = await verifiedLog<LogEntry>(stateDir);
    expect(entries.map((entry) => entry.action)).toEqual(Array(PROCESSES).fill("devices.approve"));
    expect(entries.map((entry) => entry.deviceId).sort()).toEqual(requests.map((request) => request.deviceId).sort());
    console.info(`[concurrency] ${PROCESSES} devices approve processes: ${wallMs} ms wall`);
  });

  it("approvals racing rotations and new requests: every change lands, no deadlock", async () => {
    const stateDir = tempStateDir();
    const ctx = createStoreContext({ stateDir, env: {} });
    const waiting: string[] = [];
    for (let i = 0; i < 8; i++) {
      const { request } = await requestDevice(ctx, { deviceId: `old-${i}`, publicKey: "k", role: "node" });
      await approveDevice(ctx, { id: request.requestId });
      waiting.push(
        (await requestDevice(ctx, { deviceId: `new-${i}`, publicKey: "k", role: "operator" })).request.requestId,
      );
    }
    const [approved, rotated, requested] = await Promise.all([
      Promise.all(waiting.map((requestId) => runJson(["devices", "approve", requestId], { stateDir, env }))),
      Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          runJson<{ token: string }>(["devices", "rotate", "--device", `old-${i}`, "--role", "node"], {
            stateDir,
            env,
          }),
        ),
      ),
      Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          runJson<RequestJson>(["devices", "request", "--device-id", `late-${i}`, "--public-key", "k"], {
            stateDir,
            env,
          }),
        ),
      ),
    ]);
    for (const result of [...approved, ...rotated, ...requested])
      expect(result.code, result.stdout + result.stderr).toBe(0);
    const paired = readPaired(stateDir);
    expect(Object.keys(paired)).toHaveLength(16);
    rotated.forEach((result, i) => expect(paired[`old-${i}`]!.tokens.node!.token).toBe(result.json.token));
    expect(
      Object.values(readPending(stateDir))
        .map((request) => request.deviceId)
        .sort(),
    ).toEqual(Array.from({ length: 8 }, (_, i) => `late-${i}`).sort());
    expectOnlyStoreFiles(stateDir);
    // 8 approvals in setup, then 8 approvals and 8 rotations in the race (requests are not decisions).
    const entries = await verifiedLog<LogEntry>(stateDir);
    expect(entries.filter((entry) => entry.action === "devices.approve")).toHaveLength(16);
    expect(entries.filter((entry) => entry.action === "devices.rotate")).toHaveLength(8);
    expect(entries).toHaveLength(24);
  });
});
