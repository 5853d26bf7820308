import fs from "node:fs";
import path from "node:path";
import { afterEach } from "vitest";
import { coordinatorPath } from "../../src/store/sqlite/coordinator.js";
import { loadSqlite, type DatabaseSync, type Row } from "../../src/store/sqlite/driver.js";
import { tempDir } from "../helpers.js";

/*
 * Helpers for test/sqlite/ (run under Node 24, see scripts/test.mjs): OpenClaw-shaped databases
 * made from the DDL OpenClaw 2026.9.6 uses for its pairing tables (recorded in
 * ../shared/GENERATIONS.md §3 and the research notes), and the cleanup of the coordinator lock
 * files a test's writes leave in /tmp/openclaw-state-locks-<uid>/ (OpenClaw leaves them by design).
 */

/** OpenClaw 2026.9.6's DDL for the four pairing tables and their indexes (openclaw-state-db-read-connection-*.mjs). */
export const PAIRING_DDL = `
CREATE TABLE IF NOT EXISTS device_pairing_pending (
  request_id TEXT NOT NULL PRIMARY KEY, device_id TEXT NOT NULL, public_key TEXT NOT NULL,
  display_name TEXT, platform TEXT, device_family TEXT, client_id TEXT, client_mode TEXT,
  browser_origin TEXT, role TEXT, roles_json TEXT, scopes_json TEXT, remote_ip TEXT,
  silent INTEGER, is_repair INTEGER, ts INTEGER NOT NULL, refreshed_at_ms INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS idx_device_pairing_pending_device ON device_pairing_pending(device_id, ts DESC);
CREATE TABLE IF NOT EXISTS device_pairing_paired (
  device_id TEXT NOT NULL PRIMARY KEY, public_key TEXT NOT NULL, display_name TEXT, operator_label TEXT,
  platform TEXT, device_family TEXT, client_id TEXT, client_mode TEXT, browser_origin TEXT, role TEXT,
  roles_json TEXT, scopes_json TEXT, approved_scopes_json TEXT, remote_ip TEXT, tokens_json TEXT,
  approved_via TEXT, node_surface_json TEXT, pending_node_surface_json TEXT,
  created_at_ms INTEGER NOT NULL, approved_at_ms INTEGER NOT NULL, last_seen_at_ms INTEGER, last_seen_reason TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS idx_device_pairing_paired_approved ON device_pairing_paired(approved_at_ms DESC, device_id);
CREATE TABLE IF NOT EXISTS channel_pairing_requests (
  channel_key TEXT NOT NULL, account_id TEXT NOT NULL, request_id TEXT NOT NULL, code TEXT NOT NULL,
  created_at TEXT NOT NULL, last_seen_at TEXT NOT NULL, meta_json TEXT,
  PRIMARY KEY (channel_key, account_id, request_id)
) STRICT;
CREATE INDEX IF NOT EXISTS idx_channel_pairing_requests_code ON channel_pairing_requests(channel_key, code);
CREATE INDEX IF NOT EXISTS idx_channel_pairing_requests_created ON channel_pairing_requests(channel_key, created_at, request_id);
CREATE TABLE IF NOT EXISTS channel_pairing_allow_entries (
  channel_key TEXT NOT NULL, account_id TEXT NOT NULL, entry TEXT NOT NULL,
  sort_order INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel_key, account_id, entry)
) STRICT;
CREATE INDEX IF NOT EXISTS idx_channel_pairing_allow_account ON channel_pairing_allow_entries(channel_key, account_id, sort_order, entry);
`;

export const sqlite = () => loadSqlite("(test)");

const databases: string[] = [];
afterEach(async () => {
  // Safe here, never in the product: every process of the test has ended.
  for (const file of databases.splice(0)) {
    for (const family of ["state-lifecycle", "state-handles"] as const) {
      fs.rmSync(await coordinatorPath(family, file), { force: true });
    }
  }
});

export const dbPath = (stateDir: string) => path.join(stateDir, "state", "openclaw.sqlite");

/** Remember a database whose coordinator lock files the test's writes may leave behind. */
export function track(stateDir: string): string {
  databases.push(dbPath(stateDir));
  return dbPath(stateDir);
}

/**
 * A state dir holding `state/openclaw.sqlite` as OpenClaw lays it out (dirs 0700, file 0600, WAL),
 * with the pairing tables and `sql` run after them, closed (no -wal/-shm left).
 */
export function openclawState(options: { userVersion?: number; sql?: string; ddl?: string } = {}): string {
  const stateDir = path.join(tempDir("moltbot-sqlite-"), "state");
  fs.mkdirSync(path.join(stateDir, "state"), { recursive: true, mode: 0o700 });
  fs.chmodSync(stateDir, 0o700);
  const file = track(stateDir);
  const db = new (sqlite().DatabaseSync)(file);
  db.exec(
    `PRAGMA journal_mode = WAL; ${options.ddl ?? PAIRING_DDL}; PRAGMA user_version = ${options.userVersion ?? 18};`,
  );
  if (options.sql) db.exec(options.sql);
  db.close();
  fs.chmodSync(file, 0o600);
  return stateDir;
}

/** Run a query on the state's database (a separate connection, closed after). */
export function query(stateDir: string, sql: string, ...params: (string | number | null)[]): Row[] {
  const db = new (sqlite().DatabaseSync)(dbPath(stateDir));
  try {
    return db
      .prepare(sql)
      .all(...params)
      .map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

export function withDb<T>(stateDir: string, use: (db: DatabaseSync) => T): T {
  const db = new (sqlite().DatabaseSync)(dbPath(stateDir));
  try {
    return use(db);
  } finally {
    db.close();
  }
}

/** The database's schema as text: what must never change under moltbot. */
export const schemaText = (stateDir: string) =>
  JSON.stringify([
    query(stateDir, "SELECT type, name, sql FROM sqlite_schema ORDER BY name"),
    query(stateDir, "PRAGMA user_version"),
  ]);

export const iso = (ms: number) => new Date(ms).toISOString();
