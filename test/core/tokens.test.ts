import { describe, expect, it } from "vitest";
import { secretsEqual } from "../../src/core/secrets.js";
import { generateToken, generateUuidV4, mergeOrdered, normalizeScopes } from "../../src/core/tokens.js";
import { fixedRandom, seededRandom } from "../helpers.js";

describe("device tokens and ids", () => {
  it("a token is 32 injected bytes as base64url: 43 characters, no padding", () => {
    const token = generateToken(fixedRandom([0xfb, 0xff, 0xbf]));
    expect(token).toHaveLength(43);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, "base64url")).toEqual(Buffer.from(fixedRandom([0xfb, 0xff, 0xbf])(32)));
  });

  it("a request id is a UUID v4 built from 16 injected bytes (version and variant bits set)", () => {
    expect(generateUuidV4(fixedRandom([0xff]))).toBe("ffffffff-ffff-4fff-bfff-ffffffffffff");
    expect(generateUuidV4(fixedRandom([0x00]))).toBe("00000000-0000-4000-8000-000000000000");
    const random = seededRandom(7);
    for (let i = 0; i < 50; i++) {
      expect(generateUuidV4(random)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it("token scopes are trimmed, de-duplicated and sorted; empty ones dropped", () => {
    expect(normalizeScopes([" operator.write", "operator.read", "operator.write ", "", "  ", "admin"])).toEqual([
      "admin",
      "operator.read",
      "operator.write",
    ]);
    expect(normalizeScopes(undefined)).toEqual([]);
  });

  it("merging lists is a union that keeps first-seen order", () => {
    expect(mergeOrdered(["node", "operator"], undefined, ["viewer", "node"], ["operator", "admin"])).toEqual([
      "node",
      "operator",
      "viewer",
      "admin",
    ]);
  });

  it("secrets compare equal only when identical, whatever their lengths", () => {
    expect(secretsEqual("abc", "abc")).toBe(true);
    expect(secretsEqual("abc", "abd")).toBe(false);
    expect(secretsEqual("abc", "abcd")).toBe(false);
    expect(secretsEqual("abc", "")).toBe(false);
  });
});
