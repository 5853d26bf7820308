import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createStoreContext, type StoreContext } from "../../src/store/context.js";
import {
  approveDmCode,
  listAllDmRequests,
  listDmRequests,
  readDmAllowlist,
  rejectDmCode,
  requestDmPairing,
  revokeDmSender,
} from "../../src/store/dm-store.js";
import { fileMode, fixedRandom, listTree, readJsonFile, seededRandom, tempDir, tempStateDir } from "../helpers.js";

// Every store write goes through the JSON backend's writer; wrap it to record the order of writes and
// to inject a failure into one of them (the real writer still does the writing).
const spy = vi.hoisted(() => ({ writes: [] as string[], failOn: undefined as RegExp | undefined }));
vi.mock("../../src/store/json/files.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/store/json/files.js")>();
  return {
    ...real,
    writeFileAtomic: (file: string, text: string) => {
      spy.writes.push(path.basename(file));
      if (spy.failOn?.test(file)) throw Object.assign(new Error("injected write failure"), { code: "EIO" });
      real.writeFileAtomic(file, text);
    },
  };
});

const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const HOUR = 60 * 60 * 1000;
const originalUmask = process.umask();

let clock = T0;
function context(stateDir: string, env: NodeJS.ProcessEnv = {}, random = seededRandom(1)): StoreContext {
  return createStoreContext({ stateDir, env, now: () => clock, random });
}

async function errorOf(promise: Promise<unknown> | (() => unknown)): Promise<{ code: string; message: string }> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error("expected an error");
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of listTree(dir)) {
    const full = path.join(dir, entry);
    out[entry] = fs.statSync(full).isDirectory() ? `dir ${fileMode(full).toString(8)}` : fs.readFileSync(full, "utf8");
  }
  return out;
}

beforeEach(() => {
  clock = T0;
  spy.writes.length = 0;
  spy.failOn = undefined;
});
afterEach(() => {
  process.umask(originalUmask);
});

describe("request on disk", () => {
  it("creates the credentials dir 0700 and the pending file 0600 under umask 000, as 2-space JSON with a newline", async () => {
    process.umask(0o000);
    const stateDir = tempStateDir();
    const result = await requestDmPairing(context(stateDir, {}, fixedRandom([0, 1, 2, 3, 4, 5, 6, 7])), {
      channel: "telegram",
      senderId: "123",
      meta: { username: "alice" },
    });
    expect(result.status).toBe("created");
    const file = path.join(stateDir, "credentials", "telegram-pairing.json");
    expect(fileMode(stateDir)).toBe(0o700);
    expect(fileMode(path.join(stateDir, "credentials"))).toBe(0o700);
    expect(fileMode(file)).toBe(0o600);
    expect(fs.readFileSync(file, "utf8")).toBe(
      [
        "{",
        '  "version": 1,',
        '  "requests": [',
        "    {",
        '      "id": "123",',
        '      "code": "ABCDEFGH",',
        '      "createdAt": "2026-03-01T10:00:00.000Z",',
        '      "lastSeenAt": "2026-03-01T10:00:00.000Z",',
        '      "meta": {',
        '        "username": "alice"',
        "      }",
        "    }",
        "  ]",
        "}",
        "",
      ].join("\n"),
    );
    // No lock directory or temp file is left behind; moltbot's code history (hashes only) is beside it.
    expect(listTree(stateDir)).toEqual([
      "credentials",
      "credentials/telegram-pairing.json",
      "moltbot",
      "moltbot/telegram-codes.json",
    ]);
  });

  it("writes into MOLTBOT_OAUTH_DIR when set", async () => {
    const root = tempDir();
    const oauth = path.join(root, "oauth");
    await requestDmPairing(context(path.join(root, "state"), { MOLTBOT_OAUTH_DIR: oauth }), {
      channel: "slack",
      senderId: "U1",
    });
    // moltbot's own records stay in the state dir.
    expect(listTree(root)).toEqual([
      "oauth",
      "oauth/slack-pairing.json",
      "state",
      "state/moltbot",
      "state/moltbot/slack-codes.json",
    ]);
    expect(fileMode(oauth)).toBe(0o700);
  });

  it("keeps unknown fields, top-level and per request, when it rewrites the file", async () => {
    const stateDir = tempStateDir();
    const file = path.join(stateDir, "credentials", "telegram-pairing.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const original = {
      version: 1,
      gatewayVersion: "2026.1",
      requests: [
        {
          id: "1",
          code: "AAAA2345",
          createdAt: "2026-03-01T09:59:00.000Z",
          lastSeenAt: "2026-03-01T09:59:00.000Z",
          agent: { id: "main" },
        },
      ],
    };
    fs.writeFileSync(file, JSON.stringify(original));
    await requestDmPairing(context(stateDir), { channel: "telegram", senderId: "1" });
    await requestDmPairing(context(stateDir), { channel: "telegram", senderId: "2" });
    const stored = readJsonFile<typeof original>(file);
    expect(stored.gatewayVersion).toBe("2026.1");
    expect(stored.requests[0]).toEqual({ ...original.requests[0], lastSeenAt: "2026-03-01T10:00:00.000Z" });
    expect(stored.requests).toHaveLength(2);
  });

  it("reads the cap from MOLTBOT_PAIRING_MAX_PENDING and refuses a bad value before touching the disk", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir, { MOLTBOT_PAIRING_MAX_PENDING: "1" });
    expect((await requestDmPairing(ctx, { channel: "telegram", senderId: "1" })).status).toBe("created");
    expect((await requestDmPairing(ctx, { channel: "telegram", senderId: "2" })).status).toBe("capped");
    const other = tempStateDir();
    const error = await errorOf(
      requestDmPairing(context(other, { MOLTBOT_PAIRING_MAX_PENDING: "0" }), { channel: "telegram", senderId: "1" }),
    );
    expect(error.code).toBe("USAGE");
    expect(fs.existsSync(other)).toBe(false);
  });

  it("writes nothing for a capped or an allowed sender", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    for (const id of ["1", "2", "3"]) await requestDmPairing(ctx, { channel: "telegram", senderId: id });
    const approved = listDmRequests(ctx, "telegram").requests[0]!.code;
    await approveDmCode(ctx, { channel: "telegram", code: approved });
    await requestDmPairing(ctx, { channel: "telegram", senderId: "4" });
    const before = snapshot(stateDir);
    spy.writes.length = 0;
    expect((await requestDmPairing(ctx, { channel: "telegram", senderId: "5" })).status).toBe("capped");
    expect((await requestDmPairing(ctx, { channel: "telegram", senderId: "tg:1" })).status).toBe("allowed");
    expect(spy.writes).toEqual([]);
    expect(snapshot(stateDir)).toEqual(before);
  });

  it("drops expired requests from the file on the next write", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    await requestDmPairing(ctx, { channel: "telegram", senderId: "old" });
    clock = T0 + HOUR + 1;
    expect(listDmRequests(ctx, "telegram").requests).toEqual([]);
    expect(
      readJsonFile<{ requests: unknown[] }>(path.join(stateDir, "credentials", "telegram-pairing.json")).requests,
    ).toHaveLength(1);
    await requestDmPairing(ctx, { channel: "telegram", senderId: "new" });
    const ids = readJsonFile<{ requests: { id: string }[] }>(
      path.join(stateDir, "credentials", "telegram-pairing.json"),
    ).requests.map((r) => r.id);
    expect(ids).toEqual(["new"]);
  });
});

describe("reads create nothing", () => {
  it("list, list all, allowlist and revoke on a fresh machine leave the disk untouched", async () => {
    const root = tempDir();
    const ctx = context(path.join(root, "state"));
    expect(listDmRequests(ctx, "telegram")).toEqual({ channel: "telegram", requests: [] });
    expect(listAllDmRequests(ctx)).toEqual({ channels: [], errors: [] });
    expect(readDmAllowlist(ctx, "IMSG")).toEqual({ channel: "imessage", account: "default", allowFrom: [] });
    expect(await revokeDmSender(ctx, { channel: "telegram", senderId: "tg:1" })).toEqual({
      channel: "telegram",
      account: "default",
      id: "1",
      removed: false,
    });
    expect(listTree(root)).toEqual([]);
  });

  it("approve and reject of a code on a fresh machine fail NOT_FOUND without creating the state dir", async () => {
    const root = tempDir();
    const ctx = context(path.join(root, "state"));
    expect((await errorOf(approveDmCode(ctx, { channel: "telegram", code: "ABCD2345" }))).code).toBe("NOT_FOUND");
    expect((await errorOf(rejectDmCode(ctx, { channel: "telegram", code: "ABCD2345" }))).code).toBe("NOT_FOUND");
    expect(listTree(root)).toEqual([]);
  });

  it("list and allowlist leave an existing store byte-for-byte unchanged (no lock, no cleanup)", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    await requestDmPairing(ctx, { channel: "telegram", senderId: "1" });
    clock = T0 + 2 * HOUR; // even an all-expired file is not rewritten by a read
    const before = snapshot(stateDir);
    listDmRequests(ctx, "telegram");
    listAllDmRequests(ctx);
    readDmAllowlist(ctx, "telegram");
    expect(snapshot(stateDir)).toEqual(before);
  });
});

describe("approve on disk", () => {
  async function withRequest(stateDir: string, senderId = "tg:777") {
    const ctx = context(stateDir);
    const created = await requestDmPairing(ctx, { channel: "telegram", senderId });
    return { ctx, code: created.code! };
  }

  it("writes the allowlist (0600) before rewriting the pending file", async () => {
    process.umask(0o000);
    const stateDir = tempStateDir();
    const { ctx, code } = await withRequest(stateDir);
    spy.writes.length = 0;
    const result = await approveDmCode(ctx, { channel: "telegram", code: ` ${code.toLowerCase()} ` });
    expect(result).toEqual({
      channel: "telegram",
      account: "default",
      code,
      id: "tg:777",
      message: "Moltbot access approved. Send a message to start chatting.",
    });
    // Allowlist before pending; the decision log's head journals the line first and moves past it last.
    expect(spy.writes).toEqual([
      "decisions.head.json",
      "telegram-codes.json",
      "telegram-allowFrom.json",
      "telegram-pairing.json",
      "decisions.head.json",
    ]);
    const allowFile = path.join(stateDir, "credentials", "telegram-allowFrom.json");
    expect(fs.readFileSync(allowFile, "utf8")).toBe('{\n  "version": 1,\n  "allowFrom": [\n    "777"\n  ]\n}\n');
    expect(fileMode(allowFile)).toBe(0o600);
    expect(readJsonFile(path.join(stateDir, "credentials", "telegram-pairing.json"))).toEqual({
      version: 1,
      requests: [],
    });
  });

  it("a failure between the two writes keeps the approval; approving again finishes without a duplicate", async () => {
    const stateDir = tempStateDir();
    const { ctx, code } = await withRequest(stateDir);
    const pendingFile = path.join(stateDir, "credentials", "telegram-pairing.json");
    const pendingBefore = fs.readFileSync(pendingFile, "utf8");
    spy.failOn = /telegram-pairing\.json$/;
    const error = await errorOf(approveDmCode(ctx, { channel: "telegram", code }));
    expect(error.code).toBe("STORE_IO");
    expect(readDmAllowlist(ctx, "telegram").allowFrom).toEqual(["777"]);
    expect(fs.readFileSync(pendingFile, "utf8")).toBe(pendingBefore);
    // The sender is already let in, even though the request still shows.
    expect((await requestDmPairing(ctx, { channel: "telegram", senderId: "777" })).status).toBe("allowed");
    spy.failOn = undefined;
    await approveDmCode(ctx, { channel: "telegram", code });
    expect(readDmAllowlist(ctx, "telegram").allowFrom).toEqual(["777"]);
    expect(listDmRequests(ctx, "telegram").requests).toEqual([]);
  });

  const unreadable: [string, (file: string) => void][] = [
    ["not JSON", (file) => fs.writeFileSync(file, '{"version":1,"allowFrom":["1"', { mode: 0o600 })],
    ["the wrong shape", (file) => fs.writeFileSync(file, '{"version":1,"allow":["1"]}\n', { mode: 0o600 })],
    ["empty", (file) => fs.writeFileSync(file, "", { mode: 0o600 })],
    ["a directory", (file) => fs.mkdirSync(path.join(file, "inside"), { recursive: true })],
  ];
  it.each(unreadable)(
    "an allowlist that is %s stops the approval with exit 3 and changes nothing",
    async (_, breakIt) => {
      const stateDir = tempStateDir();
      const { ctx, code } = await withRequest(stateDir);
      breakIt(path.join(stateDir, "credentials", "telegram-allowFrom.json"));
      const before = snapshot(stateDir);
      spy.writes.length = 0;
      const error = await errorOf(approveDmCode(ctx, { channel: "telegram", code }));
      expect(error.code).toBe("STORE_CORRUPT");
      expect(error.message).toContain("telegram-allowFrom.json");
      expect(spy.writes).toEqual([]);
      expect(snapshot(stateDir)).toEqual(before);
    },
  );

  it("a corrupt pending file fails every command with STORE_CORRUPT and is never rewritten", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    const file = path.join(stateDir, "credentials", "telegram-pairing.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, "garbage");
    const attempts: (() => unknown)[] = [
      () => requestDmPairing(ctx, { channel: "telegram", senderId: "1" }),
      () => approveDmCode(ctx, { channel: "telegram", code: "ABCD2345" }),
      () => rejectDmCode(ctx, { channel: "telegram", code: "ABCD2345" }),
      () => listDmRequests(ctx, "telegram"),
    ];
    for (const attempt of attempts) expect((await errorOf(attempt)).code).toBe("STORE_CORRUPT");
    // Listing every channel reports the broken one instead of hiding the others.
    expect(listAllDmRequests(ctx).errors).toEqual([
      { channel: "telegram", code: "STORE_CORRUPT", message: expect.stringContaining(file) },
    ]);
    expect(fs.readFileSync(file, "utf8")).toBe("garbage");
    expect(listTree(stateDir)).toEqual(["credentials", "credentials/telegram-pairing.json"]);
  });

  it("a corrupt allowlist also stops request and revoke rather than treating it as empty", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    const file = path.join(stateDir, "credentials", "telegram-allowFrom.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, "[]");
    expect((await errorOf(requestDmPairing(ctx, { channel: "telegram", senderId: "1" }))).code).toBe("STORE_CORRUPT");
    expect((await errorOf(revokeDmSender(ctx, { channel: "telegram", senderId: "1" }))).code).toBe("STORE_CORRUPT");
    expect((await errorOf(() => readDmAllowlist(ctx, "telegram"))).code).toBe("STORE_CORRUPT");
    expect(fs.readFileSync(file, "utf8")).toBe("[]");
  });

  it("tightens a loose existing allowlist to 0600 when it rewrites it", async () => {
    const stateDir = tempStateDir();
    const { ctx, code } = await withRequest(stateDir, "888");
    const file = path.join(stateDir, "credentials", "telegram-allowFrom.json");
    fs.writeFileSync(file, JSON.stringify({ version: 1, allowFrom: [] }), { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    await approveDmCode(ctx, { channel: "telegram", code });
    expect(fileMode(file)).toBe(0o600);
  });

  it("keeps unknown allowlist fields and existing entries", async () => {
    const stateDir = tempStateDir();
    const { ctx, code } = await withRequest(stateDir, "888");
    const file = path.join(stateDir, "credentials", "telegram-allowFrom.json");
    fs.writeFileSync(file, JSON.stringify({ version: 1, allowFrom: ["111"], policy: "pairing" }));
    await approveDmCode(ctx, { channel: "telegram", code });
    expect(readJsonFile(file)).toEqual({ version: 1, allowFrom: ["111", "888"], policy: "pairing" });
  });
});

describe("reject, allowlist and revoke on disk", () => {
  it("reject removes the request and never creates an allowlist", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    const { code } = await requestDmPairing(ctx, { channel: "discord", senderId: "user:42" });
    expect(await rejectDmCode(ctx, { channel: "discord", code: code! })).toEqual({
      channel: "discord",
      account: "default",
      code,
      id: "user:42",
    });
    // The rejection is in the decision log, and the code's fate in the code history.
    expect(listTree(stateDir)).toEqual([
      "credentials",
      "credentials/discord-pairing.json",
      "moltbot",
      "moltbot/decisions.head.json",
      "moltbot/decisions.jsonl",
      "moltbot/discord-codes.json",
    ]);
    expect(listDmRequests(ctx, "discord").requests).toEqual([]);
  });

  it("revoke normalises the id (revoke telegram tg:123 removes 123) and writes only on a change", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    const file = path.join(stateDir, "credentials", "telegram-allowFrom.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ version: 1, allowFrom: ["123", "456"], x: 1 }));
    expect(await revokeDmSender(ctx, { channel: "telegram", senderId: "tg:123" })).toEqual({
      channel: "telegram",
      account: "default",
      id: "123",
      removed: true,
    });
    expect(fs.readFileSync(file, "utf8")).toBe('{\n  "version": 1,\n  "allowFrom": [\n    "456"\n  ],\n  "x": 1\n}\n');
    spy.writes.length = 0;
    expect((await revokeDmSender(ctx, { channel: "telegram", senderId: "123" })).removed).toBe(false);
    expect(spy.writes).toEqual([]);
  });
});

describe("list on disk", () => {
  it("lists every channel with live requests in registry order, oldest first, skipping expired-only channels", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    clock = T0 - HOUR - 1;
    await requestDmPairing(ctx, { channel: "signal", senderId: "+1" });
    clock = T0 + 2;
    await requestDmPairing(ctx, { channel: "slack", senderId: "U2" });
    clock = T0 + 1;
    await requestDmPairing(ctx, { channel: "slack", senderId: "U1" });
    await requestDmPairing(ctx, { channel: "nostr", senderId: "npub" });
    await requestDmPairing(ctx, { channel: "imsg", senderId: "a@b.c" });
    fs.writeFileSync(path.join(stateDir, "credentials", "unrelated-pairing.json"), "not ours");
    clock = T0 + 10;
    const all = listAllDmRequests(ctx);
    expect(all.channels.map((c) => c.channel)).toEqual(["imessage", "slack", "nostr"]);
    expect(all.channels[1]!.requests.map((r) => r.id)).toEqual(["U1", "U2"]);
    expect(Object.keys(all.channels[1]!.requests[0]!)).toEqual([
      "id",
      "account",
      "code",
      "createdAt",
      "lastSeenAt",
      "expiresAt",
    ]);
  });
});
