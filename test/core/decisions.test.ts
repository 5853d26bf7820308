import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  codeDigest,
  formatDecisionLine,
  parseDecisionLine,
  sha256Hex,
  sha256Pair,
  verifyDecisionLog,
} from "../../src/core/decision-chain.js";
import {
  GENESIS_HASH,
  classifyInterrupted,
  validateReason,
  type DecisionEntry,
  type DecisionHead,
  type JournalWrite,
} from "../../src/core/decisions.js";

const OPERATOR = { user: "ada", uid: 1000 };

/** A log of `count` lines and the head that names its end. */
function makeLog(count: number): { lines: string[]; head: DecisionHead } {
  const lines: string[] = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= count; i++) {
    const { line, hash } = formatDecisionLine(
      {
        at: new Date(Date.UTC(2026, 1, 1, 12, i)).toISOString(),
        action: "pairing.approve",
        channel: "telegram",
        senderId: String(100 + i),
        codeHash: codeDigest(`CODE${i}AAA`),
        operator: OPERATOR,
      },
      i,
      prev,
    );
    lines.push(line);
    prev = hash;
  }
  const text = lines.map((line) => `${line}\n`).join("");
  return { lines, head: { version: 1, seq: count, hash: prev, size: Buffer.byteLength(text) } };
}

const bytes = (lines: readonly string[], extra = "") => Buffer.from(lines.map((l) => `${l}\n`).join("") + extra);

describe("decision lines", () => {
  it("a line is JSON whose hash is the SHA-256 of its own text before the hash, and names the line before", () => {
    const { lines } = makeLog(2);
    const first = JSON.parse(lines[0]!) as DecisionEntry;
    const second = JSON.parse(lines[1]!) as DecisionEntry;
    expect(first.prev).toBe(GENESIS_HASH);
    expect(second.prev).toBe(first.hash);
    expect(first.hash).toBe(sha256Hex(`${lines[0]!.slice(0, lines[0]!.indexOf(',"hash"'))}}`));
    expect(Object.keys(first)).toEqual([
      "seq",
      "at",
      "action",
      "channel",
      "senderId",
      "codeHash",
      "operator",
      "prev",
      "hash",
    ]);
    expect(parseDecisionLine(lines[1]!)).toEqual({ entry: second });
  });

  it("a code is kept as a digest only, the same for any spelling the operator may type", () => {
    const { lines } = makeLog(1);
    expect(lines[0]).not.toContain("CODE1AAA");
    expect(codeDigest(" code1aaa ")).toBe(codeDigest("CODE1AAA"));
    expect(codeDigest("CODE1AAA")).toMatch(/^[0-9a-f]{32}$/);
  });

  it.each([
    ["a changed field", (line: string) => line.replace('"senderId":"101"', '"senderId":"666"')],
    ["a re-serialised line (same JSON, other bytes)", (line: string) => JSON.stringify(JSON.parse(line), null, 1)],
    ["a removed hash", (line: string) => line.replace(/,"hash":"[0-9a-f]+"/, "")],
  ])("parse refuses %s", (_name, edit) => {
    const { lines } = makeLog(1);
    expect(parseDecisionLine(edit(lines[0]!))).toHaveProperty("problem");
  });

  it.each([
    ["", "The reason is empty."],
    ["x".repeat(501), "too long"],
    ["two\nlines", "control characters"],
    ["bell\u0007", "control characters"],
  ])("--reason %j is refused (%s)", (reason, message) => {
    expect(() => validateReason(reason)).toThrow(message);
  });

  it("--reason is trimmed and may be 500 characters", () => {
    expect(validateReason("  spam  ")).toBe("spam");
    expect(validateReason("é".repeat(500))).toHaveLength(500);
  });
});

describe("verifying a log against its head", () => {
  it("a whole log verifies, and names the hash of its last entry", () => {
    const { lines, head } = makeLog(5);
    expect(verifyDecisionLog(bytes(lines), head)).toEqual({ ok: true, entries: 5, head: head.hash });
  });

  it("an empty log without a head verifies; a log without its head does not", () => {
    expect(verifyDecisionLog(Buffer.alloc(0), undefined)).toMatchObject({ ok: true, entries: 0 });
    const { lines } = makeLog(2);
    expect(verifyDecisionLog(bytes(lines), undefined)).toMatchObject({ ok: false, line: 1 });
  });

  it.each<[string, (lines: string[]) => string[], number, RegExp]>([
    ["an edited line", (l) => [l[0]!, l[1]!.replace('"102"', '"666"'), ...l.slice(2)], 2, /line 2 was changed/],
    ["two lines swapped", (l) => [l[0]!, l[2]!, l[1]!, ...l.slice(3)], 2, /line 2 is entry 3/],
    ["a line removed from the middle", (l) => [l[0]!, ...l.slice(2)], 2, /line 2 is entry 3/],
    ["a line added", (l) => [l[0]!, l[0]!, ...l.slice(1)], 2, /line 2 is entry 1/],
    [
      "a line replaced by one that hashes right but names another line before",
      (l) => {
        const forged = formatDecisionLine(
          { at: "2026-02-01T12:02:00.000Z", action: "pairing.revoke", operator: OPERATOR },
          2,
          GENESIS_HASH,
        ).line;
        return [l[0]!, forged, ...l.slice(2)];
      },
      2,
      /line 2 does not follow the line before it/,
    ],
  ])("%s is found, at the line where it is", (_name, edit, line, problem) => {
    const { lines, head } = makeLog(5);
    const edited = edit([...lines]);
    const verification = verifyDecisionLog(bytes(edited), { ...head, size: bytes(edited).length });
    expect(verification).toMatchObject({ ok: false, line });
    expect(verification.problem).toMatch(problem);
    expect(verification.entries).toBe(line - 1);
  });

  it("lines removed from the end are found through the head (the chain alone cannot tell)", () => {
    const { lines, head } = makeLog(5);
    const verification = verifyDecisionLog(bytes(lines.slice(0, 3)), head);
    expect(verification).toMatchObject({ ok: false, entries: 3, line: 4 });
    expect(verification.problem).toMatch(/cut short/);
  });

  it("a line cut in the middle is found as a cut, not as a bad line", () => {
    const { lines, head } = makeLog(3);
    const cut = bytes(lines).subarray(0, head.size - 10);
    expect(verifyDecisionLog(cut, head)).toMatchObject({ ok: false, entries: 2, line: 3 });
  });

  it("the last line replaced by a well-formed one (re-hashed) is found through the head's hash", () => {
    const { lines, head } = makeLog(3);
    const prev = (JSON.parse(lines[1]!) as DecisionEntry).hash;
    const forged = formatDecisionLine(
      { at: "2026-02-01T12:03:00.000Z", action: "pairing.approve", senderId: "666", operator: OPERATOR },
      3,
      prev,
    ).line;
    const text = bytes([lines[0]!, lines[1]!, forged]);
    const verification = verifyDecisionLog(text, { ...head, size: text.length });
    expect(verification).toMatchObject({ ok: false, entries: 3 });
    expect(verification.problem).toMatch(/last line is not the one the head names/);
  });

  it("bytes after the end are refused, unless they start the journaled line (a crash mid-append)", () => {
    const { lines, head } = makeLog(2);
    const next = formatDecisionLine(
      { at: "2026-02-01T12:03:00.000Z", action: "devices.approve", deviceId: "d", operator: OPERATOR },
      3,
      head.hash,
    ).line;
    const journaled = { ...head, journal: { line: next, writes: [] } };
    expect(verifyDecisionLog(bytes(lines, next.slice(0, 20)), journaled)).toMatchObject({
      ok: true,
      entries: 2,
      interrupted: true,
    });
    expect(verifyDecisionLog(bytes(lines, next.slice(0, 20)), head)).toMatchObject({ ok: false, line: 3 });
    expect(verifyDecisionLog(bytes(lines, "garbage\n"), journaled)).toMatchObject({ ok: false, line: 3 });
  });
});

describe("an interrupted decision, judged by its records as they are now", () => {
  const write = (before: string, after: string): JournalWrite => ({ record: "dm-allow", before, after });
  it.each<[string, JournalWrite[], string[], string]>([
    ["nothing written", [write("a0", "a1"), write("p0", "p1")], ["a0", "p0"], "not-made"],
    ["everything written", [write("a0", "a1"), write("p0", "p1")], ["a1", "p1"], "complete"],
    ["the deciding write only", [write("a0", "a1"), write("p0", "p1")], ["a1", "p0"], "partial"],
    [
      "the first record changed by someone else since",
      [write("a0", "a1"), write("p0", "p1")],
      ["a9", "p0"],
      "uncertain",
    ],
    [
      "a first write that changed nothing: the next one decides",
      [write("a0", "a0"), write("p0", "p1")],
      ["a0", "p0"],
      "not-made",
    ],
    [
      "not written, a later record changed by someone else",
      [write("a0", "a1"), write("p0", "p1")],
      ["a0", "p9"],
      "not-made",
    ],
  ])("%s: %s", (_name, writes, current, outcome) => {
    expect(classifyInterrupted(writes, current)).toBe(outcome);
  });
});

describe("sha256Pair (the journal's digests of a file before and after)", () => {
  const one = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
  it.each([
    ["both empty", 0, 0],
    ["shorter than one chunk", 100, 120],
    ["a long shared start, then different tails", 200_000, 200_017],
    ["exactly one chunk each", 65_536, 65_536],
    ["one a prefix of the other", 131_072, 140_000],
  ])("equals two separate hashes: %s", (_, lengthA, lengthB) => {
    const base = Buffer.alloc(Math.max(lengthA, lengthB));
    for (let i = 0; i < base.length; i++) base[i] = (i * 7919) % 251;
    const a = base.subarray(0, lengthA);
    const b = Buffer.from(base.subarray(0, lengthB));
    if (lengthB > 10) b[lengthB - 3] = b[lengthB - 3]! ^ 0xff;
    expect(sha256Pair(a, b)).toEqual([one(a), one(b)]);
  });

  it("files that part early or at once", () => {
    const a = Buffer.from("x".repeat(300_000));
    const b = Buffer.from(`y${"x".repeat(299_999)}`);
    expect(sha256Pair(a, b)).toEqual([one(a), one(b)]);
    expect(sha256Pair(a, a)).toEqual([one(a), one(a)]);
  });
});
