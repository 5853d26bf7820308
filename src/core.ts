/**
 * `moltbot-pairing/core`: the pure rules, for a host that keeps its own state. Each function takes the
 * state as the gateway's January files hold it, the input, the time and a random source, and returns
 * the states to write (absent: unchanged) and the result; nothing here reads a file or a clock.
 *
 * @example
 * import { requestPairing, resolveChannel, emptyPending, emptyAllow } from "moltbot-pairing/core";
 * const { pending, result } = requestPairing(
 *   { pending: emptyPending(), allow: [emptyAllow()] },
 *   { channel: resolveChannel("telegram"), senderId: "123456789" },
 *   Date.now(),
 *   (n) => crypto.getRandomValues(new Uint8Array(n)),
 * );
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
export { DEFAULT_ACCOUNT, requestAccount, validateAccount } from "./core/accounts.js";
export {
  APPROVED_MESSAGE,
  DEFAULT_MAX_PENDING,
  DM_REQUEST_TTL_MS,
  allowedSenders,
  approvalAccount,
  approveCode,
  emptyAllow,
  emptyPending,
  isRequestLive,
  liveRequests,
  pairingReplyText,
  rejectCode,
  requestPairing,
  revokeSender,
  type AllowState,
  type PairingRequest,
  type PendingState,
} from "./core/dm-pairing.js";
export {
  DEVICE_REQUEST_TTL_MS,
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
  type DevicePairedState,
  type DevicePendingRequest,
  type DevicePendingState,
  type PairedDevice,
} from "./core/device-pairing.js";
export {
  NODE_REQUEST_TTL_MS,
  approveNodeRequest,
  emptyNodePaired,
  emptyNodePending,
  rejectNodeRequest,
  requestNodePairing,
  validateNodeRequest,
  verifyNodeToken,
  type NodePairedState,
  type NodePendingState,
  type PairedNode,
} from "./core/node-pairing.js";
export { generateToken, generateUuidV4, normalizeScopes, type DeviceToken } from "./core/tokens.js";
