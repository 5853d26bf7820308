import fs from "node:fs";
import path from "node:path";
import { MoltbotError } from "../errors.js";
import { describeSchemaProblem, type Schema } from "./validation.js";

/** A JSON store file: where it is, what it must look like, and what "absent" means. */
export interface StoreFile<T> {
  path: string;
  /** Human name for messages, e.g. "telegram pairing requests". */
  label: string;
  schema: Schema<T>;
  empty: () => T;
}

/** Larger than any real store (100 000 senders is ~2 MB); refuses runaway files before parsing. */
export const MAX_STORE_FILE_BYTES = 32 * 1024 * 1024;
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

// Not "move it aside": for a permission, owner or lock problem --fix repairs in place and moves nothing.
export const DOCTOR_HINT =
  'Run "moltbot doctor" to diagnose it ("moltbot doctor --fix" repairs what is safe to repair).';

/** Map an fs error on `file` to the store error the operator should see. */
export function storeIoError(error: unknown, file: string, doing: string): MoltbotError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return new MoltbotError(
      "STORE_PERMISSION",
      `Permission denied ${doing} ${file}. Check its owner and mode (files written by "sudo moltbot" belong to root). ${DOCTOR_HINT}`,
      { cause: error },
    );
  }
  if (code === "EISDIR" || code === "ENOTDIR") {
    return new MoltbotError("STORE_CORRUPT", `${file} is not a regular file (${code}). ${DOCTOR_HINT}`, {
      cause: error,
    });
  }
  const reason = code ?? (error instanceof Error ? error.message : String(error));
  return new MoltbotError(
    "STORE_IO",
    `Could not ${doing === "reading" ? "read" : "write"} ${file} (${reason}). ${DOCTOR_HINT}`,
    {
      cause: error,
    },
  );
}

/** What a store file's text is: valid, or which way it is not (commands throw, doctor reports). */
export type StoreTextCheck<T> =
  | { ok: true; data: T }
  | { ok: false; problem: "empty" | "not-json" }
  | { ok: false; problem: "shape"; detail: string; data: unknown };

export function checkStoreText<T>(schema: Schema<T>, text: string): StoreTextCheck<T> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, problem: text.trim() === "" ? "empty" : "not-json" };
  }
  const result = schema.safeParse(data);
  if (!result.success) return { ok: false, problem: "shape", detail: describeSchemaProblem(result.error), data };
  return { ok: true, data: result.data };
}

/** Parse and validate file contents; a bad file is an error, never an empty store. */
export function parseStoreText<T>(file: StoreFile<T>, text: string): T {
  const check = checkStoreText(file.schema, text);
  if (check.ok) return check.data;
  if (check.problem === "shape") {
    throw new MoltbotError(
      "STORE_CORRUPT",
      `${file.path} does not have the shape of ${file.label} (${check.detail}); it was left untouched. ${DOCTOR_HINT}`,
    );
  }
  throw new MoltbotError(
    "STORE_CORRUPT",
    `${file.path} is not valid JSON${check.problem === "empty" ? " (the file is empty)" : ""}; it was left untouched. ${DOCTOR_HINT}`,
  );
}

/**
 * Read a store file without taking a lock: writers replace files atomically, so a reader sees
 * the old or the new file, never half of one. A missing file is the empty store; nothing is created.
 */
export function readStoreFile<T>(file: StoreFile<T>): T {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO in place of a store file would otherwise block the open forever; with it
    // the open returns and the regular-file check below reports it. No effect on regular files.
    fd = fs.openSync(file.path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return file.empty();
    throw storeIoError(error, file.path, "reading");
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      throw new MoltbotError("STORE_CORRUPT", `${file.path} is not a regular file. ${DOCTOR_HINT}`);
    }
    if (stat.size > MAX_STORE_FILE_BYTES) {
      throw new MoltbotError(
        "STORE_CORRUPT",
        `${file.path} is ${Math.round(stat.size / 1024 / 1024)} MiB, larger than any store file can be (limit ${MAX_STORE_FILE_BYTES / 1024 / 1024} MiB); it was left untouched. ${DOCTOR_HINT}`,
      );
    }
    let text: string;
    try {
      text = fs.readFileSync(fd, "utf8");
    } catch (error) {
      throw storeIoError(error, file.path, "reading");
    }
    return parseStoreText(file, text);
  } finally {
    fs.closeSync(fd);
  }
}

/** 2-space JSON with a trailing newline, like the gateway writes. */
export function serializeStore(state: unknown): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

/**
 * Create `dir` and any missing parents as 0700, whatever the umask. Directories that already
 * exist keep their mode: they may be shared with the gateway (`moltbot doctor` reports loose ones).
 */
export function ensureDir(dir: string): void {
  let first: string | undefined;
  try {
    first = fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  } catch (error) {
    throw storeIoError(error, dir, "creating");
  }
  if (first === undefined) return;
  // mkdir's mode is filtered by the umask; set it explicitly on each directory we created.
  for (let current = dir; ; current = path.dirname(current)) {
    fs.chmodSync(current, DIR_MODE);
    if (current === first || path.dirname(current) === current) break;
  }
}
