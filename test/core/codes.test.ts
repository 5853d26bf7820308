import { describe, expect, it } from "vitest";
import { CODE_ALPHABET, CODE_LENGTH, generateCode, normalizeCode } from "../../src/core/codes.js";
import { fixedRandom, seededRandom } from "../helpers.js";

describe("pairing codes", () => {
  it("maps each random byte onto the 32-symbol alphabet without bias", () => {
    const code = generateCode(fixedRandom([0, 31, 32, 255, 8, 24, 100, 200]), new Set());
    expect(code).toBe(
      `${CODE_ALPHABET[0]}${CODE_ALPHABET[31]}${CODE_ALPHABET[0]}${CODE_ALPHABET[31]}${CODE_ALPHABET[8]}${CODE_ALPHABET[24]}${CODE_ALPHABET[100 & 31]}${CODE_ALPHABET[200 & 31]}`,
    );
  });

  it("draws again when the code collides with a live one", () => {
    const random = fixedRandom([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(generateCode(random, new Set(["AAAAAAAA"]))).toBe("BBBBBBBB");
  });

  it("approve input is trimmed and upper-cased; malformed codes are usage errors", () => {
    expect(normalizeCode("  abcd2345 ")).toBe("ABCD2345");
    for (const bad of ["ABCD234", "ABCD23456", "AB CD2345", "ABCD2340", "ABCDI345", ""]) {
      expect(() => normalizeCode(bad)).toThrowError(expect.objectContaining({ code: "INVALID_CODE" }));
    }
  });
});

describe("code alphabet and draws", () => {
  it("uses 8 characters from 32 unambiguous symbols (no 0, O, 1 or I)", () => {
    expect(CODE_LENGTH).toBe(8);
    expect(CODE_ALPHABET).toBe("ABCDEFGHJKLMNPQRSTUVWXYZ23456789");
    expect(new Set(CODE_ALPHABET).size).toBe(32);
    for (const ambiguous of ["0", "O", "1", "I"]) expect(CODE_ALPHABET).not.toContain(ambiguous);
  });

  it("maps the 256 byte values onto each symbol exactly 8 times (uniform, no modulo bias)", () => {
    const counts = new Map<string, number>();
    const allBytes = Array.from({ length: 256 }, (_, byte) => byte);
    const random = fixedRandom(allBytes);
    for (let draw = 0; draw < 32; draw++) {
      for (const symbol of generateCode(random, new Set())) counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
    }
    expect([...counts.keys()].sort().join("")).toBe([...CODE_ALPHABET].sort().join(""));
    for (const count of counts.values()) expect(count).toBe(8);
  });

  it("asks the random source for exactly one byte per character", () => {
    const sizes: number[] = [];
    generateCode((size) => {
      sizes.push(size);
      return new Uint8Array(size);
    }, new Set());
    expect(sizes).toEqual([CODE_LENGTH]);
  });

  it("only ever produces codes that approve accepts", () => {
    const random = seededRandom(7);
    for (let i = 0; i < 500; i++) {
      const code = generateCode(random, new Set());
      expect(code).toMatch(/^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}$/);
      expect(normalizeCode(code.toLowerCase())).toBe(code);
    }
  });

  it("keeps drawing past several collisions", () => {
    const random = fixedRandom([...Array(8).fill(0), ...Array(8).fill(1), ...Array(8).fill(2)]);
    expect(generateCode(random, new Set(["AAAAAAAA", "BBBBBBBB"]))).toBe("CCCCCCCC");
  });

  it("fails loudly instead of looping forever when every draw collides", () => {
    expect(() => generateCode(fixedRandom([0]), new Set(["AAAAAAAA"]))).toThrowError(/unique pairing code/);
  });

  it("rejects look-alike characters and inner blanks in typed codes", () => {
    for (const bad of ["ABCDEFG0", "ABCDEFGO", "ABCDEFG1", "ABCDEFGI", "ABCD\t2345", "ABCD-2345", "ÄBCD2345"]) {
      expect(() => normalizeCode(bad), bad).toThrowError(expect.objectContaining({ code: "INVALID_CODE" }));
    }
    expect(normalizeCode("\t abcd2345\n")).toBe("ABCD2345");
  });
});
