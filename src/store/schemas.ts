import * as z from "zod/mini";

/*
 * Shapes of the gateway's files. Every object is "loose": fields a newer gateway adds are kept
 * when we rewrite the file. zod/mini keeps start-up cheap (SPEC: `list` starts like bare Node).
 */

const stringRecord = z.record(z.string(), z.string());

export const pairingRequestSchema = z.looseObject({
  id: z.string(),
  code: z.string(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
  meta: z.optional(stringRecord),
});

export const pendingFileSchema = z.looseObject({
  version: z.literal(1),
  requests: z.array(pairingRequestSchema),
});

/**
 * An array of strings, checked in one pass with the same issues z.array(z.string()) reports
 * (`allowFrom: expected array`, `allowFrom[3]: expected string`). Allowlists grow to 100 000
 * entries and every approve reads one; a schema run per entry costs ~5 ms more at that size.
 */
const stringList = z.unknown().check(
  z.superRefine((value, ctx) => {
    if (!Array.isArray(value)) {
      ctx.addIssue({ code: "invalid_type", expected: "array", input: value });
      return;
    }
    const at = value.findIndex((item) => typeof item !== "string");
    if (at !== -1) ctx.addIssue({ code: "invalid_type", expected: "string", input: value[at], path: [at] });
  }),
) as unknown as z.ZodMiniType<string[]>;

export const allowFileSchema = z.looseObject({
  version: z.literal(1),
  allowFrom: stringList,
});
