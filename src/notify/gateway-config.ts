/**
 * The gateway config's own rules, as clawdbot@2026.1.24-3 applies them (src/config/io.ts,
 * includes.ts, env-substitution.ts, env-vars.ts, routing/session-key.ts): pure functions over the
 * parsed JSON5. Reading the files is config-file.ts's job.
 */

export type ConfigObject = Record<string, unknown>;

export function isObject(value: unknown): value is ConfigObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Define an own property: a key named `__proto__` in the JSON5 stays data, never a prototype. */
function setOwn(target: ConfigObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `a.b.c` of a parsed config, or undefined when any step is not an object. */
export function pick(root: unknown, ...keys: string[]): unknown {
  let value = root;
  for (const key of keys) {
    if (!isObject(value) || !Object.hasOwn(value, key)) return undefined;
    value = value[key];
  }
  return value;
}

export const DEFAULT_ACCOUNT_ID = "default";

/** The gateway's account id rule: trimmed, lower-cased, path-safe; blank means "default". */
export function normalizeAccountId(value: string | undefined): string {
  const trimmed = (value ?? "").trim();
  if (!trimmed) return DEFAULT_ACCOUNT_ID;
  if (/^[a-z0-9][a-z0-9_-]{0,63}$/i.test(trimmed)) return trimmed.toLowerCase();
  return (
    trimmed
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, "-")
      .replace(/^-+/, "")
      .replace(/-+$/, "")
      .slice(0, 64) || DEFAULT_ACCOUNT_ID
  );
}

/**
 * `channels.<ch>.accounts.<id>`: the key as written, else a key that normalises to the same id
 * (the January token resolvers look the normalised id up directly; later releases normalise keys,
 * which finds the same entries and also `Work` for `work`).
 */
export function accountEntry(section: unknown, accountId: string): ConfigObject | undefined {
  const accounts = pick(section, "accounts");
  if (!isObject(accounts)) return undefined;
  if (Object.hasOwn(accounts, accountId) && isObject(accounts[accountId])) return accounts[accountId];
  const key = Object.keys(accounts).find((candidate) => normalizeAccountId(candidate) === accountId);
  const entry = key === undefined ? undefined : accounts[key];
  return isObject(entry) ? entry : undefined;
}

/** The channel's top-level settings overlaid with the account's, as the gateway merges them. */
export function mergedAccount(section: unknown, accountId: string): ConfigObject {
  const base: ConfigObject = isObject(section) ? { ...section } : {};
  delete base.accounts;
  return { ...base, ...accountEntry(section, accountId) };
}

export class MissingEnvVarError extends Error {
  constructor(
    readonly variable: string,
    readonly where: string,
  ) {
    super(`\${${variable}} (at ${where}) is not set in this environment`);
    this.name = "MissingEnvVarError";
  }
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * `${VAR}` in a config string, as the gateway substitutes it: upper-case names only, `$${VAR}` for
 * a literal, an unset or empty variable is an error. moltbot substitutes only the values a notice
 * uses, not the whole file, so a variable the gateway's service has and this shell lacks matters
 * only when it holds what the notice needs.
 */
export function substituteEnv(value: string, env: NodeJS.ProcessEnv, where: string): string {
  if (!value.includes("$")) return value;
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    if (char === "$" && value[i + 1] === "$" && value[i + 2] === "{") {
      const end = value.indexOf("}", i + 3);
      const name = end === -1 ? "" : value.slice(i + 3, end);
      if (ENV_NAME.test(name)) {
        out += `\${${name}}`;
        i = end;
        continue;
      }
    }
    if (char === "$" && value[i + 1] === "{") {
      const end = value.indexOf("}", i + 2);
      const name = end === -1 ? "" : value.slice(i + 2, end);
      if (ENV_NAME.test(name)) {
        const resolved = env[name];
        if (resolved === undefined || resolved === "") throw new MissingEnvVarError(name, where);
        out += resolved;
        i = end;
        continue;
      }
    }
    out += char;
  }
  return out;
}

/**
 * The config's `env` section (`env.vars.<KEY>` and string `env.<KEY>`): the gateway copies these
 * into its environment for every variable not already set, so they are fallbacks such as
 * TELEGRAM_BOT_TOKEN too.
 */
export function configEnvFallbacks(config: unknown): Record<string, string> {
  const section = pick(config, "env");
  if (!isObject(section)) return {};
  const entries = Object.create(null) as Record<string, string>;
  const vars = section.vars;
  if (isObject(vars)) {
    for (const [key, value] of Object.entries(vars)) if (typeof value === "string" && value) entries[key] = value;
  }
  for (const [key, value] of Object.entries(section)) {
    if (key === "shellEnv" || key === "vars") continue;
    if (typeof value === "string" && value.trim()) entries[key] = value;
  }
  return entries;
}

/** An environment lookup the gateway's way: the process's own value first, then the config's. */
export function envLookup(
  env: NodeJS.ProcessEnv,
  config: unknown,
): (name: string) => { value: string; from: string } | undefined {
  const fallbacks = configEnvFallbacks(config);
  return (name) => {
    const own = env[name];
    if (own !== undefined && own.trim() !== "") return { value: own, from: `$${name}` };
    const configured = fallbacks[name];
    if (configured === undefined) return undefined;
    return { value: substituteEnv(configured, env, `env.${name}`), from: `env.${name} in the gateway config` };
  };
}

export const INCLUDE_KEY = "$include";
export const MAX_INCLUDE_DEPTH = 10;

/** The gateway's include merge: arrays concatenate, objects merge, otherwise the later value wins. */
export function deepMerge(target: unknown, source: unknown): unknown {
  if (Array.isArray(target) && Array.isArray(source)) return [...(target as unknown[]), ...(source as unknown[])];
  if (isObject(target) && isObject(source)) {
    const result: ConfigObject = { ...target };
    for (const key of Object.keys(source)) {
      setOwn(result, key, Object.hasOwn(result, key) ? deepMerge(result[key], source[key]) : source[key]);
    }
    return result;
  }
  return source;
}

export class IncludeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IncludeError";
  }
}

/**
 * Resolve `$include` directives (a path or a list of paths, merged in order; sibling keys merged
 * over the included object), at most 10 deep, no cycles. `load(from, includePath)` reads and parses
 * one included file and returns its resolved path with the value (config-file.ts confines it).
 */
export function resolveIncludes(
  value: unknown,
  file: string,
  load: (from: string, includePath: string) => { file: string; value: unknown },
  chain: readonly string[] = [file],
): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIncludes(item, file, load, chain));
  if (!isObject(value)) return value;
  if (!Object.hasOwn(value, INCLUDE_KEY)) {
    const result: ConfigObject = {};
    for (const [key, child] of Object.entries(value)) setOwn(result, key, resolveIncludes(child, file, load, chain));
    return result;
  }
  const includeValue = value[INCLUDE_KEY];
  const paths =
    typeof includeValue === "string"
      ? [includeValue]
      : Array.isArray(includeValue) && includeValue.every((item) => typeof item === "string")
        ? includeValue
        : undefined;
  if (paths === undefined) throw new IncludeError(`${INCLUDE_KEY} in ${file} must be a path or a list of paths`);
  let included: unknown = typeof includeValue === "string" ? undefined : {};
  for (const includePath of paths) {
    if (chain.length > MAX_INCLUDE_DEPTH)
      throw new IncludeError(`includes nest deeper than ${MAX_INCLUDE_DEPTH} at ${includePath}`);
    const loaded = load(file, includePath);
    if (chain.includes(loaded.file))
      throw new IncludeError(`circular include: ${[...chain, loaded.file].join(" -> ")}`);
    const resolved = resolveIncludes(loaded.value, loaded.file, load, [...chain, loaded.file]);
    included = typeof includeValue === "string" ? resolved : deepMerge(included, resolved);
  }
  const siblings = Object.keys(value).filter((key) => key !== INCLUDE_KEY);
  if (siblings.length === 0) return included;
  if (!isObject(included))
    throw new IncludeError(`${INCLUDE_KEY} in ${file} must include an object when it has siblings`);
  const rest: ConfigObject = {};
  for (const key of siblings) setOwn(rest, key, resolveIncludes(value[key], file, load, chain));
  return deepMerge(included, rest);
}
