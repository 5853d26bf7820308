import * as z from "zod/mini";

/*
 * Shapes of the gateway's device and legacy node files (SPEC §4). Every object is "loose": fields a
 * newer gateway adds are kept when we rewrite the file. Only the fields our rules read are checked;
 * optional fields are checked when present so a wrong type is reported, not silently rewritten.
 */

// One definition each, in the rules that use them; re-exported for store checks (doctor).
export { DEVICE_REQUEST_TTL_MS } from "../core/device-pairing.js";
export { NODE_REQUEST_TTL_MS } from "../core/node-pairing.js";

const optionalString = z.optional(z.string());
const optionalStrings = z.optional(z.array(z.string()));
const optionalNumber = z.optional(z.number());
const optionalBoolean = z.optional(z.boolean());

/** What a device says about itself: the fields pending and paired entries share. */
const deviceDescription = {
  deviceId: z.string(),
  publicKey: z.string(),
  displayName: optionalString,
  platform: optionalString,
  clientId: optionalString,
  clientMode: optionalString,
  role: optionalString,
  roles: optionalStrings,
  scopes: optionalStrings,
  remoteIp: optionalString,
};

/** `devices/pending.json` entry. */
export const devicePendingEntrySchema = z.looseObject({
  requestId: z.string(),
  ...deviceDescription,
  silent: optionalBoolean,
  // Always written by us; tolerated when absent (older gateways).
  isRepair: optionalBoolean,
  ts: z.number(),
});

/** One entry of a paired device's `tokens`, keyed by role. */
export const deviceTokenSchema = z.looseObject({
  token: z.string(),
  role: z.string(),
  scopes: z.array(z.string()),
  createdAtMs: z.number(),
  rotatedAtMs: optionalNumber,
  revokedAtMs: optionalNumber,
  lastUsedAtMs: optionalNumber,
});

/** `devices/paired.json` entry. */
export const devicePairedEntrySchema = z.looseObject({
  ...deviceDescription,
  tokens: z.optional(z.record(z.string(), deviceTokenSchema)),
  createdAtMs: z.number(),
  approvedAtMs: z.number(),
});

/** `devices/pending.json`: object keyed by requestId. */
export const devicePendingFileSchema = z.record(z.string(), devicePendingEntrySchema);
/** `devices/paired.json`: object keyed by deviceId. */
export const devicePairedFileSchema = z.record(z.string(), devicePairedEntrySchema);

/** `nodes/pending.json` entry (the gateway's legacy node pairing). */
export const nodePendingEntrySchema = z.looseObject({
  requestId: z.string(),
  nodeId: z.string(),
  displayName: optionalString,
  platform: optionalString,
  version: optionalString,
  remoteIp: optionalString,
  silent: optionalBoolean,
  isRepair: optionalBoolean,
  ts: z.number(),
});

/** `nodes/paired.json` entry: one token per node. */
export const nodePairedEntrySchema = z.looseObject({
  nodeId: z.string(),
  token: z.string(),
  displayName: optionalString,
  platform: optionalString,
  version: optionalString,
  remoteIp: optionalString,
  createdAtMs: z.number(),
  approvedAtMs: z.number(),
  lastConnectedAtMs: optionalNumber,
});

/** `nodes/pending.json`: object keyed by requestId. */
export const nodePendingFileSchema = z.record(z.string(), nodePendingEntrySchema);
/** `nodes/paired.json`: object keyed by nodeId. */
export const nodePairedFileSchema = z.record(z.string(), nodePairedEntrySchema);

const isRecordOfObjects = (value: unknown): boolean =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((entry) => typeof entry === "object" && entry !== null && !Array.isArray(entry));

interface ListedField {
  name: string;
  expected: "string" | "number" | "array" | "tokens";
  required: boolean;
}

/** The fields `devices list` reads, in the order zod would report them. */
const LISTED_FIELDS: readonly ListedField[] = [
  { name: "deviceId", expected: "string", required: true },
  { name: "publicKey", expected: "string", required: true },
  { name: "displayName", expected: "string", required: false },
  { name: "role", expected: "string", required: false },
  { name: "roles", expected: "array", required: false },
  { name: "scopes", expected: "array", required: false },
  { name: "remoteIp", expected: "string", required: false },
  { name: "tokens", expected: "tokens", required: false },
  { name: "createdAtMs", expected: "number", required: true },
  { name: "approvedAtMs", expected: "number", required: true },
];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * `devices/paired.json` as `devices list` reads it: the same top-level fields as the full schema
 * (strings, numbers, arrays of strings), and each device's tokens only checked to be objects.
 * Listing 10 000 devices must cost about what 10 cost: deep-checking every token tripled the time,
 * and a zod schema run per device and field (which also copies every device) cost ~10 ms per
 * 1 000 devices, more than parsing the file. So this is one pass over the parsed file, reporting the
 * same first issue zod would (e.g. `<id>.createdAtMs: expected number`), and returning the file as
 * parsed. Token summaries copy only known fields, and every write (and `moltbot doctor`) still
 * validates the full shape.
 */
export const devicePairedListFileSchema = z.unknown().check(
  z.superRefine((value, ctx) => {
    if (!isObject(value)) {
      ctx.addIssue({ code: "invalid_type", expected: "record", input: value });
      return;
    }
    for (const id of Object.keys(value)) {
      const device = value[id];
      if (!isObject(device)) {
        ctx.addIssue({ code: "invalid_type", expected: "object", input: device, path: [id] });
        return;
      }
      for (let f = 0; f < LISTED_FIELDS.length; f++) {
        const { name, expected, required } = LISTED_FIELDS[f]!;
        const field = device[name];
        if (field === undefined && !required) continue;
        if (expected === "tokens") {
          if (!isRecordOfObjects(field)) {
            ctx.addIssue({ code: "custom", message: "expected an object of tokens", input: field, path: [id, name] });
            return;
          }
        } else if (expected === "array") {
          if (!Array.isArray(field)) {
            ctx.addIssue({ code: "invalid_type", expected, input: field, path: [id, name] });
            return;
          }
          const at = field.findIndex((item) => typeof item !== "string");
          if (at !== -1) {
            ctx.addIssue({ code: "invalid_type", expected: "string", input: field[at], path: [id, name, at] });
            return;
          }
        } else if (typeof field !== expected || (expected === "number" && !Number.isFinite(field))) {
          ctx.addIssue({ code: "invalid_type", expected, input: field, path: [id, name] });
          return;
        }
      }
    }
  }),
);
