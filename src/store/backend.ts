import type { RecordKey, RecordKind } from "./catalogue.js";

/*
 * The seam between the store's rules (catalogue, transactions, operations) and where the records
 * live: JSON files (the January and February–July gateways), OpenClaw's SQLite database (July 2026
 * on), or memory (tests). Core and CLI never see a backend; operations reach it only through
 * readRecord and runTransaction.
 */

/** A record as read, unlocked. `revision` lets a locked read reuse the parse when nothing changed. */
export interface Snapshot<S> {
  state: S;
  exists: boolean;
  revision?: unknown;
}

export interface ReadOptions {
  /** Use the record's lighter listing check (read-only listings of large records). */
  listing?: boolean;
}

/** One locked change: records opened (locked, then read) in lock order, then written in write order. */
export interface WriteSession {
  /** Lock the record, then read it; `snapshot` is the unlocked read of the same record, if any. */
  open<S>(record: RecordKind<S>, key: RecordKey, snapshot?: Snapshot<S>): Promise<S>;
  /**
   * Read a record the change depends on but never writes, without locking it (DM requests read
   * allowlists this way: approve holds the pending lock while it writes one, so what is read here
   * is never half an approval).
   */
  peek<S>(record: RecordKind<S>, key: RecordKey): S;
  /** True when a lock was lost before anything was written: the runner starts over. */
  lostBeforeWriting(): boolean;
  /** Write one opened record; writes happen in the order they are asked for. */
  write<S>(record: RecordKind<S>, key: RecordKey, state: S): Promise<void>;
  /**
   * The bytes an opened record is stored as (null: there is none), for the decision log's journal.
   * Absent (or undefined) for a backend that stores no bytes of its own (SQLite rows): the journal
   * then digests states.
   */
  storedBytes?<S>(record: RecordKind<S>, key: RecordKey): Uint8Array | null | undefined;
  /**
   * Serialise `state` now, exactly as `write(record, key, state)` will store it, and return those
   * bytes; that write then stores them without serialising again. Absent where `storedBytes` is.
   */
  prepareWrite?<S>(record: RecordKind<S>, key: RecordKey, state: S): Uint8Array | undefined;
  /** Make the writes final (and prove no other writer took over meanwhile). */
  commit(): Promise<void>;
  /** Release every lock (and abandon uncommitted writes where the backend can). */
  close(): Promise<void>;
}

export interface StoreBackend {
  readonly kind: "json" | "sqlite" | "memory";
  /** Read without a lock; creates nothing. A missing record reads as the kind's empty state. */
  read<S>(record: RecordKind<S>, key: RecordKey, options?: ReadOptions): Snapshot<S>;
  /**
   * The bytes a record is stored as now (null: none), read without a lock: what `storedBytes` and
   * `prepareWrite` give for the same record. Absent (or undefined) where those are.
   */
  readBytes?<S>(record: RecordKind<S>, key: RecordKey): Uint8Array | null | undefined;
  /** The keys of every existing record of a kind (which channels and account files exist). */
  keys(record: RecordKind<unknown>): RecordKey[];
  /** Start a locked change; `deadline` bounds every wait for a lock. */
  begin(deadline: number): WriteSession;
}
