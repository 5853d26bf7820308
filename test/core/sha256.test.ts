import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadNativeHash, sha256Hex, sha256Pair } from "../../src/core/decision-chain.js";
import { sha256Js } from "../../src/core/sha256.js";
import { seededRandom } from "../helpers.js";

const native = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

describe("SHA-256 in JavaScript (the decision log's hashes without node:crypto)", () => {
  it("gives the FIPS 180-4 examples", () => {
    expect(sha256Js("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Js("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Js("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
    expect(sha256Js("a".repeat(1_000_000))).toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  });

  it("equals node:crypto for every length around the block edges, and for text in any script", () => {
    const random = seededRandom(11);
    for (let length = 0; length <= 300; length++) {
      const bytes = random(length);
      expect(sha256Js(bytes)).toBe(native(bytes));
    }
    for (const text of ["moltbot pairing code\u0000ABCD2345", "Grüße, 你好, 🦞", '{"seq":1,"prev":"0"}'])
      expect(sha256Js(text)).toBe(native(text));
  });

  it("decision-chain answers the same before and after node:crypto is loaded", async () => {
    const big = seededRandom(5)(200_000);
    const changed = Buffer.concat([big, Buffer.from("tail")]);
    const before = { line: sha256Hex('{"seq":1}'), big: sha256Hex(big), pair: sha256Pair(big, changed) };
    await loadNativeHash();
    expect({ line: sha256Hex('{"seq":1}'), big: sha256Hex(big), pair: sha256Pair(big, changed) }).toEqual(before);
    expect(before.pair).toEqual([native(big), native(changed)]);
  });
});
