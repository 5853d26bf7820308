import fs from "node:fs";
import { CHANNEL_NAMES, resolveChannel } from "../../core/channels.js";
import { MoltbotError } from "../../errors.js";
import type { ReadOptions, Snapshot, StoreBackend, WriteSession } from "../backend.js";
import type { RecordKey, RecordKind } from "../catalogue.js";
import { fileInside, type StatePaths } from "../paths.js";
import { checkedStringArrays } from "../schemas.js";
import { DOCTOR_HINT, errnoOf, storeIoError } from "./errors.js";
import {
  checkStoreText,
  decodeText,
  readRaw,
  rewriteRisk,
  serializeStore,
  unusableFileError,
  writeFileAtomic,
  type RawFile,
} from "./files.js";
import { acquireLock, type HeldLock } from "./lock.js";
import { checkStoreDirForReading, ensureWritableDir, notADirectory } from "./owner.js";

/*
 * The JSON backends: the January gateway's files, and OpenClaw's account-scoped files of
 * February–July 2026 (same files, plus `<channel>-<account>-allowFrom.json`). One file per record.
 */

/** Where a record lives: its file, its directory, and the store root the ownership rule starts from. */
export interface JsonLocation {
  file: string;
  dir: string;
  root: string;
}

// The gateway calls the library for every unknown DM: a record's place is worked out once per state dir.
const locations = new WeakMap<StatePaths, Map<string, JsonLocation>>();

export function locate(paths: StatePaths, record: RecordKind<unknown>, key: RecordKey): JsonLocation {
  let known = locations.get(paths);
  if (!known) locations.set(paths, (known = new Map<string, JsonLocation>()));
  const id = `${record.name}\0${key.channel?.name ?? ""}\0${key.account ?? "\0"}`;
  let location = known.get(id);
  if (!location) known.set(id, (location = locateUncached(paths, record, key)));
  return location;
}

function locateUncached(paths: StatePaths, record: RecordKind<unknown>, key: RecordKey): JsonLocation {
  const dir = paths[record.json.dir];
  // The credentials dir may be configured outside the state dir ($MOLTBOT_OAUTH_DIR): it is its own root.
  const root = dir === paths.credentialsDir && !dir.startsWith(`${paths.stateDir}/`) ? dir : paths.stateDir;
  return { file: fileInside(dir, record.json.file(key)), dir, root };
}

/** Parse and validate a file's bytes; a file that cannot be used is an error, never an empty store. */
function parseRecord<S>(record: RecordKind<S>, key: RecordKey, file: string, raw: RawFile, listing = false) {
  const { text } = decodeText(raw.bytes);
  const check = checkStoreText(listing ? (record.listingSchema ?? record.schema) : record.schema, text);
  if (!check.ok) throw unusableFileError(file, record.label(key), check);
  return { state: check.data, parsed: check.parsed, text };
}

// Channel names, longest first, so `nextcloud-talk-allowFrom.json` is not read as channel "nextcloud".
const CHANNELS_LONGEST_FIRST = [...CHANNEL_NAMES].sort((a, b) => b.length - a.length);

/** The record key a file name in a store directory stands for, if any. */
export function keyOfFile(record: RecordKind<unknown>, name: string): RecordKey | undefined {
  if (record.json.keyOf) return record.json.keyOf(name);
  if (record.json.dir !== "credentialsDir") return name === record.json.file({}) ? {} : undefined;
  const suffix = record.name === "dm-pending" ? "-pairing.json" : "-allowFrom.json";
  if (!name.endsWith(suffix)) return undefined;
  const stem = name.slice(0, -suffix.length);
  const channel = CHANNELS_LONGEST_FIRST.find((candidate) => stem === candidate || stem.startsWith(`${candidate}-`));
  if (channel === undefined) return undefined;
  const info = resolveChannel(channel);
  if (stem === channel) return { channel: info };
  const account = stem.slice(channel.length + 1);
  if (record.name === "dm-pending" || account === "") return undefined;
  return { channel: info, account };
}

interface Opened {
  lock: HeldLock;
  raw: RawFile;
  /** Set when the file exists: what a rewrite must reproduce faithfully. */
  parsed?: unknown;
  /** A state serialised ahead of its write (prepareWrite), and the bytes the write stores. */
  planned?: { state: unknown; bytes: Buffer };
}

class JsonSession implements WriteSession {
  private readonly opened = new Map<string, Opened>();

  constructor(
    private readonly paths: StatePaths,
    private readonly deadline: number,
  ) {}

  async open<S>(record: RecordKind<S>, key: RecordKey, snapshot?: Snapshot<S>): Promise<S> {
    const { file, dir, root } = locate(this.paths, record, key);
    ensureWritableDir(root, dir);
    const lock = await acquireLock(file, this.deadline);
    const entry: Opened = { lock, raw: { exists: false, bytes: Buffer.alloc(0) } };
    this.opened.set(file, entry);
    entry.raw = readRaw(file);
    if (!entry.raw.exists) return record.empty();
    const previous = snapshot?.revision as Revision | undefined;
    // Unchanged since the unlocked read (same bytes): reuse its parse, the costly part for big files.
    if (snapshot && previous?.parsed !== undefined && previous.raw.bytes.equals(entry.raw.bytes)) {
      entry.parsed = previous.parsed;
      return snapshot.state;
    }
    const { state, parsed } = parseRecord(record, key, file, entry.raw);
    entry.parsed = parsed;
    return state;
  }

  /** An opened record's file and what was read of it under the lock. */
  private openedEntry(record: RecordKind<unknown>, key: RecordKey): { file: string; entry: Opened } {
    const { file } = locate(this.paths, record, key);
    const entry = this.opened.get(file);
    if (!entry) throw new Error(`${file} was used without being opened`);
    return { file, entry };
  }

  storedBytes<S>(record: RecordKind<S>, key: RecordKey): Uint8Array | null {
    const { raw } = this.openedEntry(record, key).entry;
    return raw.exists ? raw.bytes : null;
  }

  prepareWrite<S>(record: RecordKind<S>, key: RecordKey, state: S): Uint8Array {
    const { entry } = this.openedEntry(record, key);
    entry.planned = { state, bytes: Buffer.from(serializeStore(state), "utf8") };
    return entry.planned.bytes;
  }

  peek<S>(record: RecordKind<S>, key: RecordKey): S {
    return readJsonRecord(this.paths, record, key).state;
  }

  lostBeforeWriting(): boolean {
    return [...this.opened.values()].some((entry) => entry.lock.compromised());
  }

  async write<S>(record: RecordKind<S>, key: RecordKey, state: S): Promise<void> {
    const { file, entry } = this.openedEntry(record, key);
    const compromised = entry.lock.compromised();
    if (compromised) {
      throw new MoltbotError(
        "STORE_LOCKED",
        `Lost the lock on ${file} (${compromised.message}); nothing was written. Try again. ${DOCTOR_HINT}`,
      );
    }
    if (entry.raw.exists && entry.parsed !== undefined) {
      const risk = rewriteRisk(entry.raw.bytes, entry.parsed);
      if (risk) {
        throw new MoltbotError(
          "STORE_CORRUPT",
          `${file} cannot be rewritten faithfully: ${risk}. It was left untouched. ${DOCTOR_HINT}`,
        );
      }
    }
    // The bytes the decision log's journal digested, when it did: what is written is what it names.
    const planned = entry.planned?.state === state ? entry.planned.bytes : undefined;
    delete entry.planned;
    writeFileAtomic(file, planned ?? serializeStore(state));
  }

  async commit(): Promise<void> {
    // A stale-lock takeover cannot be made atomic (proper-lockfile checks, then removes), so a
    // waiter may, very rarely, remove our lock while we write and write over us. Only a change
    // whose locks were still ours after its writes is reported as done: an acknowledged change
    // is never one that another writer could have overwritten.
    for (const [file, entry] of this.opened) {
      const lost = entry.lock.compromised();
      if (lost) {
        throw new MoltbotError(
          "STORE_LOCKED",
          `Another process took over the lock on ${file} while this change was being written (${lost.message}); it may not have been saved. Run the command again. ${DOCTOR_HINT}`,
        );
      }
    }
  }

  async close(): Promise<void> {
    for (const entry of [...this.opened.values()].reverse()) await entry.lock.release();
    this.opened.clear();
  }
}

/** What a JSON snapshot carries for its locked re-read: the bytes, and their full-schema parse. */
interface Revision {
  raw: RawFile;
  parsed?: unknown;
}

/**
 * When each store directory was last seen not to be a link. A long-lived process (the gateway calling
 * the library for every unknown DM) checks again after a second, not on every read.
 */
const dirsCheckedAt = new Map<string, number>();
const DIR_CHECK_MS = 1_000;

function checkDirForReading(root: string, dir: string): void {
  const now = Date.now();
  const checkedAt = dirsCheckedAt.get(dir);
  if (checkedAt !== undefined && now - checkedAt < DIR_CHECK_MS) return;
  checkStoreDirForReading(root, dir);
  dirsCheckedAt.set(dir, now);
}

/** Deeply frozen: a parse kept for reuse must not be changed by anyone it is handed to. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    // Only objects need a visit; an array is walked in place (Object.values would copy an
    // allowlist's 100 000 strings first), unless its check found only strings in it.
    if (Array.isArray(value)) {
      if (checkedStringArrays.has(value)) return value;
      for (let i = 0; i < value.length; i++) {
        const child: unknown = value[i];
        if (typeof child === "object" && child !== null) deepFreeze(child);
      }
    } else {
      for (const child of Object.values(value)) if (typeof child === "object" && child !== null) deepFreeze(child);
    }
  }
  return value;
}

/**
 * The last full parse of each file, kept with the bytes it came from: a file read again with the same
 * bytes (the usual case when a gateway answers stranger after stranger on a full channel) is not
 * parsed and validated again. Same bytes, same parse: nothing can be stale.
 */
const lastParses = new Map<string, { bytes: Buffer; state: unknown; parsed: unknown }>();

/** A record's file and its bytes as they are now, read without a lock (its directories checked first). */
function readRecordFile(
  paths: StatePaths,
  record: RecordKind<unknown>,
  key: RecordKey,
): { file: string; raw: RawFile } {
  const { file, dir, root } = locate(paths, record, key);
  checkDirForReading(root, dir);
  return { file, raw: readRaw(file) };
}

function readJsonRecord<S>(paths: StatePaths, record: RecordKind<S>, key: RecordKey, options: ReadOptions = {}) {
  const { file, raw } = readRecordFile(paths, record, key);
  if (!raw.exists) return { state: record.empty(), exists: false };
  const last = options.listing ? undefined : lastParses.get(file);
  if (last && last.bytes.equals(raw.bytes)) {
    return { state: last.state as S, exists: true, revision: { raw, parsed: last.parsed } satisfies Revision };
  }
  const { state, parsed } = parseRecord(record, key, file, raw, options.listing);
  if (!options.listing)
    lastParses.set(file, { bytes: raw.bytes, state: deepFreeze(state), parsed: deepFreeze(parsed) });
  // Only a full-schema parse may stand in for the locked read.
  const revision: Revision = options.listing ? { raw } : { raw, parsed };
  return { state, exists: true, revision };
}

export function createJsonBackend(paths: StatePaths): StoreBackend {
  return {
    kind: "json",
    read: <S>(record: RecordKind<S>, key: RecordKey, options?: ReadOptions): Snapshot<S> =>
      readJsonRecord(paths, record, key, options),
    keys(record: RecordKind<unknown>): RecordKey[] {
      const dir = paths[record.json.dir];
      let names: string[];
      try {
        names = fs.readdirSync(dir);
      } catch (error) {
        if (errnoOf(error) === "ENOENT") return [];
        if (errnoOf(error) === "ENOTDIR") throw notADirectory(`${dir}/x`);
        throw storeIoError(error, dir, "reading");
      }
      return names.sort().flatMap((name) => {
        const key = keyOfFile(record, name);
        return key ? [key] : [];
      });
    },
    readBytes<S>(record: RecordKind<S>, key: RecordKey): Uint8Array | null {
      const { raw } = readRecordFile(paths, record, key);
      return raw.exists ? raw.bytes : null;
    },
    begin: (deadline) => new JsonSession(paths, deadline),
  };
}
