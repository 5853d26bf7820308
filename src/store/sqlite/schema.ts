import { MoltbotError } from "../../errors.js";
import type { DatabaseSync } from "./driver.js";

/*
 * What moltbot needs of OpenClaw's database, recorded from openclaw@2026.9.6 (its DDL is in
 * ../shared/GENERATIONS.md §3). moltbot never runs DDL there: the gateway creates and upgrades its
 * database. Columns are always used by NAME: OpenClaw appends some ("additive") columns to older
 * tables, so their position differs between databases.
 */

/** The newest `user_version` moltbot was tested with (2026.8.x declares 15, 2026.9.6 18). */
export const NEWEST_USER_VERSION = 18;

export const PAIRING_TABLES = {
  channel_pairing_requests: [
    "channel_key",
    "account_id",
    "request_id",
    "code",
    "created_at",
    "last_seen_at",
    "meta_json",
  ],
  channel_pairing_allow_entries: ["channel_key", "account_id", "entry", "sort_order", "updated_at"],
  device_pairing_pending: [
    "request_id",
    "device_id",
    "public_key",
    "display_name",
    "platform",
    "device_family",
    "client_id",
    "client_mode",
    "browser_origin",
    "role",
    "roles_json",
    "scopes_json",
    "remote_ip",
    "silent",
    "is_repair",
    "ts",
    "refreshed_at_ms",
  ],
  device_pairing_paired: [
    "device_id",
    "public_key",
    "display_name",
    "operator_label",
    "platform",
    "device_family",
    "client_id",
    "client_mode",
    "browser_origin",
    "role",
    "roles_json",
    "scopes_json",
    "approved_scopes_json",
    "remote_ip",
    "tokens_json",
    "approved_via",
    "node_surface_json",
    "pending_node_surface_json",
    "created_at_ms",
    "approved_at_ms",
    "last_seen_at_ms",
    "last_seen_reason",
  ],
} as const;

export type PairingTable = keyof typeof PAIRING_TABLES;

export function tableExists(db: DatabaseSync, table: string): boolean {
  return db.prepare("SELECT 1 AS found FROM sqlite_schema WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

export function tableColumns(db: DatabaseSync, table: string): Set<string> {
  return new Set(
    db
      .prepare("SELECT name FROM pragma_table_info(?)")
      .all(table)
      .map((row) => String(row.name)),
  );
}

/**
 * The schema version the database declares: `user_version`, or the content version OpenClaw
 * records beside it when that is higher (its own admission check reads both).
 */
export function schemaVersion(db: DatabaseSync): number {
  const published = Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);
  if (!tableExists(db, "config_machine_state")) return published;
  const row = db
    .prepare("SELECT value_json FROM config_machine_state WHERE state_key = 'state.schema.contentVersion'")
    .get();
  if (row === undefined || typeof row.value_json !== "string") return published;
  let content: unknown;
  try {
    content = JSON.parse(row.value_json);
  } catch {
    return published;
  }
  return typeof content === "number" && Number.isSafeInteger(content) ? Math.max(published, content) : published;
}

const HOW_TO_GET_TABLES =
  'Start the OpenClaw gateway once (or run "openclaw doctor"): it creates and upgrades its own tables; moltbot never changes the database\'s schema.';

/**
 * Refuse to write a database moltbot does not know: a newer schema (its rules may have changed),
 * or a table or column that is missing (a database from before the table existed, or not
 * OpenClaw's). Reads stay possible: they only show what is there.
 */
export function assertWritable(db: DatabaseSync, file: string, tables: readonly PairingTable[]): void {
  const version = schemaVersion(db);
  if (version > NEWEST_USER_VERSION) {
    throw new MoltbotError(
      "STORE_UNSUPPORTED",
      `${file} uses OpenClaw state schema ${version}, newer than the newest moltbot knows (${NEWEST_USER_VERSION}); nothing was written. Use a moltbot release that supports schema ${version}.`,
    );
  }
  for (const table of tables) {
    const columns = tableColumns(db, table);
    if (columns.size === 0) {
      throw new MoltbotError(
        "STORE_UNSUPPORTED",
        `${file} has no table ${table}, so moltbot cannot write there; nothing was written. ${HOW_TO_GET_TABLES}`,
      );
    }
    const missing = PAIRING_TABLES[table].filter((column) => !columns.has(column));
    if (missing.length > 0) {
      throw new MoltbotError(
        "STORE_UNSUPPORTED",
        `${file}: table ${table} lacks the column${missing.length === 1 ? "" : "s"} ${missing.join(", ")} (an older schema); nothing was written. ${HOW_TO_GET_TABLES}`,
      );
    }
  }
}

/**
 * OpenClaw's external-ownership fence: a database claimed by an external supervisor is written
 * only by processes running with OPENCLAW_SUPERVISOR_MODE=external, and moltbot follows the same rule.
 */
export function assertNotExternallySupervised(db: DatabaseSync, file: string, env: NodeJS.ProcessEnv): void {
  if ((env.OPENCLAW_SUPERVISOR_MODE ?? "").trim().toLowerCase() === "external") return;
  if (!tableExists(db, "config_machine_state")) return;
  const row = db.prepare("SELECT value_json FROM config_machine_state WHERE state_key = 'gateway.supervision'").get();
  if (row === undefined) return;
  let manager = "an external supervisor";
  try {
    const value = JSON.parse(String(row.value_json)) as { managerId?: unknown };
    if (typeof value.managerId === "string") manager = JSON.stringify(value.managerId.slice(0, 128));
  } catch {
    // Still a claim: OpenClaw refuses writes on an unreadable claim too.
  }
  throw new MoltbotError(
    "STORE_PERMISSION",
    `${file} is externally supervised by ${manager}: like OpenClaw itself, moltbot writes there only with OPENCLAW_SUPERVISOR_MODE=external. Nothing was written.`,
  );
}
