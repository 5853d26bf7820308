import fs from "node:fs";
import path from "node:path";
import { tempStateDir } from "../helpers.js";

/*
 * A store for completion tests, written in the gateway's file shapes. Its codes and ids include the
 * attacker's: words that run a command if a shell ever evaluates them.
 */

export const NOW = Date.parse("2026-01-20T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** Store values that run `touch pwned` in the shell's directory if a shell ever evaluates them. */
export const HOSTILE = ["$(touch${IFS}pwned)", "`touch pwned`", ";touch pwned"] as const;

/** A device id that needs every kind of quoting (and that bash's history expansion would change). */
export const QUOTEY = `spaced 'single' "double" !!`;

export const WAITING_REQUEST = "6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70";
export const NODE_REQUEST = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

function write(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}

interface StoreOptions {
  /** Pending telegram codes (all live at `now`). */
  telegramCodes?: readonly string[];
  pairedDevices?: readonly string[];
  now?: number;
  /** Where to create it (default: a temporary directory removed after the current test). */
  stateDir?: string;
}

/** A state dir holding pending DM codes, a waiting device, paired devices and a waiting node. */
export function completionStore(options: StoreOptions = {}): string {
  const now = options.now ?? NOW;
  const stateDir = options.stateDir ?? tempStateDir();
  const codes = options.telegramCodes ?? ["ABCD2345", "EFGH6789", ...HOSTILE];
  const request = (id: string, code: string, age: number, meta?: Record<string, string>) => ({
    id,
    code,
    createdAt: iso(now - age),
    lastSeenAt: iso(now - age),
    ...(meta ? { meta } : {}),
  });
  write(path.join(stateDir, "credentials", "telegram-pairing.json"), {
    version: 1,
    requests: [
      ...codes.map((code, index) =>
        request(String(111 * (index + 1)), code, 60_000, index === 0 ? { username: "alice" } : undefined),
      ),
      // Expired an hour ago: never offered.
      request("999", "OLDC2345", 2 * 3600_000),
      // Not a word one can type: never offered.
      request("888", "BAD\nCODE", 60_000),
    ],
  });
  write(path.join(stateDir, "credentials", "signal-pairing.json"), {
    version: 1,
    requests: [request("+15550001", "SIGN2345", 60_000)],
  });
  write(path.join(stateDir, "devices", "pending.json"), {
    [WAITING_REQUEST]: {
      requestId: WAITING_REQUEST,
      deviceId: "mac-2",
      publicKey: "key-mac-2",
      displayName: "Work Mac",
      role: "node",
      roles: ["node"],
      isRepair: false,
      ts: now - 30_000,
    },
    "expired-request": {
      requestId: "expired-request",
      deviceId: "old-1",
      publicKey: "key-old-1",
      isRepair: false,
      ts: now - 10 * 60_000,
    },
  });
  const paired = options.pairedDevices ?? ["phone-1", ...HOSTILE, QUOTEY, "tab\tid", "rtl\u202eid"];
  write(
    path.join(stateDir, "devices", "paired.json"),
    Object.fromEntries(
      paired.map((deviceId, index) => [
        deviceId,
        {
          deviceId,
          publicKey: `key-${index}`,
          ...(deviceId === "phone-1" ? { displayName: "Alice's phone", platform: "ios", role: "node" } : {}),
          createdAtMs: now - 3600_000,
          approvedAtMs: now - 3600_000 + index,
        },
      ]),
    ),
  );
  write(path.join(stateDir, "nodes", "pending.json"), {
    [NODE_REQUEST]: { requestId: NODE_REQUEST, nodeId: "node-7", displayName: "Pi", platform: "linux", ts: now - 1000 },
  });
  return stateDir;
}
