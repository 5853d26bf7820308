import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { verifyDecisionLog } from "../../src/core/decision-chain.js";
import type { DecisionEntry, DecisionHead } from "../../src/core/decisions.js";
import { createStoreContext, type StoreContext } from "../../src/store/context.js";
import { readDecisionLog } from "../../src/store/decision-log.js";
import {
  approveDevice,
  clearAllDevices,
  rejectDevice,
  removeDeviceEverywhere,
  renamePairedDevice,
  requestDevice,
  revokeDevice,
  rotateDevice,
} from "../../src/store/device-store.js";
import {
  approveDmCode,
  blockDmSender,
  readDmAllowlist,
  rejectDmCode,
  requestDmPairing,
  revokeDmSender,
  unblockDmSender,
  listDmRequests,
} from "../../src/store/dm-store.js";
import {
  approveNode,
  rejectNode,
  removePairedNode,
  renamePairedNode,
  requestNode,
} from "../../src/store/node-store.js";
import { runDoctor } from "../../src/store/doctor.js";
import { fileMode, readJsonFile, seededRandom, tempStateDir } from "../helpers.js";

/*
 * The decision log on real files: one line per decision, chained, and what a crash at each point
 * of a decision leaves (DECISIONS.md, "The decision log: a journal in the head"). A crash is a
 * write that fails: the files are left exactly as a killed process leaves them (its lock
 * directories aside, which the next writer takes over as stale; test/faults/crash.test.ts kills
 * real processes).
 */

const spy = vi.hoisted(() => ({ failOn: undefined as ((file: string) => boolean) | undefined }));
vi.mock("../../src/store/json/files.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/store/json/files.js")>();
  return {
    ...real,
    writeFileAtomic: (file: string, text: string) => {
      if (spy.failOn?.(file)) throw Object.assign(new Error("injected crash"), { code: "EIO" });
      real.writeFileAtomic(file, text);
    },
  };
});
afterEach(() => {
  spy.failOn = undefined;
});

const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const context = (stateDir: string): StoreContext =>
  createStoreContext({ stateDir, env: {}, now: () => T0, random: seededRandom(7) });

const logOf = (stateDir: string): { lines: string[]; entries: DecisionEntry[]; head: DecisionHead } => {
  const dir = path.join(stateDir, "moltbot");
  const text = fs.existsSync(path.join(dir, "decisions.jsonl"))
    ? fs.readFileSync(path.join(dir, "decisions.jsonl"), "utf8")
    : "";
  const lines = text.split("\n").filter(Boolean);
  return {
    lines,
    entries: lines.map((line) => JSON.parse(line) as DecisionEntry),
    head: readJsonFile<DecisionHead>(path.join(dir, "decisions.head.json")),
  };
};

const verified = (stateDir: string) => readDecisionLog(context(stateDir)).verification;

/** Fail the `n`th write (1-based) of a file whose name matches, from now on. */
function crashOnWrite(pattern: RegExp, n = 1): void {
  let seen = 0;
  spy.failOn = (file) => pattern.test(path.basename(file)) && ++seen === n;
}

async function pendingCode(ctx: StoreContext, senderId: string): Promise<string> {
  return (await requestDmPairing(ctx, { channel: "telegram", senderId })).code!;
}

describe("every decision is one line", () => {
  it("approve, reject, revoke, block, unblock, rotate, revoke, rename, remove, clear, node verbs: in order, chained, verified", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    const code = await pendingCode(ctx, "111");
    const other = await pendingCode(ctx, "222");
    await approveDmCode(ctx, { channel: "telegram", code, reason: "my sister" });
    await rejectDmCode(ctx, { channel: "telegram", code: other });
    await revokeDmSender(ctx, { channel: "telegram", senderId: "111" });
    await blockDmSender(ctx, { channel: "telegram", senderId: "333", reason: "spam" });
    await unblockDmSender(ctx, { channel: "telegram", senderId: "333" });
    const { request } = await requestDevice(ctx, { deviceId: "d1", publicKey: "pk1", role: "node" });
    await approveDevice(ctx, { id: request.requestId });
    const rotated = await rotateDevice(ctx, { deviceId: "d1", role: "node" });
    await revokeDevice(ctx, { deviceId: "d1", role: "node" });
    await renamePairedDevice(ctx, { deviceId: "d1", name: "Ada's phone" });
    const second = await requestDevice(ctx, { deviceId: "d2", publicKey: "pk2" });
    await rejectDevice(ctx, { id: second.request.requestId });
    await removeDeviceEverywhere(ctx, { deviceId: "d1" });
    await requestDevice(ctx, { deviceId: "d3", publicKey: "pk3" });
    await clearAllDevices(ctx, { pending: true, paired: true });
    const node = await requestNode(ctx, { nodeId: "n1" });
    await approveNode(ctx, { requestId: node.request.requestId });
    await renamePairedNode(ctx, { nodeId: "n1", name: "Kitchen" });
    await removePairedNode(ctx, { nodeId: "n1" });
    const node2 = await requestNode(ctx, { nodeId: "n2" });
    await rejectNode(ctx, { requestId: node2.request.requestId });

    const { entries, lines, head } = logOf(stateDir);
    expect(entries.map((entry) => entry.action)).toEqual([
      "pairing.approve",
      "pairing.reject",
      "pairing.revoke",
      "pairing.block",
      "pairing.unblock",
      "devices.approve",
      "devices.rotate",
      "devices.revoke",
      "devices.rename",
      "devices.reject",
      "devices.remove",
      "devices.clear",
      "nodes.approve",
      "nodes.rename",
      "nodes.remove",
      "nodes.reject",
    ]);
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
    expect(entries[0]).toMatchObject({
      channel: "telegram",
      account: "default",
      senderId: "111",
      reason: "my sister",
      operator: { uid: process.geteuid!() },
    });
    expect(entries[3]).toMatchObject({ action: "pairing.block", account: "*", senderId: "333", reason: "spam" });
    expect(entries[8]).toMatchObject({ deviceId: "d1", name: "Ada's phone" });
    expect(entries[11]).toMatchObject({ count: 1, ids: [expect.any(String)] });
    expect(head).toMatchObject({ seq: entries.length, hash: entries.at(-1)!.hash });
    expect(verified(stateDir)).toEqual({ ok: true, entries: entries.length, head: head.hash });
    // Never a secret: no token, no code in clear.
    const text = lines.join("\n");
    expect(text).not.toContain(rotated.token);
    expect(text).not.toContain(code);
    expect(text).not.toContain(other);
    expect(fileMode(path.join(stateDir, "moltbot"))).toBe(0o700);
    expect(fileMode(path.join(stateDir, "moltbot", "decisions.jsonl"))).toBe(0o600);
    expect(fileMode(path.join(stateDir, "moltbot", "decisions.head.json"))).toBe(0o600);
  });

  it("a decision that changes nothing, a miss and a usage error append nothing", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    await approveDmCode(ctx, { channel: "telegram", code: await pendingCode(ctx, "111") });
    await revokeDmSender(ctx, { channel: "telegram", senderId: "999" });
    await expect(approveDmCode(ctx, { channel: "telegram", code: "ZZZZ2345" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(
      approveDmCode(ctx, { channel: "telegram", code: await pendingCode(ctx, "222"), reason: "x".repeat(501) }),
    ).rejects.toMatchObject({ code: "USAGE" });
    await expect(requestDmPairing(ctx, { channel: "telegram", senderId: "444" })).resolves.toMatchObject({
      status: "created",
    });
    expect(logOf(stateDir).entries.map((entry) => entry.senderId)).toEqual(["111"]);
  });
});

describe("a crash at each point of a decision", () => {
  /** A pending code and a log of one line, then a crash in the middle of approving the code. */
  async function crashedApprove(pattern: RegExp, n = 1) {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    await approveDmCode(ctx, { channel: "telegram", code: await pendingCode(ctx, "100") });
    const code = await pendingCode(ctx, "111");
    crashOnWrite(pattern, n);
    const error = await approveDmCode(ctx, { channel: "telegram", code }).catch((caught: unknown) => caught);
    spy.failOn = undefined;
    expect(error).toMatchObject({ code: "STORE_IO" });
    return { stateDir, ctx, code };
  }

  /** The next decision (any) finishes the interrupted one first. */
  const nextDecision = (ctx: StoreContext) => revokeDmSender(ctx, { channel: "telegram", senderId: "100" });

  it("before any record is written (the journal is in the head): nothing was made, and no line is added", async () => {
    const { stateDir, ctx } = await crashedApprove(/^telegram-codes\.json$/);
    expect(logOf(stateDir).head.journal).toBeDefined();
    expect(readDmAllowlist(ctx, "telegram").allowFrom).toEqual(["100"]);
    // Until the next decision, the log still verifies (the journal is noted, not a problem).
    expect(verified(stateDir)).toMatchObject({ ok: true, entries: 1, interrupted: true });
    await nextDecision(ctx);
    const { entries, head } = logOf(stateDir);
    expect(entries.map((entry) => [entry.action, entry.senderId])).toEqual([
      ["pairing.approve", "100"],
      ["pairing.revoke", "100"],
    ]);
    expect(head.journal).toBeUndefined();
    expect(verified(stateDir)).toMatchObject({ ok: true, entries: 2 });
  });

  it("between the allowlist and the pending file: the approval stands, and its line says `partial`", async () => {
    const { stateDir, ctx, code } = await crashedApprove(/^telegram-pairing\.json$/);
    expect(readDmAllowlist(ctx, "telegram").allowFrom).toEqual(["100", "111"]);
    expect(listDmRequests(ctx, "telegram").requests.map((request) => request.code)).toEqual([code]);
    await nextDecision(ctx);
    expect(logOf(stateDir).entries.map((entry) => [entry.action, entry.senderId, entry.recovered])).toEqual([
      ["pairing.approve", "100", undefined],
      ["pairing.approve", "111", "partial"],
      ["pairing.revoke", "100", undefined],
    ]);
    expect(verified(stateDir).ok).toBe(true);
  });

  it("approving a sender already listed, in a hand-formatted allowlist, cut before the pending file: nothing was made (the allowlist only changed layout)", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    const code = await pendingCode(ctx, "111");
    const allowlist = path.join(stateDir, "credentials", "telegram-allowFrom.json");
    fs.writeFileSync(allowlist, '{"version":1,"allowFrom":["111"]}', { mode: 0o600 });
    crashOnWrite(/^telegram-pairing\.json$/);
    const error = await approveDmCode(ctx, { channel: "telegram", code }).catch((caught: unknown) => caught);
    spy.failOn = undefined;
    expect(error).toMatchObject({ code: "STORE_IO" });
    // The allowlist was rewritten in the writers' layout, with the same sender; the code is still pending.
    expect(fs.readFileSync(allowlist, "utf8")).not.toBe('{"version":1,"allowFrom":["111"]}');
    expect(listDmRequests(ctx, "telegram").requests.map((request) => request.code)).toEqual([code]);
    await revokeDmSender(ctx, { channel: "telegram", senderId: "111" });
    expect(logOf(stateDir).entries.map((entry) => [entry.action, entry.senderId, entry.recovered])).toEqual([
      ["pairing.revoke", "111", undefined],
    ]);
    expect(verified(stateDir).ok).toBe(true);
  });

  it("after every record, before the line: the next decision appends it as `complete`", async () => {
    // A crash between the commit and the append leaves the records written and the journal in the
    // head: made here by failing the head's move after the append, then cutting the line back off.
    const { stateDir, ctx } = await crashedApprove(/^decisions\.head\.json$/, 2);
    const log = path.join(stateDir, "moltbot", "decisions.jsonl");
    const { head } = logOf(stateDir);
    fs.truncateSync(log, head.size);
    await nextDecision(ctx);
    expect(logOf(stateDir).entries.map((entry) => [entry.senderId, entry.recovered])).toEqual([
      ["100", undefined],
      ["111", "complete"],
      ["100", undefined],
    ]);
    expect(verified(stateDir).ok).toBe(true);
  });

  it("in the middle of the line: the partial line is cut off and the whole line appended", async () => {
    const { stateDir, ctx } = await crashedApprove(/^decisions\.head\.json$/, 2);
    const log = path.join(stateDir, "moltbot", "decisions.jsonl");
    const { head } = logOf(stateDir);
    fs.truncateSync(log, head.size + 25);
    expect(verified(stateDir)).toMatchObject({ ok: true, interrupted: true });
    await nextDecision(ctx);
    const { entries } = logOf(stateDir);
    expect(entries.map((entry) => entry.senderId)).toEqual(["100", "111", "100"]);
    expect(verified(stateDir)).toMatchObject({ ok: true, entries: 3 });
  });

  it("after the line, before the head moved past it: the head is moved, and the line is not written twice", async () => {
    const { stateDir, ctx } = await crashedApprove(/^decisions\.head\.json$/, 2);
    expect(logOf(stateDir).lines).toHaveLength(2);
    await nextDecision(ctx);
    expect(logOf(stateDir).entries.map((entry) => [entry.senderId, entry.recovered])).toEqual([
      ["100", undefined],
      ["111", undefined],
      ["100", undefined],
    ]);
    expect(verified(stateDir).ok).toBe(true);
  });

  it("records changed by someone else before the next decision: the line says `uncertain`", async () => {
    const { stateDir, ctx } = await crashedApprove(/^telegram-pairing\.json$/);
    // Another writer (the gateway's own CLI) rewrote the allowlist meanwhile.
    fs.writeFileSync(
      path.join(stateDir, "credentials", "telegram-allowFrom.json"),
      `${JSON.stringify({ version: 1, allowFrom: ["100", "111", "555"] }, null, 2)}\n`,
    );
    await nextDecision(ctx);
    expect(logOf(stateDir).entries[1]).toMatchObject({ senderId: "111", recovered: "uncertain" });
  });
});

describe("a log changed outside moltbot", () => {
  it("stops every decision (STORE_CORRUPT, nothing changed) until doctor --fix sets it aside; then a new log starts", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    await approveDmCode(ctx, { channel: "telegram", code: await pendingCode(ctx, "111") });
    await approveDmCode(ctx, { channel: "telegram", code: await pendingCode(ctx, "222") });
    const log = path.join(stateDir, "moltbot", "decisions.jsonl");
    // Someone removes the last line (to hide the second approval).
    const { lines } = logOf(stateDir);
    fs.writeFileSync(log, `${lines[0]}\n`);
    const code = await pendingCode(ctx, "333");
    await expect(approveDmCode(ctx, { channel: "telegram", code })).rejects.toMatchObject({
      code: "STORE_CORRUPT",
      message: expect.stringContaining("moltbot log --verify"),
    });
    expect(readDmAllowlist(ctx, "telegram").allowFrom).toEqual(["111", "222"]);
    const report = await runDoctor(ctx, { fix: true });
    const finding = report.findings.find((entry) => entry.file === log)!;
    expect(finding).toMatchObject({ fixed: true, severity: "error" });
    expect(finding.problem).toMatch(
      /does not verify: the log was cut short.*moved aside to .*decisions\.jsonl\.corrupt-/,
    );
    await approveDmCode(ctx, { channel: "telegram", code });
    expect(logOf(stateDir).entries.map((entry) => [entry.seq, entry.senderId])).toEqual([[1, "333"]]);
    const aside = fs.readdirSync(path.join(stateDir, "moltbot")).filter((name) => name.includes(".corrupt-"));
    expect(aside).toHaveLength(2);
    expect(verifyDecisionLog(fs.readFileSync(log), logOf(stateDir).head).ok).toBe(true);
  });
});
