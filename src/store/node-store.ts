import fs from "node:fs";
import path from "node:path";
import {
  approveNodeRequest,
  emptyNodePaired,
  emptyNodePending,
  liveNodeRequests,
  rejectNodeRequest,
  requestNodePairing,
  validateNodeRequest,
  verifyNodeToken,
  type NodePairedState,
  type NodePendingRequest,
  type NodePendingState,
  type NodeRequestInput,
  type PairedNodeView,
} from "../core/node-pairing.js";
import type { StoreContext } from "./context.js";
import { nodePairedFileSchema, nodePendingFileSchema } from "./device-schemas.js";
import { readStoreFile, type StoreFile } from "./file-store.js";
import { updateStore } from "./locked-update.js";
import type { Schema } from "./validation.js";

/*
 * Legacy node pairing over `<state>/nodes/{pending,paired}.json`, with the same lock and write
 * rules as devices: pending locked before paired, paired written before pending.
 */

export function nodePendingStoreFile(ctx: StoreContext): StoreFile<NodePendingState> {
  return {
    path: path.join(ctx.paths.nodesDir, "pending.json"),
    label: "node pairing requests",
    schema: nodePendingFileSchema as Schema<NodePendingState>,
    empty: emptyNodePending,
  };
}

export function nodePairedStoreFile(ctx: StoreContext): StoreFile<NodePairedState> {
  return {
    path: path.join(ctx.paths.nodesDir, "paired.json"),
    label: "paired nodes",
    schema: nodePairedFileSchema as Schema<NodePairedState>,
    empty: emptyNodePaired,
  };
}

/** Live node requests, newest first. Takes no lock and creates nothing. */
export function listNodeRequests(ctx: StoreContext): { pending: NodePendingRequest[] } {
  return { pending: liveNodeRequests(readStoreFile(nodePendingStoreFile(ctx)), ctx.now()) };
}

export async function requestNode(
  ctx: StoreContext,
  input: NodeRequestInput,
): Promise<{ created: boolean; request: NodePendingRequest }> {
  const pairedFile = nodePairedStoreFile(ctx);
  // Bad input is a usage error before any directory or lock exists.
  validateNodeRequest(input);
  return updateStore([nodePendingStoreFile(ctx)] as const, ([pending]) => {
    const outcome = requestNodePairing({ pending, paired: readStoreFile(pairedFile) }, input, ctx.now(), ctx.random);
    return { states: [outcome.pending], result: outcome.result };
  });
}

export async function approveNode(
  ctx: StoreContext,
  input: { requestId: string },
): Promise<{ requestId: string; node: PairedNodeView }> {
  const pendingFile = nodePendingStoreFile(ctx);
  // Nothing waiting at all: fail before locking, so a miss creates nothing on disk.
  if (!fs.existsSync(pendingFile.path)) approveNodeRequest({ pending: {}, paired: {} }, input, ctx.now(), ctx.random);
  return updateStore(
    [pendingFile, nodePairedStoreFile(ctx)] as const,
    ([pending, paired]) => {
      const outcome = approveNodeRequest({ pending, paired }, input, ctx.now(), ctx.random);
      return { states: [outcome.pending, outcome.paired], result: outcome.result };
    },
    { writeOrder: [1, 0] },
  );
}

export async function rejectNode(
  ctx: StoreContext,
  input: { requestId: string },
): Promise<{ requestId: string; nodeId: string }> {
  const pendingFile = nodePendingStoreFile(ctx);
  if (!fs.existsSync(pendingFile.path)) rejectNodeRequest({}, input, ctx.now());
  return updateStore([pendingFile] as const, ([pending]) => {
    const outcome = rejectNodeRequest(pending, input, ctx.now());
    return { states: [outcome.pending], result: outcome.result };
  });
}

/** Check a node's token; failures write nothing, success records `lastConnectedAtMs`. */
export async function verifyNode(
  ctx: StoreContext,
  input: { nodeId: string; token: string },
): Promise<{ ok: boolean }> {
  const pairedFile = nodePairedStoreFile(ctx);
  if (!verifyNodeToken(readStoreFile(pairedFile), input, ctx.now()).result.ok) return { ok: false };
  return updateStore([pairedFile] as const, ([paired]) => {
    const outcome = verifyNodeToken(paired, input, ctx.now());
    return { states: [outcome.paired], result: outcome.result };
  });
}
