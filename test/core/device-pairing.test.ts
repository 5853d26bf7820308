import { publicKeyFingerprint } from "../../src/core/fingerprint.js";
import { describe, expect, it } from "vitest";
import {
  DEVICE_REQUEST_TTL_MS,
  approveDeviceRequest,
  listDevicePairing,
  rejectDeviceRequest,
  removeDevice,
  requestDevicePairing,
  revokeDeviceToken,
  rotateDeviceToken,
  verifyDeviceToken,
  type DevicePairedState,
  type DevicePendingState,
  type DeviceRequestInput,
} from "../../src/core/device-pairing.js";
import { seededRandom } from "../helpers.js";

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const usageError = expect.objectContaining({ code: "USAGE" });
const notFound = expect.objectContaining({ code: "NOT_FOUND" });

function input(deviceId: string, extra: Partial<DeviceRequestInput> = {}): DeviceRequestInput {
  return { deviceId, publicKey: `pk-${deviceId}`, role: "node", ...extra };
}

/** Request then approve, returning the state after approval. */
function pairDevice(
  state: { pending: DevicePendingState; paired: DevicePairedState },
  request: DeviceRequestInput,
  now: number,
  random = seededRandom(1),
) {
  const asked = requestDevicePairing(state, request, now, random);
  const pending = asked.pending ?? state.pending;
  return approveDeviceRequest({ pending, paired: state.paired }, { id: asked.result.request.requestId }, now, random);
}

describe("device request", () => {
  it("creates a request keyed by a UUID v4 with ts, roles and isRepair false", () => {
    const out = requestDevicePairing(
      { pending: {}, paired: {} },
      input("phone-1", {
        displayName: " Ada's phone ",
        platform: "ios",
        scopes: [" operator.read", "operator.read", "a"],
        remoteIp: "10.0.0.2",
      }),
      T0,
      seededRandom(1),
    );
    const request = out.result.request;
    expect(out.result.created).toBe(true);
    expect(request.requestId).toMatch(UUID_V4);
    expect(request).toEqual({
      requestId: request.requestId,
      deviceId: "phone-1",
      publicKey: "pk-phone-1",
      fingerprint: publicKeyFingerprint("pk-phone-1"),
      displayName: "Ada's phone",
      platform: "ios",
      role: "node",
      roles: ["node"],
      scopes: ["operator.read", "a"],
      remoteIp: "10.0.0.2",
      isRepair: false,
      ts: T0,
    });
    // The fingerprint is shown, never stored: it is computed from the key on every read.
    const { fingerprint: _shown, ...stored } = request;
    expect(out.pending).toEqual({ [request.requestId]: stored });
  });

  it("the same device asking again while live gets its request back, up to exactly 5 minutes", () => {
    const first = requestDevicePairing({ pending: {}, paired: {} }, input("d"), T0, seededRandom(1));
    const pending = first.pending!;
    const again = requestDevicePairing(
      { pending, paired: {} },
      input("d"),
      T0 + DEVICE_REQUEST_TTL_MS,
      seededRandom(2),
    );
    expect(again.result).toEqual({ created: false, request: first.result.request });
    expect(again.pending).toBeUndefined();

    const later = requestDevicePairing(
      { pending, paired: {} },
      input("d"),
      T0 + DEVICE_REQUEST_TTL_MS + 1,
      seededRandom(2),
    );
    expect(later.result.created).toBe(true);
    expect(later.result.request.requestId).not.toBe(first.result.request.requestId);
    // The expired request is dropped on this write.
    expect(Object.keys(later.pending!)).toEqual([later.result.request.requestId]);
  });

  it.each<[string, Partial<DeviceRequestInput>]>([
    ["a different public key", { publicKey: "other-key" }],
    ["a different role", { role: "operator" }],
    ["a scope it did not ask for before", { scopes: ["operator.admin"] }],
  ])("the same device asking with %s replaces its request: the operator never approves a stale one", (_, change) => {
    const first = requestDevicePairing({ pending: {}, paired: {} }, input("d"), T0, seededRandom(1));
    const again = requestDevicePairing(
      { pending: first.pending!, paired: {} },
      input("d", change),
      T0 + 1000,
      seededRandom(2),
    );
    expect(again.result.created).toBe(true);
    expect(again.result.replaced).toEqual([first.result.request.requestId]);
    expect(Object.keys(again.pending!)).toEqual([again.result.request.requestId]);
    expect(again.result.request).toMatchObject({
      publicKey: change.publicKey ?? first.result.request.publicKey,
      ts: T0 + 1000,
    });
    // Roles and scopes of what it asked before are kept (OpenClaw's rule): nothing it asked for is lost.
    for (const role of first.result.request.roles ?? []) expect(again.result.request.roles).toContain(role);
  });

  it("asking again with the same key and role and fewer scopes keeps its request; with refresh its life restarts", () => {
    const first = requestDevicePairing({ pending: {}, paired: {} }, input("d"), T0, seededRandom(1));
    const subset = input("d", { scopes: [] });
    const kept = requestDevicePairing({ pending: first.pending!, paired: {} }, subset, T0 + 1000, seededRandom(2));
    expect(kept.result).toEqual({ created: false, request: first.result.request });
    const refreshed = requestDevicePairing(
      { pending: first.pending!, paired: {} },
      subset,
      T0 + 4 * 60_000,
      seededRandom(2),
      {
        refresh: true,
      },
    );
    expect(refreshed.result.request.refreshedAtMs).toBe(T0 + 4 * 60_000);
    // Alive 5 minutes after the refresh, not after ts.
    const approved = approveDeviceRequest(
      { pending: refreshed.pending!, paired: {} },
      { id: "d" },
      T0 + 8 * 60_000,
      seededRandom(3),
    );
    expect(approved.result.requestId).toBe(first.result.request.requestId);
  });

  it.each<[string, Partial<DeviceRequestInput>, Partial<DeviceRequestInput>, boolean]>([
    [
      "the same roles and scopes, in another order",
      { scopes: ["node.a", "node.b"] },
      { scopes: ["node.b", "node.a"] },
      true,
    ],
    ["fewer scopes of the role", { scopes: ["node.a", "node.b"] }, { scopes: ["node.a"] }, true],
    ["a scope outside the role's prefix, asked before", { scopes: ["a"] }, { scopes: ["a"] }, true],
    ["fewer scopes, one outside the role's prefix", { scopes: ["a", "node.b"] }, { scopes: ["a"] }, false],
    [
      "operator.read after operator.admin (implied)",
      { role: "operator", scopes: ["operator.admin"] },
      { role: "operator", scopes: ["operator.read"] },
      true,
    ],
    [
      "operator.sessions.read after operator.write (implied)",
      { role: "operator", scopes: ["operator.write"] },
      { role: "operator", scopes: ["operator.sessions.read"] },
      true,
    ],
    [
      "operator.admin after operator.read (not implied)",
      { role: "operator", scopes: ["operator.read"] },
      { role: "operator", scopes: ["operator.admin"] },
      false,
    ],
  ])("a repeat is OpenClaw's rule (same, or covered by what was asked): %s → repeat %s", (_, before, after, repeat) => {
    const first = requestDevicePairing({ pending: {}, paired: {} }, input("d", before), T0, seededRandom(1));
    const again = requestDevicePairing(
      { pending: first.pending!, paired: {} },
      input("d", after),
      T0 + 1,
      seededRandom(2),
    );
    expect(again.result.created).toBe(!repeat);
  });

  it("a request with a browser origin (OpenClaw's browser clients) is never repeated by a request without one", () => {
    const pending: DevicePendingState = {
      r1: {
        requestId: "r1",
        deviceId: "d",
        publicKey: "pk-d",
        role: "node",
        roles: ["node"],
        browserOrigin: "https://x",
        ts: T0,
      },
    };
    expect(requestDevicePairing({ pending, paired: {} }, input("d"), T0 + 1, seededRandom(2)).result.created).toBe(
      true,
    );
  });

  it("with two pending requests of the device, a repeat of either still replaces both (exactly one may be refreshed)", () => {
    const pending: DevicePendingState = {
      r1: { requestId: "r1", deviceId: "d", publicKey: "pk-d", role: "node", roles: ["node"], ts: T0 },
      r2: { requestId: "r2", deviceId: "d", publicKey: "pk-d", role: "node", roles: ["node"], ts: T0 + 1 },
    };
    const out = requestDevicePairing({ pending, paired: {} }, input("d"), T0 + 2, seededRandom(2), { refresh: true });
    expect(out.result.created).toBe(true);
    expect(out.result.replaced).toEqual(["r2", "r1"]);
    expect(Object.keys(out.pending!)).toEqual([out.result.request.requestId]);
  });

  it("refresh updates what the device says about itself; silent only if both were; a repair once paired", () => {
    const first = requestDevicePairing(
      { pending: {}, paired: {} },
      input("d", { displayName: "Old", platform: "ios", remoteIp: "10.0.0.1", silent: true }),
      T0,
      seededRandom(1),
    );
    const paired = pairDevice({ pending: {}, paired: {} }, input("d"), T0).paired;
    const out = requestDevicePairing(
      { pending: first.pending!, paired },
      input("d", { displayName: "New", remoteIp: "10.0.0.2" }),
      T0 + 1000,
      seededRandom(2),
      { refresh: true },
    );
    expect(out.pending![first.result.request.requestId]).toEqual({
      ...first.pending![first.result.request.requestId],
      displayName: "New",
      platform: "ios",
      remoteIp: "10.0.0.2",
      silent: false,
      isRepair: true,
      ts: T0,
      refreshedAtMs: T0 + 1000,
    });
  });

  it("a replacement keeps the newest request's role when none is given, and is silent only if every request was", () => {
    const pending: DevicePendingState = {
      r1: { requestId: "r1", deviceId: "d", publicKey: "pk-d", role: "node", roles: ["node"], silent: false, ts: T0 },
    };
    const out = requestDevicePairing(
      { pending, paired: {} },
      { deviceId: "d", publicKey: "pk-d", scopes: ["node.x"], silent: true },
      T0 + 1,
      seededRandom(2),
    );
    expect(out.result.request).toMatchObject({ role: "node", roles: ["node"], scopes: ["node.x"], silent: false });
  });

  it("a request whose device is paired with another key says so (publicKeyChanged)", () => {
    const paired = pairDevice({ pending: {}, paired: {} }, input("d"), T0).paired;
    const out = requestDevicePairing(
      { pending: {}, paired },
      input("d", { publicKey: "new-key" }),
      T0 + 1000,
      seededRandom(3),
    );
    expect(out.result.request).toMatchObject({ isRepair: true, publicKeyChanged: true });
  });

  it("isRepair is true for an already paired device", () => {
    const paired = pairDevice({ pending: {}, paired: {} }, input("d"), T0).paired;
    const out = requestDevicePairing({ pending: {}, paired }, input("d"), T0 + 1000, seededRandom(3));
    expect(out.result.request.isRepair).toBe(true);
  });

  it("keeps unknown fields of other requests and needs no role", () => {
    const other = { requestId: "r-other", deviceId: "x", publicKey: "k", isRepair: false, ts: T0, future: { a: 1 } };
    const out = requestDevicePairing(
      { pending: { "r-other": other }, paired: {} },
      { deviceId: "d", publicKey: "k" },
      T0,
      seededRandom(1),
    );
    expect(out.pending!["r-other"]).toEqual(other);
    expect(out.result.request.role).toBeUndefined();
    expect(out.result.request.roles).toBeUndefined();
  });

  it("refuses empty, over-long, control-character and prototype ids, bad keys, roles and scopes", () => {
    const state = { pending: {}, paired: {} };
    const bad: DeviceRequestInput[] = [
      input(""),
      input("   "),
      input("x".repeat(257)),
      input("dev\u001b[2Jice"),
      input("dev\u0085"),
      input("__proto__"),
      { deviceId: "d", publicKey: "" },
      { deviceId: "d", publicKey: "has space" },
      { deviceId: "d", publicKey: "k".repeat(4097) },
      input("d", { role: "no spaces" }),
      input("d", { role: "" }),
      input("d", { scopes: ["ok", "bad scope"] }),
      input("d", { scopes: ["x\u0007"] }),
      input("d", { scopes: Array.from({ length: 65 }, (_, i) => `s${i}`) }),
      input("d", { displayName: "evil\u001b]0;title\u0007" }),
      input("d", { displayName: "n".repeat(257) }),
    ];
    for (const request of bad) {
      expect(
        () => requestDevicePairing(state, request, T0, seededRandom(1)),
        JSON.stringify(request).slice(0, 80),
      ).toThrowError(usageError);
    }
    expect(requestDevicePairing(state, input("x".repeat(256)), T0, seededRandom(1)).result.created).toBe(true);
  });
});

describe("device approve", () => {
  it("pairs a new device with a token for the requested role (43 chars, sorted scopes) and no secret in the result", () => {
    const asked = requestDevicePairing(
      { pending: {}, paired: {} },
      input("d", { scopes: ["b", " a", "b"] }),
      T0,
      seededRandom(1),
    );
    const requestId = asked.result.request.requestId;
    const out = approveDeviceRequest(
      { pending: asked.pending!, paired: {} },
      { id: requestId },
      T0 + 500,
      seededRandom(9),
    );
    expect(out.pending).toEqual({});
    const device = out.paired.d!;
    expect(device).toMatchObject({
      deviceId: "d",
      publicKey: "pk-d",
      role: "node",
      roles: ["node"],
      scopes: ["b", "a"],
      createdAtMs: T0 + 500,
      approvedAtMs: T0 + 500,
    });
    const token = device.tokens!.node!;
    expect(token.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(token).toEqual({ token: token.token, role: "node", scopes: ["a", "b"], createdAtMs: T0 + 500 });
    expect(out.result).toEqual({
      requestId,
      device: {
        ...device,
        fingerprint: publicKeyFingerprint(device.publicKey),
        tokens: [{ role: "node", scopes: ["a", "b"], createdAtMs: T0 + 500 }],
      },
      issuedRole: "node",
    });
    expect(JSON.stringify(out.result)).not.toContain(token.token);
  });

  it("accepts the device id instead of the request id", () => {
    const asked = requestDevicePairing({ pending: {}, paired: {} }, input("my-mac"), T0, seededRandom(1));
    const out = approveDeviceRequest({ pending: asked.pending!, paired: {} }, { id: "my-mac" }, T0, seededRandom(2));
    expect(out.result.requestId).toBe(asked.result.request.requestId);
    expect(Object.keys(out.paired)).toEqual(["my-mac"]);
  });

  it("a request exactly 5 minutes old can be approved; 1 ms later it is gone", () => {
    const asked = requestDevicePairing({ pending: {}, paired: {} }, input("d"), T0, seededRandom(1));
    const id = asked.result.request.requestId;
    expect(
      approveDeviceRequest({ pending: asked.pending!, paired: {} }, { id }, T0 + DEVICE_REQUEST_TTL_MS, seededRandom(2))
        .paired.d,
    ).toBeDefined();
    expect(() =>
      approveDeviceRequest(
        { pending: asked.pending!, paired: {} },
        { id },
        T0 + DEVICE_REQUEST_TTL_MS + 1,
        seededRandom(2),
      ),
    ).toThrowError(notFound);
    expect(() =>
      approveDeviceRequest({ pending: asked.pending!, paired: {} }, { id: "nope" }, T0, seededRandom(2)),
    ).toThrowError(notFound);
  });

  it("a repair merges roles and scopes in order, keeps createdAtMs and rotates the role's token", () => {
    const first = pairDevice({ pending: {}, paired: {} }, input("d", { scopes: ["s1", "s2"] }), T0, seededRandom(1));
    const paired: DevicePairedState = { d: { ...first.paired.d!, extra: "kept", displayName: "Old name" } };
    const firstNodeToken = paired.d!.tokens!.node!;
    paired.d!.tokens!.node = { ...firstNodeToken, revokedAtMs: T0 + 10, lastUsedAtMs: T0 + 5 };

    const asOperator = pairDevice(
      { pending: {}, paired },
      input("d", { role: "operator", scopes: ["s3", "s1"] }),
      T0 + 60_000,
      seededRandom(2),
    );
    const device = asOperator.paired.d!;
    expect(device.roles).toEqual(["node", "operator"]);
    expect(device.role).toBe("operator");
    expect(device.scopes).toEqual(["s1", "s2", "s3"]);
    expect(device.createdAtMs).toBe(T0);
    expect(device.approvedAtMs).toBe(T0 + 60_000);
    expect(device.extra).toBe("kept");
    expect(device.displayName).toBe("Old name");
    expect(device.tokens!.node).toEqual(paired.d!.tokens!.node);
    expect(device.tokens!.operator).toMatchObject({ role: "operator", scopes: ["s1", "s3"], createdAtMs: T0 + 60_000 });
    expect(device.tokens!.operator!.rotatedAtMs).toBeUndefined();

    const again = pairDevice({ pending: {}, paired: asOperator.paired }, input("d"), T0 + 120_000, seededRandom(3));
    const nodeToken = again.paired.d!.tokens!.node!;
    expect(nodeToken.token).not.toBe(firstNodeToken.token);
    expect(nodeToken.createdAtMs).toBe(T0);
    expect(nodeToken.rotatedAtMs).toBe(T0 + 120_000);
    expect(nodeToken.revokedAtMs).toBeUndefined();
    expect(again.paired.d!.roles).toEqual(["node", "operator"]);
  });

  it.each<[string, string | undefined, string]>([
    ["a new device", undefined, "owner"],
    ["an earlier trusted-cidr approval", "trusted-cidr", "owner"],
    ["an earlier bootstrap approval", "bootstrap", "owner"],
  ])("approvedVia 'owner' (the SQLite generation's rule) over %s records %s", (_, before, after) => {
    const paired: DevicePairedState =
      before === undefined
        ? {}
        : {
            d: {
              deviceId: "d",
              publicKey: "pk-d",
              approvedVia: before,
              approvedScopes: ["node.a"],
              scopes: ["x"],
              createdAtMs: 1,
              approvedAtMs: 2,
            },
          };
    const asked = requestDevicePairing(
      { pending: {}, paired },
      input("d", { scopes: ["node.b"] }),
      T0,
      seededRandom(1),
    );
    const out = approveDeviceRequest({ pending: asked.pending!, paired }, { id: "d" }, T0, seededRandom(2), {
      approvedVia: "owner",
    });
    expect(out.paired.d).toMatchObject({ approvedVia: after });
    // The approved baseline is approvedScopes when there is one, else the device's scopes.
    const scopes = before === undefined ? ["node.b"] : ["node.a", "node.b"];
    expect(out.paired.d).toMatchObject({ scopes, approvedScopes: scopes });
  });

  it("without approvedVia (the JSON generations) nothing about the approval's kind is written", () => {
    const out = pairDevice({ pending: {}, paired: {} }, input("d"), T0);
    expect(out.paired.d).not.toHaveProperty("approvedVia");
    expect(out.paired.d).not.toHaveProperty("approvedScopes");
  });

  it("a request without a role pairs the device without a token", () => {
    const out = pairDevice({ pending: {}, paired: {} }, { deviceId: "d", publicKey: "k" }, T0);
    expect(out.paired.d!.tokens).toBeUndefined();
    expect(out.paired.d!.roles).toBeUndefined();
  });

  it("drops expired requests of other devices on the same write", () => {
    const old = requestDevicePairing({ pending: {}, paired: {} }, input("old"), T0, seededRandom(1)).pending!;
    const asked = requestDevicePairing(
      { pending: old, paired: {} },
      input("new"),
      T0 + DEVICE_REQUEST_TTL_MS,
      seededRandom(2),
    );
    const out = approveDeviceRequest(
      { pending: asked.pending!, paired: {} },
      { id: "new" },
      T0 + DEVICE_REQUEST_TTL_MS + 1,
      seededRandom(3),
    );
    expect(out.pending).toEqual({});
  });
});

describe("device reject, list and remove", () => {
  it("reject removes the request and leaves an existing pairing untouched", () => {
    const paired = pairDevice({ pending: {}, paired: {} }, input("d"), T0).paired;
    const asked = requestDevicePairing(
      { pending: {}, paired },
      input("d", { role: "operator" }),
      T0 + 1,
      seededRandom(5),
    );
    const out = rejectDeviceRequest(asked.pending!, { id: asked.result.request.requestId }, T0 + 2);
    expect(out.pending).toEqual({});
    expect(out.result).toEqual({ requestId: asked.result.request.requestId, deviceId: "d" });
    expect(() => rejectDeviceRequest(out.pending, { id: asked.result.request.requestId }, T0 + 3)).toThrowError(
      notFound,
    );
  });

  it("lists live requests newest first and paired devices most recently approved first, tokens as summaries", () => {
    let pending: DevicePendingState = {};
    for (const [i, id] of ["a", "b", "c"].entries()) {
      pending = requestDevicePairing({ pending, paired: {} }, input(id), T0 + i * 1000, seededRandom(i + 1)).pending!;
    }
    let paired: DevicePairedState = {};
    paired = pairDevice({ pending: {}, paired }, input("p1"), T0 + 5000).paired;
    paired = pairDevice({ pending: {}, paired }, input("p2"), T0 + 9000).paired;
    const listed = listDevicePairing({ pending, paired }, T0 + 1000 + DEVICE_REQUEST_TTL_MS);
    expect(listed.pending.map((request) => request.deviceId)).toEqual(["c", "b"]);
    expect(listed.paired.map((device) => device.deviceId)).toEqual(["p2", "p1"]);
    expect(listed.paired[0]!.tokens).toEqual([{ role: "node", scopes: [], createdAtMs: T0 + 9000 }]);
    expect(JSON.stringify(listed)).not.toContain(paired.p1!.tokens!.node!.token);
  });

  it.each([
    ["approval order (as writers append)", [1, 2, 3, 4, 5]],
    ["newest first already", [5, 4, 4, 2, 1]],
    ["ties in approval order", [1, 2, 2, 3]],
    ["any order", [3, 1, 3, 2, 5, 1]],
  ])("paired devices are listed most recently approved first, ties in file order: %s", (_, times) => {
    const paired: DevicePairedState = {};
    for (const [i, at] of times.entries()) {
      paired[`d${i}`] = {
        ...pairDevice({ pending: {}, paired: {} }, input(`d${i}`), T0).paired[`d${i}`]!,
        approvedAtMs: at,
      };
    }
    const expected = Object.values(paired)
      .map((device, index) => ({ id: device.deviceId, at: device.approvedAtMs, index }))
      .sort((a, b) => b.at - a.at || a.index - b.index)
      .map((device) => device.id);
    expect(listDevicePairing({ pending: {}, paired }, T0).paired.map((device) => device.deviceId)).toEqual(expected);
  });

  it("a listed token without a readable role is shown under the role it is filed under", () => {
    const paired = {
      d: {
        deviceId: "d",
        publicKey: "k",
        createdAtMs: 1,
        approvedAtMs: 2,
        tokens: { node: { token: "s", scopes: [], createdAtMs: 1 } },
      },
    };
    const listed = listDevicePairing({ pending: {}, paired: paired as unknown as DevicePairedState }, T0);
    expect(listed.paired[0]!.tokens).toEqual([{ role: "node", scopes: [], createdAtMs: 1 }]);
  });

  it("remove unpairs the device and drops its pending requests; others are untouched", () => {
    let state = {
      pending: {} as DevicePendingState,
      paired: pairDevice({ pending: {}, paired: {} }, input("d"), T0).paired,
    };
    state = { ...state, paired: pairDevice(state, input("other"), T0).paired };
    state.pending = requestDevicePairing(state, input("d", { role: "operator" }), T0 + 1, seededRandom(4)).pending!;
    state.pending = requestDevicePairing(state, input("x"), T0 + 1, seededRandom(5)).pending!;
    const out = removeDevice(state, { deviceId: "d" }, T0 + 2);
    expect(Object.keys(out.paired!)).toEqual(["other"]);
    expect(Object.values(out.pending!).map((request) => request.deviceId)).toEqual(["x"]);
    expect(out.result).toEqual({ deviceId: "d" });
    expect(() => removeDevice({ pending: out.pending!, paired: out.paired! }, { deviceId: "d" }, T0 + 3)).toThrowError(
      notFound,
    );
    // A device that is only waiting can be removed too.
    const onlyWaiting = removeDevice({ pending: out.pending!, paired: out.paired! }, { deviceId: "x" }, T0 + 3);
    expect(onlyWaiting.pending).toEqual({});
    expect(onlyWaiting.paired).toBeUndefined();
  });

  it("ids that name Object.prototype members are ordinary unknown ids", () => {
    expect(() => removeDevice({ pending: {}, paired: {} }, { deviceId: "constructor" }, T0)).toThrowError(notFound);
    expect(verifyDeviceToken({}, { deviceId: "toString", role: "node", token: "x" }, T0).result).toEqual({
      ok: false,
      reason: "device-not-paired",
    });
    const paired = pairDevice({ pending: {}, paired: {} }, input("constructor"), T0).paired;
    expect(Object.keys(paired)).toEqual(["constructor"]);
  });
});

describe("device tokens: rotate, revoke, verify", () => {
  const base = () =>
    pairDevice({ pending: {}, paired: {} }, input("d", { scopes: ["b", "a"] }), T0, seededRandom(1)).paired;

  it("rotate mints a new secret, keeps createdAtMs and scopes, sets rotatedAtMs", () => {
    const paired = base();
    const out = rotateDeviceToken(paired, { deviceId: "d", role: "node" }, T0 + 1000, seededRandom(2));
    const token = out.paired.d!.tokens!.node!;
    expect(token.token).not.toBe(paired.d!.tokens!.node!.token);
    expect(token).toMatchObject({ role: "node", scopes: ["a", "b"], createdAtMs: T0, rotatedAtMs: T0 + 1000 });
    expect(out.result).toEqual({
      deviceId: "d",
      role: "node",
      token: token.token,
      scopes: ["a", "b"],
      rotatedAtMs: T0 + 1000,
    });
  });

  it("rotate with scopes replaces them (normalised) and clears a revocation", () => {
    const revoked = revokeDeviceToken(base(), { deviceId: "d", role: "node" }, T0 + 1).paired!;
    const out = rotateDeviceToken(
      revoked,
      { deviceId: "d", role: "node", scopes: ["z", " y", "z"] },
      T0 + 2,
      seededRandom(2),
    );
    expect(out.paired.d!.tokens!.node).toMatchObject({ scopes: ["y", "z"], rotatedAtMs: T0 + 2 });
    expect(out.paired.d!.tokens!.node!.revokedAtMs).toBeUndefined();
  });

  it("rotate fails for an unknown device or a role the device does not have", () => {
    expect(() => rotateDeviceToken(base(), { deviceId: "nope", role: "node" }, T0, seededRandom(2))).toThrowError(
      notFound,
    );
    expect(() => rotateDeviceToken(base(), { deviceId: "d", role: "admin" }, T0, seededRandom(2))).toThrowError(
      notFound,
    );
  });

  it("revoke sets revokedAtMs once; revoking again changes nothing", () => {
    const out = revokeDeviceToken(base(), { deviceId: "d", role: "node" }, T0 + 5);
    expect(out.result).toEqual({ deviceId: "d", role: "node", revokedAtMs: T0 + 5 });
    expect(out.paired!.d!.tokens!.node!.revokedAtMs).toBe(T0 + 5);
    const again = revokeDeviceToken(out.paired!, { deviceId: "d", role: "node" }, T0 + 9);
    expect(again.paired).toBeUndefined();
    expect(again.result.revokedAtMs).toBe(T0 + 5);
    expect(() => revokeDeviceToken(base(), { deviceId: "d", role: "operator" }, T0)).toThrowError(notFound);
  });

  it("verify reports reasons in order and records lastUsedAtMs only on success", () => {
    let paired = base();
    const secret = paired.d!.tokens!.node!.token;
    // A role on the device without a token: merge an operator role by hand.
    paired = { d: { ...paired.d!, roles: ["node", "operator"] } };
    const check = (deviceId: string, role: string, token: string, scopes?: string[]) =>
      verifyDeviceToken(paired, { deviceId, role, token, ...(scopes ? { scopes } : {}) }, T0 + 100);

    expect(check("other", "", "wrong").result).toEqual({ ok: false, reason: "device-not-paired" });
    expect(check("d", "", "wrong").result).toEqual({ ok: false, reason: "role-missing" });
    expect(check("d", "admin", secret).result).toEqual({ ok: false, reason: "role-missing" });
    expect(check("d", "operator", secret).result).toEqual({ ok: false, reason: "token-missing" });
    expect(check("d", "node", "wrong", ["nope"]).result).toEqual({ ok: false, reason: "token-mismatch" });
    expect(check("d", "node", `${secret}x`).result).toEqual({ ok: false, reason: "token-mismatch" });
    expect(check("d", "node", secret, ["a", "c"]).result).toEqual({ ok: false, reason: "scope-mismatch" });
    for (const failed of [check("d", "node", "wrong"), check("d", "node", secret, ["c"])])
      expect(failed.paired).toBeUndefined();

    const ok = check("d", "node", secret, [" b", "a"]);
    expect(ok.result).toEqual({ ok: true });
    expect(ok.paired!.d!.tokens!.node!.lastUsedAtMs).toBe(T0 + 100);

    const revoked = revokeDeviceToken(paired, { deviceId: "d", role: "node" }, T0 + 1).paired!;
    expect(verifyDeviceToken(revoked, { deviceId: "d", role: "node", token: "wrong" }, T0 + 2).result).toEqual({
      ok: false,
      reason: "token-revoked",
    });
  });
});
