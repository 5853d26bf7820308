/**
 * moltbot pairing as a library: the operations a gateway calls, on the same state as the CLI (the
 * January JSON files, OpenClaw's account-scoped JSON files), safe to call any number of times and
 * alongside CLI processes on the same files. Each operation takes a store context
 * (`createStoreContext`), validates its input, and either answers from a plain read (a miss, a full
 * channel, an allowed sender: nothing is locked or created) or changes the store under its locks.
 * Failures are `MoltbotError`s whose `code` says what happened (`exitCode` is the CLI's status).
 * The pure rules are under `moltbot-pairing/core`.
 *
 * @example
 * import { createStoreContext, requestDmPairing } from "moltbot-pairing";
 * const ctx = createStoreContext(); // the state dir moltbot would use, real clock, crypto randomness
 * const result = await requestDmPairing(ctx, { channel: "telegram", senderId: "123456789" });
 * if (result.status === "created") await sendToSender(result.message);
 */
export { MoltbotError, isMoltbotError, ERROR_EXIT_CODES, type ErrorCode } from "./errors.js";
export type { RandomBytes } from "./core/random.js";
export { CHANNEL_NAMES, type ChannelInfo } from "./core/channels.js";
export { APPROVED_MESSAGE } from "./core/dm-pairing.js";
export type {
  ApproveResult,
  PairingRequestView,
  RejectResult,
  RequestResult,
  RequestStatus,
  RevokeResult,
} from "./core/dm-pairing.js";
export type {
  DeviceApproveResult,
  DeviceListing,
  DevicePendingView,
  DeviceRejectResult,
  DeviceRequestInput,
  DeviceRequestResult,
  DeviceRevokeResult,
  DeviceRotateResult,
  DeviceTokenSummary,
  DeviceVerifyResult,
  PairedDeviceView,
  VerifyFailureReason,
} from "./core/device-pairing.js";
export type { DeviceClearResult, DeviceRenameResult } from "./core/device-pairing.js";
export type { NodePendingRequest, NodeRequestInput, PairedNodeView } from "./core/node-pairing.js";
export type { BlockResult, BlockedView, UnblockResult } from "./core/block-list.js";
export type { DecisionAction, DecisionEntry } from "./core/decisions.js";
export type { LogVerification } from "./core/decision-chain.js";

export { createStoreContext, type StoreContext, type StoreContextOptions } from "./store/context.js";
export { resolveStatePaths, type StatePaths, type StatePathOptions } from "./store/paths.js";
export {
  approveDmCode,
  blockDmSender,
  listAllDmRequests,
  listBlockedSenders,
  listDmRequests,
  readDmAllowlist,
  rejectDmCode,
  requestDmPairing,
  revokeDmSender,
  unblockDmSender,
  type BlockInput,
  type ChannelListError,
  type ChannelRef,
  type ChannelRequests,
  type DmCodeInput,
  type DmRequestInput,
} from "./store/dm-store.js";
export {
  approveDevice,
  clearAllDevices,
  listDevices,
  previewDeviceClear,
  rejectDevice,
  removeDeviceEverywhere,
  renamePairedDevice,
  requestDevice,
  revokeDevice,
  rotateDevice,
  verifyDevice,
} from "./store/device-store.js";
export {
  approveNode,
  listNodeRequests,
  listPairedNodes,
  rejectNode,
  removePairedNode,
  renamePairedNode,
  requestNode,
  verifyNode,
} from "./store/node-store.js";
export { readDecisionLog } from "./store/decision-log.js";
export { watchDmRequests, type DmWatcher, type NewRequest, type WatchOptions } from "./store/watch.js";
export { runDoctor, type DoctorFinding, type DoctorReport } from "./store/doctor.js";
export { GENERATION_NAMES, type Generation } from "./store/generation.js";
export {
  DEFAULT_NOTIFY_TIMEOUT_MS,
  notifyApprovedSender,
  type NotifyOptions,
  type NotifyResult,
  type NotifyStatus,
  type NotifyTarget,
} from "./notify/index.js";
