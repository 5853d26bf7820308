import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { publicKeyFingerprint } from "../../src/core/fingerprint.js";
import type { StoreBackend } from "../../src/store/backend.js";
import { createStoreContext } from "../../src/store/context.js";
import { approveDevice, listDevices, requestDevice } from "../../src/store/device-store.js";
import { approveDmCode, listDmRequests, readDmAllowlist, requestDmPairing } from "../../src/store/dm-store.js";
import { createJsonBackend } from "../../src/store/json/backend.js";
import { resolveStatePaths } from "../../src/store/paths.js";
import { seededRandom, tempStateDir } from "../helpers.js";

/*
 * Guarded approvals are checked INSIDE the lock: the request is replaced after the unlocked look
 * (which passes) and before the locks are taken, by a backend that runs `between` when the locked
 * phase begins. Only the decision made under the lock can see the replacement.
 */

function contextWith(stateDir: string, between: () => void) {
  const json = createJsonBackend(resolveStatePaths({ stateDir, env: {} }));
  let armed = true;
  const backend: StoreBackend = {
    ...json,
    begin(deadline) {
      if (armed) {
        armed = false;
        between();
      }
      return json.begin(deadline);
    },
  };
  return createStoreContext({ stateDir, env: {}, backend, random: seededRandom(5) });
}

/** The device asks again with another key, and the gateway supersedes its request (written as the gateway writes). */
function replaceDeviceRequest(stateDir: string): void {
  const file = path.join(stateDir, "devices", "pending.json");
  const pending = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, { requestId: string }>;
  const old = Object.values(pending)[0]!;
  const replaced = { ...old, requestId: "5d1d1a3e-0000-4000-8000-000000000001", publicKey: "key-of-someone-else" };
  fs.writeFileSync(file, JSON.stringify({ [replaced.requestId]: replaced }));
}

describe("a request replaced between the look and the approval", () => {
  it("devices approve --expect-fingerprint: the device asked again with another key; refused, nothing paired", async () => {
    const stateDir = tempStateDir();
    const plain = createStoreContext({ stateDir, env: {}, random: seededRandom(1) });
    await requestDevice(plain, { deviceId: "phone", publicKey: "key-seen-by-operator", role: "node" });
    const seen = listDevices(plain).pending[0]!.fingerprint;
    const ctx = contextWith(stateDir, () => replaceDeviceRequest(stateDir));
    const error = await approveDevice(ctx, { id: "phone", expectFingerprint: seen }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: "REQUEST_CHANGED",
      message: expect.stringContaining(
        `presents a key with fingerprint ${publicKeyFingerprint("key-of-someone-else")}, not ${seen}`,
      ),
    });
    expect(listDevices(plain).paired).toEqual([]);
    expect(fs.existsSync(path.join(stateDir, "moltbot", "decisions.jsonl"))).toBe(false);
  });

  it("without the guard, the same race approves the key the operator never saw (why the guard exists)", async () => {
    const stateDir = tempStateDir();
    const plain = createStoreContext({ stateDir, env: {}, random: seededRandom(1) });
    await requestDevice(plain, { deviceId: "phone", publicKey: "key-seen-by-operator", role: "node" });
    const ctx = contextWith(stateDir, () => replaceDeviceRequest(stateDir));
    const approved = await approveDevice(ctx, { id: "phone" });
    expect(approved.device.publicKey).toBe("key-of-someone-else");
  });

  it("pairing approve --expect-id: the code now belongs to another sender; refused, nobody allowed", async () => {
    const stateDir = tempStateDir();
    const plain = createStoreContext({ stateDir, env: {} });
    const { code } = await requestDmPairing(plain, { channel: "telegram", senderId: "111" });
    const file = path.join(stateDir, "credentials", "telegram-pairing.json");
    const ctx = contextWith(stateDir, () => {
      // The request went and the same code was drawn again for someone else (a hand edit stands in).
      const state = JSON.parse(fs.readFileSync(file, "utf8")) as { requests: { id: string }[] };
      state.requests[0]!.id = "666";
      fs.writeFileSync(file, JSON.stringify(state));
    });
    const error = await approveDmCode(ctx, { channel: "telegram", code: code!, expectId: "tg:111" }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({
      code: "REQUEST_CHANGED",
      message: expect.stringContaining(`code ${code} now belongs to sender 666, not tg:111`),
    });
    expect(readDmAllowlist(plain, "telegram").allowFrom).toEqual([]);
    expect(listDmRequests(plain, "telegram").requests.map((request) => request.id)).toEqual(["666"]);
  });

  it("a matching guard approves as usual (any spelling of the sender; any form of the fingerprint)", async () => {
    const stateDir = tempStateDir();
    const ctx = createStoreContext({ stateDir, env: {}, random: seededRandom(2) });
    const { code } = await requestDmPairing(ctx, { channel: "telegram", senderId: "111" });
    await expect(approveDmCode(ctx, { channel: "telegram", code: code!, expectId: "tg:111" })).resolves.toMatchObject({
      id: "111",
    });
    await requestDevice(ctx, { deviceId: "phone", publicKey: "pk", role: "node" });
    const typed = publicKeyFingerprint("pk").toUpperCase().replace(/-/g, " ");
    await expect(approveDevice(ctx, { id: "phone", expectFingerprint: typed })).resolves.toMatchObject({
      device: { deviceId: "phone", fingerprint: publicKeyFingerprint("pk") },
    });
  });
});
