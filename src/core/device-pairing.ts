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
import { normalizeFingerprint, publicKeyFingerprint } from "./fingerprint.js";
import type { RandomBytes } from "./random.js";
import {
  MAX_NAME_LENGTH,
  MAX_PUBLIC_KEY_LENGTH,
  MAX_SCOPES,
  MAX_SHORT_FIELD_LENGTH,
  MAX_ID_LENGTH,
  TOKEN_CHARACTERS,
  optionalText,
  usage,
  validateKeyId,
  validateText,
} from "./text.js";
import { secretsEqual } from "./secrets.js";
import {
  mergeOrdered,
  mintToken,
  normalizeScopes,
  summarizeToken,
  type DeviceToken,
  type DeviceTokenSummary,
} from "./tokens.js";

export type { DeviceToken, DeviceTokenSummary } from "./tokens.js";

/*
 * Device pairing rules (SPEC §4), pure: (state, input, now, random) → { state(s), result }.
 * A returned state is undefined when nothing changed, so the store writes only what moved.
 * The state objects are the gateway's files: `devices/pending.json` keyed by requestId and
 * `devices/paired.json` keyed by deviceId. Fields we do not know are carried along untouched in the
 * files, and never shown: results and listings copy only the documented fields.
 */

/** Pending requests expire this long after they were made; exactly 5 minutes old is still live. */
export const DEVICE_REQUEST_TTL_MS = PENDING_TTL_MS;

/** What a device says about itself when it asks to pair (validated, trimmed, in the gateway's order). */
export interface ValidDeviceRequest {
  deviceId: string;
  publicKey: string;
  displayName?: string;
  platform?: string;
  clientId?: string;
  clientMode?: string;
  role?: string;
  roles?: string[];
  scopes?: string[];
  remoteIp?: string;
  silent?: boolean;
}

export interface DevicePendingRequest extends ValidDeviceRequest {
  requestId: string;
  /** Always written by us; older gateways may have left it out. */
  isRepair?: boolean;
  /** Epoch ms at creation. */
  ts: number;
  /** OpenClaw (July 2026): the last time the device asked again; the request lives 5 min from it. */
  refreshedAtMs?: number;
  [key: string]: unknown;
}

export interface PairedDevice extends Omit<ValidDeviceRequest, "silent"> {
  tokens?: Record<string, DeviceToken>;
  createdAtMs: number;
  approvedAtMs: number;
  [key: string]: unknown;
}

export type DevicePendingState = Record<string, DevicePendingRequest>;
export type DevicePairedState = Record<string, PairedDevice>;

/** A pending request as listings and results show it: documented fields only. */
export interface DevicePendingView extends ValidDeviceRequest {
  requestId: string;
  /** publicKeyFingerprint(publicKey): what the operator reads aloud and checks before approving. */
  fingerprint: string;
  isRepair: boolean;
  ts: number;
  refreshedAtMs?: number;
  /** The device is paired with a different public key: approving replaces the key it is known by. */
  publicKeyChanged?: true;
}

/** A paired device as listings and results show it: documented fields only, tokens as summaries. */
export interface PairedDeviceView extends Omit<ValidDeviceRequest, "silent"> {
  fingerprint: string;
  /** The operator's own name for the device (OpenClaw's `operator_label`, `devices rename`). */
  operatorLabel?: string;
  tokens?: DeviceTokenSummary[];
  createdAtMs: number;
  approvedAtMs: number;
  /** How the pairing was approved (OpenClaw: owner, silent, trusted-cidr, …). */
  approvedVia?: string;
  lastSeenAtMs?: number;
}

export const emptyDevicePending = (): DevicePendingState => ({});
export const emptyDevicePaired = (): DevicePairedState => ({});

// ---------------------------------------------------------------------------------------------
// Input validation: device-supplied strings are bounded and free of control characters.

export function validateDeviceId(value: string, what = "device id"): string {
  return validateKeyId(value, what);
}

export function validatePublicKey(value: string): string {
  const key = validateText(value, "public key", MAX_PUBLIC_KEY_LENGTH);
  if (!TOKEN_CHARACTERS.test(key))
    throw usage("The public key must be printable ASCII without spaces (e.g. base64url).");
  return key;
}

const ROLE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export function validateRole(value: string): string {
  const role = value.trim();
  if (!ROLE_PATTERN.test(role)) {
    throw usage(
      `Invalid role "${role.slice(0, 64)}": use 1–64 letters, digits, ".", "_", ":" or "-", e.g. node or operator.`,
    );
  }
  return role;
}

export function validateScopes(scopes: readonly string[]): string[] {
  if (scopes.length > MAX_SCOPES) throw usage(`Too many scopes (${scopes.length}; at most ${MAX_SCOPES}).`);
  return mergeOrdered(
    scopes.map((scope) => {
      const trimmed = validateText(scope, "scope", MAX_SHORT_FIELD_LENGTH);
      if (!TOKEN_CHARACTERS.test(trimmed)) {
        throw usage(`Invalid scope "${trimmed}": scopes have no spaces, e.g. operator.read.`);
      }
      return trimmed;
    }),
  );
}

/** An id typed by the operator to find a request: bounded, no control characters. */
export function validateLookupId(value: string, what: string): string {
  return validateText(value, what, MAX_ID_LENGTH);
}

/** What a device sends, before validation (`roles` is derived from `role`). */
export interface DeviceRequestInput extends Omit<ValidDeviceRequest, "roles" | "scopes"> {
  scopes?: readonly string[];
}

/**
 * Check what a device sent (usage error on anything malformed). Stores call it before taking a
 * lock, so bad input creates nothing on disk.
 */
export function validateDeviceRequest(input: DeviceRequestInput): ValidDeviceRequest {
  const valid: ValidDeviceRequest = {
    deviceId: validateDeviceId(input.deviceId),
    publicKey: validatePublicKey(input.publicKey),
  };
  const displayName = optionalText(input.displayName, "display name", MAX_NAME_LENGTH);
  if (displayName !== undefined) valid.displayName = displayName;
  const platform = optionalText(input.platform, "platform", MAX_SHORT_FIELD_LENGTH);
  if (platform !== undefined) valid.platform = platform;
  const clientId = optionalText(input.clientId, "client id", MAX_SHORT_FIELD_LENGTH);
  if (clientId !== undefined) valid.clientId = clientId;
  const clientMode = optionalText(input.clientMode, "client mode", MAX_SHORT_FIELD_LENGTH);
  if (clientMode !== undefined) valid.clientMode = clientMode;
  if (input.role !== undefined) {
    valid.role = validateRole(input.role);
    valid.roles = [valid.role];
  }
  const scopes = input.scopes === undefined ? [] : validateScopes(input.scopes);
  if (scopes.length > 0) valid.scopes = scopes;
  const remoteIp = optionalText(input.remoteIp, "remote IP", MAX_SHORT_FIELD_LENGTH);
  if (remoteIp !== undefined) valid.remoteIp = remoteIp;
  if (input.silent !== undefined) valid.silent = input.silent;
  return valid;
}

// ---------------------------------------------------------------------------------------------
// Views: what listings and results show.

/**
 * The description fields a view shows, in the gateway's order. Named stores, not a loop over the
 * names: `devices list` builds 10 000 views, and one object shape for all of them.
 */
function copyDescription<T extends Partial<ValidDeviceRequest>>(target: T, source: Partial<ValidDeviceRequest>): T {
  if (source.displayName !== undefined) target.displayName = source.displayName;
  if (source.platform !== undefined) target.platform = source.platform;
  if (source.clientId !== undefined) target.clientId = source.clientId;
  if (source.clientMode !== undefined) target.clientMode = source.clientMode;
  if (source.role !== undefined) target.role = source.role;
  if (source.roles !== undefined) target.roles = source.roles;
  if (source.scopes !== undefined) target.scopes = source.scopes;
  if (source.remoteIp !== undefined) target.remoteIp = source.remoteIp;
  return target;
}

export function viewPendingRequest(request: DevicePendingRequest, paired?: DevicePairedState): DevicePendingView {
  const view = copyDescription(
    {
      requestId: request.requestId,
      deviceId: request.deviceId,
      publicKey: request.publicKey,
      fingerprint: publicKeyFingerprint(request.publicKey),
    } as DevicePendingView,
    request,
  );
  if (typeof request.silent === "boolean") view.silent = request.silent;
  view.isRepair = request.isRepair === true;
  view.ts = request.ts;
  if (typeof request.refreshedAtMs === "number") view.refreshedAtMs = request.refreshedAtMs;
  const known = paired ? own(paired, request.deviceId) : undefined;
  if (known && known.publicKey !== request.publicKey) view.publicKeyChanged = true;
  return view;
}

const byRole = (a: DeviceTokenSummary, b: DeviceTokenSummary) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0);

/** A paired device without its secrets and without fields we do not document. */
export function viewPairedDevice(device: PairedDevice): PairedDeviceView {
  const view = copyDescription(
    {
      deviceId: device.deviceId,
      publicKey: device.publicKey,
      fingerprint: publicKeyFingerprint(device.publicKey),
    } as PairedDeviceView,
    device,
  );
  if (typeof device.operatorLabel === "string") view.operatorLabel = device.operatorLabel;
  const { tokens } = device;
  if (tokens !== undefined) {
    const summaries: DeviceTokenSummary[] = [];
    for (const key in tokens) summaries.push(summarizeToken(tokens[key]!, key));
    view.tokens = summaries.length > 1 ? summaries.sort(byRole) : summaries;
  }
  view.createdAtMs = device.createdAtMs;
  view.approvedAtMs = device.approvedAtMs;
  if (typeof device.approvedVia === "string") view.approvedVia = device.approvedVia;
  if (typeof device.lastSeenAtMs === "number") view.lastSeenAtMs = device.lastSeenAtMs;
  return view;
}

export interface DeviceListing {
  pending: DevicePendingView[];
  paired: PairedDeviceView[];
}

/**
 * Most recently approved first, equal times in file order (a stable sort). A file in approval order,
 * as writers append, only needs reversing: one pass tells, instead of a sort's comparator calls.
 */
function newestApprovalFirst(devices: PairedDevice[]): PairedDevice[] {
  let ascending = true;
  let descending = true;
  for (let i = 1; i < devices.length; i++) {
    const step = devices[i]!.approvedAtMs - devices[i - 1]!.approvedAtMs;
    if (step <= 0) ascending = false;
    if (step > 0) descending = false;
  }
  if (descending) return devices;
  // Strictly ascending: no equal times, so reversing is the stable sort.
  if (ascending) return devices.reverse();
  return devices.sort((a, b) => b.approvedAtMs - a.approvedAtMs);
}

/** Pending (live, newest first) and paired (most recently approved first), without secrets. */
export function listDevicePairing(
  state: { pending: DevicePendingState; paired: DevicePairedState },
  now: number,
): DeviceListing {
  const paired = newestApprovalFirst(Object.values(state.paired)).map(viewPairedDevice);
  return {
    pending: livePending(state.pending, now).map((request) => viewPendingRequest(request, state.paired)),
    paired,
  };
}

export function isDeviceRequestLive(request: { requestId: string; ts: number; refreshedAtMs?: number }, now: number) {
  return isPendingLive(request, now);
}

export function liveDeviceRequests(pending: DevicePendingState, now: number): DevicePendingRequest[] {
  return livePending(pending, now);
}

function deviceRoles(device: PairedDevice): string[] {
  return mergeOrdered(
    device.roles,
    device.role !== undefined ? [device.role] : undefined,
    Object.keys(device.tokens ?? {}),
  );
}

function notPaired(deviceId: string): MoltbotError {
  return new MoltbotError(
    "NOT_FOUND",
    `Device "${deviceId}" is not paired. Run "moltbot devices list" to see paired devices.`,
  );
}

function pairedDevice(paired: DevicePairedState, deviceId: string): PairedDevice {
  const device = own(paired, deviceId);
  if (!device) throw notPaired(deviceId);
  return device;
}

function requireRole(device: PairedDevice, role: string): void {
  const roles = deviceRoles(device);
  if (!roles.includes(role)) {
    throw new MoltbotError(
      "NOT_FOUND",
      `Device "${device.deviceId}" has no role "${role}" (roles: ${roles.length > 0 ? roles.join(", ") : "none"}). Run "moltbot devices list" to see its roles.`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Request.

export interface DeviceRequestResult {
  created: boolean;
  request: DevicePendingView;
  /**
   * Earlier live requests of the same device that this one replaced because it came with a
   * different public key, role or scopes: the operator is never asked to approve a key the
   * device no longer presents, and never approves one it did not see.
   */
  replaced?: string[];
}

/** OpenClaw's operator scopes that imply others (dist/operator-scope-compat-*.mjs, 2026.9.6). */
function operatorScopeSatisfied(scope: string, granted: readonly string[]): boolean {
  if (!scope.startsWith("operator.")) return false;
  return (
    granted.includes(scope) ||
    granted.includes("operator.admin") ||
    (["operator.read", "operator.talk", "operator.sessions.read", "operator.sessions.write"].includes(scope) &&
      granted.includes("operator.write")) ||
    (scope === "operator.sessions.read" &&
      (granted.includes("operator.read") || granted.includes("operator.sessions.write")))
  );
}

/** Whether `role`'s grant of `granted` covers `scope`: operator scopes by implication, others exactly and role-prefixed. */
const roleAllows = (role: string, scope: string, granted: readonly string[]): boolean =>
  role === "operator"
    ? operatorScopeSatisfied(scope, granted)
    : scope.startsWith(`${role}.`) && granted.includes(scope);

const requestedRoles = (request: { role?: string; roles?: readonly string[] }): string[] =>
  mergeOrdered(request.roles, request.role !== undefined ? [request.role] : undefined);

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((item) => b.includes(item));

/**
 * The device is repeating its request (OpenClaw 2026.9.6's `samePendingApprovalSnapshot` or
 * `incomingApprovalCoveredByExisting`): the same key, browser origin and role, and either the same
 * roles and scopes, or roles among those asked before with every scope covered by what was asked
 * before (operator scopes by their implications: operator.admin covers operator.read).
 */
function isRepeat(existing: DevicePendingRequest, valid: ValidDeviceRequest): boolean {
  if (existing.publicKey !== valid.publicKey || existing.browserOrigin !== undefined || existing.role !== valid.role) {
    return false;
  }
  const roles = requestedRoles(valid);
  const scopes = valid.scopes ?? [];
  const before = existing.scopes ?? [];
  if (sameSet(requestedRoles(existing), roles) && sameSet(mergeOrdered(before), scopes)) return true;
  return (
    roles.every((role) => requestedRoles(existing).includes(role)) &&
    scopes.every((scope) => roles.some((role) => roleAllows(role, scope, before)))
  );
}

/**
 * A device asks to join (OpenClaw's rule, July 2026). With exactly one live request of the device
 * standing and the request a repeat of it (see isRepeat), that request is the answer
 * (`created: false`); with `refresh`, the SQLite generation's rule, it is refreshed in place: its
 * life restarts (`refreshedAtMs`), what the device says about itself is updated, it stays silent
 * only if both were, and it becomes a repair if the device got paired meanwhile. Otherwise every
 * live request of the device is replaced by one new request (roles and scopes merged, the new key;
 * the role of the newest one when none is given; silent only if all were), listed in `replaced`:
 * the operator never approves a key the device no longer presents.
 */
export function requestDevicePairing(
  state: { pending: DevicePendingState; paired: DevicePairedState },
  input: DeviceRequestInput,
  now: number,
  random: RandomBytes,
  options: { refresh?: boolean } = {},
): { pending?: DevicePendingState; result: DeviceRequestResult } {
  const valid = validateDeviceRequest(input);
  const all = Object.values(state.pending);
  const live = livePending(state.pending, now);
  const mine = live.filter((request) => request.deviceId === valid.deviceId);
  const existing = mine[0];
  const isPaired = own(state.paired, valid.deviceId) !== undefined;
  if (mine.length === 1 && existing && isRepeat(existing, valid)) {
    if (options.refresh) {
      const refreshed: DevicePendingRequest = { ...existing, refreshedAtMs: now };
      for (const key of ["displayName", "platform", "clientId", "clientMode", "remoteIp"] as const) {
        const value = valid[key];
        if (value !== undefined) refreshed[key] = value;
      }
      refreshed.silent = existing.silent === true && valid.silent === true;
      refreshed.isRepair = existing.isRepair === true || isPaired;
      return {
        pending: keyedByRequestId(live.map((request) => (request === existing ? refreshed : request))),
        result: { created: false, request: viewPendingRequest(refreshed, state.paired) },
      };
    }
    const changed = live.length !== all.length;
    return {
      ...(changed ? { pending: keyedByRequestId(live) } : {}),
      result: { created: false, request: viewPendingRequest(existing, state.paired) },
    };
  }
  const merged: ValidDeviceRequest = { ...valid };
  // mine is newest first: the newest request's role stands when the device names none.
  if (merged.role === undefined && existing?.role !== undefined) merged.role = existing.role;
  const roles = mergeOrdered(
    ...mine.flatMap((request) => [request.roles, request.role !== undefined ? [request.role] : undefined]),
    valid.roles,
    merged.role !== undefined ? [merged.role] : undefined,
  );
  if (roles.length > 0) merged.roles = roles;
  const scopes = mergeOrdered(...mine.map((request) => request.scopes), valid.scopes);
  if (scopes.length > 0) merged.scopes = scopes;
  // A silent request cannot launder earlier ones the owner was meant to see.
  if (valid.silent === true && !mine.every((request) => request.silent === true)) merged.silent = false;
  const request: DevicePendingRequest = {
    requestId: newRequestId(random, state.pending),
    ...merged,
    isRepair: isPaired,
    ts: now,
  };
  const kept = live.filter((candidate) => candidate.deviceId !== valid.deviceId);
  const result: DeviceRequestResult = { created: true, request: viewPendingRequest(request, state.paired) };
  if (mine.length > 0) result.replaced = mine.map((candidate) => candidate.requestId);
  return { pending: keyedByRequestId([...kept, request]), result };
}

// ---------------------------------------------------------------------------------------------
// Approve and reject.

/**
 * The live request an operator means: by requestId (what `list` shows), else the newest live
 * request of the device with that id, so an id copied from an older listing still works.
 */
export function findDeviceRequest(pending: DevicePendingState, id: string, now: number): DevicePendingRequest {
  const wanted = validateLookupId(id, "request or device id");
  const request = findLivePending(pending, wanted, now, (entry) => entry.deviceId);
  if (!request) {
    throw new MoltbotError(
      "NOT_FOUND",
      `No pending device request "${wanted}" (unknown, or expired: requests last 5 minutes). Run "moltbot devices list" to see pending requests.`,
    );
  }
  return request;
}

function withoutRequests(
  pending: DevicePendingState,
  drop: (request: DevicePendingRequest) => boolean,
  now: number,
): DevicePendingState {
  return keyedByRequestId(livePending(pending, now).filter((request) => !drop(request)));
}

export interface DeviceApproveResult {
  requestId: string;
  device: PairedDeviceView;
  /** The role a fresh token was issued for (none when the request named no role). */
  issuedRole?: string;
}

/** How a pairing was approved, as OpenClaw records it (`approved_via`). */
export type ApprovalKind = "owner" | "silent" | "trusted-cidr" | "trusted-proxy" | "ssh-verified" | "bootstrap";

/** OpenClaw's merge rule: the owner's approval always wins; an earlier owner or bootstrap approval sticks. */
function mergeApprovalKind(existing: PairedDevice | undefined, incoming: ApprovalKind): string | undefined {
  if (incoming === "owner" || !existing) return incoming;
  const before = existing.approvedVia;
  if (before === undefined) return incoming === "bootstrap" ? "bootstrap" : undefined;
  if (before === "owner" || before === "bootstrap") return before;
  return incoming;
}

/**
 * Approve a request: the device joins `paired.json` (roles and scopes merged with an earlier
 * pairing, union in order; `createdAtMs` kept; the request's key and fields win) with a fresh token
 * for the requested role. The store writes `paired` before `pending`, so a crash in between never
 * loses an approval.
 *
 * `approvedVia` is the SQLite generation's rule (OpenClaw 2026.9.6): the approval is recorded
 * (`owner` for an operator's approval, merged with an earlier kind), the approved scopes are kept
 * apart from the device's own (`approvedScopes`, the baseline later approvals merge into), and the
 * request's device family and browser origin carry over.
 */
export function approveDeviceRequest(
  state: { pending: DevicePendingState; paired: DevicePairedState },
  input: { id: string; expectFingerprint?: string },
  now: number,
  random: RandomBytes,
  options: { approvedVia?: ApprovalKind } = {},
): { pending: DevicePendingState; paired: DevicePairedState; result: DeviceApproveResult } {
  const request = findDeviceRequest(state.pending, input.id, now);
  // --expect-fingerprint: only the key the operator checked is approved. A device that asked again
  // with another key between the look and the approval has a request the operator never saw.
  if (input.expectFingerprint !== undefined) {
    const expected = normalizeFingerprint(input.expectFingerprint);
    const actual = publicKeyFingerprint(request.publicKey);
    if (actual !== expected) {
      throw new MoltbotError(
        "REQUEST_CHANGED",
        `Not approved: the pending request ${request.requestId} of device ${request.deviceId} presents a key with fingerprint ${actual}, not ${expected} (the device asked again with another key since you looked). Run "moltbot devices list" and check the fingerprint with the device's owner.`,
      );
    }
  }
  if (request.deviceId === "__proto__") {
    throw usage(
      `Device request ${request.requestId} names the device id "__proto__", which cannot be stored in paired.json; nothing was approved. Drop it with "moltbot devices reject ${request.requestId}".`,
    );
  }
  const existing = own(state.paired, request.deviceId);
  // Fields in the gateway's order; an earlier pairing keeps its own order and unknown fields.
  const device: PairedDevice = {
    ...existing,
    deviceId: request.deviceId,
    publicKey: request.publicKey,
    createdAtMs: existing?.createdAtMs ?? now,
    approvedAtMs: now,
  };
  const carried = ["displayName", "platform", "clientId", "clientMode", "role"];
  if (options.approvedVia !== undefined) carried.push("deviceFamily", "browserOrigin");
  for (const key of carried) {
    const value = request[key];
    if (typeof value === "string") device[key] = value;
  }
  const roles = mergeOrdered(
    existing?.roles,
    existing?.role !== undefined ? [existing.role] : undefined,
    request.roles,
    request.role !== undefined ? [request.role] : undefined,
  );
  if (roles.length > 0) device.roles = roles;
  const baseline =
    options.approvedVia !== undefined && Array.isArray(existing?.approvedScopes)
      ? (existing.approvedScopes as unknown[]).filter((scope): scope is string => typeof scope === "string")
      : existing?.scopes;
  const scopes = mergeOrdered(baseline, request.scopes);
  if (scopes.length > 0) device.scopes = scopes;
  if (options.approvedVia !== undefined) {
    device.approvedScopes = scopes;
    const via = mergeApprovalKind(existing, options.approvedVia);
    if (via === undefined) delete device.approvedVia;
    else device.approvedVia = via;
  }
  if (typeof request.remoteIp === "string") device.remoteIp = request.remoteIp;
  const result: DeviceApproveResult = { requestId: request.requestId, device: viewPairedDevice(device) };
  if (request.role !== undefined) {
    const tokens = { ...existing?.tokens };
    tokens[request.role] = mintToken(own(tokens, request.role), request.role, request.scopes ?? [], now, random);
    device.tokens = tokens;
    result.device = viewPairedDevice(device);
    result.issuedRole = request.role;
  }
  // Key order of the file: the device keeps its place; timestamps stay last, as the gateway writes them.
  const { createdAtMs, approvedAtMs, ...rest } = device;
  return {
    pending: withoutRequests(state.pending, (candidate) => candidate.requestId === request.requestId, now),
    paired: { ...state.paired, [device.deviceId]: { ...rest, createdAtMs, approvedAtMs } },
    result,
  };
}

export interface DeviceRejectResult {
  requestId: string;
  deviceId: string;
}

/** Drop a pending request; an existing pairing of the device is untouched. */
export function rejectDeviceRequest(
  pending: DevicePendingState,
  input: { id: string },
  now: number,
): { pending: DevicePendingState; result: DeviceRejectResult } {
  const request = findDeviceRequest(pending, input.id, now);
  return {
    pending: withoutRequests(pending, (candidate) => candidate.requestId === request.requestId, now),
    result: { requestId: request.requestId, deviceId: request.deviceId },
  };
}

// ---------------------------------------------------------------------------------------------
// Tokens of paired devices.

export interface DeviceRotateResult {
  deviceId: string;
  role: string;
  /** The new secret: rotate is the one operation whose result carries it. */
  token: string;
  scopes: string[];
  rotatedAtMs: number;
}

/**
 * New secret for one of the device's roles. Given scopes replace the token's scopes and, as the
 * gateway does ("sync device scopes on token rotation"), the device's own scopes, which its connect
 * check reads: a narrowing done here sticks.
 */
export function rotateDeviceToken(
  paired: DevicePairedState,
  input: { deviceId: string; role: string; scopes?: readonly string[] },
  now: number,
  random: RandomBytes,
): { paired: DevicePairedState; result: DeviceRotateResult } {
  const device = pairedDevice(paired, validateDeviceId(input.deviceId));
  const role = validateRole(input.role);
  requireRole(device, role);
  const previous = own(device.tokens ?? {}, role);
  const given = input.scopes !== undefined ? validateScopes(input.scopes) : undefined;
  const token = mintToken(previous, role, given ?? previous?.scopes ?? device.scopes ?? [], now, random);
  token.rotatedAtMs = now;
  const next: PairedDevice = { ...device, tokens: { ...device.tokens, [role]: token } };
  if (given !== undefined) next.scopes = token.scopes;
  return {
    paired: { ...paired, [device.deviceId]: next },
    result: { deviceId: device.deviceId, role, token: token.token, scopes: token.scopes, rotatedAtMs: now },
  };
}

export interface DeviceRevokeResult {
  deviceId: string;
  role: string;
  revokedAtMs: number;
}

/** Mark a role's token revoked; revoking again keeps the first `revokedAtMs` and changes nothing. */
export function revokeDeviceToken(
  paired: DevicePairedState,
  input: { deviceId: string; role: string },
  now: number,
): { paired?: DevicePairedState; result: DeviceRevokeResult } {
  const device = pairedDevice(paired, validateDeviceId(input.deviceId));
  const role = validateRole(input.role);
  const token = own(device.tokens ?? {}, role);
  if (!token) {
    requireRole(device, role);
    throw new MoltbotError(
      "NOT_FOUND",
      `Device "${device.deviceId}" has no token for role "${role}"; nothing to revoke. Run "moltbot devices list" to see its tokens.`,
    );
  }
  if (token.revokedAtMs !== undefined) {
    return { result: { deviceId: device.deviceId, role, revokedAtMs: token.revokedAtMs } };
  }
  const next: PairedDevice = { ...device, tokens: { ...device.tokens, [role]: { ...token, revokedAtMs: now } } };
  return {
    paired: { ...paired, [device.deviceId]: next },
    result: { deviceId: device.deviceId, role, revokedAtMs: now },
  };
}

/**
 * Unpair a device and drop its pending requests, so it cannot come back through a request that
 * was already waiting. Fails when the device is neither paired nor waiting.
 */
export function removeDevice(
  state: { pending: DevicePendingState; paired: DevicePairedState },
  input: { deviceId: string },
  now: number,
): { pending?: DevicePendingState; paired?: DevicePairedState; result: { deviceId: string } } {
  const deviceId = validateDeviceId(input.deviceId);
  const isPaired = own(state.paired, deviceId) !== undefined;
  const waiting = Object.values(state.pending).some((request) => request.deviceId === deviceId);
  if (!isPaired && !livePending(state.pending, now).some((request) => request.deviceId === deviceId)) {
    throw notPaired(deviceId);
  }
  const paired = isPaired
    ? Object.fromEntries(Object.entries(state.paired).filter(([key]) => key !== deviceId))
    : undefined;
  return {
    ...(waiting ? { pending: withoutRequests(state.pending, (request) => request.deviceId === deviceId, now) } : {}),
    ...(paired ? { paired } : {}),
    result: { deviceId },
  };
}

export type VerifyFailureReason =
  "device-not-paired" | "role-missing" | "token-missing" | "token-revoked" | "token-mismatch" | "scope-mismatch";

export type DeviceVerifyResult = { ok: true } | { ok: false; reason: VerifyFailureReason };

/**
 * Check a presented token, reasons in this order: device-not-paired, role-missing, token-missing,
 * token-revoked, token-mismatch, scope-mismatch. The secret is compared in constant time. Success
 * records `lastUsedAtMs` (the returned `paired`); a failure changes nothing.
 */
export function verifyDeviceToken(
  paired: DevicePairedState,
  input: { deviceId: string; role: string; token: string; scopes?: readonly string[] },
  now: number,
): { paired?: DevicePairedState; result: DeviceVerifyResult } {
  const fail = (reason: VerifyFailureReason) => ({ result: { ok: false as const, reason } });
  const device = own(paired, input.deviceId.trim());
  if (!device) return fail("device-not-paired");
  const role = input.role.trim();
  if (role === "" || !deviceRoles(device).includes(role)) return fail("role-missing");
  const token = own(device.tokens ?? {}, role);
  if (!token) return fail("token-missing");
  if (token.revokedAtMs !== undefined) return fail("token-revoked");
  if (!secretsEqual(token.token, input.token)) return fail("token-mismatch");
  const allowed = new Set(token.scopes);
  if (!normalizeScopes(input.scopes).every((scope) => allowed.has(scope))) return fail("scope-mismatch");
  const next: PairedDevice = { ...device, tokens: { ...device.tokens, [role]: { ...token, lastUsedAtMs: now } } };
  return { paired: { ...paired, [device.deviceId]: next }, result: { ok: true } };
}

export interface DeviceRenameResult {
  deviceId: string;
  operatorLabel: string;
}

export const MAX_OPERATOR_LABEL_LENGTH = 64;

/**
 * The operator's own name for a paired device (OpenClaw's `operatorLabel`, `devices rename`): 1–64
 * characters, no control characters; the device's own `displayName` is left as it reported it.
 */
export function renameDevice(
  paired: DevicePairedState,
  input: { deviceId: string; name: string },
): { paired?: DevicePairedState; result: DeviceRenameResult } {
  const device = pairedDevice(paired, validateDeviceId(input.deviceId));
  const label = validateText(input.name, "name", MAX_OPERATOR_LABEL_LENGTH);
  const result = { deviceId: device.deviceId, operatorLabel: label };
  if (device.operatorLabel === label) return { result };
  return { paired: { ...paired, [device.deviceId]: { ...device, operatorLabel: label } }, result };
}

export interface DeviceClearResult {
  /** Request ids of the pending requests dropped (live ones). */
  pending: string[];
  /** Device ids unpaired. */
  paired: string[];
}

/**
 * What `devices clear` takes away: every live pending request (`pending`), every paired device
 * (`paired`), or both. The same function names what would go (without --yes) and does it.
 */
export function clearDevices(
  state: { pending: DevicePendingState; paired: DevicePairedState },
  input: { pending: boolean; paired: boolean },
  now: number,
): { pending?: DevicePendingState; paired?: DevicePairedState; result: DeviceClearResult } {
  const live = livePending(state.pending, now);
  const pairedIds = Object.keys(state.paired);
  const result: DeviceClearResult = {
    pending: input.pending ? live.map((request) => request.requestId) : [],
    paired: input.paired ? pairedIds : [],
  };
  return {
    ...(input.pending && Object.keys(state.pending).length > 0 ? { pending: {} } : {}),
    ...(input.paired && pairedIds.length > 0 ? { paired: {} } : {}),
    result,
  };
}
