/*
 * The validation contract the store relies on, without naming zod: the library's type declarations
 * import this file, and a consumer of the library must not need zod to type-check (zod is bundled).
 */

/** A problem found in a file's shape, as zod reports it (only what messages use). */
export interface SchemaIssue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly expected?: unknown;
  readonly values?: readonly unknown[];
}

/** Anything that checks data the way a zod schema's `safeParse` does. */
export interface Schema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: { issues: readonly SchemaIssue[] } };
}

/** One readable line for the first problem found, e.g. `requests[0].code: expected string`. */
export function describeSchemaProblem(error: { issues: readonly SchemaIssue[] }): string {
  const issue = error.issues[0];
  if (!issue) return "unexpected shape";
  const where = issue.path.reduce<string>(
    (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : acc === "" ? String(key) : `${acc}.${String(key)}`),
    "",
  );
  let what: string;
  if (issue.code === "invalid_type") what = `expected ${String(issue.expected)}`;
  else if (issue.code === "invalid_value" && issue.values)
    what = `expected ${issue.values.map((value) => JSON.stringify(value)).join(" or ")}`;
  else what = "invalid value";
  return where === "" ? what : `${where}: ${what}`;
}
