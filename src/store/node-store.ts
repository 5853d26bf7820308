import {
  approveNodeRequest,
  liveNodeRequests,
  rejectNodeRequest,
  requestNodePairing,
  validateNodeRequest,
  verifyNodeToken,
  type NodePendingRequest,
  type NodeRequestInput,
  type PairedNodeView,
} from "../core/node-pairing.js";
import { NODE_APPROVE, NODE_PAIRED_ONLY, NODE_PENDING, NODE_REJECT, NODE_REQUEST } from "./catalogue.js";
import type { StoreContext } from "./context.js";
import { runTransaction } from "./transaction.js";

/*
 * Legacy node pairing over `<state>/nodes/{pending,paired}.json`, with the same lock and write
 * rules as devices (the catalogue's NODE_* transactions).
 */

/**
 * Live node requests, newest first. Takes no lock and creates nothing.
 *
 * @example
 * const { pending } = listNodeRequests(ctx);
 */
export function listNodeRequests(ctx: StoreContext): { pending: NodePendingRequest[] } {
  return { pending: liveNodeRequests(ctx.backend.read(NODE_PENDING, {}).state, ctx.now()) };
}

/**
 * A legacy node asks to join; the same node asking again while its request is live gets it back.
 *
 * @example
 * const { created, request } = await requestNode(ctx, { nodeId: "kitchen-pi", displayName: "Kitchen" });
 */
export async function requestNode(
  ctx: StoreContext,
  input: NodeRequestInput,
): Promise<{ created: boolean; request: NodePendingRequest }> {
  // Bad input is a usage error before anything is read.
  validateNodeRequest(input);
  return runTransaction(ctx, NODE_REQUEST, { pending: {}, paired: {} }, (states, now, random) =>
    requestNodePairing(states, input, now, random),
  );
}

/**
 * Pair a legacy node with one token (never in the result: the gateway hands it over).
 *
 * @example
 * const { node } = await approveNode(ctx, { requestId });
 */
export async function approveNode(
  ctx: StoreContext,
  input: { requestId: string },
): Promise<{ requestId: string; node: PairedNodeView }> {
  return runTransaction(ctx, NODE_APPROVE, { pending: {}, paired: {} }, (states, now, random) =>
    approveNodeRequest(states, input, now, random),
  );
}

/**
 * Drop a pending legacy node request.
 *
 * @example
 * await rejectNode(ctx, { requestId });
 */
export async function rejectNode(
  ctx: StoreContext,
  input: { requestId: string },
): Promise<{ requestId: string; nodeId: string }> {
  return runTransaction(ctx, NODE_REJECT, { pending: {} }, ({ pending }, now) =>
    rejectNodeRequest(pending, input, now),
  );
}

/**
 * Check a node's token; failures write nothing, success records `lastConnectedAtMs`.
 *
 * @example
 * const { ok } = await verifyNode(ctx, { nodeId, token });
 */
export async function verifyNode(
  ctx: StoreContext,
  input: { nodeId: string; token: string },
): Promise<{ ok: boolean }> {
  return runTransaction(ctx, NODE_PAIRED_ONLY, { paired: {} }, ({ paired }, now) =>
    verifyNodeToken(paired, input, now),
  );
}
