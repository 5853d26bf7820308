import {
  approveNodeRequest,
  removeNode,
  renameNode,
  liveNodeRequests,
  rejectNodeRequest,
  requestNodePairing,
  validateNodeRequest,
  verifyNodeToken,
  viewPairedNode,
  type NodePendingRequest,
  type NodeRequestInput,
  type PairedNodeView,
} from "../core/node-pairing.js";
import {
  NODE_APPROVE,
  NODE_PAIRED,
  NODE_PAIRED_ONLY,
  NODE_PENDING,
  NODE_REJECT,
  NODE_REMOVE,
  NODE_REQUEST,
} from "./catalogue.js";
import type { StoreContext } from "./context.js";
import { logged, runTransaction } from "./transaction.js";

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
 * Paired nodes (most recently approved first), without their tokens. Takes no lock and creates nothing.
 *
 * @example
 * const { paired } = listPairedNodes(ctx);
 */
export function listPairedNodes(ctx: StoreContext): { paired: PairedNodeView[] } {
  const paired = Object.values(ctx.backend.read(NODE_PAIRED, {}).state)
    .sort((a, b) => b.approvedAtMs - a.approvedAtMs)
    .map(viewPairedNode);
  return { paired };
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
  input: { requestId: string; reason?: string },
): Promise<{ requestId: string; node: PairedNodeView }> {
  return runTransaction(
    ctx,
    NODE_APPROVE,
    { pending: {}, paired: {} },
    (states, now, random) => {
      const outcome = approveNodeRequest(states, input, now, random);
      const { requestId, node } = outcome.result;
      return { ...outcome, log: { action: "nodes.approve", requestId, nodeId: node.nodeId } };
    },
    logged(input.reason),
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
  input: { requestId: string; reason?: string },
): Promise<{ requestId: string; nodeId: string }> {
  return runTransaction(
    ctx,
    NODE_REJECT,
    { pending: {} },
    ({ pending }, now) => {
      const outcome = rejectNodeRequest(pending, input, now);
      const { requestId, nodeId } = outcome.result;
      return { ...outcome, log: { action: "nodes.reject", requestId, nodeId } };
    },
    logged(input.reason),
  );
}

/**
 * Unpair a node and drop its pending requests (both records locked, pending first).
 *
 * @example
 * await removePairedNode(ctx, { nodeId: "kitchen-pi" });
 */
export async function removePairedNode(
  ctx: StoreContext,
  input: { nodeId: string; reason?: string },
): Promise<{ nodeId: string }> {
  return runTransaction(
    ctx,
    NODE_REMOVE,
    { pending: {}, paired: {} },
    (states, now) => {
      const outcome = removeNode(states, input, now);
      return { ...outcome, log: { action: "nodes.remove", nodeId: outcome.result.nodeId } };
    },
    logged(input.reason),
  );
}

/**
 * A paired node's display name (what the gateway's `nodes rename` sets).
 *
 * @example
 * await renamePairedNode(ctx, { nodeId: "kitchen-pi", name: "Kitchen" });
 */
export async function renamePairedNode(
  ctx: StoreContext,
  input: { nodeId: string; name: string; reason?: string },
): Promise<{ nodeId: string; displayName: string }> {
  return runTransaction(
    ctx,
    NODE_PAIRED_ONLY,
    { paired: {} },
    ({ paired }) => {
      const outcome = renameNode(paired, input);
      const { nodeId, displayName } = outcome.result;
      return { ...outcome, log: { action: "nodes.rename", nodeId, name: displayName } };
    },
    logged(input.reason),
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
