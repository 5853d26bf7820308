import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { RECORD_KINDS } from "../../src/store/catalogue.js";
import { createStoreContext } from "../../src/store/context.js";
import { readDecisionLog } from "../../src/store/decision-log.js";
import { approveDmCode, blockDmSender, listDmRequests, requestDmPairing } from "../../src/store/dm-store.js";
import { listTree, tempStateDir } from "../helpers.js";
import { memoryBackend } from "./memory-backend.js";

/*
 * moltbot's own records (owner "moltbot"): always JSON under <state>/moltbot/, whatever backend
 * serves the gateway's records (the routing rule, store/owned.ts), and the code history only ever
 * read by changes that write.
 */

describe("moltbot's own records", () => {
  it("every record with owner moltbot lives in <state>/moltbot/ and nowhere else", () => {
    const owned = RECORD_KINDS.filter((kind) => kind.owner === "moltbot").map((kind) => kind.name);
    expect(owned).toEqual(["block-list", "code-history", "decision-head"]);
    for (const kind of RECORD_KINDS) expect(kind.json.dir === "moltbotDir", kind.name).toBe(kind.owner === "moltbot");
  });

  it("with another backend for the gateway's records, moltbot's go to JSON files and the backend never sees them", async () => {
    const stateDir = tempStateDir();
    const seen: string[] = [];
    const ctx = createStoreContext({ stateDir, env: {}, backend: memoryBackend(seen) });
    const { code } = await requestDmPairing(ctx, { channel: "telegram", senderId: "111" });
    await blockDmSender(ctx, { channel: "telegram", senderId: "666" });
    await approveDmCode(ctx, { channel: "telegram", code: code!, reason: "ok" });
    expect(new Set(seen)).toEqual(new Set(["dm-pending", "dm-allow"]));
    // The gateway's records stayed in memory; moltbot's are files.
    expect(listTree(stateDir)).toEqual([
      "moltbot",
      "moltbot/blocked.json",
      "moltbot/decisions.head.json",
      "moltbot/decisions.jsonl",
      "moltbot/telegram-codes.json",
    ]);
    expect(readDecisionLog(ctx).verification).toMatchObject({ ok: true, entries: 2 });
  });

  it("a request that writes nothing never reads the code history: a broken one stops only changes", async () => {
    const stateDir = tempStateDir();
    const env = { MOLTBOT_PAIRING_MAX_PENDING: "1" };
    const ctx = createStoreContext({ stateDir, env });
    await requestDmPairing(ctx, { channel: "telegram", senderId: "111" });
    fs.writeFileSync(path.join(stateDir, "moltbot", "telegram-codes.json"), "{ broken");
    // Capped (the channel is full): answered from an unlocked read, without the history.
    await expect(requestDmPairing(ctx, { channel: "telegram", senderId: "222" })).resolves.toMatchObject({
      status: "capped",
    });
    // Refreshing the pending request writes: the broken history is refused, never rewritten.
    await expect(requestDmPairing(ctx, { channel: "telegram", senderId: "111" })).rejects.toMatchObject({
      code: "STORE_CORRUPT",
    });
    expect(fs.readFileSync(path.join(stateDir, "moltbot", "telegram-codes.json"), "utf8")).toBe("{ broken");
    expect(listDmRequests(ctx, "telegram").requests).toHaveLength(1);
  });
});
