import * as z from "zod/mini";

/*
 * Shapes of the gateway's files (SPEC §3, §4). Every object is "loose": fields a newer gateway adds
 * are kept when we rewrite the file. Optional fields are exact (present with the type, or absent),
 * so each schema's output type is assignable to the core's type without a cast: the catalogue's
 * `schema: Schema<State>` declarations are the compile-time parity check. zod/mini keeps start-up cheap.
 */

const optionalString = z.exactOptional(z.string());
const optionalStrings = z.exactOptional(z.array(z.string()));
const optionalNumber = z.exactOptional(z.number());
const optionalBoolean = z.exactOptional(z.boolean());

/**
 * A schema built on first use. Building a zod schema costs time at start-up; a DM command never
 * checks a device file, so the device and node schemas wait until one is read.
 */
export function lazy<T extends { safeParse: (data: unknown) => unknown }>(build: () => T): Pick<T, "safeParse"> {
  let schema: T | undefined;
  return { safeParse: (data: unknown) => (schema ??= build()).safeParse(data) };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

// ---------------------------------------------------------------------------------------------
// DM pairing: `<channel>-pairing.json`, `<channel>[-<account>]-allowFrom.json`.

export const pairingRequestSchema = z.looseObject({
  id: z.string(),
  code: z.string(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
  meta: z.exactOptional(z.record(z.string(), z.string())),
});

export const pendingFileSchema = z.looseObject({
  version: z.literal(1),
  requests: z.array(pairingRequestSchema),
});

/**
 * Arrays this check found to hold only strings (an allowlist's senders): freezing one deeply need not
 * visit its elements (json/backend.ts deepFreeze), a pass over 100 000 strings saved. Membership says
 * what the array held when it was checked: deepFreeze relies on it only for a parse it freezes right
 * after checking, and nothing else may rely on it.
 */
export const checkedStringArrays = new WeakSet<readonly unknown[]>();

/**
 * An array of strings, checked in one pass with the same issues z.array(z.string()) reports
 * (`allowFrom: expected array`, `allowFrom[3]: expected string`). Allowlists grow to 100 000
 * entries and every approve reads one; a schema run per entry costs ~5 ms more at that size.
 */
const stringList = () =>
  z.custom<string[]>().check(
    z.superRefine((value, ctx) => {
      if (!Array.isArray(value)) {
        ctx.addIssue({ code: "invalid_type", expected: "array", input: value });
        return;
      }
      const at = value.findIndex((item) => typeof item !== "string");
      if (at !== -1) ctx.addIssue({ code: "invalid_type", expected: "string", input: value[at], path: [at] });
      else checkedStringArrays.add(value);
    }),
  );

/** Built on first use, like the device schemas: `pairing list` reads no allowlist. */
export const allowFileSchema = lazy(() =>
  z.looseObject({
    version: z.literal(1),
    allowFrom: stringList(),
  }),
);

// ---------------------------------------------------------------------------------------------
// Devices: `devices/pending.json` keyed by requestId, `devices/paired.json` keyed by deviceId.

/** What a device says about itself: the fields pending and paired entries share. */
const deviceDescription = () => ({
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
});

const devicePendingEntrySchema = () =>
  z.looseObject({
    requestId: z.string(),
    ...deviceDescription(),
    silent: optionalBoolean,
    // Always written by us; tolerated when absent (older gateways).
    isRepair: optionalBoolean,
    ts: z.number(),
    refreshedAtMs: optionalNumber,
  });

const deviceTokenSchema = () =>
  z.looseObject({
    token: z.string(),
    role: z.string(),
    scopes: z.array(z.string()),
    createdAtMs: z.number(),
    rotatedAtMs: optionalNumber,
    revokedAtMs: optionalNumber,
    lastUsedAtMs: optionalNumber,
  });

const devicePairedEntrySchema = () =>
  z.looseObject({
    ...deviceDescription(),
    tokens: z.exactOptional(z.record(z.string(), deviceTokenSchema())),
    createdAtMs: z.number(),
    approvedAtMs: z.number(),
  });

export const devicePendingFileSchema = lazy(() => z.record(z.string(), devicePendingEntrySchema()));
export const devicePairedFileSchema = lazy(() => z.record(z.string(), devicePairedEntrySchema()));

// ---------------------------------------------------------------------------------------------
// Legacy nodes: `nodes/pending.json` keyed by requestId, `nodes/paired.json` keyed by nodeId.

const nodePendingEntrySchema = () =>
  z.looseObject({
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

const nodePairedEntrySchema = () =>
  z.looseObject({
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

export const nodePendingFileSchema = lazy(() => z.record(z.string(), nodePendingEntrySchema()));
export const nodePairedFileSchema = lazy(() => z.record(z.string(), nodePairedEntrySchema()));

// ---------------------------------------------------------------------------------------------
// `devices list`: the light check of paired.json for read-only listings.

const isRecordOfObjects = (value: unknown): boolean =>
  isObject(value) && Object.values(value).every((entry) => isObject(entry));

/** The first problem of one listed field, as zod would report it: [expected, input, path tail]. */
type FieldProblem = [expected: string, input: unknown, tail?: number];

/** The first item of an optional array of strings that is not a string; undefined when there is none. */
function notStrings(field: unknown): FieldProblem | undefined {
  if (field === undefined) return undefined;
  if (!Array.isArray(field)) return ["array", field];
  for (let at = 0; at < field.length; at++) {
    if (typeof field[at] !== "string") return ["string", field[at], at];
  }
  return undefined;
}

/**
 * The fields `devices list` reads, in the order zod would report them. Each is read by name and
 * tested in line (no call per field, nothing made unless something is wrong): every device parsed
 * from one file shares one shape, so a named read is one machine load, where `device[name]` is a
 * dictionary lookup per field and device; 10 000 devices are checked in ~4 ms.
 */
function firstListedProblem(d: Record<string, unknown>): [name: string, problem: FieldProblem] | undefined {
  if (typeof d.deviceId !== "string") return ["deviceId", ["string", d.deviceId]];
  if (typeof d.publicKey !== "string") return ["publicKey", ["string", d.publicKey]];
  if (d.displayName !== undefined && typeof d.displayName !== "string")
    return ["displayName", ["string", d.displayName]];
  if (d.role !== undefined && typeof d.role !== "string") return ["role", ["string", d.role]];
  let problem: FieldProblem | undefined;
  if ((problem = notStrings(d.roles))) return ["roles", problem];
  if ((problem = notStrings(d.scopes))) return ["scopes", problem];
  if (d.remoteIp !== undefined && typeof d.remoteIp !== "string") return ["remoteIp", ["string", d.remoteIp]];
  if (d.tokens !== undefined && !isRecordOfObjects(d.tokens)) return ["tokens", ["tokens", d.tokens]];
  if (typeof d.createdAtMs !== "number" || !Number.isFinite(d.createdAtMs))
    return ["createdAtMs", ["number", d.createdAtMs]];
  if (typeof d.approvedAtMs !== "number" || !Number.isFinite(d.approvedAtMs))
    return ["approvedAtMs", ["number", d.approvedAtMs]];
  return undefined;
}

/**
 * `devices/paired.json` as `devices list` reads it: the same top-level fields as the full schema
 * (strings, numbers, arrays of strings), and each device's tokens only checked to be objects.
 * Listing 10 000 devices must cost about what 10 cost: deep-checking every token tripled the time,
 * and a zod schema run per device and field (which also copies every device) cost ~10 ms per
 * 1 000 devices, more than parsing the file. So this is one pass over the parsed file, reporting the
 * same first issue zod would (e.g. `<id>.createdAtMs: expected number`), and returning the file as
 * parsed. Listings copy only documented fields, and every write (and `moltbot doctor`) still
 * validates the full shape.
 */
export function listingSchemaFor<T>() {
  return z.custom<T>().check(
    z.superRefine((value, ctx) => {
      if (!isObject(value)) {
        ctx.addIssue({ code: "invalid_type", expected: "record", input: value });
        return;
      }
      // Own keys only (Object.keys, not for…in): a gateway process may have a polluted Object.prototype.
      for (const id of Object.keys(value)) {
        const device = value[id];
        if (!isObject(device)) {
          ctx.addIssue({ code: "invalid_type", expected: "object", input: device, path: [id] });
          return;
        }
        const found = firstListedProblem(device);
        if (found === undefined) continue;
        const [name, [expected, input, tail]] = found;
        if (expected === "tokens") {
          ctx.addIssue({ code: "custom", message: "expected an object of tokens", input, path: [id, name] });
        } else {
          ctx.addIssue({
            code: "invalid_type",
            expected,
            input,
            path: tail === undefined ? [id, name] : [id, name, tail],
          });
        }
        return;
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// moltbot's own side records under `<state>/moltbot/` (never the gateway's files).

// Built on first use, like the device and node schemas: `pairing list` never needs them.
export const blockListSchema = lazy(() =>
  z.looseObject({
    version: z.literal(1),
    blocked: z.array(
      z.looseObject({
        channel: z.string(),
        account: optionalString,
        id: z.string(),
        at: z.string(),
        reason: optionalString,
      }),
    ),
  }),
);

export const codeHistorySchema = lazy(() =>
  z.looseObject({
    version: z.literal(1),
    codes: z.array(
      z.looseObject({
        hash: z.string(),
        id: z.string(),
        account: z.string(),
        createdAt: z.string(),
        fate: z.exactOptional(z.enum(["approved", "rejected", "blocked", "expired"])),
        at: optionalString,
      }),
    ),
  }),
);

export const decisionHeadSchema = lazy(() =>
  z.looseObject({
    version: z.literal(1),
    seq: z.number(),
    hash: z.string(),
    size: z.number(),
    journal: z.exactOptional(
      z.object({
        line: z.string(),
        writes: z.array(
          z.object({
            record: z.string(),
            channel: optionalString,
            account: optionalString,
            before: z.string(),
            after: z.string(),
          }),
        ),
      }),
    ),
  }),
);
