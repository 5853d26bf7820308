import { isUtf8 as bufferIsUtf8 } from "node:buffer";
import fs from "node:fs";
import path from "node:path";
import { MoltbotError } from "../../errors.js";
import { describeSchemaProblem, type Schema } from "../validation.js";
import { DOCTOR_HINT, errnoOf, storeIoError } from "./errors.js";
import { FILE_MODE, notADirectory, symlinkRefusal } from "./owner.js";

/*
 * Reading and writing one JSON store file. Reads take no lock (writers replace files atomically,
 * so a reader sees the old or the new file, never half of one), follow no link, and create nothing.
 */

/** Larger than any real store (100 000 senders is ~2 MB); refuses runaway files before parsing. */
export const MAX_STORE_FILE_BYTES = 32 * 1024 * 1024;

/** The bytes of a store file as read, before any parsing. */
export interface RawFile {
  exists: boolean;
  bytes: Buffer;
}

const NO_FILE: RawFile = { exists: false, bytes: Buffer.alloc(0) };

/**
 * Store files this process found present when it last read them: which system call comes first,
 * never what is read. Bounded: a gateway serving many channels and accounts forgets, then relearns.
 */
const present = new Set<string>();
const MAX_PRESENT = 1024;

/**
 * Read the bytes of a store file. A symbolic link is refused (O_NOFOLLOW), so is anything but a
 * regular file; a missing file reads as absent. O_NONBLOCK: a FIFO in place of a store file would
 * otherwise block the open forever; with it the open returns and the regular-file check reports it.
 */
export function readRaw(file: string): RawFile {
  let fd: number;
  try {
    // Most reads of a missing file are of records that usually do not exist (a channel's allowlists,
    // the block list: three of the four reads of a stranger's request). lstat says so without
    // throwing, where a failed open builds an exception (~25 µs, most of a stranger's request).
    // A file this process last found present is opened straight away: one system call fewer per
    // read of a file that exists. Either way the open decides (a file removed or created in
    // between is read as it is then, or as missing: either is a moment's true state).
    if (!present.has(file) && fs.lstatSync(file, { throwIfNoEntry: false }) === undefined) return NO_FILE;
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    if (present.size >= MAX_PRESENT) present.clear();
    present.add(file);
  } catch (error) {
    const code = errnoOf(error);
    present.delete(file);
    if (code === "ENOENT") return NO_FILE;
    if (code === "ENOTDIR") throw notADirectory(file);
    if (code === "ELOOP") throw symlinkRefusal(file);
    throw storeIoError(error, file, "reading");
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      throw new MoltbotError(
        "STORE_CORRUPT",
        `${file} is ${stat.isDirectory() ? "a directory" : "not a regular file"}, not a store file. ${DOCTOR_HINT}`,
      );
    }
    if (stat.size > MAX_STORE_FILE_BYTES) {
      throw new MoltbotError(
        "STORE_CORRUPT",
        `${file} is ${Math.round(stat.size / 1024 / 1024)} MiB, larger than any store file can be (limit ${MAX_STORE_FILE_BYTES / 1024 / 1024} MiB); it was left untouched. ${DOCTOR_HINT}`,
      );
    }
    try {
      // The size fstat just gave, read in one call (readFileSync would fstat again).
      const bytes = Buffer.allocUnsafe(stat.size);
      let length = 0;
      while (length < bytes.length) {
        const read = fs.readSync(fd, bytes, length, bytes.length - length, null);
        if (read === 0) break;
        length += read;
      }
      return { exists: true, bytes: length === bytes.length ? bytes : bytes.subarray(0, length) };
    } catch (error) {
      throw storeIoError(error, file, "reading");
    }
  } finally {
    fs.closeSync(fd);
  }
}

const UTF8_BOM = "\ufeff";

/** The text of a file: UTF-8, a leading byte-order mark set aside (tolerated on read, dropped on write). */
export function decodeText(bytes: Buffer): { text: string; bom: boolean } {
  const text = bytes.toString("utf8");
  return text.startsWith(UTF8_BOM) ? { text: text.slice(1), bom: true } : { text, bom: false };
}

/** What a store file's text is: valid, or which way it is not (commands throw, doctor reports). */
export type StoreTextCheck<T> =
  /** `data` as the schema returns it; `parsed` as JSON.parse made it (what a rewrite must reproduce). */
  | { ok: true; data: T; parsed: unknown }
  | { ok: false; problem: "empty" }
  | { ok: false; problem: "not-json" }
  | { ok: false; problem: "proto"; path: string }
  | { ok: false; problem: "shape"; detail: string; data: unknown };

export function checkStoreText<T>(schema: Schema<T>, text: string): StoreTextCheck<T> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, problem: text.trim() === "" ? "empty" : "not-json" };
  }
  // JSON.parse keeps a "__proto__" key as an own property, but nothing that copies the object
  // does (zod, spreads, the gateway's own code): it would vanish or set a prototype on the way.
  if (text.includes('"__proto__"')) {
    const at = scanJson(text).protoKeyAt;
    if (at !== undefined) return { ok: false, problem: "proto", path: at };
  }
  const result = schema.safeParse(data);
  if (!result.success) return { ok: false, problem: "shape", detail: describeSchemaProblem(result.error), data };
  return { ok: true, data: result.data, parsed: data };
}

/** The error a command reports for a file it cannot use. */
export function unusableFileError(file: string, label: string, check: Exclude<StoreTextCheck<unknown>, { ok: true }>) {
  switch (check.problem) {
    case "shape":
      return new MoltbotError(
        "STORE_CORRUPT",
        `${file} does not have the shape of ${label} (${check.detail}); it was left untouched. ${DOCTOR_HINT}`,
      );
    case "proto":
      return new MoltbotError(
        "STORE_CORRUPT",
        `${file} has a "__proto__" key (${check.path}), which no program can carry over faithfully; it was left untouched. ${DOCTOR_HINT}`,
      );
    default:
      return new MoltbotError(
        "STORE_CORRUPT",
        `${file} is not valid JSON${check.problem === "empty" ? " (the file is empty)" : ""}; it was left untouched. ${DOCTOR_HINT}`,
      );
  }
}

/** 2-space JSON with a trailing newline, like the gateway writes. */
export function serializeStore(state: unknown): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

/**
 * Why rewriting this file would change data nobody meant to change, or undefined when a rewrite is
 * faithful. `data` is what JSON.parse made of the file's text; it has lost something only when the
 * text had a key twice in one object (the parse silently keeps the last). Counting answers that
 * for almost every file without a pass in JavaScript (keptEveryKey); a file it cannot vouch for is
 * faithful when it is in the writers' own format (2-space JSON, with or without the final newline),
 * and otherwise scanned for duplicate keys. Bytes that are not UTF-8 would be replaced by U+FFFD.
 */
export function rewriteRisk(bytes: Buffer, data: unknown, decoded?: string): string | undefined {
  if (!isUtf8(bytes)) return "it is not valid UTF-8 text, and rewriting it would replace the invalid bytes";
  if (keptEveryKey(bytes, data)) return undefined;
  const text = decoded ?? decodeText(bytes).text;
  const canonical = JSON.stringify(data, null, 2);
  if (text === canonical || text === `${canonical}\n`) return undefined;
  const duplicate = scanJson(text).duplicateKeyAt;
  return duplicate === undefined
    ? undefined
    : `it has the key ${duplicate} twice, and rewriting it would silently keep only the last one`;
}

const COLON = 0x3a;

/**
 * True when the parse of `bytes` kept every key, proved by counting: in JSON text every key is
 * followed by a ':', the only ':' outside strings, so the text's ':' bytes are its keys plus the
 * ':' inside its strings. The parse has one key per key of the text unless a duplicate was dropped
 * (and the strings of the dropped value with it), so the counts agree exactly when nothing was
 * dropped. A `\u` escape could spell a ':' that is no ':' byte: such a text is not vouched for
 * (false), nor is any text whose counts differ; the caller then checks the slow way. Native
 * searches over the bytes, one walk over the parsed objects: ~0.3 ms for 100 000 senders, where
 * stringifying them again to compare cost ~4 ms and a ~1.3 MB string.
 */
export function keptEveryKey(bytes: Buffer, data: unknown): boolean {
  if (bytes.includes("\\u")) return false;
  const colons = countByte(bytes, COLON);
  // Every object of the parse opened with a '{' of the text: once that many are found, the walk
  // can skip the rest (an allowlist's 100 000 strings are never visited).
  const keys = countKeys(data, { objectsLeft: countByte(bytes, OPEN_BRACE), strings: false });
  // Most files have no ':' in any string: then the keys alone must match, and the strings need no visit.
  return colons === keys || colons === countKeys(data, { objectsLeft: Number.POSITIVE_INFINITY, strings: true });
}

const OPEN_BRACE = 0x7b;

function countByte(bytes: Buffer, byte: number): number {
  let count = 0;
  for (let at = bytes.indexOf(byte); at !== -1; at = bytes.indexOf(byte, at + 1)) count++;
  return count;
}

/**
 * Keys of every object in a parsed JSON value; with `strings`, plus the ':' in every key and string.
 * `objectsLeft` bounds how many objects there can be; the walk stops looking once all were found.
 */
function countKeys(value: unknown, walk: { objectsLeft: number; strings: boolean }): number {
  if (typeof value === "string") return walk.strings ? colonsIn(value) : 0;
  if (typeof value !== "object" || value === null) return 0;
  let count = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && (walk.objectsLeft > 0 || walk.strings); i++) {
      const item: unknown = value[i];
      if ((typeof item === "object" && item !== null) || (walk.strings && typeof item === "string")) {
        count += countKeys(item, walk);
      }
    }
    return count;
  }
  walk.objectsLeft--;
  for (const [key, item] of Object.entries(value)) {
    count += 1 + (walk.strings ? colonsIn(key) : 0);
    if ((typeof item === "object" && item !== null) || (walk.strings && typeof item === "string")) {
      count += countKeys(item, walk);
    }
  }
  return count;
}

function colonsIn(text: string): number {
  let count = 0;
  for (let at = text.indexOf(":"); at !== -1; at = text.indexOf(":", at + 1)) count++;
  return count;
}

/** Node's own validator (node:buffer, native): no decoded copy of a large file is made to check it. */
function isUtf8(bytes: Buffer): boolean {
  return bufferIsUtf8(bytes);
}

/**
 * One pass over JSON text (already known to parse) finding what JSON.parse hides: the first key that
 * appears twice in one object, and the first "__proto__" key. Written here because no kept JSON
 * library reports duplicates without building a full syntax tree (DECISIONS.md).
 */
export function scanJson(text: string): { duplicateKeyAt?: string; protoKeyAt?: string } {
  const found: { duplicateKeyAt?: string; protoKeyAt?: string } = {};
  const objects: Set<string>[] = [];
  const names: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "{") objects.push(new Set());
    else if (char === "}") objects.pop();
    else if (char === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      let after = end + 1;
      while (after < text.length && " \t\r\n".includes(text[after]!)) after++;
      if (text[after] === ":") {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        const keys = objects[objects.length - 1]!;
        const where = [...names.slice(0, objects.length - 1), key].join(".");
        if (key === "__proto__" && found.protoKeyAt === undefined) found.protoKeyAt = where;
        if (keys.has(key) && found.duplicateKeyAt === undefined) found.duplicateKeyAt = JSON.stringify(where);
        keys.add(key);
        names[objects.length - 1] = key;
        names.length = objects.length;
      }
      i = end;
    }
  }
  return found;
}

/**
 * Random hex for temp-file names, from the kernel's CSPRNG: /dev/urandom is three system calls, where
 * Web Crypto's first use loads node:crypto's modules (~3 ms of a write that needs nothing else of
 * them). A /dev/urandom that is not the character device falls back to Web Crypto, as does a
 * system without one.
 */
function randomHex(bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  try {
    const fd = fs.openSync("/dev/urandom", fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      if (fs.fstatSync(fd).isCharacterDevice() && fs.readSync(fd, buffer, 0, bytes, null) === bytes) {
        return buffer.toString("hex");
      }
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // No /dev/urandom here: Web Crypto below.
  }
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

/** Temp files of our writer: `<file>.moltbot-<32 hex>.tmp`, a shape no other program uses. */
export const OUR_TEMP = /^\.moltbot-[0-9a-f]{32}\.tmp$/;
/** Temp files of the gateway's writer: `<file>.<uuid>.tmp`. */
export const GATEWAY_TEMP = /^\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

/**
 * Replace `file` atomically: a temp file in the same directory, created exclusively and without
 * following links (O_EXCL|O_NOFOLLOW) under an unpredictable name, its mode set on the descriptor,
 * written and fsynced, then renamed over the file, and the directory fsynced so the rename
 * survives a crash. Nobody can redirect the write: not a planted link, not a guessed temp name.
 * Written here rather than with write-file-atomic, which opens its temp file without O_EXCL and
 * with a predictable name, and chowns by path (DECISIONS.md).
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const temp = `${file}.moltbot-${randomHex(16)}.tmp`;
  let fd: number | undefined;
  let created = false;
  try {
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
    fd = fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, FILE_MODE);
    created = true;
    fs.fchmodSync(fd, FILE_MODE);
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    for (let at = 0; at < bytes.length;) at += fs.writeSync(fd, bytes, at);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, file);
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    // Only our own temp file is removed: never a name that happened to exist already.
    if (created) fs.rmSync(temp, { force: true });
    throw storeIoError(error, file, "writing");
  }
  syncDirectory(path.dirname(file));
}

function syncDirectory(dir: string): void {
  try {
    const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems cannot fsync a directory; the rename itself has happened.
  }
}
