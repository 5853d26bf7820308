/**
 * moltbot pairing as a library: the same operations as the CLI, for the gateway to call in-process.
 *
 * @example
 * import { createStoreContext, requestDmPairing } from "moltbot-pairing";
 * const ctx = createStoreContext(); // ~/.clawdbot, real clock, crypto randomness
 * const result = await requestDmPairing(ctx, { channel: "telegram", senderId: "123456789" });
 * if (result.status === "created") await sendToSender(result.message);
 */
export { MoltbotError, isMoltbotError, ERROR_EXIT_CODES, type ErrorCode } from "./errors.js";
export type { RandomBytes } from "./core/random.js";
export {
  CHANNEL_NAMES,
  CORE_CHANNELS,
  EXTENSION_CHANNELS,
  normalizeAllowEntry,
  resolveChannel,
  suggestChannel,
  type ChannelInfo,
} from "./core/channels.js";
export { CODE_ALPHABET, CODE_LENGTH, generateCode, normalizeCode } from "./core/codes.js";
export {
  APPROVED_MESSAGE,
  DEFAULT_MAX_PENDING,
  DM_REQUEST_TTL_MS,
  approveCode,
  isRequestLive,
  liveRequests,
  pairingReplyText,
  rejectCode,
  requestPairing,
  revokeSender,
  type AllowState,
  type ApproveResult,
  type PairingRequest,
  type PairingRequestView,
  type PendingState,
  type RejectResult,
  type RequestResult,
  type RequestStatus,
  type RevokeResult,
} from "./core/dm-pairing.js";
export { createStoreContext, type StoreContext, type StoreContextOptions } from "./store/context.js";
export { resolveStatePaths, type StatePaths, type StatePathOptions } from "./store/paths.js";
export {
  approveDmCode,
  listAllDmRequests,
  listDmRequests,
  readDmAllowlist,
  rejectDmCode,
  requestDmPairing,
  revokeDmSender,
  type ChannelRequests,
  type DmRequestInput,
} from "./store/dm-store.js";
export { runDoctor, type DoctorFinding, type DoctorReport } from "./store/doctor.js";
export {
  DEFAULT_NOTIFY_TIMEOUT_MS,
  notifyApprovedSender,
  type NotifyOptions,
  type NotifyResult,
  type NotifyStatus,
  type NotifyTarget,
} from "./notify/index.js";
export {
  DEVICE_REQUEST_TTL_MS,
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
  type DevicePairedState,
  type DevicePendingRequest,
  type DevicePendingState,
  type DeviceRejectResult,
  type DeviceRequestInput,
  type DeviceRequestResult,
  type DeviceRevokeResult,
  type DeviceRotateResult,
  type DeviceToken,
  type DeviceTokenSummary,
  type DeviceVerifyResult,
  type PairedDevice,
  type PairedDeviceView,
  type VerifyFailureReason,
} from "./core/device-pairing.js";
export {
  NODE_REQUEST_TTL_MS,
  approveNodeRequest,
  rejectNodeRequest,
  requestNodePairing,
  validateNodeRequest,
  verifyNodeToken,
  type NodePendingRequest,
  type NodeRequestInput,
  type PairedNode,
  type PairedNodeView,
} from "./core/node-pairing.js";
export { generateToken, generateUuidV4, normalizeScopes } from "./core/tokens.js";
export {
  approveDevice,
  listDevices,
  rejectDevice,
  removeDeviceEverywhere,
  requestDevice,
  revokeDevice,
  rotateDevice,
  verifyDevice,
} from "./store/device-store.js";
export { approveNode, listNodeRequests, rejectNode, requestNode, verifyNode } from "./store/node-store.js";
