import {
  approveDeviceRequest,
  listDevicePairing,
  rejectDeviceRequest,
  removeDevice,
  requestDevicePairing,
  revokeDeviceToken,
  rotateDeviceToken,
  validateDeviceRequest,
  verifyDeviceToken,
  type DeviceApproveResult,
  type DeviceListing,
  type DeviceRejectResult,
  type DeviceRequestInput,
  type DeviceRequestResult,
  type DeviceRevokeResult,
  type DeviceRotateResult,
  type DeviceVerifyResult,
} from "../core/device-pairing.js";
import {
  DEVICE_APPROVE,
  DEVICE_PAIRED,
  DEVICE_PENDING,
  DEVICE_REJECT,
  DEVICE_REMOVE,
  DEVICE_REQUEST,
  DEVICE_TOKENS,
} from "./catalogue.js";
import type { StoreContext } from "./context.js";
import { runTransaction } from "./transaction.js";

/*
 * Device pairing over `<state>/devices/{pending,paired}.json` (SPEC §4). Lock and write order come
 * from the catalogue's transactions; a request reads paired.json (for isRepair) without locking it,
 * because approve holds the pending lock while it writes paired.json.
 */

/**
 * Pending (live, newest first) and paired devices (most recently approved first), tokens as
 * summaries and only documented fields. Takes no lock and creates nothing.
 *
 * @example
 * const { pending, paired } = listDevices(ctx);
 */
export function listDevices(ctx: StoreContext): DeviceListing {
  const pending = ctx.backend.read(DEVICE_PENDING, {}).state;
  // Only the fields the listing shows are checked: listing 10 000 devices costs about what 10 do.
  const paired = ctx.backend.read(DEVICE_PAIRED, {}, { listing: true }).state;
  return listDevicePairing({ pending, paired }, ctx.now());
}

/**
 * A device asks to join the gateway (what the gateway does when an unknown device connects).
 *
 * @example
 * const { created, request } = await requestDevice(ctx, { deviceId, publicKey, role: "node" });
 */
export async function requestDevice(ctx: StoreContext, input: DeviceRequestInput): Promise<DeviceRequestResult> {
  // Bad input is a usage error before anything is read.
  validateDeviceRequest(input);
  // OpenClaw's SQLite generation keeps a request alive while the device retries (refreshedAtMs).
  const refresh = ctx.backend.kind === "sqlite";
  return runTransaction(ctx, DEVICE_REQUEST, { pending: {}, paired: {} }, (states, now, random) =>
    requestDevicePairing(states, input, now, random, { refresh }),
  );
}

/**
 * Approve by requestId, or by deviceId (that device's live request). Writes paired before pending.
 *
 * @example
 * const { device, issuedRole } = await approveDevice(ctx, { id: requestId });
 */
export async function approveDevice(ctx: StoreContext, input: { id: string }): Promise<DeviceApproveResult> {
  // OpenClaw's SQLite generation records how a pairing was approved: an operator's is "owner".
  const approval = ctx.backend.kind === "sqlite" ? ({ approvedVia: "owner" } as const) : {};
  return runTransaction(ctx, DEVICE_APPROVE, { pending: {}, paired: {} }, (states, now, random) =>
    approveDeviceRequest(states, input, now, random, approval),
  );
}

/**
 * Drop a pending request (by request id or device id); an existing pairing of the device is untouched.
 *
 * @example
 * await rejectDevice(ctx, { id: requestId });
 */
export async function rejectDevice(ctx: StoreContext, input: { id: string }): Promise<DeviceRejectResult> {
  return runTransaction(ctx, DEVICE_REJECT, { pending: {} }, ({ pending }, now) =>
    rejectDeviceRequest(pending, input, now),
  );
}

/**
 * New secret for a role of a paired device; the only operation that returns a secret.
 *
 * @example
 * const { token } = await rotateDevice(ctx, { deviceId: "ada-iphone", role: "node" });
 */
export async function rotateDevice(
  ctx: StoreContext,
  input: { deviceId: string; role: string; scopes?: readonly string[] },
): Promise<DeviceRotateResult> {
  return runTransaction(ctx, DEVICE_TOKENS, { paired: {} }, ({ paired }, now, random) =>
    rotateDeviceToken(paired, input, now, random),
  );
}

/**
 * Mark the token of a role of a paired device revoked; revoking again keeps the first time.
 *
 * @example
 * await revokeDevice(ctx, { deviceId: "ada-iphone", role: "operator" });
 */
export async function revokeDevice(
  ctx: StoreContext,
  input: { deviceId: string; role: string },
): Promise<DeviceRevokeResult> {
  return runTransaction(ctx, DEVICE_TOKENS, { paired: {} }, ({ paired }, now) => revokeDeviceToken(paired, input, now));
}

/**
 * Unpair a device and drop its pending requests (both records locked, pending first).
 *
 * @example
 * await removeDeviceEverywhere(ctx, { deviceId: "ada-iphone" });
 */
export async function removeDeviceEverywhere(
  ctx: StoreContext,
  input: { deviceId: string },
): Promise<{ deviceId: string }> {
  return runTransaction(ctx, DEVICE_REMOVE, { pending: {}, paired: {} }, (states, now) =>
    removeDevice(states, input, now),
  );
}

/**
 * Check a device's token. A failure writes nothing (decided on an unlocked read); success is
 * decided again under the lock and records `lastUsedAtMs`.
 *
 * @example
 * const check = await verifyDevice(ctx, { deviceId, role: "node", token });
 * if (!check.ok) refuse(check.reason);
 */
export async function verifyDevice(
  ctx: StoreContext,
  input: { deviceId: string; role: string; token: string; scopes?: readonly string[] },
): Promise<DeviceVerifyResult> {
  return runTransaction(ctx, DEVICE_TOKENS, { paired: {} }, ({ paired }, now) => verifyDeviceToken(paired, input, now));
}
