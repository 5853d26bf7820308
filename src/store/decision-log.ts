import fs from "node:fs";
import { resolveChannel } from "../core/channels.js";
import {
  LARGE_HASH_INPUT,
  formatDecisionLine,
  loadNativeHash,
  parseDecisionLine,
  sha256Hex,
  sha256Pair,
  stateDigest,
  verifyDecisionLog,
  type LogVerification,
} from "../core/decision-chain.js";
import {
  classifyInterrupted,
  type DecisionEntry,
  type DecisionFacts,
  type DecisionHead,
  type JournalWrite,
  type Operator,
} from "../core/decisions.js";
import { CONTROL_CHARACTERS } from "../core/text.js";
import { MoltbotError, isMoltbotError } from "../errors.js";
import { DECISION_HEAD, RECORD_KINDS, type RecordKey, type RecordKind } from "./catalogue.js";
import type { WriteSession } from "./backend.js";
import type { StoreContext } from "./context.js";
import { DOCTOR_HINT, errnoOf, storeIoError } from "./json/errors.js";
import { FILE_MODE, userName } from "./json/owner.js";
import { fileInside, type StatePaths } from "./paths.js";

/*
 * The decision log on disk: `<state>/moltbot/decisions.jsonl` (one line per decision, chained by
 * SHA-256: core/decisions.ts, core/decision-chain.ts) and its head `decisions.head.json` (the
 * catalogue's DECISION_HEAD record, whose lock covers both files).
 *
 * The transaction runner opens the log LAST, after every record of the change is locked, and
 * writes it in three steps around the change (DECISIONS.md, "The decision log: a journal in the
 * head"):
 *   1. prepare: the line about to be appended, and a digest of each record's state before and
 *      after, go into the head's `journal` (atomic write, fsynced) before any record is written;
 *   2. the records are written and committed;
 *   3. append: the line is appended (fsynced), then the head moves past it, without the journal.
 * Whoever opens the log next and finds a journal finishes it: a line already appended only needs
 * the head moved; otherwise the records' digests say whether the change was made, and the line is
 * appended with `recovered` (or dropped when nothing was written). So a crash never leaves a
 * change without its line, nor a line without its change, except when another writer changed the
 * records meanwhile (`recovered: "uncertain"`).
 */

export const LOG_FILE = "decisions.jsonl";

export const logFile = (paths: StatePaths): string => fileInside(paths.moltbotDir, LOG_FILE);

/** A record a change is about to write: its state as read under the lock, and as it will be. */
export interface PlannedWrite {
  record: RecordKind<unknown>;
  key: RecordKey;
  before: unknown;
  after: unknown;
}

export interface DecisionLogSession {
  /**
   * Step 1: journal the decision's line in the head, before any record is written. `session` holds
   * the records: it digests them as stored, and serialises each new state once for its write.
   */
  prepare(
    facts: DecisionFacts,
    reason: string | undefined,
    writes: readonly PlannedWrite[],
    session: WriteSession,
  ): Promise<void>;
  /** Step 3: append the journaled line and move the head past it (after the records are committed). */
  append(): Promise<void>;
  /** True when the head's lock was lost before anything was written (the runner starts over). */
  lost(): boolean;
  close(): Promise<void>;
}

/** The user who runs the command (effective uid), and under sudo the user who asked. */
export function currentOperator(env: NodeJS.ProcessEnv): Operator {
  const uid = process.geteuid?.() ?? -1;
  const operator: Operator = { user: uid >= 0 ? userName(uid) : "unknown", uid };
  const sudoUser = env.SUDO_USER;
  if (uid === 0 && sudoUser && sudoUser.length <= 64 && !CONTROL_CHARACTERS.test(sudoUser)) {
    operator.sudoUser = sudoUser;
  }
  return operator;
}

function logCorrupt(paths: StatePaths, problem: string): MoltbotError {
  return new MoltbotError(
    "STORE_CORRUPT",
    `The decision log ${logFile(paths)} ${problem}; nothing was changed. Run "moltbot log --verify" to see where; "moltbot doctor --fix" sets the log aside and starts a new one. ${DOCTOR_HINT}`,
  );
}

/** Open the log without following a link; a regular file only. Undefined when it does not exist. */
function openLog(file: string, flags: number): number | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, flags | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK, FILE_MODE);
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return undefined;
    if (errnoOf(error) === "ELOOP") {
      throw new MoltbotError(
        "STORE_CORRUPT",
        `${file} is a symbolic link: moltbot never follows a link in the state directory. ${DOCTOR_HINT}`,
      );
    }
    throw storeIoError(error, file, flags & fs.constants.O_WRONLY ? "writing" : "reading");
  }
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw new MoltbotError("STORE_CORRUPT", `${file} is not a regular file. ${DOCTOR_HINT}`);
  }
  return fd;
}

/** The whole log (for `moltbot log` and verification); empty when it does not exist. */
export function readLogBytes(paths: StatePaths): Buffer {
  const file = logFile(paths);
  const fd = openLog(file, fs.constants.O_RDONLY);
  if (fd === undefined) return Buffer.alloc(0);
  try {
    return fs.readFileSync(fd);
  } catch (error) {
    throw storeIoError(error, file, "reading");
  } finally {
    fs.closeSync(fd);
  }
}

function readAt(fd: number, start: number, end: number): Buffer {
  const buffer = Buffer.alloc(Math.max(0, end - start));
  for (let at = 0; at < buffer.length;) {
    const read = fs.readSync(fd, buffer, at, buffer.length - at, start + at);
    if (read === 0) break;
    at += read;
  }
  return buffer;
}

/** The line that ends at `end` (exclusive of its newline), read backwards in chunks. */
function lastLineBefore(fd: number, end: number): string {
  const start = end - 1; // the newline that ends the line
  let chunk = 64 * 1024;
  for (;;) {
    const from = Math.max(0, start - chunk);
    const bytes = readAt(fd, from, start);
    const at = bytes.lastIndexOf(0x0a);
    if (at !== -1) return bytes.subarray(at + 1).toString("utf8");
    if (from === 0) return bytes.toString("utf8");
    chunk *= 2;
  }
}

/** Append bytes and make them durable; the file is created 0600 (mode set on the descriptor too). */
function appendDurably(file: string, text: string): void {
  const { O_WRONLY, O_APPEND, O_CREAT } = fs.constants;
  const fd = openLog(file, O_WRONLY | O_APPEND | O_CREAT)!;
  try {
    fs.fchmodSync(fd, FILE_MODE);
    const bytes = Buffer.from(text, "utf8");
    for (let at = 0; at < bytes.length;) at += fs.writeSync(fd, bytes, at);
    fs.fsyncSync(fd);
  } catch (error) {
    throw storeIoError(error, file, "writing");
  } finally {
    fs.closeSync(fd);
  }
}

function truncateDurably(file: string, size: number): void {
  const fd = openLog(file, fs.constants.O_WRONLY)!;
  try {
    fs.ftruncateSync(fd, size);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A state as it reads back (through the record's schema), so a digest of it matches a later read.
 * States are plain JSON data (the core builds them from parsed files), so the schema is applied to
 * the state itself: a JSON round trip first would give the same digest at twice the cost.
 */
function asReadBack(record: RecordKind<unknown>, state: unknown): unknown {
  const parsed = record.schema.safeParse(state);
  return parsed.success ? parsed.data : state;
}

/*
 * A journaled record is digested as stored where the backend stores bytes (JSON files): SHA-256 of
 * the file's bytes ("sha256:<hex>"; "missing" for no file), before from the bytes read under the
 * lock, after from exactly the bytes the write will store. Exact (the same bytes or not), and one
 * hash per record: no serialising of states to digest them (for a 100 000-entry allowlist that was
 * a stringify, a schema pass and a hash more per state). A backend without bytes of its own
 * (SQLite rows) has its states digested as they read back (plain hex). currentDigest computes the
 * kind the journal holds, so a journal written before digests were of bytes is still judged exactly.
 */
const MISSING = "missing";
const BYTES_DIGEST = /^sha256:[0-9a-f]{64}$/;

const bytesDigest = (bytes: Uint8Array | null): string => (bytes === null ? MISSING : `sha256:${sha256Hex(bytes)}`);

/** Both digests of a record; a file before and after a change mostly share their start, hashed once. */
function bytesDigests(stored: Uint8Array | null, planned: Uint8Array): { before: string; after: string } {
  if (stored === null) return { before: MISSING, after: bytesDigest(planned) };
  const [before, after] = sha256Pair(stored, planned);
  return { before: `sha256:${before}`, after: `sha256:${after}` };
}

function journalWrite(write: PlannedWrite, session: WriteSession): JournalWrite {
  const where = {
    record: write.record.name,
    ...(write.key.channel ? { channel: write.key.channel.name } : {}),
    ...(write.key.account !== undefined ? { account: write.key.account } : {}),
  };
  if (write.after === write.before) {
    // A record the decision left as it was (approving a sender already listed rewrites the
    // allowlist unchanged) is digested by its state, the same before and after: its bytes may
    // change (a hand-formatted file comes back in the writers' layout), but it must never be the
    // record that decides whether an interrupted change was made.
    const digest = stateDigest(write.before);
    return { ...where, before: digest, after: digest };
  }
  const stored = session.storedBytes?.(write.record, write.key);
  const planned = stored === undefined ? undefined : session.prepareWrite?.(write.record, write.key, write.after);
  return {
    ...where,
    ...(stored !== undefined && planned !== undefined
      ? bytesDigests(stored, planned)
      : {
          // `before` is the state the backend read under the lock: already what a read gives.
          before: stateDigest(write.before),
          after: stateDigest(asReadBack(write.record, write.after)),
        }),
  };
}

/** The digest of a journaled record as it is now, of the kind the journal holds ("unreadable": it cannot be read). */
function currentDigest(ctx: StoreContext, write: JournalWrite): string {
  try {
    const record = RECORD_KINDS.find((kind) => kind.name === write.record) as RecordKind<unknown> | undefined;
    if (!record) return "unknown-record";
    const key: RecordKey = {
      ...(write.channel !== undefined ? { channel: resolveChannel(write.channel) } : {}),
      ...(write.account !== undefined ? { account: write.account } : {}),
    };
    if (BYTES_DIGEST.test(write.after)) {
      const bytes = ctx.backend.readBytes?.(record, key);
      // A store that now keeps no bytes for it (MOLTBOT_STORE changed since): nothing can be told.
      return bytes === undefined ? "no-bytes" : bytesDigest(bytes);
    }
    return stateDigest(ctx.backend.read(record, key).state);
  } catch (error) {
    if (isMoltbotError(error)) return "unreadable";
    throw error;
  }
}

/**
 * Lock the head (the caller holds every other lock of its change already), check that the log
 * ends where the head says, and finish a decision a crash interrupted.
 */
export async function openDecisionLog(ctx: StoreContext, deadline: number): Promise<DecisionLogSession> {
  const session = ctx.backend.begin(deadline);
  const file = logFile(ctx.paths);
  try {
    let head = await session.open(DECISION_HEAD, {});
    const writeHead = async (next: DecisionHead) => {
      await session.write(DECISION_HEAD, {}, next);
      head = next;
    };
    const moveHeadPast = async (line: string, hash: string) => {
      const { journal: _done, ...rest } = head;
      await writeHead({
        ...rest,
        version: 1,
        seq: head.seq + 1,
        hash,
        size: head.size + Buffer.byteLength(`${line}\n`),
      });
    };

    // The log must end where the head says (plus, after a crash, part of the journaled line).
    const fd = openLog(file, fs.constants.O_RDONLY);
    let tail: Buffer = Buffer.alloc(0);
    try {
      const size = fd === undefined ? 0 : fs.fstatSync(fd).size;
      if (size < head.size) throw logCorrupt(ctx.paths, `is ${size} bytes, shorter than its head says (${head.size})`);
      if (head.seq > 0) {
        const last = parseDecisionLine(lastLineBefore(fd!, head.size));
        if ("problem" in last || last.entry.hash !== head.hash || last.entry.seq !== head.seq) {
          throw logCorrupt(ctx.paths, "does not end with the entry its head names");
        }
      } else if (head.size !== 0) {
        throw logCorrupt(ctx.paths, "has a head that names no entry but a size");
      }
      if (fd !== undefined) tail = readAt(fd, head.size, size);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }

    const { journal } = head;
    if (journal) {
      const full = Buffer.from(`${journal.line}\n`, "utf8");
      const parsed = parseDecisionLine(journal.line);
      if ("problem" in parsed) throw logCorrupt(ctx.paths, `has a journal whose line ${parsed.problem}`);
      if (tail.equals(full)) {
        // Appended, and the head not yet moved: the change was committed before the append.
        await moveHeadPast(journal.line, parsed.entry.hash);
      } else if (full.subarray(0, tail.length).equals(tail)) {
        if (tail.length > 0) truncateDurably(file, head.size);
        // Recovery reads and digests whole records, of any size: node:crypto for them.
        await loadNativeHash();
        const outcome = classifyInterrupted(
          journal.writes,
          journal.writes.map((write) => currentDigest(ctx, write)),
        );
        if (outcome === "not-made") {
          const { journal: _dropped, ...rest } = head;
          await writeHead({ ...rest, version: 1 });
        } else {
          const { seq: _seq, prev: _prev, hash: _hash, ...fields } = parsed.entry;
          const { line, hash } = formatDecisionLine({ ...fields, recovered: outcome }, head.seq + 1, head.hash);
          appendDurably(file, `${line}\n`);
          await moveHeadPast(line, hash);
        }
      } else {
        throw logCorrupt(ctx.paths, `has ${tail.length} bytes after its last entry that moltbot did not write`);
      }
    } else if (tail.length > 0) {
      throw logCorrupt(ctx.paths, `has ${tail.length} bytes after its last entry that moltbot did not write`);
    }

    let prepared: { line: string; hash: string } | undefined;
    return {
      async prepare(facts, reason, writes, recordSession) {
        const fields: Omit<DecisionEntry, "hash" | "prev" | "seq"> = {
          at: new Date(ctx.now()).toISOString(),
          ...facts,
          operator: currentOperator(ctx.env),
          ...(reason !== undefined ? { reason } : {}),
        };
        prepared = formatDecisionLine(fields, head.seq + 1, head.hash);
        // node:crypto for large files, and for records without bytes of their own (SQLite rows are
        // digested by their state, of any size).
        const large = writes.some((write) => {
          const stored = recordSession.storedBytes?.(write.record, write.key);
          return stored === undefined || (stored !== null && stored.length >= LARGE_HASH_INPUT);
        });
        if (large) await loadNativeHash();
        // Bookkeeping (the code history) is left out: it is not what says whether the decision was made.
        const journaled = writes
          .filter((write) => !write.record.bookkeeping)
          .map((write) => journalWrite(write, recordSession));
        await writeHead({ ...head, journal: { line: prepared.line, writes: journaled } });
      },
      async append() {
        if (!prepared) return;
        appendDurably(file, `${prepared.line}\n`);
        await moveHeadPast(prepared.line, prepared.hash);
        prepared = undefined;
      },
      lost: () => session.lostBeforeWriting(),
      close: () => session.close(),
    };
  } catch (error) {
    await session.close();
    throw error;
  }
}

/**
 * The log and whether it holds together (read-only: takes no lock, creates nothing).
 *
 * @example
 * const { entries, verification } = readDecisionLog(ctx);
 * if (!verification.ok) alert(verification.problem);
 */
export function readDecisionLog(ctx: StoreContext): { entries: DecisionEntry[]; verification: LogVerification } {
  const headRead = ctx.backend.read(DECISION_HEAD, {});
  const bytes = readLogBytes(ctx.paths);
  const verification = verifyDecisionLog(bytes, headRead.exists ? headRead.state : undefined);
  const entries: DecisionEntry[] = [];
  const end = headRead.exists ? Math.min(headRead.state.size, bytes.length) : bytes.length;
  for (const line of bytes.subarray(0, end).toString("utf8").split("\n")) {
    if (line === "") continue;
    try {
      const entry = JSON.parse(line) as unknown;
      if (typeof entry === "object" && entry !== null && !Array.isArray(entry)) entries.push(entry as DecisionEntry);
    } catch {
      // Shown by --verify; the other lines are still worth reading.
    }
  }
  return { entries, verification };
}
