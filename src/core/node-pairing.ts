import { MoltbotError } from "../errors.js";
import {
  findLivePending,
  isPendingLive,
  keyedByRequestId,
  livePending,
  newRequestId,
  own,
  PENDING_TTL_MS,
} from "./pending.js";
import type { RandomBytes } from "./random.js";
import {
  MAX_ID_LENGTH,
  MAX_NAME_LENGTH,
  MAX_SHORT_FIELD_LENGTH,
  optionalText,
  usage,
  validateKeyId,
  validateText,
} from "./text.js";
import { secretsEqual } from "./secrets.js";
import { generateToken } from "./tokens.js";

/*
 * Legacy node pairing (SPEC §4 "Legacy node pairing"), the gateway's older scheme kept for nodes
 * that still use it: `nodes/pending.json` keyed by requestId, `nodes/paired.json` keyed by nodeId,
 * one token per node, the same 5-minute expiry as devices (pending.ts). Pure, like device pairing.
 */

export const NODE_REQUEST_TTL_MS = PENDING_TTL_MS;

export interface NodePendingRequest {
  requestId: string;
  nodeId: string;
  displayName?: string;
  platform?: string;
  version?: string;
  remoteIp?: string;
  silent?: boolean;
  isRepair?: boolean;
  ts: number;
  [key: string]: unknown;
}

/** A paired node as results show it: without its token. */
export interface PairedNodeView {
  nodeId: string;
  displayName?: string;
  platform?: string;
  version?: string;
  remoteIp?: string;
  createdAtMs: number;
  approvedAtMs: number;
  lastConnectedAtMs?: number;
  [key: string]: unknown;
}

export interface PairedNode extends PairedNodeView {
  token: string;
}

export type NodePendingState = Record<string, NodePendingRequest>;
export type NodePairedState = Record<string, PairedNode>;

export const emptyNodePending = (): NodePendingState => ({});
export const emptyNodePaired = (): NodePairedState => ({});

export function isNodeRequestLive(request: { requestId: string; ts: number }, now: number): boolean {
  return isPendingLive(request, now);
}

/** Live requests, newest first. */
export function liveNodeRequests(pending: NodePendingState, now: number): NodePendingRequest[] {
  return livePending(pending, now);
}

export function viewPairedNode(node: PairedNode): PairedNodeView {
  const { token: _secret, ...view } = node;
  return view;
}

export interface NodeRequestInput {
  nodeId: string;
  displayName?: string;
  platform?: string;
  version?: string;
  remoteIp?: string;
  silent?: boolean;
}

const NODE_TEXT_FIELDS = {
  displayName: MAX_NAME_LENGTH,
  platform: MAX_SHORT_FIELD_LENGTH,
  version: MAX_SHORT_FIELD_LENGTH,
  remoteIp: MAX_SHORT_FIELD_LENGTH,
} as const;

/** Check what a node sent (usage error on anything malformed); stores call it before locking. */
export function validateNodeRequest(input: NodeRequestInput): {
  nodeId: string;
  fields: Partial<NodePendingRequest>;
} {
  const nodeId = validateKeyId(input.nodeId, "node id");
  const fields: Partial<NodePendingRequest> = {};
  for (const key of Object.keys(NODE_TEXT_FIELDS) as (keyof typeof NODE_TEXT_FIELDS)[]) {
    const value = optionalText(input[key], key, NODE_TEXT_FIELDS[key]);
    if (value !== undefined) fields[key] = value;
  }
  if (input.silent !== undefined) fields.silent = input.silent;
  return { nodeId, fields };
}

/** A node asks to join; the same node asking again while its request is live gets it back. */
export function requestNodePairing(
  state: { pending: NodePendingState; paired: NodePairedState },
  input: NodeRequestInput,
  now: number,
  random: RandomBytes,
): { pending?: NodePendingState; result: { created: boolean; request: NodePendingRequest } } {
  const { nodeId, fields } = validateNodeRequest(input);
  const all = Object.values(state.pending);
  const live = livePending(state.pending, now);
  const existing = live.find((request) => request.nodeId === nodeId);
  if (existing) {
    return {
      ...(live.length !== all.length ? { pending: keyedByRequestId(live) } : {}),
      result: { created: false, request: existing },
    };
  }
  const request: NodePendingRequest = {
    requestId: newRequestId(random, state.pending),
    nodeId,
    ...fields,
    isRepair: own(state.paired, nodeId) !== undefined,
    ts: now,
  };
  return { pending: keyedByRequestId([...live, request]), result: { created: true, request } };
}

function findNodeRequest(pending: NodePendingState, id: string, now: number): NodePendingRequest {
  const wanted = validateText(id, "request id", MAX_ID_LENGTH);
  const request = findLivePending(pending, wanted, now);
  if (!request) {
    throw new MoltbotError(
      "NOT_FOUND",
      `No pending node request "${wanted}" (unknown, or expired: requests last 5 minutes). Run "moltbot nodes pending" to see pending requests.`,
    );
  }
  return request;
}

const without = (pending: NodePendingState, requestId: string, now: number): NodePendingState =>
  keyedByRequestId(livePending(pending, now).filter((request) => request.requestId !== requestId));

/**
 * Approve a node: it joins `paired.json` with a fresh token (the gateway hands it to the node;
 * the result never carries it). `createdAtMs` and unknown fields of an earlier pairing are kept.
 */
export function approveNodeRequest(
  state: { pending: NodePendingState; paired: NodePairedState },
  input: { requestId: string },
  now: number,
  random: RandomBytes,
): { pending: NodePendingState; paired: NodePairedState; result: { requestId: string; node: PairedNodeView } } {
  const request = findNodeRequest(state.pending, input.requestId, now);
  // A gateway may have stored any node id; one that cannot be a key would vanish from paired.json.
  if (request.nodeId === "__proto__") {
    throw usage(
      `Node request ${request.requestId} names the node id "__proto__", which cannot be stored in paired.json; nothing was approved. Drop it with "moltbot nodes reject ${request.requestId}".`,
    );
  }
  const existing = own(state.paired, request.nodeId);
  const node: PairedNode = {
    ...existing,
    nodeId: request.nodeId,
    token: generateToken(random),
    createdAtMs: existing?.createdAtMs ?? now,
    approvedAtMs: now,
  };
  for (const key of ["displayName", "platform", "version", "remoteIp"] as const) {
    const value = request[key];
    if (typeof value === "string") node[key] = value;
  }
  return {
    pending: without(state.pending, request.requestId, now),
    paired: { ...state.paired, [node.nodeId]: node },
    result: { requestId: request.requestId, node: viewPairedNode(node) },
  };
}

export function rejectNodeRequest(
  pending: NodePendingState,
  input: { requestId: string },
  now: number,
): { pending: NodePendingState; result: { requestId: string; nodeId: string } } {
  const request = findNodeRequest(pending, input.requestId, now);
  return {
    pending: without(pending, request.requestId, now),
    result: { requestId: request.requestId, nodeId: request.nodeId },
  };
}

/** Constant-time check of a node's token; success records `lastConnectedAtMs`. */
export function verifyNodeToken(
  paired: NodePairedState,
  input: { nodeId: string; token: string },
  now: number,
): { paired?: NodePairedState; result: { ok: boolean } } {
  const node = own(paired, input.nodeId.trim());
  if (!node || !secretsEqual(node.token, input.token)) return { result: { ok: false } };
  return { paired: { ...paired, [node.nodeId]: { ...node, lastConnectedAtMs: now } }, result: { ok: true } };
}

/**
 * Unpair a node and drop its pending requests, so it cannot come back through a request that was
 * already waiting (as `devices remove`). Fails when the node is neither paired nor waiting.
 */
export function removeNode(
  state: { pending: NodePendingState; paired: NodePairedState },
  input: { nodeId: string },
  now: number,
): { pending?: NodePendingState; paired?: NodePairedState; result: { nodeId: string } } {
  const nodeId = validateKeyId(input.nodeId, "node id");
  const isPaired = own(state.paired, nodeId) !== undefined;
  const waiting = Object.values(state.pending).some((request) => request.nodeId === nodeId);
  if (!isPaired && !livePending(state.pending, now).some((request) => request.nodeId === nodeId)) {
    throw notPairedNode(nodeId);
  }
  return {
    ...(waiting
      ? { pending: keyedByRequestId(livePending(state.pending, now).filter((request) => request.nodeId !== nodeId)) }
      : {}),
    ...(isPaired ? { paired: Object.fromEntries(Object.entries(state.paired).filter(([key]) => key !== nodeId)) } : {}),
    result: { nodeId },
  };
}

function notPairedNode(nodeId: string): MoltbotError {
  return new MoltbotError(
    "NOT_FOUND",
    `Node "${nodeId}" is not paired and has no pending request. Run "moltbot nodes pending" to see pending requests.`,
  );
}

/**
 * A paired node's display name, as the gateway's `renamePairedNode` sets it (legacy nodes have no
 * separate operator label): trimmed, 1–256 characters, no control characters.
 */
export function renameNode(
  paired: NodePairedState,
  input: { nodeId: string; name: string },
): { paired?: NodePairedState; result: { nodeId: string; displayName: string } } {
  const nodeId = validateKeyId(input.nodeId, "node id");
  const node = own(paired, nodeId);
  if (!node) {
    throw new MoltbotError("NOT_FOUND", `Node "${nodeId}" is not paired; only a paired node can be renamed.`);
  }
  const displayName = validateText(input.name, "name", MAX_NAME_LENGTH);
  const result = { nodeId, displayName };
  if (node.displayName === displayName) return { result };
  return { paired: { ...paired, [nodeId]: { ...node, displayName } }, result };
}
