import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { listingSchemaFor } from "../../src/store/schemas.js";

const devicePairedListFileSchema = listingSchemaFor<unknown>();
import { describeSchemaProblem } from "../../src/store/validation.js";

/*
 * `devices list` checks paired.json in one pass instead of a zod schema per device (see
 * devicePairedListFileSchema). This holds it to the zod schema it replaces: same verdict, same first
 * problem in the error message, and the file returned as parsed.
 */
const optionalString = z.optional(z.string());
const optionalStrings = z.optional(z.array(z.string()));
const isRecordOfObjects = (value: unknown): boolean =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((entry) => typeof entry === "object" && entry !== null && !Array.isArray(entry));
const zodReference = z.record(
  z.string(),
  z.looseObject({
    deviceId: z.string(),
    publicKey: z.string(),
    displayName: optionalString,
    role: optionalString,
    roles: optionalStrings,
    scopes: optionalStrings,
    remoteIp: optionalString,
    tokens: z.optional(z.custom<Record<string, object>>(isRecordOfObjects, { error: "expected an object of tokens" })),
    createdAtMs: z.number(),
    approvedAtMs: z.number(),
  }),
);

const FIELDS = [
  "deviceId",
  "publicKey",
  "displayName",
  "role",
  "roles",
  "scopes",
  "remoteIp",
  "tokens",
  "createdAtMs",
  "approvedAtMs",
  "extra",
];
const VALUES: unknown[] = [
  undefined,
  null,
  1,
  1.5,
  -0,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "s",
  true,
  [],
  ["a"],
  [1],
  ["a", 1],
  ["a", "b", {}],
  {},
  { a: {} },
  { a: 1 },
  { a: [] },
];

function device(): Record<string, unknown> {
  return {
    deviceId: "d",
    publicKey: "k",
    displayName: "n",
    role: "node",
    roles: ["node"],
    scopes: [],
    tokens: { node: { token: "t" } },
    createdAtMs: 1,
    approvedAtMs: 2,
  };
}

describe("devices list's paired.json check", () => {
  it("accepts and rejects exactly what the zod schema does, naming the same first problem (5 000 seeded variants)", () => {
    let seed = 7;
    // The high bits of the generator: its low bits repeat with short periods (seed % 16 every 16
    // draws), which would leave whole combinations of field and value untried.
    const pick = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor((seed / 2147483648) * n);
    };
    const verdicts = new Set<boolean>();
    for (let i = 0; i < 5000; i++) {
      const file: Record<string, unknown> = {};
      for (let d = pick(3) + 1; d > 0; d--) {
        const entry = device();
        for (let m = pick(3); m > 0; m--) {
          const field = FIELDS[pick(FIELDS.length)]!;
          const value = VALUES[pick(VALUES.length)];
          if (value === undefined) delete entry[field];
          else entry[field] = value;
        }
        file[`id${d}`] = pick(40) === 0 ? VALUES[pick(VALUES.length)] : entry;
      }
      const input = pick(200) === 0 ? VALUES[pick(VALUES.length)] : file;
      const expected = zodReference.safeParse(input);
      const actual = devicePairedListFileSchema.safeParse(input);
      expect(actual.success, JSON.stringify(input)).toBe(expected.success);
      if (!expected.success && !actual.success)
        expect(describeSchemaProblem(actual.error)).toBe(describeSchemaProblem(expected.error));
      if (actual.success) expect(actual.data).toBe(input);
      verdicts.add(actual.success);
    }
    expect([...verdicts].sort()).toEqual([false, true]);
  });

  it("reads only the file's own keys: a key another library put on Object.prototype changes nothing", () => {
    const file = JSON.parse(JSON.stringify({ d1: device(), d2: { ...device(), createdAtMs: "x" } })) as object;
    const valid = JSON.parse(JSON.stringify({ d1: device() })) as object;
    Object.defineProperty(Object.prototype, "polluted", {
      value: 1,
      enumerable: true,
      configurable: true,
      writable: true,
    });
    let results: ReturnType<typeof devicePairedListFileSchema.safeParse>[];
    try {
      results = [devicePairedListFileSchema.safeParse(valid), devicePairedListFileSchema.safeParse(file)];
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
    const [accepted, refused] = results;
    expect(accepted!.success).toBe(true);
    expect(refused!.success).toBe(false);
    if (!refused!.success) expect(describeSchemaProblem(refused!.error)).toBe("d2.createdAtMs: expected number");
  });
});
