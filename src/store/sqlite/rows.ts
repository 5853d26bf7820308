import { requestAccount, withoutAccount } from "../../core/accounts.js";
import type { AllowState, PairingRequest, PendingState } from "../../core/dm-pairing.js";
import { MoltbotError } from "../../errors.js";
import { DOCTOR_HINT } from "../json/errors.js";
import type { DatabaseSync, Row, SqlValue } from "./driver.js";
import { PAIRING_TABLES, tableColumns, type PairingTable } from "./schema.js";

/*
 * Records ↔ rows, as OpenClaw 2026.9.6 maps them (dist/pairing-store-sqlite-*.mjs for DM pairing,
 * dist/device-pairing-identity-*.mjs for devices), always by column name:
 * - a DM channel's pending record is its rows of channel_pairing_requests (every account); a
 *   request's account is the account_id column, as OpenClaw reads it, whatever meta_json says;
 * - an allowlist is the rows of one (channel, account) in channel_pairing_allow_entries, in
 *   sort_order; the January unscoped allowlist has no rows here (OpenClaw's importer moved it);
 * - devices are the rows of device_pairing_pending / device_pairing_paired: a NULL column is an
 *   absent key, `*_json` columns hold JSON, `silent` and `is_repair` hold 0/1.
 *
 * OpenClaw rewrites every row of a channel (or the whole device table) on each write. moltbot writes
 * the difference between what it read and what the rules decided: rows that did not change are not
 * touched, so rows OpenClaw imported keep their exact bytes and a large allowlist costs one INSERT.
 */

/** A record as read inside a transaction, with what a write needs to diff against. */
export interface LoadedRecord<S> {
  state: S;
  exists: boolean;
  /** Opaque to the caller: the rows' primary keys and canonical values. */
  rows: ReadRows;
}

interface ReadEntry {
  /** The primary key values as stored (DELETE uses them verbatim). */
  pk: SqlValue[];
  /** The row's values as this record would write it, to tell a changed row from an unchanged one. */
  canonical: Row;
}

type ReadRows = Map<string, ReadEntry>;

const corrupt = (file: string, what: string): MoltbotError =>
  new MoltbotError(
    "STORE_CORRUPT",
    `${file}: ${what}; moltbot left the database untouched. Run "openclaw doctor" (or restore OpenClaw's backup). ${DOCTOR_HINT}`,
  );

const sameRow = (a: Row, b: Row): boolean => Object.keys(a).every((column) => a[column] === b[column]);
const samePk = (a: readonly SqlValue[], b: readonly SqlValue[]): boolean => a.every((value, i) => value === b[i]);
const asText = (value: SqlValue | undefined): string | undefined =>
  typeof value === "string" ? value : value === null || value === undefined ? undefined : String(value);

function upsert(db: DatabaseSync, table: PairingTable, pkColumns: readonly string[], row: Row): void {
  const columns = Object.keys(row);
  const update = columns.filter((column) => !pkColumns.includes(column));
  db.prepare(
    `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")}) ON CONFLICT (${pkColumns.join(", ")}) DO ${
      update.length > 0
        ? `UPDATE SET ${update.map((column) => `${column} = excluded.${column}`).join(", ")}`
        : "NOTHING"
    }`,
  ).run(...columns.map((column) => row[column] ?? null));
}

function remove(db: DatabaseSync, table: PairingTable, pkColumns: readonly string[], pk: readonly SqlValue[]): void {
  db.prepare(`DELETE FROM ${table} WHERE ${pkColumns.map((column) => `${column} = ?`).join(" AND ")}`).run(...pk);
}

/**
 * Apply the difference: rows whose key left are deleted by their stored key, rows that are new or
 * whose canonical values changed are upserted; the rest are not touched. Returns rows changed.
 */
function applyDiff(
  db: DatabaseSync,
  table: PairingTable,
  pkColumns: readonly string[],
  read: ReadRows,
  next: Map<string, Row>,
): number {
  let changed = 0;
  for (const [key, entry] of read) {
    if (!next.has(key)) {
      remove(db, table, pkColumns, entry.pk);
      changed++;
    }
  }
  for (const [key, row] of next) {
    const before = read.get(key);
    const pk = pkColumns.map((column) => row[column] ?? null);
    if (before && samePk(before.pk, pk) && sameRow(before.canonical, row)) continue;
    if (before && !samePk(before.pk, pk)) remove(db, table, pkColumns, before.pk);
    upsert(db, table, pkColumns, row);
    changed++;
  }
  return changed;
}

// ---------------------------------------------------------------------------------------------
// DM requests: channel_pairing_requests.

/** OpenClaw's account key: lower-cased and trimmed, blank is `default` (not sanitised, unlike file names). */
export const accountKey = (value: unknown): string =>
  (typeof value === "string" ? value.trim().toLowerCase() : "") || "default";

/** Meta as OpenClaw keeps it: string values, trimmed, blank ones dropped. */
function normalizeMeta(value: unknown): Record<string, string> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const meta: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    if (key === "__proto__" || typeof entry !== "string" || entry.trim() === "") continue;
    meta[key] = entry.trim();
  }
  return Object.keys(meta).length > 0 ? meta : undefined;
}

function requestRow(channelKey: string, request: PairingRequest): Row {
  const account = requestAccount(request);
  const meta = { ...withoutAccount(normalizeMeta(request.meta) ?? {}), accountId: account };
  return {
    channel_key: channelKey,
    account_id: account,
    request_id: request.id,
    code: request.code,
    created_at: request.createdAt,
    last_seen_at: request.lastSeenAt,
    meta_json: JSON.stringify(meta),
  };
}

const requestKey = (account: string, id: string) => `${account}\u0000${id}`;
const REQUEST_PK = ["channel_key", "account_id", "request_id"] as const;

/**
 * A channel's requests, oldest first (created_at, account, id: OpenClaw's order). Rows OpenClaw's
 * own reader would drop (no id or code, a date that does not parse) are left out here too; they
 * are never written back, and `moltbot doctor` counts them.
 */
export function readRequests(db: DatabaseSync, channelKey: string): LoadedRecord<PendingState> & { invalid: number } {
  const rows = db
    .prepare(
      "SELECT * FROM channel_pairing_requests WHERE channel_key = ? ORDER BY created_at ASC, account_id ASC, request_id ASC",
    )
    .all(channelKey);
  const requests: PairingRequest[] = [];
  const read: ReadRows = new Map();
  let invalid = 0;
  for (const row of rows) {
    const id = asText(row.request_id)?.trim();
    const code = asText(row.code)?.trim();
    const createdAt = asText(row.created_at)?.trim();
    const lastSeenAt = asText(row.last_seen_at)?.trim() || createdAt;
    if (
      !id ||
      !code ||
      !createdAt ||
      !lastSeenAt ||
      Number.isNaN(Date.parse(createdAt)) ||
      Number.isNaN(Date.parse(lastSeenAt))
    ) {
      invalid++;
      continue;
    }
    let stored: unknown;
    try {
      stored = typeof row.meta_json === "string" ? JSON.parse(row.meta_json) : undefined;
    } catch {
      stored = undefined;
    }
    const account = accountKey(row.account_id);
    const request: PairingRequest = {
      id,
      code,
      createdAt,
      lastSeenAt,
      meta: { ...withoutAccount(normalizeMeta(stored) ?? {}), accountId: account },
    };
    requests.push(request);
    read.set(requestKey(account, id), {
      pk: [row.channel_key ?? null, row.account_id ?? null, row.request_id ?? null],
      canonical: requestRow(channelKey, request),
    });
  }
  return { state: { version: 1, requests }, exists: rows.length > 0, rows: read, invalid };
}

export function writeRequests(db: DatabaseSync, channelKey: string, loaded: ReadRows, next: PendingState): number {
  const rows = new Map<string, Row>();
  for (const request of next.requests) {
    rows.set(requestKey(requestAccount(request), request.id), requestRow(channelKey, request));
  }
  return applyDiff(db, "channel_pairing_requests", REQUEST_PK, loaded, rows);
}

// ---------------------------------------------------------------------------------------------
// DM allowlists: channel_pairing_allow_entries, one (channel, account) per record.

const ALLOW_PK = ["channel_key", "account_id", "entry"] as const;

/** An account's approved senders, in sort_order (then entry, as OpenClaw orders them). */
export function readAllowlist(db: DatabaseSync, channelKey: string, account: string): LoadedRecord<AllowState> {
  const rows = db
    .prepare(
      "SELECT * FROM channel_pairing_allow_entries WHERE channel_key = ? ORDER BY account_id ASC, sort_order ASC, entry ASC",
    )
    .all(channelKey)
    .filter((row) => accountKey(row.account_id) === account);
  const read: ReadRows = new Map();
  const allowFrom: string[] = [];
  for (const row of rows) {
    const entry = asText(row.entry) ?? "";
    allowFrom.push(entry);
    read.set(entry, {
      pk: [row.channel_key ?? null, row.account_id ?? null, row.entry ?? null],
      canonical: { sort_order: Number(row.sort_order) },
    });
  }
  return { state: { version: 1, allowFrom }, exists: rows.length > 0, rows: read };
}

/**
 * Write an account's allowlist: removed senders are deleted and new ones appended after the
 * highest sort_order, so an approval is one INSERT. Only when the order itself changed (moltbot's
 * rules never reorder) are the rows renumbered 0..n-1, as OpenClaw numbers them.
 */
export function writeAllowlist(
  db: DatabaseSync,
  channelKey: string,
  account: string,
  loaded: ReadRows,
  next: AllowState,
  now: number,
): number {
  const entries = [
    ...new Set(next.allowFrom.map((entry) => entry.trim()).filter((entry) => entry !== "" && entry !== "*")),
  ];
  const wanted = new Set(entries);
  let changed = 0;
  let highest = -1;
  for (const [entry, before] of loaded) {
    highest = Math.max(highest, Number(before.canonical.sort_order));
    if (!wanted.has(entry)) {
      remove(db, "channel_pairing_allow_entries", ALLOW_PK, before.pk);
      changed++;
    }
  }
  const kept = entries
    .filter((entry) => loaded.has(entry))
    .map((entry) => Number(loaded.get(entry)!.canonical.sort_order));
  const firstNew = entries.findIndex((entry) => !loaded.has(entry));
  const inOrder =
    kept.every((order, i) => i === 0 || order > kept[i - 1]!) &&
    (firstNew === -1 || entries.slice(firstNew).every((entry) => !loaded.has(entry)));
  let nextOrder = highest + 1;
  entries.forEach((entry, index) => {
    const before = loaded.get(entry);
    if (before && inOrder) return;
    const sortOrder = inOrder ? nextOrder++ : index;
    if (before && Number(before.canonical.sort_order) === sortOrder) return;
    if (before && before.pk[1] !== account) remove(db, "channel_pairing_allow_entries", ALLOW_PK, before.pk);
    upsert(db, "channel_pairing_allow_entries", ALLOW_PK, {
      channel_key: channelKey,
      account_id: account,
      entry,
      sort_order: sortOrder,
      updated_at: now,
    });
    changed++;
  });
  return changed;
}

// ---------------------------------------------------------------------------------------------
// Devices: device_pairing_pending, device_pairing_paired (one record each, keyed by id).

type ColumnType = "text" | "integer" | "boolean" | "json";

interface ColumnSpec {
  column: string;
  key: string;
  type: ColumnType;
}

const camel = (column: string): string => column.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** OpenClaw's field for each column, in its order: `roles_json` ↔ `roles`, `is_repair` ↔ `isRepair`, … */
function columnSpecs(table: PairingTable): ColumnSpec[] {
  return PAIRING_TABLES[table].map((column) => {
    if (column.endsWith("_json")) return { column, key: camel(column.slice(0, -"_json".length)), type: "json" };
    if (column === "silent" || column === "is_repair") return { column, key: camel(column), type: "boolean" };
    if (column === "ts" || column.endsWith("_ms")) return { column, key: camel(column), type: "integer" };
    return { column, key: camel(column), type: "text" };
  });
}

interface KeyedTable {
  table: "device_pairing_pending" | "device_pairing_paired";
  pk: string;
  specs: ColumnSpec[];
}

export const DEVICE_PENDING_TABLE: KeyedTable = {
  table: "device_pairing_pending",
  pk: "request_id",
  specs: columnSpecs("device_pairing_pending"),
};
export const DEVICE_PAIRED_TABLE: KeyedTable = {
  table: "device_pairing_paired",
  pk: "device_id",
  specs: columnSpecs("device_pairing_paired"),
};

function toColumn(spec: ColumnSpec, value: unknown): SqlValue {
  if (value === undefined || value === null) return null;
  switch (spec.type) {
    case "json":
      return JSON.stringify(value);
    case "boolean":
      return value ? 1 : 0;
    case "integer":
      return typeof value === "number" ? value : Number(value);
    case "text":
      // The schema checked every text field is a string; anything else is stored as its JSON.
      return typeof value === "string" ? value : JSON.stringify(value);
  }
}

function keyedRow(specs: readonly ColumnSpec[], record: Record<string, unknown>, present: ReadonlySet<string>): Row {
  const row: Row = {};
  for (const spec of specs) if (present.has(spec.column)) row[spec.column] = toColumn(spec, record[spec.key]);
  return row;
}

/** A device table as the record the core works on: `{ [id]: fields }`, NULL columns left out. */
export function readKeyed(
  db: DatabaseSync,
  { table, pk, specs }: KeyedTable,
  file: string,
): LoadedRecord<Record<string, Record<string, unknown>>> {
  const present = tableColumns(db, table);
  const rows = db.prepare(`SELECT * FROM ${table}`).all();
  const state: Record<string, Record<string, unknown>> = {};
  const read: ReadRows = new Map();
  for (const row of rows) {
    const id = asText(row[pk]) ?? "";
    // Nothing that copies an object carries a "__proto__" key over faithfully (zod, spreads, OpenClaw).
    if (id === "__proto__") throw corrupt(file, `${table} has a row keyed "__proto__"`);
    const record: Record<string, unknown> = {};
    for (const spec of specs) {
      const value = row[spec.column];
      if (value === null || value === undefined) continue;
      switch (spec.type) {
        case "json":
          if (String(value).includes('"__proto__"')) {
            throw corrupt(
              file,
              `${table} row ${JSON.stringify(id.slice(0, 80))}: ${spec.column} has a "__proto__" key`,
            );
          }
          try {
            record[spec.key] = JSON.parse(String(value));
          } catch {
            throw corrupt(file, `${table} row ${JSON.stringify(id.slice(0, 80))}: ${spec.column} is not valid JSON`);
          }
          break;
        case "boolean":
          record[spec.key] = Number(value) !== 0;
          break;
        case "integer":
          record[spec.key] = typeof value === "bigint" ? Number(value) : value;
          break;
        case "text":
          record[spec.key] = value;
      }
    }
    // Own properties only: an id like "__proto__" stays a plain key.
    Object.defineProperty(state, id, { value: record, enumerable: true, writable: true, configurable: true });
    read.set(id, { pk: [row[pk] ?? null], canonical: keyedRow(specs, record, present) });
  }
  return { state, exists: rows.length > 0, rows: read };
}

export function writeKeyed(
  db: DatabaseSync,
  { table, pk, specs }: KeyedTable,
  loaded: ReadRows,
  next: Record<string, Record<string, unknown>>,
): number {
  const present = tableColumns(db, table);
  const rows = new Map<string, Row>();
  const idKey = specs.find((spec) => spec.column === pk)!.key;
  for (const record of Object.values(next)) rows.set(String(record[idKey]), keyedRow(specs, record, present));
  return applyDiff(db, table, [pk], loaded, rows);
}
