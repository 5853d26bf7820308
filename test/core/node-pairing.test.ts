import { describe, expect, it } from "vitest";
import {
  NODE_REQUEST_TTL_MS,
  approveNodeRequest,
  liveNodeRequests,
  rejectNodeRequest,
  requestNodePairing,
  verifyNodeToken,
  type NodePairedState,
} from "../../src/core/node-pairing.js";
import { seededRandom } from "../helpers.js";

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const notFound = expect.objectContaining({ code: "NOT_FOUND" });

describe("legacy node pairing", () => {
  it("a request is keyed by a UUID v4; the same node asking again while live gets it back", () => {
    const first = requestNodePairing(
      { pending: {}, paired: {} },
      { nodeId: "n1", displayName: "Kitchen", version: "1.2" },
      T0,
      seededRandom(1),
    );
    const request = first.result.request;
    expect(request).toEqual({
      requestId: request.requestId,
      nodeId: "n1",
      displayName: "Kitchen",
      version: "1.2",
      isRepair: false,
      ts: T0,
    });
    expect(request.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const again = requestNodePairing(
      { pending: first.pending!, paired: {} },
      { nodeId: "n1" },
      T0 + NODE_REQUEST_TTL_MS,
      seededRandom(2),
    );
    expect(again.result).toEqual({ created: false, request });
    expect(again.pending).toBeUndefined();
    const later = requestNodePairing(
      { pending: first.pending!, paired: {} },
      { nodeId: "n1" },
      T0 + NODE_REQUEST_TTL_MS + 1,
      seededRandom(2),
    );
    expect(later.result.created).toBe(true);
    expect(Object.keys(later.pending!)).toEqual([later.result.request.requestId]);
  });

  it("approve issues one token per node, keeps createdAtMs and unknown fields, and never returns the token", () => {
    const asked = requestNodePairing(
      { pending: {}, paired: {} },
      { nodeId: "n1", platform: "linux" },
      T0,
      seededRandom(1),
    );
    const requestId = asked.result.request.requestId;
    const paired: NodePairedState = {
      n1: { nodeId: "n1", token: "old", createdAtMs: T0 - 9, approvedAtMs: T0 - 9, permissions: { camera: true } },
    };
    const out = approveNodeRequest({ pending: asked.pending!, paired }, { requestId }, T0 + 1, seededRandom(3));
    const node = out.paired.n1!;
    expect(node.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(node).toMatchObject({
      nodeId: "n1",
      platform: "linux",
      createdAtMs: T0 - 9,
      approvedAtMs: T0 + 1,
      permissions: { camera: true },
    });
    expect(out.pending).toEqual({});
    expect(out.result.requestId).toBe(requestId);
    expect(out.result.node).not.toHaveProperty("token");
    expect(JSON.stringify(out.result)).not.toContain(node.token);
  });

  it("approve and reject see only live requests (exactly 5 minutes is live)", () => {
    const asked = requestNodePairing({ pending: {}, paired: {} }, { nodeId: "n1" }, T0, seededRandom(1));
    const requestId = asked.result.request.requestId;
    expect(rejectNodeRequest(asked.pending!, { requestId }, T0 + NODE_REQUEST_TTL_MS).result).toEqual({
      requestId,
      nodeId: "n1",
    });
    expect(() => rejectNodeRequest(asked.pending!, { requestId }, T0 + NODE_REQUEST_TTL_MS + 1)).toThrowError(notFound);
    expect(() =>
      approveNodeRequest({ pending: asked.pending!, paired: {} }, { requestId: "other" }, T0, seededRandom(1)),
    ).toThrowError(notFound);
    expect(liveNodeRequests(asked.pending!, T0 + NODE_REQUEST_TTL_MS + 1)).toEqual([]);
  });

  it("isRepair marks a node that is already paired; verify checks the token", () => {
    const paired: NodePairedState = { n1: { nodeId: "n1", token: "secret", createdAtMs: T0, approvedAtMs: T0 } };
    expect(
      requestNodePairing({ pending: {}, paired }, { nodeId: "n1" }, T0, seededRandom(1)).result.request.isRepair,
    ).toBe(true);
    expect(verifyNodeToken(paired, { nodeId: "n1", token: "wrong" }, T0).paired).toBeUndefined();
    expect(verifyNodeToken(paired, { nodeId: "n2", token: "secret" }, T0).result.ok).toBe(false);
    const ok = verifyNodeToken(paired, { nodeId: "n1", token: "secret" }, T0 + 7);
    expect(ok.result.ok).toBe(true);
    expect(ok.paired!.n1!.lastConnectedAtMs).toBe(T0 + 7);
  });

  it("refuses node ids with control characters", () => {
    expect(() =>
      requestNodePairing({ pending: {}, paired: {} }, { nodeId: "n\u001b1" }, T0, seededRandom(1)),
    ).toThrowError(expect.objectContaining({ code: "USAGE" }));
  });
});
