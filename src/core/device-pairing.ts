import { MoltbotError } from "../errors.js";
import type { RandomBytes } from "./random.js";
import { generateToken, generateUuidV4, mergeOrdered, normalizeScopes, secretsEqual } from "./tokens.js";

/*
 * Device pairing rules (SPEC §4), pure: (state, input, now, random) → { state(s), result }.
 * A returned state is undefined when nothing changed, so the store writes only what moved.
 * The state objects are the gateway's files: `devices/pending.json` keyed by requestId and
 * `devices/paired.json` keyed by deviceId. Fields we do not know are carried along untouched.
 */

/** Pending requests expire this long after `ts`; a request exactly 5 minutes old is still live. */
export const DEVICE_REQUEST_TTL_MS = 5 * 60 * 1000;

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
  [key: string]: unknown;
}

export interface DeviceToken {
  token: string;
  role: string;
  scopes: string[];
  createdAtMs: number;
  rotatedAtMs?: number;
  revokedAtMs?: number;
  lastUsedAtMs?: number;
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

/** What listings and approve show instead of a token: never the secret. */
export interface DeviceTokenSummary {
  role: string;
  scopes: string[];
  createdAtMs: number;
  rotatedAtMs?: number;
  revokedAtMs?: number;
  lastUsedAtMs?: number;
}

/** A paired device as `list` and `approve` show it: tokens as summaries, sorted by role. */
export interface PairedDeviceView extends Omit<ValidDeviceRequest, "silent"> {
  tokens?: DeviceTokenSummary[];
  createdAtMs: number;
  approvedAtMs: number;
  [key: string]: unknown;
}

export const emptyDevicePending = (): DevicePendingState => ({});
export const emptyDevicePaired = (): DevicePairedState => ({});

// ---------------------------------------------------------------------------------------------
// Input validation: device-supplied strings are bounded and free of control characters.

export const MAX_ID_LENGTH = 256;
export const MAX_PUBLIC_KEY_LENGTH = 4096;
export const MAX_NAME_LENGTH = 256;
export const MAX_SHORT_FIELD_LENGTH = 128;
export const MAX_SCOPES = 64;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
// Printable ASCII without spaces: what keys, roles and scopes are made of.
const TOKEN_CHARACTERS = /^[\u0021-\u007e]+$/;
const ROLE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

function usage(message: string): MoltbotError {
  return new MoltbotError("USAGE", message);
}

/** A text field: trimmed, bounded, no control characters. */
export function validateText(value: string, what: string, max: number): string {
  const trimmed = value.trim();
  if (trimmed === "") throw usage(`The ${what} is empty.`);
  if (trimmed.length > max) throw usage(`The ${what} is too long (${trimmed.length} characters; at most ${max}).`);
  if (CONTROL_CHARACTERS.test(trimmed)) throw usage(`The ${what} contains control characters.`);
  return trimmed;
}

/**
 * A device or node id. Also the key of `paired.json`, so `__proto__` is refused: a JSON object
 * key of that name does not survive a parse-and-rewrite in JavaScript.
 */
export function validateDeviceId(value: string, what = "device id"): string {
  const id = validateText(value, what, MAX_ID_LENGTH);
  if (id === "__proto__") throw usage(`"__proto__" cannot be a ${what}.`);
  return id;
}

export function validatePublicKey(value: string): string {
  const key = validateText(value, "public key", MAX_PUBLIC_KEY_LENGTH);
  if (!TOKEN_CHARACTERS.test(key))
    throw usage("The public key must be printable ASCII without spaces (e.g. base64url).");
  return key;
}

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
      if (!TOKEN_CHARACTERS.test(trimmed))
        throw usage(`Invalid scope "${trimmed}": scopes have no spaces, e.g. operator.read.`);
      return trimmed;
    }),
  );
}

/** An id typed by the operator to find a request: bounded, no control characters. */
export function validateLookupId(value: string, what: string): string {
  return validateText(value, what, MAX_ID_LENGTH);
}

// ---------------------------------------------------------------------------------------------
// Reading the state.

/** The entry stored under `key`, ignoring anything inherited from Object.prototype. */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

export function isDeviceRequestLive(request: { ts: number }, now: number): boolean {
  return Number.isFinite(request.ts) && now <= request.ts + DEVICE_REQUEST_TTL_MS;
}

/** Newest first; ties broken by requestId so the order is stable. */
function newestFirst<R extends { ts: number; requestId: string }>(a: R, b: R): number {
  return b.ts - a.ts || (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0);
}

/** Live requests, newest first. */
export function liveDeviceRequests(pending: DevicePendingState, now: number): DevicePendingRequest[] {
  return Object.values(pending)
    .filter((request) => isDeviceRequestLive(request, now))
    .sort(newestFirst);
}

/** Rebuild a keyed file from live entries: expired requests are dropped on every write. */
function keyed<R extends { requestId: string }>(requests: readonly R[]): Record<string, R> {
  return Object.fromEntries(requests.map((request) => [request.requestId, request]));
}

export function summarizeToken(token: DeviceToken, key: string = token.role): DeviceTokenSummary {
  // Listings read tokens without deep validation: fall back to the role the token is filed under.
  const role = typeof token.role === "string" ? token.role : key;
  const summary: DeviceTokenSummary = { role, scopes: token.scopes, createdAtMs: token.createdAtMs };
  if (token.rotatedAtMs !== undefined) summary.rotatedAtMs = token.rotatedAtMs;
  if (token.revokedAtMs !== undefined) summary.revokedAtMs = token.revokedAtMs;
  if (token.lastUsedAtMs !== undefined) summary.lastUsedAtMs = token.lastUsedAtMs;
  return summary;
}

/** A paired device without its secrets. */
export function viewPairedDevice(device: PairedDevice): PairedDeviceView {
  const { tokens } = device;
  // Without tokens there is no secret to hide: the device is its own view.
  if (tokens === undefined) return device as unknown as PairedDeviceView;
  const summaries = Object.entries(tokens)
    .map(([key, token]) => summarizeToken(token, key))
    .sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
  // A plain spread then overwrite (not `{ tokens, ...rest }`): V8 copies it several times faster,
  // which shows when 10 000 devices are listed.
  return { ...device, tokens: summaries };
}

export interface DeviceListing {
  pending: DevicePendingRequest[];
  paired: PairedDeviceView[];
}

/** Pending (live, newest first) and paired (most recently approved first), without secrets. */
export function listDevicePairing(
  state: { pending: DevicePendingState; paired: DevicePairedState },
  now: number,
): DeviceListing {
  const paired = Object.values(state.paired)
    .sort((a, b) => b.approvedAtMs - a.approvedAtMs)
    .map(viewPairedDevice);
  return { pending: liveDeviceRequests(state.pending, now), paired };
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

function roleOf(device: PairedDevice, role: string): void {
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

/** What a device sends, before validation (`roles` is derived from `role`). */
export interface DeviceRequestInput extends Omit<ValidDeviceRequest, "roles" | "scopes"> {
  scopes?: readonly string[];
}

export interface DeviceRequestResult {
  created: boolean;
  request: DevicePendingRequest;
}

function optionalText(value: string | undefined, what: string, max: number): string | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  return validateText(value, what, max);
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

/**
 * A device asks to join. The same device asking again while its request is live gets that
 * request back (`created: false`, nothing written unless expired requests were dropped).
 */
export function requestDevicePairing(
  state: { pending: DevicePendingState; paired: DevicePairedState },
  input: DeviceRequestInput,
  now: number,
  random: RandomBytes,
): { pending?: DevicePendingState; result: DeviceRequestResult } {
  const valid = validateDeviceRequest(input);
  const { deviceId } = valid;

  const all = Object.values(state.pending);
  const live = all.filter((request) => isDeviceRequestLive(request, now));
  const existing = live.filter((request) => request.deviceId === deviceId).sort(newestFirst)[0];
  if (existing) {
    const changed = live.length !== all.length;
    return { ...(changed ? { pending: keyed(live) } : {}), result: { created: false, request: existing } };
  }

  const requestIds = new Set(all.map((request) => request.requestId));
  let requestId = generateUuidV4(random);
  while (requestIds.has(requestId)) requestId = generateUuidV4(random);

  const request: DevicePendingRequest = {
    requestId,
    ...valid,
    isRepair: own(state.paired, deviceId) !== undefined,
    ts: now,
  };
  return { pending: keyed([...live, request]), result: { created: true, request } };
}

// ---------------------------------------------------------------------------------------------
// Approve and reject.

/**
 * The live request an operator means: by requestId (what `list` shows), else the newest live
 * request of the device with that id, so an id copied from an older listing still works.
 */
export function findDeviceRequest(pending: DevicePendingState, id: string, now: number): DevicePendingRequest {
  const wanted = validateLookupId(id, "request or device id");
  const live = liveDeviceRequests(pending, now);
  const lower = wanted.toLowerCase();
  const request =
    live.find((candidate) => candidate.requestId === wanted || candidate.requestId === lower) ??
    live.find((candidate) => candidate.deviceId === wanted);
  if (!request) {
    throw new MoltbotError(
      "NOT_FOUND",
      `No pending device request "${wanted}" (unknown, or expired: requests last 5 minutes). Run "moltbot devices list" to see pending requests.`,
    );
  }
  return request;
}

function withoutRequest(
  pending: DevicePendingState,
  drop: (request: DevicePendingRequest) => boolean,
  now: number,
): DevicePendingState {
  return keyed(Object.values(pending).filter((request) => isDeviceRequestLive(request, now) && !drop(request)));
}

/** A fresh secret for `role`; an earlier token of the role keeps `createdAtMs` and gains `rotatedAtMs`. */
function mintToken(
  previous: DeviceToken | undefined,
  role: string,
  scopes: readonly string[],
  now: number,
  random: RandomBytes,
): DeviceToken {
  const kept: Partial<DeviceToken> = { ...previous };
  delete kept.revokedAtMs;
  const token: DeviceToken = {
    ...kept,
    token: generateToken(random),
    role,
    scopes: normalizeScopes(scopes),
    createdAtMs: previous?.createdAtMs ?? now,
  };
  if (previous) token.rotatedAtMs = now;
  return token;
}

export interface DeviceApproveResult {
  requestId: string;
  device: PairedDeviceView;
  /** The role a fresh token was minted for; absent when the request named no role (no token). */
  issuedRole?: string;
}

/**
 * Approve a request: the device joins `paired.json` (roles and scopes merged with an earlier
 * pairing, union in order; `createdAtMs` kept) with a fresh token for the requested role.
 * The store writes `paired` before `pending`, so a crash in between never loses an approval.
 */
export function approveDeviceRequest(
  state: { pending: DevicePendingState; paired: DevicePairedState },
  input: { id: string },
  now: number,
  random: RandomBytes,
): { pending: DevicePendingState; paired: DevicePairedState; result: DeviceApproveResult } {
  const request = findDeviceRequest(state.pending, input.id, now);
  const existing = own(state.paired, request.deviceId);
  // Fields in the gateway's order; an earlier pairing keeps its own order and unknown fields.
  const device = { ...existing, deviceId: request.deviceId, publicKey: request.publicKey } as PairedDevice;
  for (const key of ["displayName", "platform", "clientId", "clientMode", "role"] as const) {
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
  const scopes = mergeOrdered(existing?.scopes, request.scopes);
  if (scopes.length > 0) device.scopes = scopes;
  if (typeof request.remoteIp === "string") device.remoteIp = request.remoteIp;
  if (request.role !== undefined) {
    const tokens = { ...existing?.tokens };
    tokens[request.role] = mintToken(own(tokens, request.role), request.role, request.scopes ?? [], now, random);
    device.tokens = tokens;
  }
  device.createdAtMs = existing?.createdAtMs ?? now;
  device.approvedAtMs = now;
  return {
    pending: withoutRequest(state.pending, (candidate) => candidate.requestId === request.requestId, now),
    paired: { ...state.paired, [device.deviceId]: device },
    result: {
      requestId: request.requestId,
      device: viewPairedDevice(device),
      ...(request.role !== undefined ? { issuedRole: request.role } : {}),
    },
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
    pending: withoutRequest(pending, (candidate) => candidate.requestId === request.requestId, now),
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

/** New secret for one of the device's roles; `scopes` given replaces the token's scopes. */
export function rotateDeviceToken(
  paired: DevicePairedState,
  input: { deviceId: string; role: string; scopes?: readonly string[] },
  now: number,
  random: RandomBytes,
): { paired: DevicePairedState; result: DeviceRotateResult } {
  const device = pairedDevice(paired, validateDeviceId(input.deviceId));
  const role = validateRole(input.role);
  roleOf(device, role);
  const previous = own(device.tokens ?? {}, role);
  const scopes = input.scopes !== undefined ? validateScopes(input.scopes) : (previous?.scopes ?? device.scopes ?? []);
  const token = mintToken(previous, role, scopes, now, random);
  token.rotatedAtMs = now;
  const next: PairedDevice = { ...device, tokens: { ...device.tokens, [role]: token } };
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
    roleOf(device, role);
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
  if (!isPaired && !liveDeviceRequests(state.pending, now).some((request) => request.deviceId === deviceId)) {
    throw notPaired(deviceId);
  }
  const paired = isPaired
    ? Object.fromEntries(Object.entries(state.paired).filter(([key]) => key !== deviceId))
    : undefined;
  return {
    ...(waiting ? { pending: withoutRequest(state.pending, (request) => request.deviceId === deviceId, now) } : {}),
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
