import { describe, expect, it } from "vitest";
import { CODE_ALPHABET, generateCode, normalizeCode } from "../../src/core/codes.js";
import { fixedRandom } from "../helpers.js";

describe("pairing codes", () => {
  it("maps each random byte onto the 32-symbol alphabet without bias", () => {
    const code = generateCode(fixedRandom([0, 31, 32, 255, 8, 24, 100, 200]), new Set());
    expect(code).toBe(`${CODE_ALPHABET[0]}${CODE_ALPHABET[31]}${CODE_ALPHABET[0]}${CODE_ALPHABET[31]}${CODE_ALPHABET[8]}${CODE_ALPHABET[24]}${CODE_ALPHABET[100 & 31]}${CODE_ALPHABET[200 & 31]}`);
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
