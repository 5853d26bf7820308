import { describe, expect, it } from "vitest";
import {
  devicePairedFileSchema,
  devicePendingFileSchema,
  nodePairedFileSchema,
  nodePendingFileSchema,
  listingSchemaFor,
} from "../../src/store/schemas.js";

const devicePairedListFileSchema = listingSchemaFor<unknown>();

describe("device and node file schemas", () => {
  it("accept the gateway's shapes and keep unknown fields", () => {
    const pending = {
      r1: { requestId: "r1", deviceId: "d", publicKey: "k", isRepair: false, ts: 1, future: { x: 1 } },
    };
    expect(devicePendingFileSchema.safeParse(pending).data).toEqual(pending);
    const paired = {
      d: {
        deviceId: "d",
        publicKey: "k",
        createdAtMs: 1,
        approvedAtMs: 2,
        tokens: { node: { token: "t", role: "node", scopes: [], createdAtMs: 1, extra: true } },
        extra: "kept",
      },
    };
    expect(devicePairedFileSchema.safeParse(paired).data).toEqual(paired);
    const nodePending = { r: { requestId: "r", nodeId: "n", ts: 5, caps: ["x"] } };
    expect(nodePendingFileSchema.safeParse(nodePending).data).toEqual(nodePending);
    const nodePaired = { n: { nodeId: "n", token: "t", createdAtMs: 1, approvedAtMs: 2, permissions: {} } };
    expect(nodePairedFileSchema.safeParse(nodePaired).data).toEqual(nodePaired);
  });

  it("reject arrays, missing required fields and wrongly typed optional fields", () => {
    expect(devicePendingFileSchema.safeParse([]).success).toBe(false);
    expect(devicePendingFileSchema.safeParse({ r: { requestId: "r", deviceId: "d", publicKey: "k" } }).success).toBe(
      false,
    );
    expect(
      devicePairedFileSchema.safeParse({
        d: { deviceId: "d", publicKey: "k", createdAtMs: 1, approvedAtMs: 2, roles: "node" },
      }).success,
    ).toBe(false);
    expect(nodePendingFileSchema.safeParse({ r: { requestId: 1, nodeId: "n", ts: 1 } }).success).toBe(false);
    expect(nodePairedFileSchema.safeParse({ n: { nodeId: "n", createdAtMs: 1, approvedAtMs: 2 } }).success).toBe(false);
  });

  it("the listing schema checks each device's fields but tokens only as objects", () => {
    const device = { deviceId: "d", publicKey: "k", createdAtMs: 1, approvedAtMs: 2 };
    expect(devicePairedListFileSchema.safeParse({ d: { ...device, tokens: { node: { role: 5 } } } }).success).toBe(
      true,
    );
    for (const tokens of [null, "x", [], { node: null }, { node: "t" }]) {
      expect(devicePairedListFileSchema.safeParse({ d: { ...device, tokens } }).success, JSON.stringify(tokens)).toBe(
        false,
      );
    }
    expect(devicePairedListFileSchema.safeParse({ d: { ...device, displayName: 7 } }).success).toBe(false);
    expect(devicePairedListFileSchema.safeParse({ d: { deviceId: "d", publicKey: "k", createdAtMs: 1 } }).success).toBe(
      false,
    );
  });
});
