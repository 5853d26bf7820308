import { MAX_LOGGED_IDS } from "../core/decisions.js";
import { normalizeFingerprint } from "../core/fingerprint.js";
import {
  approveDeviceRequest,
  clearDevices,
  renameDevice,
  type DeviceClearResult,
  type DeviceRenameResult,
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
import { logged, runTransaction } from "./transaction.js";

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
 * With `expectFingerprint`, only if the request's key still has that fingerprint (checked under the
 * lock: REQUEST_CHANGED otherwise). Recorded in the decision log.
 *
 * @example
 * const { device, issuedRole } = await approveDevice(ctx, { id: requestId });
 */
export async function approveDevice(
  ctx: StoreContext,
  input: { id: string; expectFingerprint?: string; reason?: string },
): Promise<DeviceApproveResult> {
  if (input.expectFingerprint !== undefined) normalizeFingerprint(input.expectFingerprint);
  const lookup = {
    id: input.id,
    ...(input.expectFingerprint !== undefined ? { expectFingerprint: input.expectFingerprint } : {}),
  };
  // OpenClaw's SQLite generation records how a pairing was approved: an operator's is "owner".
  const approval = ctx.backend.kind === "sqlite" ? ({ approvedVia: "owner" } as const) : {};
  return runTransaction(
    ctx,
    DEVICE_APPROVE,
    { pending: {}, paired: {} },
    (states, now, random) => {
      const outcome = approveDeviceRequest(states, lookup, now, random, approval);
      const { result } = outcome;
      return {
        ...outcome,
        log: {
          action: "devices.approve",
          requestId: result.requestId,
          deviceId: result.device.deviceId,
          ...(result.issuedRole !== undefined ? { role: result.issuedRole } : {}),
        },
      };
    },
    logged(input.reason),
  );
}

/**
 * Drop a pending request (by request id or device id); an existing pairing of the device is untouched.
 *
 * @example
 * await rejectDevice(ctx, { id: requestId });
 */
export async function rejectDevice(
  ctx: StoreContext,
  input: { id: string; reason?: string },
): Promise<DeviceRejectResult> {
  return runTransaction(
    ctx,
    DEVICE_REJECT,
    { pending: {} },
    ({ pending }, now) => {
      const outcome = rejectDeviceRequest(pending, input, now);
      const { requestId, deviceId } = outcome.result;
      return { ...outcome, log: { action: "devices.reject", requestId, deviceId } };
    },
    logged(input.reason),
  );
}

/**
 * New secret for a role of a paired device; the only operation that returns a secret (the decision
 * log records the rotation, never the secret).
 *
 * @example
 * const { token } = await rotateDevice(ctx, { deviceId: "ada-iphone", role: "node" });
 */
export async function rotateDevice(
  ctx: StoreContext,
  input: { deviceId: string; role: string; scopes?: readonly string[]; reason?: string },
): Promise<DeviceRotateResult> {
  return runTransaction(
    ctx,
    DEVICE_TOKENS,
    { paired: {} },
    ({ paired }, now, random) => {
      const outcome = rotateDeviceToken(paired, input, now, random);
      const { deviceId, role } = outcome.result;
      return { ...outcome, log: { action: "devices.rotate", deviceId, role } };
    },
    logged(input.reason),
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
  input: { deviceId: string; role: string; reason?: string },
): Promise<DeviceRevokeResult> {
  return runTransaction(
    ctx,
    DEVICE_TOKENS,
    { paired: {} },
    ({ paired }, now) => {
      const outcome = revokeDeviceToken(paired, input, now);
      const { deviceId, role } = outcome.result;
      return { ...outcome, log: { action: "devices.revoke", deviceId, role } };
    },
    logged(input.reason),
  );
}

/**
 * Unpair a device and drop its pending requests (both records locked, pending first).
 *
 * @example
 * await removeDeviceEverywhere(ctx, { deviceId: "ada-iphone" });
 */
export async function removeDeviceEverywhere(
  ctx: StoreContext,
  input: { deviceId: string; reason?: string },
): Promise<{ deviceId: string }> {
  return runTransaction(
    ctx,
    DEVICE_REMOVE,
    { pending: {}, paired: {} },
    (states, now) => {
      const outcome = removeDevice(states, input, now);
      return { ...outcome, log: { action: "devices.remove", deviceId: outcome.result.deviceId } };
    },
    logged(input.reason),
  );
}

/**
 * The operator's label for a paired device (`operatorLabel`, shown in listings).
 *
 * @example
 * await renamePairedDevice(ctx, { deviceId, name: "Kitchen iPad" });
 */
export async function renamePairedDevice(
  ctx: StoreContext,
  input: { deviceId: string; name: string; reason?: string },
): Promise<DeviceRenameResult> {
  return runTransaction(
    ctx,
    DEVICE_TOKENS,
    { paired: {} },
    ({ paired }) => {
      const outcome = renameDevice(paired, input);
      const { deviceId, operatorLabel } = outcome.result;
      return { ...outcome, log: { action: "devices.rename", deviceId, name: operatorLabel } };
    },
    logged(input.reason),
  );
}

/**
 * What `devices clear` would take away now (nothing is locked or changed).
 *
 * @example
 * const { pending, paired } = previewDeviceClear(ctx, { pending: true, paired: false });
 */
export function previewDeviceClear(ctx: StoreContext, input: { pending: boolean; paired: boolean }): DeviceClearResult {
  const pending = ctx.backend.read(DEVICE_PENDING, {}).state;
  const paired = ctx.backend.read(DEVICE_PAIRED, {}).state;
  return clearDevices({ pending, paired }, input, ctx.now()).result;
}

/**
 * Drop every pending request and/or unpair every device, under both locks; the result says what went.
 *
 * @example
 * const { pending } = await clearAllDevices(ctx, { pending: true, paired: false, reason: "reset" });
 */
export async function clearAllDevices(
  ctx: StoreContext,
  input: { pending: boolean; paired: boolean; reason?: string },
): Promise<DeviceClearResult> {
  return runTransaction(
    ctx,
    DEVICE_REMOVE,
    { pending: {}, paired: {} },
    (states, now) => {
      const outcome = clearDevices(states, input, now);
      const ids = [...outcome.result.paired, ...outcome.result.pending];
      return {
        ...outcome,
        log: { action: "devices.clear", count: ids.length, ids: ids.slice(0, MAX_LOGGED_IDS) },
      };
    },
    logged(input.reason),
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
