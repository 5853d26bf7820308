import fs from "node:fs";
import path from "node:path";
import {
  approveDeviceRequest,
  emptyDevicePaired,
  emptyDevicePending,
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
  type DevicePairedState,
  type DevicePendingState,
  type DeviceRejectResult,
  type DeviceRequestInput,
  type DeviceRequestResult,
  type DeviceRevokeResult,
  type DeviceRotateResult,
  type DeviceVerifyResult,
} from "../core/device-pairing.js";
import type { StoreContext } from "./context.js";
import { devicePairedFileSchema, devicePairedListFileSchema, devicePendingFileSchema } from "./device-schemas.js";
import { readStoreFile, type StoreFile } from "./file-store.js";
import { updateStore } from "./locked-update.js";
import type { Schema } from "./validation.js";

/*
 * Device pairing over `<state>/devices/{pending,paired}.json` (SPEC §4, §5).
 * Lock order, one for every operation: pending before paired. Operations that only touch
 * `paired.json` (rotate, revoke, verify) lock only it. Approve holds the pending lock while it
 * writes `paired.json`, so `request` reads `paired.json` (for isRepair) without locking it.
 * A command that finds nothing to act on fails before locking, so it creates nothing on disk.
 */

export function devicePendingStoreFile(ctx: StoreContext): StoreFile<DevicePendingState> {
  return {
    path: path.join(ctx.paths.devicesDir, "pending.json"),
    label: "device pairing requests",
    schema: devicePendingFileSchema as Schema<DevicePendingState>,
    empty: emptyDevicePending,
  };
}

export function devicePairedStoreFile(ctx: StoreContext): StoreFile<DevicePairedState> {
  return {
    path: path.join(ctx.paths.devicesDir, "paired.json"),
    label: "paired devices",
    schema: devicePairedFileSchema as Schema<DevicePairedState>,
    empty: emptyDevicePaired,
  };
}

/** paired.json as read-only operations see it (see devicePairedListFileSchema). */
function pairedListFile(ctx: StoreContext): StoreFile<DevicePairedState> {
  return { ...devicePairedStoreFile(ctx), schema: devicePairedListFileSchema as Schema<DevicePairedState> };
}

/** Pending (live, newest first) and paired devices (most recently approved first), tokens as summaries. */
export function listDevices(ctx: StoreContext): DeviceListing {
  const pending = readStoreFile(devicePendingStoreFile(ctx));
  const paired = readStoreFile(pairedListFile(ctx));
  return listDevicePairing({ pending, paired }, ctx.now());
}

/** A device asks to join the gateway (what the gateway does when an unknown device connects). */
export async function requestDevice(ctx: StoreContext, input: DeviceRequestInput): Promise<DeviceRequestResult> {
  // Only "is this device paired?" is asked of paired.json here: the listing's lighter check keeps
  // the pending lock short when thousands of devices are paired.
  const pairedFile = pairedListFile(ctx);
  // Bad input is a usage error before any directory or lock exists.
  validateDeviceRequest(input);
  return updateStore([devicePendingStoreFile(ctx)] as const, ([pending]) => {
    const outcome = requestDevicePairing({ pending, paired: readStoreFile(pairedFile) }, input, ctx.now(), ctx.random);
    return { states: [outcome.pending], result: outcome.result };
  });
}

/** Run `attempt` on the unlocked files first when none of them exists: a miss then creates nothing. */
function failFastWithoutFiles(files: readonly StoreFile<unknown>[], attempt: () => unknown): void {
  if (files.some((file) => fs.existsSync(file.path))) return;
  attempt();
}

/** Approve by requestId, or by deviceId (that device's live request). Writes paired before pending. */
export async function approveDevice(ctx: StoreContext, input: { id: string }): Promise<DeviceApproveResult> {
  const pendingFile = devicePendingStoreFile(ctx);
  const pairedFile = devicePairedStoreFile(ctx);
  failFastWithoutFiles([pendingFile], () =>
    approveDeviceRequest({ pending: emptyDevicePending(), paired: emptyDevicePaired() }, input, ctx.now(), ctx.random),
  );
  return updateStore(
    [pendingFile, pairedFile] as const,
    ([pending, paired]) => {
      const outcome = approveDeviceRequest({ pending, paired }, input, ctx.now(), ctx.random);
      return { states: [outcome.pending, outcome.paired], result: outcome.result };
    },
    { writeOrder: [1, 0] },
  );
}

export async function rejectDevice(ctx: StoreContext, input: { id: string }): Promise<DeviceRejectResult> {
  const pendingFile = devicePendingStoreFile(ctx);
  failFastWithoutFiles([pendingFile], () => rejectDeviceRequest(emptyDevicePending(), input, ctx.now()));
  return updateStore([pendingFile] as const, ([pending]) => {
    const outcome = rejectDeviceRequest(pending, input, ctx.now());
    return { states: [outcome.pending], result: outcome.result };
  });
}

/** New secret for a role of a paired device; the only operation that returns a secret. */
export async function rotateDevice(
  ctx: StoreContext,
  input: { deviceId: string; role: string; scopes?: readonly string[] },
): Promise<DeviceRotateResult> {
  const pairedFile = devicePairedStoreFile(ctx);
  failFastWithoutFiles([pairedFile], () => rotateDeviceToken(emptyDevicePaired(), input, ctx.now(), ctx.random));
  return updateStore([pairedFile] as const, ([paired]) => {
    const outcome = rotateDeviceToken(paired, input, ctx.now(), ctx.random);
    return { states: [outcome.paired], result: outcome.result };
  });
}

export async function revokeDevice(
  ctx: StoreContext,
  input: { deviceId: string; role: string },
): Promise<DeviceRevokeResult> {
  const pairedFile = devicePairedStoreFile(ctx);
  failFastWithoutFiles([pairedFile], () => revokeDeviceToken(emptyDevicePaired(), input, ctx.now()));
  return updateStore([pairedFile] as const, ([paired]) => {
    const outcome = revokeDeviceToken(paired, input, ctx.now());
    return { states: [outcome.paired], result: outcome.result };
  });
}

/** Unpair a device and drop its pending requests (both files locked, pending first). */
export async function removeDeviceEverywhere(
  ctx: StoreContext,
  input: { deviceId: string },
): Promise<{ deviceId: string }> {
  const pendingFile = devicePendingStoreFile(ctx);
  const pairedFile = devicePairedStoreFile(ctx);
  failFastWithoutFiles([pendingFile, pairedFile], () =>
    removeDevice({ pending: emptyDevicePending(), paired: emptyDevicePaired() }, input, ctx.now()),
  );
  return updateStore(
    [pendingFile, pairedFile] as const,
    ([pending, paired]) => {
      const outcome = removeDevice({ pending, paired }, input, ctx.now());
      return { states: [outcome.pending, outcome.paired], result: outcome.result };
    },
    { writeOrder: [1, 0] },
  );
}

/**
 * Check a device's token. Failures are decided on an unlocked read and write nothing; success
 * is re-checked under the lock and records `lastUsedAtMs`.
 */
export async function verifyDevice(
  ctx: StoreContext,
  input: { deviceId: string; role: string; token: string; scopes?: readonly string[] },
): Promise<DeviceVerifyResult> {
  const pairedFile = devicePairedStoreFile(ctx);
  const first = verifyDeviceToken(readStoreFile(pairedFile), input, ctx.now());
  if (!first.result.ok) return first.result;
  return updateStore([pairedFile] as const, ([paired]) => {
    const outcome = verifyDeviceToken(paired, input, ctx.now());
    return { states: [outcome.paired], result: outcome.result };
  });
}
