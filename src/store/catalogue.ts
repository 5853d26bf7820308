import type { ChannelInfo } from "../core/channels.js";
import type { DevicePairedState, DevicePendingState } from "../core/device-pairing.js";
import { emptyAllow, emptyPending, isRequestLive, type AllowState, type PendingState } from "../core/dm-pairing.js";
import { emptyCodeHistory, isCodeRecordLive, type CodeHistoryState } from "../core/code-history.js";
import type { NodePairedState, NodePendingState } from "../core/node-pairing.js";
import type { StoreKind } from "../core/doctor.js";
import { isFutureDated, isPendingLive, lastActiveAt } from "../core/pending.js";
import { emptyBlockList, type BlockListState } from "../core/block-list.js";
import { CHANNEL_NAMES, resolveChannel } from "../core/channels.js";
import { emptyDecisionHead, type DecisionHead } from "../core/decisions.js";
import {
  allowFileSchema,
  blockListSchema,
  codeHistorySchema,
  decisionHeadSchema,
  devicePairedFileSchema,
  devicePendingFileSchema,
  lazy,
  listingSchemaFor,
  nodePairedFileSchema,
  nodePendingFileSchema,
  pendingFileSchema,
} from "./schemas.js";
import type { Schema } from "./validation.js";

/*
 * The store catalogue: every record the store holds, listed once, and every transaction over them.
 * A record is a file in the JSON backends and a set of rows in the SQLite one; a backend maps
 * records to its storage, and nothing else needs to know how. Doctor walks this list, so a record
 * added here is checked without telling doctor anything.
 *
 * Two rules are stated here and enforced by the transaction runner (transaction.ts):
 * - LOCK ORDER: pending records are locked before approved ones (one fixed order, so two commands
 *   never wait on each other), as the gateway does when it nests its allowlist lock in its pairing lock;
 * - WRITE ORDER: approved records are written before pending ones, so a crash between the two writes
 *   never loses an approval (the request is still there; approving again is harmless).
 *
 * moltbot's own side records (block list, code history, the decision log's head) have
 * `owner: "moltbot"` and stage "side": locked after the gateway's records, written before them.
 * THE ROUTING RULE: a record with `owner: "moltbot"` is always served by the JSON backend under
 * `<state>/moltbot/`, whatever backend serves the gateway's records (store/owned.ts does the routing
 * for every backend the context makes; a backend never needs to know these records). The decision
 * log's head is locked last of all, by the transaction runner (transaction.ts).
 */

/** Which record of a kind: DM records are per channel; DM allowlists per channel and account file. */
export interface RecordKey {
  channel?: ChannelInfo;
  /**
   * DM allowlists only: the account whose file this is (`<channel>-<account>-allowFrom.json`), or
   * undefined for the January file `<channel>-allowFrom.json` that the default account also reads.
   */
  account?: string;
}

/** Live, expired and future-dated entries of a pending record (doctor's view of expiry). */
export interface EntryCounts {
  live: number;
  expired: number;
  future: number;
}

export interface RecordKind<S> {
  /** The names doctor reports records by (core/doctor.ts). */
  readonly name: StoreKind;
  /** Pending records are locked first and written last; moltbot's side records after and before both (see above). */
  readonly stage: "pending" | "approved" | "side";
  /** moltbot's own record: always the JSON backend, under `<state>/moltbot/` (the routing rule above). */
  readonly owner?: "moltbot";
  /**
   * Bookkeeping derived from other records (the code history): it never decides whether a change is
   * made, so the unlocked decision reads it as empty (transaction.ts), and it says nothing about
   * whether a decision was made, so the decision log's journal leaves it out (store/decision-log.ts).
   */
  readonly bookkeeping?: true;
  /** The full shape, checked on every read a write depends on. */
  readonly schema: Schema<S>;
  /** A lighter check for read-only listings of records that grow large. */
  readonly listingSchema?: Schema<S>;
  readonly empty: () => S;
  /** For messages: "telegram pairing requests", "paired devices". */
  label(key: RecordKey): string;
  /**
   * The JSON backends' path rule: the directory (of StatePaths) and the file name; `keyOf` reads a
   * file name of that directory back to its key (records of moltbot's directory that are per channel).
   */
  readonly json: {
    dir: "credentialsDir" | "devicesDir" | "nodesDir" | "moltbotDir";
    file(key: RecordKey): string;
    keyOf?(name: string): RecordKey | undefined;
  };
  /** Pending records expire; doctor counts and prunes with the same rules every command applies. */
  readonly expiry?: { count(state: S, now: number): EntryCounts; prune(state: S, now: number): S };
}

const channelOf = (key: RecordKey): ChannelInfo => {
  if (!key.channel) throw new Error("a DM record needs a channel");
  return key.channel;
};

/**
 * An account id as the gateway turns it into a file name: trimmed, lower-cased, characters a path
 * cannot hold replaced (OpenClaw's safeChannelKey). fileInside still proves the result stays put.
 */
export function accountFileKey(account: string): string {
  return account
    .trim()
    .toLowerCase()
    .replace(/[\\/:*?"<>|]/g, "_")
    .replace(/\.\./g, "_");
}

function counts<T>(entries: readonly T[], live: (entry: T) => boolean, since: (entry: T) => number, now: number) {
  let liveCount = 0;
  let future = 0;
  for (const entry of entries) {
    if (live(entry)) liveCount++;
    else if (isFutureDated(since(entry), now)) future++;
  }
  return { live: liveCount, expired: entries.length - liveCount - future, future };
}

type Keyed = Record<string, { requestId: string; ts: number; refreshedAtMs?: number }>;

function keyedExpiry<S extends Keyed>() {
  return {
    count: (state: S, now: number) =>
      counts(Object.values(state), (entry) => isPendingLive(entry, now), lastActiveAt, now),
    prune: (state: S, now: number) =>
      Object.fromEntries(Object.entries(state).filter(([, entry]) => isPendingLive(entry, now))) as S,
  };
}

export const DM_PENDING: RecordKind<PendingState> = {
  name: "dm-pending",
  stage: "pending",
  schema: pendingFileSchema,
  empty: emptyPending,
  label: (key) => `${channelOf(key).name} pairing requests`,
  json: { dir: "credentialsDir", file: (key) => `${channelOf(key).name}-pairing.json` },
  expiry: {
    count: (state, now) =>
      counts(
        state.requests,
        (request) => isRequestLive(request, now),
        (request) => Date.parse(request.createdAt),
        now,
      ),
    prune: (state, now) => ({ ...state, requests: state.requests.filter((request) => isRequestLive(request, now)) }),
  },
};

export const DM_ALLOW: RecordKind<AllowState> = {
  name: "dm-allow",
  stage: "approved",
  schema: allowFileSchema,
  empty: emptyAllow,
  label: (key) => `a ${channelOf(key).name} allowlist${key.account !== undefined ? ` (account ${key.account})` : ""}`,
  json: {
    dir: "credentialsDir",
    file: (key) =>
      key.account === undefined
        ? `${channelOf(key).name}-allowFrom.json`
        : `${channelOf(key).name}-${accountFileKey(key.account)}-allowFrom.json`,
  },
};

export const DEVICE_PENDING: RecordKind<DevicePendingState> = {
  name: "device-pending",
  stage: "pending",
  schema: devicePendingFileSchema,
  empty: () => ({}),
  label: () => "device pairing requests",
  json: { dir: "devicesDir", file: () => "pending.json" },
  expiry: keyedExpiry<DevicePendingState>(),
};

export const DEVICE_PAIRED: RecordKind<DevicePairedState> = {
  name: "device-paired",
  stage: "approved",
  schema: devicePairedFileSchema,
  listingSchema: lazy(() => listingSchemaFor<DevicePairedState>()),
  empty: () => ({}),
  label: () => "paired devices",
  json: { dir: "devicesDir", file: () => "paired.json" },
};

export const NODE_PENDING: RecordKind<NodePendingState> = {
  name: "node-pending",
  stage: "pending",
  schema: nodePendingFileSchema,
  empty: () => ({}),
  label: () => "node pairing requests",
  json: { dir: "nodesDir", file: () => "pending.json" },
  expiry: keyedExpiry<NodePendingState>(),
};

export const NODE_PAIRED: RecordKind<NodePairedState> = {
  name: "node-paired",
  stage: "approved",
  schema: nodePairedFileSchema,
  empty: () => ({}),
  label: () => "paired nodes",
  json: { dir: "nodesDir", file: () => "paired.json" },
};

/** moltbot's block list: `<state>/moltbot/blocked.json` (core/block-list.ts). */
export const BLOCK_LIST: RecordKind<BlockListState> = {
  name: "block-list",
  stage: "side",
  owner: "moltbot",
  schema: blockListSchema,
  empty: emptyBlockList,
  label: () => "moltbot's block list",
  json: { dir: "moltbotDir", file: () => "blocked.json" },
};

/** What became of each code seen on a channel: `<state>/moltbot/<channel>-codes.json` (core/code-history.ts). */
export const CODE_HISTORY: RecordKind<CodeHistoryState> = {
  name: "code-history",
  stage: "side",
  owner: "moltbot",
  bookkeeping: true,
  schema: codeHistorySchema,
  empty: emptyCodeHistory,
  label: (key) => `moltbot's ${channelOf(key).name} code history`,
  json: {
    dir: "moltbotDir",
    file: (key) => `${channelOf(key).name}-codes.json`,
    keyOf: (name) => {
      const channel = CHANNEL_NAMES.find((candidate) => name === `${candidate}-codes.json`);
      return channel === undefined ? undefined : { channel: resolveChannel(channel) };
    },
  },
  expiry: {
    count: (state, now) =>
      counts(
        state.codes,
        (record) => isCodeRecordLive(record, now),
        (record) => Date.parse(record.createdAt),
        now,
      ),
    prune: (state, now) => ({ ...state, codes: state.codes.filter((record) => isCodeRecordLive(record, now)) }),
  },
};

/**
 * The decision log's head: `<state>/moltbot/decisions.head.json`, naming the last line of
 * `decisions.jsonl` beside it (store/decision-log.ts). Its lock covers both files.
 */
export const DECISION_HEAD: RecordKind<DecisionHead> = {
  name: "decision-head",
  stage: "side",
  owner: "moltbot",
  schema: decisionHeadSchema,
  empty: emptyDecisionHead,
  label: () => "the decision log's head",
  json: { dir: "moltbotDir", file: () => "decisions.head.json" },
};

export type AnyRecordKind =
  | RecordKind<PendingState>
  | RecordKind<AllowState>
  | RecordKind<DevicePendingState>
  | RecordKind<DevicePairedState>
  | RecordKind<NodePendingState>
  | RecordKind<NodePairedState>
  | RecordKind<BlockListState>
  | RecordKind<CodeHistoryState>
  | RecordKind<DecisionHead>;

/** Every record kind, in the order doctor reports them. */
export const RECORD_KINDS: readonly AnyRecordKind[] = [
  DM_PENDING,
  DM_ALLOW,
  DEVICE_PENDING,
  DEVICE_PAIRED,
  NODE_PENDING,
  NODE_PAIRED,
  BLOCK_LIST,
  CODE_HISTORY,
  DECISION_HEAD,
];

// ---------------------------------------------------------------------------------------------
// Transactions: which records a change touches, under which names, in which lock and write order.

/** A transaction's records by name; `M` maps each name to its state type. */
export type Records<M> = { readonly [K in keyof M]: RecordKind<M[K]> };

export interface Transaction<M> {
  readonly name: string;
  readonly records: Records<M>;
  readonly lockOrder: readonly (keyof M & string)[];
  readonly writeOrder: readonly (keyof M & string)[];
  /** Records the decision reads but never writes: read without a lock, after the locked ones. */
  readonly readOnly: readonly (keyof M & string)[];
}

const STAGE_RANK = { pending: 0, approved: 1, side: 2 } as const;

/**
 * Declare a transaction. The orders are checked against the two rules above when the module
 * loads, so a transaction that breaks them fails every test, not one run in a thousand.
 */
export function defineTransaction<M>(
  name: string,
  records: Records<M>,
  order: {
    lock: readonly (keyof M & string)[];
    write: readonly (keyof M & string)[];
    read?: readonly (keyof M & string)[];
  },
): Transaction<M> {
  const ranks = (names: readonly (keyof M & string)[]) => names.map((key) => STAGE_RANK[records[key].stage]);
  const lock = ranks(order.lock);
  const write = ranks(order.write);
  const readOnly = order.read ?? [];
  const names = Object.keys(records);
  if (order.lock.length + readOnly.length !== names.length || lock.some((rank, i) => i > 0 && rank < lock[i - 1]!)) {
    throw new Error(`${name}: every record must be locked (or only read) once, pending before approved`);
  }
  if (
    write.some((rank, i) => i > 0 && rank > write[i - 1]!) ||
    write.some((_, i) => readOnly.includes(order.write[i]!))
  ) {
    throw new Error(`${name}: approved records must be written before pending ones, read-only ones never`);
  }
  return { name, records, lockOrder: order.lock, writeOrder: order.write, readOnly };
}

/**
 * A stranger's request reads the allowlists of its account ("already allowed") without locking
 * them: approve holds the pending lock while it writes an allowlist.
 */
export const DM_REQUEST = defineTransaction(
  "DM_REQUEST",
  { pending: DM_PENDING, history: CODE_HISTORY, scoped: DM_ALLOW, legacy: DM_ALLOW, blocked: BLOCK_LIST },
  { lock: ["pending", "history"], write: ["history", "pending"], read: ["scoped", "legacy", "blocked"] },
);
/**
 * The block list is only read: `pairing block` changes it while holding the channel's pending lock,
 * which an approval holds for its whole decision, so an approval never misses a block made meanwhile.
 */
export const DM_APPROVE = defineTransaction(
  "DM_APPROVE",
  { pending: DM_PENDING, allow: DM_ALLOW, history: CODE_HISTORY, blocked: BLOCK_LIST },
  { lock: ["pending", "allow", "history"], write: ["history", "allow", "pending"], read: ["blocked"] },
);
export const DM_REJECT = defineTransaction(
  "DM_REJECT",
  { pending: DM_PENDING, history: CODE_HISTORY },
  { lock: ["pending", "history"], write: ["history", "pending"] },
);
/** Blocking drops the sender's pending requests; the code history is locked before the block list, always. */
export const DM_BLOCK = defineTransaction(
  "DM_BLOCK",
  { pending: DM_PENDING, history: CODE_HISTORY, blocked: BLOCK_LIST },
  { lock: ["pending", "history", "blocked"], write: ["history", "blocked", "pending"] },
);
export const DM_UNBLOCK = defineTransaction(
  "DM_UNBLOCK",
  { blocked: BLOCK_LIST },
  { lock: ["blocked"], write: ["blocked"] },
);
/** Revoking for the default account touches its own file and the January file it also reads. */
export const DM_REVOKE = defineTransaction(
  "DM_REVOKE",
  { scoped: DM_ALLOW, legacy: DM_ALLOW },
  { lock: ["scoped", "legacy"], write: ["scoped", "legacy"] },
);
/** A device's request reads paired.json (is it a repair?) without locking it. */
export const DEVICE_REQUEST = defineTransaction(
  "DEVICE_REQUEST",
  { pending: DEVICE_PENDING, paired: DEVICE_PAIRED },
  { lock: ["pending"], write: ["pending"], read: ["paired"] },
);
export const DEVICE_APPROVE = defineTransaction(
  "DEVICE_APPROVE",
  { pending: DEVICE_PENDING, paired: DEVICE_PAIRED },
  { lock: ["pending", "paired"], write: ["paired", "pending"] },
);
export const DEVICE_REJECT = defineTransaction(
  "DEVICE_REJECT",
  { pending: DEVICE_PENDING },
  { lock: ["pending"], write: ["pending"] },
);
export const DEVICE_REMOVE = defineTransaction(
  "DEVICE_REMOVE",
  { pending: DEVICE_PENDING, paired: DEVICE_PAIRED },
  { lock: ["pending", "paired"], write: ["paired", "pending"] },
);
/** Rotate, revoke, verify, rename: only paired.json. */
export const DEVICE_TOKENS = defineTransaction(
  "DEVICE_TOKENS",
  { paired: DEVICE_PAIRED },
  { lock: ["paired"], write: ["paired"] },
);
export const NODE_REQUEST = defineTransaction(
  "NODE_REQUEST",
  { pending: NODE_PENDING, paired: NODE_PAIRED },
  { lock: ["pending"], write: ["pending"], read: ["paired"] },
);
export const NODE_APPROVE = defineTransaction(
  "NODE_APPROVE",
  { pending: NODE_PENDING, paired: NODE_PAIRED },
  { lock: ["pending", "paired"], write: ["paired", "pending"] },
);
export const NODE_REJECT = defineTransaction(
  "NODE_REJECT",
  { pending: NODE_PENDING },
  { lock: ["pending"], write: ["pending"] },
);
/** Unpair a node and drop its pending requests, like DEVICE_REMOVE. */
export const NODE_REMOVE = defineTransaction(
  "NODE_REMOVE",
  { pending: NODE_PENDING, paired: NODE_PAIRED },
  { lock: ["pending", "paired"], write: ["paired", "pending"] },
);
export const NODE_PAIRED_ONLY = defineTransaction(
  "NODE_PAIRED_ONLY",
  { paired: NODE_PAIRED },
  { lock: ["paired"], write: ["paired"] },
);

/** One record on its own (doctor's prune and byte-order-mark repair). */
export function singleRecord<S>(record: RecordKind<S>): Transaction<{ state: S }> {
  return defineTransaction(`REWRITE_${record.name}`, { state: record }, { lock: ["state"], write: ["state"] });
}
