import { describe, expect, it } from "vitest";
import type { StoreBackend } from "../../src/store/backend.js";
import { createStoreContext, type StoreContext } from "../../src/store/context.js";
import { approveDevice, listDevices, requestDevice, revokeDevice } from "../../src/store/device-store.js";
import {
  approveDmCode,
  listAllDmRequests,
  readDmAllowlist,
  rejectDmCode,
  requestDmPairing,
  revokeDmSender,
} from "../../src/store/dm-store.js";
import { seededRandom, tempStateDir } from "../helpers.js";
import { memoryBackend } from "./memory-backend.js";

/*
 * The backend seam (src/store/backend.ts) proved from the other side: the same operations, clock and
 * randomness over the JSON files and over a backend in memory give the same answers. Store
 * operations, core and results know nothing of the backend; a second backend implements five methods.
 * (The SQLite backend, test/sqlite/, is the seam's real second user.)
 */

const T0 = Date.parse("2026-12-04T10:00:00Z");

async function scenario(backend: StoreBackend | undefined) {
  let now = T0;
  const ctx: StoreContext = createStoreContext({
    stateDir: tempStateDir(),
    env: {},
    now: () => now,
    random: seededRandom(7),
    ...(backend ? { backend } : {}),
  });
  const answers: unknown[] = [];
  const a = await requestDmPairing(ctx, { channel: "telegram", senderId: "111", meta: { username: "ann" } });
  const b = await requestDmPairing(ctx, { channel: "telegram", senderId: "222", account: "work" });
  const c = await requestDmPairing(ctx, { channel: "slack", senderId: "U3" });
  answers.push(a, b, c, listAllDmRequests(ctx));
  now += 1_000;
  answers.push(await requestDmPairing(ctx, { channel: "telegram", senderId: "111" }));
  answers.push(await approveDmCode(ctx, { channel: "telegram", code: a.code! }));
  answers.push(await approveDmCode(ctx, { channel: "telegram", code: b.code!.toLowerCase() }));
  answers.push(await rejectDmCode(ctx, { channel: "slack", code: c.code! }));
  answers.push(await requestDmPairing(ctx, { channel: "telegram", senderId: "tg:111" }));
  answers.push(readDmAllowlist(ctx, "telegram"), readDmAllowlist(ctx, "telegram", { account: "work" }));
  answers.push(await revokeDmSender(ctx, { channel: "telegram", senderId: "111" }));
  const device = await requestDevice(ctx, { deviceId: "d1", publicKey: "pk1", role: "operator", scopes: ["x"] });
  answers.push(device, await approveDevice(ctx, { id: device.request.requestId }));
  answers.push(await revokeDevice(ctx, { deviceId: "d1", role: "operator" }), listDevices(ctx));
  answers.push(listAllDmRequests(ctx));
  return answers;
}

describe("the backend seam", () => {
  it("DM and device operations answer the same over the JSON files and over a backend in memory", async () => {
    const seen: string[] = [];
    const overJson = await scenario(undefined);
    const overMemory = await scenario(memoryBackend(seen));
    expect(overMemory).toEqual(overJson);
    // The memory backend really served the gateway's records (moltbot's own stay JSON files).
    expect(new Set(seen)).toEqual(new Set(["dm-pending", "dm-allow", "device-pending", "device-paired"]));
    expect(overJson[overJson.length - 1]).toEqual({ channels: [], errors: [] });
  });
});
