import path from "node:path";
import { describe, expect, it } from "vitest";
import { createStoreContext } from "../../src/store/context.js";
import { listAllDmRequests, listDmRequests, readDmAllowlist, requestDmPairing } from "../../src/store/dm-store.js";
import { listTree, readJsonFile, runJson, tempStateDir, verifiedLog } from "../helpers.js";

interface LogEntry {
  seq: number;
  action: string;
  channel?: string;
  senderId?: string;
}

// Real processes racing on real files: the lock and the atomic rename are what is under test.
// Bounded: at most 18 processes at once, each with a 25 s kill timer, and the lock wait capped.
const env = { MOLTBOT_LOCK_TIMEOUT_MS: "20000" };

interface RequestJson {
  id: string;
  status: string;
  code?: string;
}

describe("DM pairing under concurrent processes", () => {
  it("12 simultaneous requests from different senders on one channel: exactly 3 stored, exactly 3 created", async () => {
    const stateDir = tempStateDir();
    const senders = Array.from({ length: 12 }, (_, i) => `${1000 + i}`);
    const results = await Promise.all(
      senders.map((sender) => runJson<RequestJson>(["pairing", "request", "telegram", sender], { stateDir, env })),
    );
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const created = results.filter((result) => result.json.status === "created").map((result) => result.json);
    const capped = results.filter((result) => result.json.status === "capped");
    expect(created).toHaveLength(3);
    expect(capped).toHaveLength(9);

    const file = readJsonFile<{ requests: { id: string; code: string }[] }>(
      path.join(stateDir, "credentials", "telegram-pairing.json"),
    );
    expect(file.requests).toHaveLength(3);
    expect(file.requests.map((r) => r.id).sort()).toEqual(created.map((r) => r.id).sort());
    expect(file.requests.map((r) => r.code).sort()).toEqual(created.map((r) => r.code).sort());
    expect(new Set(file.requests.map((r) => r.code)).size).toBe(3);
    // No lock directory and no temp file is left behind; the code history has the 3 codes, hashed.
    expect(listTree(stateDir)).toEqual([
      "credentials",
      "credentials/telegram-pairing.json",
      "moltbot",
      "moltbot/telegram-codes.json",
    ]);
    const history = readJsonFile<{ codes: { id: string }[] }>(path.join(stateDir, "moltbot", "telegram-codes.json"));
    expect(history.codes.map((record) => record.id).sort()).toEqual(created.map((r) => r.id).sort());
  });

  it("18 simultaneous approvals across six channels lose nothing: all 18 allowlisted, nothing pending", async () => {
    const stateDir = tempStateDir();
    const channels = ["telegram", "whatsapp", "signal", "imessage", "discord", "slack"];
    // Set up in-process (fast); the approvals are the race.
    const ctx = createStoreContext({ stateDir, env: {} });
    const approvals: { channel: string; sender: string; code: string }[] = [];
    for (const channel of channels) {
      for (let i = 0; i < 3; i++) {
        const sender = `${channel}-sender-${i}`;
        const result = await requestDmPairing(ctx, { channel, senderId: sender });
        expect(result.status).toBe("created");
        approvals.push({ channel, sender, code: result.code! });
      }
    }
    const results = await Promise.all(
      approvals.map(({ channel, code }) =>
        runJson<{ id: string }>(["pairing", "approve", channel, code], { stateDir, env }),
      ),
    );
    results.forEach((result, index) => {
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.json.id).toBe(approvals[index]!.sender);
    });
    for (const channel of channels) {
      const expected = approvals.filter((a) => a.channel === channel).map((a) => a.sender);
      expect(readDmAllowlist(ctx, channel).allowFrom.sort()).toEqual(expected.sort());
      expect(listDmRequests(ctx, channel).requests).toEqual([]);
    }
    expect(listAllDmRequests(ctx)).toEqual({ channels: [], errors: [] });
    expect(listTree(stateDir).filter((entry) => entry.endsWith(".lock") || /\.json\.\d+/.test(entry))).toEqual([]);
    // One line per approval, each sender once, in a log that verifies.
    const entries = await verifiedLog<LogEntry>(stateDir);
    expect(entries.map((entry) => `${entry.channel}/${entry.senderId}`).sort()).toEqual(
      approvals.map((approval) => `${approval.channel}/${approval.sender}`).sort(),
    );
  });

  it("approvals racing new requests on one channel: every approval lands and the cap still holds", async () => {
    const stateDir = tempStateDir();
    const ctx = createStoreContext({ stateDir, env: {} });
    const codes: string[] = [];
    for (const sender of ["a", "b", "c"])
      codes.push((await requestDmPairing(ctx, { channel: "slack", senderId: sender })).code!);
    const [approved, requested] = await Promise.all([
      Promise.all(codes.map((code) => runJson(["pairing", "approve", "slack", code], { stateDir, env }))),
      Promise.all(
        ["d", "e", "f", "g", "h", "i"].map((sender) =>
          runJson<RequestJson>(["pairing", "request", "slack", sender], { stateDir, env }),
        ),
      ),
    ]);
    for (const result of [...approved, ...requested]) expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(readDmAllowlist(ctx, "slack").allowFrom.sort()).toEqual(["a", "b", "c"]);
    const created = requested.filter((result) => result.json.status === "created").map((result) => result.json.id);
    const pending = listDmRequests(ctx, "slack").requests.map((request) => request.id);
    expect(pending.sort()).toEqual(created.sort());
    expect(pending.length).toBeLessThanOrEqual(3);
    expect(requested.every((result) => ["created", "capped"].includes(result.json.status))).toBe(true);
    expect((await verifiedLog<LogEntry>(stateDir)).map((entry) => entry.senderId).sort()).toEqual(["a", "b", "c"]);
  });
});
