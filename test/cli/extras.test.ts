import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { publicKeyFingerprint } from "../../src/core/fingerprint.js";
import { readJsonFile, runJson, runMoltbot, tempStateDir, type RunResult } from "../helpers.js";

/*
 * Issue 16 through the built bin: the decision log (`moltbot log`), guarded approvals, exact answers
 * for dead codes, the block list, and the device and node verbs of the newest gateway.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

interface ErrorDoc {
  error: { code: string; message: string };
}
interface RequestDoc {
  channel: string;
  account: string;
  id: string;
  status: string;
  code?: string;
  message?: string;
}

function write(file: string, data: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
}
const credentials = (stateDir: string, name: string) => path.join(stateDir, "credentials", name);

const earlier = (at: string, ms: number) => new Date(Date.parse(at) - ms).toISOString();

/**
 * The clock moves on by `ms` for a channel: every request of its pending file, and every record of
 * moltbot's code history, is moved back in time by as much (the CLI takes the real clock).
 */
function backdateRequests(stateDir: string, channel: string, ms: number): void {
  const file = credentials(stateDir, `${channel}-pairing.json`);
  const state = readJsonFile<{ version: 1; requests: { createdAt: string; lastSeenAt: string }[] }>(file);
  for (const request of state.requests) {
    request.createdAt = earlier(request.createdAt, ms);
    request.lastSeenAt = request.createdAt;
  }
  write(file, state);
  const historyFile = path.join(stateDir, "moltbot", `${channel}-codes.json`);
  const history = readJsonFile<{ version: 1; codes: { createdAt: string; at?: string }[] }>(historyFile);
  for (const record of history.codes) {
    record.createdAt = earlier(record.createdAt, ms);
    if (record.at !== undefined) record.at = earlier(record.at, ms);
  }
  write(historyFile, history);
}

async function requested(stateDir: string, channel: string, sender: string, env: NodeJS.ProcessEnv = {}) {
  const result = await runJson<RequestDoc>(["pairing", "request", channel, sender], { stateDir, env });
  expect(result.code, result.stderr).toBe(0);
  return result.json;
}

function expectError(result: RunResult & { json: unknown }, exit: number, code: string): string {
  expect(result.code, result.stdout).toBe(exit);
  expect((result.json as ErrorDoc).error.code).toBe(code);
  return (result.json as ErrorDoc).error.message;
}

describe("moltbot log", () => {
  it("shows each decision (human and --json), filters by --channel and --since, and never a code or token", async () => {
    const stateDir = tempStateDir();
    const a = await requested(stateDir, "telegram", "111");
    const b = await requested(stateDir, "discord", "222");
    await runMoltbot(["pairing", "approve", "telegram", a.code!, "--reason", "my sister"], { stateDir });
    await runMoltbot(["pairing", "reject", "discord", b.code!], { stateDir });
    const human = await runMoltbot(["log"], { stateDir, env: { COLUMNS: "200" } });
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^AT\s+DECISION\s+ABOUT\s+BY\s+REASON$/);
    expect(lines[1]).toMatch(/^\S+Z\s+pairing\.approve\s+telegram sender 111\s+\S+\s+my sister$/);
    expect(lines[2]).toMatch(/^\S+Z\s+pairing\.reject\s+discord sender 222\s+\S+$/);

    const json = await runJson<{ entries: Record<string, unknown>[] }>(["log", "--channel", "discord"], { stateDir });
    expect(json.json.entries).toEqual([
      {
        seq: 2,
        at: expect.any(String),
        action: "pairing.reject",
        channel: "discord",
        account: "default",
        senderId: "222",
        codeHash: expect.stringMatching(/^[0-9a-f]{32}$/),
        operator: { user: expect.any(String), uid: process.geteuid!() },
        prev: expect.stringMatching(/^[0-9a-f]{64}$/),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
    expect((await runJson<{ entries: unknown[] }>(["log", "--since", "1h"], { stateDir })).json.entries).toHaveLength(
      2,
    );
    const future = new Date(Date.now() + HOUR).toISOString();
    expect((await runJson<{ entries: unknown[] }>(["log", "--since", future], { stateDir })).json.entries).toEqual([]);
    const text = fs.readFileSync(path.join(stateDir, "moltbot", "decisions.jsonl"), "utf8");
    expect(text).not.toContain(a.code!);
    expect(text).not.toContain(b.code!);
  });

  it("--verify: exit 0 on an intact log; an edited line is found (exit 1, the line named), human and --json", async () => {
    const stateDir = tempStateDir();
    for (const sender of ["1", "2", "3"]) {
      const { code } = await requested(stateDir, "telegram", sender);
      await runMoltbot(["pairing", "approve", "telegram", code!], { stateDir });
    }
    const ok = await runJson<{ ok: boolean; entries: number; head: string }>(["log", "--verify"], { stateDir });
    expect(ok.code).toBe(0);
    expect(ok.json).toEqual({ ok: true, entries: 3, head: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await runMoltbot(["log", "--verify"], { stateDir })).stdout).toBe(
      `Decision log verified: 3 entries, last hash ${ok.json.head}.\n`,
    );

    // Someone rewrites who was approved on line 2, in place.
    const file = path.join(stateDir, "moltbot", "decisions.jsonl");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('"senderId":"2"', '"senderId":"9"'));
    const bad = await runJson<{ ok: boolean; line: number; problem: string }>(["log", "--verify"], { stateDir });
    expect(bad.code).toBe(1);
    expect(bad.json).toMatchObject({ ok: false, entries: 1, line: 2 });
    expect(bad.json.problem).toMatch(/^line 2 was changed after it was written/);
    const human = await runMoltbot(["log", "--verify"], { stateDir });
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(
      /^moltbot: The decision log does not verify: line 2 was changed .*moltbot doctor --fix/,
    );
    // A plain listing still shows it, and says it does not verify.
    const listed = await runMoltbot(["log"], { stateDir });
    expect(listed.code).toBe(0);
    expect(listed.stderr).toMatch(/the decision log does not verify \(line 2/);
    // A decision checks only the end of the log (its last line against the head, O(1)): it goes on,
    // chained to the head, and the edit is still found where it is.
    const { code } = await requested(stateDir, "telegram", "4");
    expect((await runMoltbot(["pairing", "approve", "telegram", code!], { stateDir })).code).toBe(0);
    expect((await runJson(["log", "--verify"], { stateDir })).json).toMatchObject({ ok: false, line: 2 });
    // A log cut short (the last line removed, to hide it) stops every decision until doctor --fix sets it aside.
    const lines = fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
    fs.writeFileSync(file, `${lines.slice(0, -1).join("\n")}\n`);
    const next = await requested(stateDir, "telegram", "5");
    const refused = await runJson(["pairing", "approve", "telegram", next.code!], { stateDir });
    expect(expectError(refused, 3, "STORE_CORRUPT")).toMatch(
      /decisions\.jsonl is \d+ bytes, shorter than its head says/,
    );
  });

  it.each([["yesterday"], ["-2h"]])("--since %s is a usage error (exit 2)", async (since) => {
    const result = await runMoltbot(["log", "--since", since], { stateDir: tempStateDir() });
    expect(result.code).toBe(2);
  });
});

describe("guarded approvals", () => {
  it("devices list shows each key's fingerprint; --expect-fingerprint refuses a device that asked again with another key", async () => {
    const stateDir = tempStateDir();
    const args = (key: string) => ["devices", "request", "--device", "phone", "--public-key", key, "--role", "node"];
    await runMoltbot(args("key-one"), { stateDir });
    const listed = await runJson<{ pending: { fingerprint: string }[] }>(["devices", "list"], { stateDir });
    const seen = listed.json.pending[0]!.fingerprint;
    expect(seen).toBe(publicKeyFingerprint("key-one"));
    // The device (or someone claiming to be it) asks again with another key before the operator approves.
    await runMoltbot(args("key-two"), { stateDir });
    const refused = await runJson(["devices", "approve", "phone", "--expect-fingerprint", seen], { stateDir });
    expect(expectError(refused, 1, "REQUEST_CHANGED")).toContain(
      `presents a key with fingerprint ${publicKeyFingerprint("key-two")}, not ${seen}`,
    );
    expect((await runJson<{ paired: unknown[] }>(["devices", "list"], { stateDir })).json.paired).toEqual([]);
    const approved = await runJson<{ device: { fingerprint: string } }>(
      ["devices", "approve", "phone", "--expect-fingerprint", publicKeyFingerprint("key-two").toUpperCase()],
      { stateDir },
    );
    expect(approved.code).toBe(0);
    expect(approved.json.device.fingerprint).toBe(publicKeyFingerprint("key-two"));
    const bad = await runMoltbot(["devices", "approve", "phone", "--expect-fingerprint", "abc"], { stateDir });
    expect(bad.code).toBe(2);
  });

  it("pairing approve --expect-id refuses a code that belongs to another sender (exit 1), and approves the right one", async () => {
    const stateDir = tempStateDir();
    const { code } = await requested(stateDir, "telegram", "111");
    const refused = await runJson(["pairing", "approve", "telegram", code!, "--expect-id", "222"], { stateDir });
    expect(expectError(refused, 1, "REQUEST_CHANGED")).toContain(`now belongs to sender 111, not 222`);
    const approved = await runJson(["pairing", "approve", "telegram", code!, "--expect-id", "tg:111"], { stateDir });
    expect(approved.code).toBe(0);
  });
});

describe("exact answers for dead codes", () => {
  it.each<[string, string, (stateDir: string, code: string) => Promise<void>, RegExp]>([
    [
      "approved twice",
      "ALREADY_APPROVED",
      async (stateDir, code) => void (await runMoltbot(["pairing", "approve", "telegram", code], { stateDir })),
      /^Code \w{8} was already approved \d+ s ago, at \S+Z: telegram sender 111 was let in then\. Nothing changed/,
    ],
    [
      "rejected, then approved",
      "ALREADY_REJECTED",
      async (stateDir, code) => void (await runMoltbot(["pairing", "reject", "telegram", code], { stateDir })),
      /^Code \w{8} was rejected \d+ s ago, at \S+Z \(telegram sender 111\); the sender gets a new code/,
    ],
    [
      "pruned by another writer after its hour (moltbot had seen it)",
      "EXPIRED",
      async (stateDir) => {
        backdateRequests(stateDir, "telegram", HOUR + 5 * MINUTE);
        write(credentials(stateDir, "telegram-pairing.json"), { version: 1, requests: [] });
      },
      /^Code \w{8} expired 5 min ago, at \S+Z \(codes last 1 hour; telegram sender 111\)/,
    ],
    [
      "expired, and the sender asked again",
      "REPLACED",
      async (stateDir) => {
        backdateRequests(stateDir, "telegram", HOUR + 5 * MINUTE);
        await requested(stateDir, "telegram", "111");
      },
      /^Code \w{8} was replaced by a newer code: it expired 5 min ago, .* and telegram sender 111 has asked again since\. Run "moltbot pairing list telegram" to see the new code\.$/,
    ],
  ])("%s: %s", async (_name, errorCode, happen, message) => {
    const stateDir = tempStateDir();
    const { code } = await requested(stateDir, "telegram", "111");
    await happen(stateDir, code!);
    const approve = await runJson(["pairing", "approve", "telegram", code!], { stateDir });
    expect(expectError(approve, 1, errorCode)).toMatch(message);
  });

  it("the code history holds hashes only, in moltbot's directory, never in the gateway's files", async () => {
    const stateDir = tempStateDir();
    const { code } = await requested(stateDir, "telegram", "111");
    await runMoltbot(["pairing", "approve", "telegram", code!], { stateDir });
    const history = fs.readFileSync(path.join(stateDir, "moltbot", "telegram-codes.json"), "utf8");
    expect(history).not.toContain(code!);
    expect(JSON.parse(history)).toEqual({
      version: 1,
      codes: [
        {
          hash: expect.stringMatching(/^[0-9a-f]{32}$/),
          id: "111",
          account: "default",
          createdAt: expect.any(String),
          fate: "approved",
          at: expect.any(String),
        },
      ],
    });
    expect(fs.readdirSync(path.join(stateDir, "credentials")).sort()).toEqual([
      "telegram-allowFrom.json",
      "telegram-pairing.json",
    ]);
  });
});

describe("the block list", () => {
  it("a blocked sender's request is `blocked` (no code, no message, exit 0) and takes no slot; approve of their code is refused", async () => {
    const stateDir = tempStateDir();
    const env = { MOLTBOT_PAIRING_MAX_PENDING: "1" };
    const waiting = await requested(stateDir, "telegram", "111", env);
    const block = await runJson<Record<string, unknown>>(
      ["pairing", "block", "telegram", "tg:111", "--reason", "spam"],
      { stateDir },
    );
    expect(block.json).toEqual({
      channel: "telegram",
      account: "*",
      id: "111",
      added: true,
      dropped: 1,
      allowedOn: [],
    });
    const again = await requested(stateDir, "telegram", "111", env);
    expect(again).toEqual({ channel: "telegram", account: "default", id: "111", status: "blocked" });
    expect((await runMoltbot(["pairing", "request", "telegram", "111"], { stateDir, env })).stdout).toBe(
      "111 is blocked on telegram; nothing was stored and nothing is to be sent.\n",
    );
    // The one slot is free for someone else.
    expect((await requested(stateDir, "telegram", "222", env)).status).toBe("created");
    // Their dropped code is explained; a code the gateway stored for them anyway cannot be approved.
    expectError(await runJson(["pairing", "approve", "telegram", waiting.code!], { stateDir }), 1, "BLOCKED");
    const at = new Date().toISOString();
    const file = credentials(stateDir, "telegram-pairing.json");
    const state = readJsonFile<{ requests: unknown[] }>(file);
    state.requests.push({ id: "111", code: "GATE2345", createdAt: at, lastSeenAt: at });
    write(file, state);
    const refused = await runJson(["pairing", "approve", "telegram", "GATE2345"], { stateDir });
    expect(expectError(refused, 1, "BLOCKED")).toMatch(/moltbot pairing unblock telegram 111/);
    expect(fs.existsSync(credentials(stateDir, "telegram-allowFrom.json"))).toBe(false);

    const listed = await runJson<{ blocked: unknown[] }>(["pairing", "blocked"], { stateDir });
    expect(listed.json.blocked).toEqual([
      { channel: "telegram", account: "*", id: "111", at: expect.any(String), reason: "spam" },
    ]);
    const unblocked = await runJson(["pairing", "unblock", "telegram", "111"], { stateDir });
    expect(unblocked.json).toEqual({ channel: "telegram", account: "*", id: "111", removed: true });
    expect((await runJson(["pairing", "approve", "telegram", "GATE2345"], { stateDir })).code).toBe(0);
  });

  it("doctor finds a blocked sender still on an allowlist; block says so and how to revoke", async () => {
    const stateDir = tempStateDir();
    const { code } = await requested(stateDir, "telegram", "111");
    await runMoltbot(["pairing", "approve", "telegram", code!], { stateDir });
    const block = await runMoltbot(["pairing", "block", "telegram", "111"], { stateDir });
    expect(block.stdout).toBe("Blocked telegram sender 111 on every account.\n");
    expect(block.stderr).toContain("Revoke with: moltbot pairing revoke telegram 111");
    const doctor = await runJson<{ ok: boolean; findings: { file: string; problem: string }[] }>(["doctor"], {
      stateDir,
    });
    expect(doctor.code).toBe(1);
    expect(doctor.json.findings).toEqual([
      expect.objectContaining({
        file: path.join(stateDir, "moltbot", "blocked.json"),
        problem: expect.stringMatching(/^telegram sender 111 is blocked but still on the allowlist of account default/),
        severity: "warning",
      }),
    ]);
    await runMoltbot(["pairing", "revoke", "telegram", "111"], { stateDir });
    expect((await runJson(["doctor"], { stateDir })).json).toMatchObject({ ok: true, findings: [] });
  });
});

describe("device and node verbs of the newest gateway", () => {
  function seedPaired(stateDir: string): void {
    write(path.join(stateDir, "devices", "paired.json"), {
      d1: { deviceId: "d1", publicKey: "k1", displayName: "iPhone", createdAtMs: 1, approvedAtMs: 2 },
      d2: { deviceId: "d2", publicKey: "k2", createdAtMs: 1, approvedAtMs: 3 },
    });
    write(path.join(stateDir, "devices", "pending.json"), {
      r1: { requestId: "r1", deviceId: "d3", publicKey: "k3", isRepair: false, ts: Date.now() },
    });
    write(path.join(stateDir, "nodes", "paired.json"), {
      n1: { nodeId: "n1", token: "t".repeat(32), displayName: "pi", createdAtMs: 1, approvedAtMs: 2 },
    });
  }

  it("devices rename stores operatorLabel (1-64 characters) and listings show it", async () => {
    const stateDir = tempStateDir();
    seedPaired(stateDir);
    const renamed = await runJson(["devices", "rename", "d1", "Ada's phone"], { stateDir });
    expect(renamed.json).toEqual({ deviceId: "d1", operatorLabel: "Ada's phone" });
    const paired = readJsonFile<Record<string, Record<string, unknown>>>(path.join(stateDir, "devices", "paired.json"));
    expect(paired.d1).toMatchObject({ operatorLabel: "Ada's phone", displayName: "iPhone" });
    const listed = await runMoltbot(["devices", "list"], { stateDir, env: { COLUMNS: "200" } });
    expect(listed.stdout).toMatch(/\nd1\s+Ada's phone\s+/);
    expect((await runMoltbot(["devices", "rename", "--device", "d2", "--name", "Mac"], { stateDir })).code).toBe(0);
    for (const [name, exit] of [
      ["x".repeat(65), 2],
      ["bad\u001bname", 2],
      ["  ", 2],
    ] as const) {
      expect((await runMoltbot(["devices", "rename", "d1", name], { stateDir })).code, name).toBe(exit);
    }
    expect((await runJson(["devices", "rename", "nope", "x"], { stateDir })).json).toMatchObject({
      error: { code: "NOT_FOUND" },
    });
  });

  it("devices clear without --yes names what would go and exits 1 (CONFIRMATION_REQUIRED), changing nothing; with --yes it clears", async () => {
    const stateDir = tempStateDir();
    seedPaired(stateDir);
    const before = fs.readFileSync(path.join(stateDir, "devices", "paired.json"), "utf8");
    const preview = await runMoltbot(["devices", "clear", "--paired"], { stateDir });
    expect(preview.code).toBe(1);
    expect(preview.stdout).toBe("Would remove:\n  paired device   d1\n  paired device   d2\n");
    expect(preview.stderr).toMatch(/CONFIRMATION_REQUIRED|needs --yes.*moltbot devices clear --paired --yes/);
    expect(fs.readFileSync(path.join(stateDir, "devices", "paired.json"), "utf8")).toBe(before);
    const json = await runJson(["devices", "clear", "--pending"], { stateDir });
    expectError(json, 1, "CONFIRMATION_REQUIRED");
    expect(json.stderr).toBe("Would remove:\n  pending request r1\n");
    const cleared = await runJson(["devices", "clear", "--pending", "--paired", "--yes"], { stateDir });
    expect(cleared.json).toEqual({ pending: ["r1"], paired: ["d1", "d2"] });
    expect(readJsonFile(path.join(stateDir, "devices", "paired.json"))).toEqual({});
    expect(readJsonFile(path.join(stateDir, "devices", "pending.json"))).toEqual({});
    expect((await runMoltbot(["devices", "clear", "--yes"], { stateDir })).code).toBe(2);
    // Nothing left to remove: nothing to confirm (exit 0), and no decision is recorded.
    const empty = await runMoltbot(["devices", "clear", "--paired"], { stateDir });
    expect(empty).toMatchObject({ code: 0, stdout: "Nothing to clear.\n" });
  });

  it("nodes rename sets the display name; nodes remove unpairs the node", async () => {
    const stateDir = tempStateDir();
    seedPaired(stateDir);
    expect((await runJson(["nodes", "rename", "n1", "Kitchen Pi"], { stateDir })).json).toEqual({
      nodeId: "n1",
      displayName: "Kitchen Pi",
    });
    const file = path.join(stateDir, "nodes", "paired.json");
    expect(readJsonFile<Record<string, { displayName: string }>>(file).n1!.displayName).toBe("Kitchen Pi");
    expect((await runJson(["nodes", "remove", "--node", "n1"], { stateDir })).json).toEqual({ nodeId: "n1" });
    expect(readJsonFile(file)).toEqual({});
    expect((await runJson(["nodes", "remove", "n1"], { stateDir })).json).toMatchObject({
      error: { code: "NOT_FOUND" },
    });
    const actions = (await runJson<{ entries: { action: string }[] }>(["log"], { stateDir })).json.entries;
    expect(actions.map((entry) => entry.action)).toEqual(["nodes.rename", "nodes.remove"]);
  });
});
