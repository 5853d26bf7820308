/**
 * Finding and reading the gateway config (`clawdbot.json`, or `openclaw.json` from OpenClaw on),
 * JSON5, with its `$include`s. The file holds bot tokens and says which program to run for
 * iMessage, so it is used only when it is a regular file that belongs to the caller (or root) and
 * that nobody else can write.
 */
import fs from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { IncludeError, resolveIncludes } from "./gateway-config.js";
import type { SecretRead } from "./plan.js";

/** Variables naming the config file, first set wins (moltbot's own, then each gateway generation's). */
export const CONFIG_PATH_VARIABLES = ["MOLTBOT_CONFIG_PATH", "CLAWDBOT_CONFIG_PATH", "OPENCLAW_CONFIG_PATH"] as const;
/** In the state dir: OpenClaw's name first (it reads it before the January one), then January's. */
export const CONFIG_FILE_NAMES = ["openclaw.json", "clawdbot.json"] as const;

const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** Token files: the gateway's own limit (OpenClaw's secret-file reader). */
const MAX_SECRET_BYTES = 16 * 1024;

function expandHome(value: string): string {
  const trimmed = value.trim();
  const expanded =
    trimmed === "~" ? homedir() : trimmed.startsWith("~/") ? path.join(homedir(), trimmed.slice(2)) : trimmed;
  return path.resolve(expanded);
}

/** The config file the gateway would read, and whether it was named by a variable. */
export function locateGatewayConfig(stateDir: string, env: NodeJS.ProcessEnv): { path: string; explicit: boolean } {
  const named = env.MOLTBOT_CONFIG_PATH?.trim() || env.CLAWDBOT_CONFIG_PATH?.trim() || env.OPENCLAW_CONFIG_PATH?.trim();
  if (named) return { path: expandHome(named), explicit: true };
  const candidates = CONFIG_FILE_NAMES.map((name) => path.join(stateDir, name));
  return { path: candidates.find((candidate) => fs.existsSync(candidate)) ?? candidates[1]!, explicit: false };
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, "0")}`;

/** Why a config file may not be trusted, or undefined when it may. */
export function untrustedReason(file: string, stat: fs.Stats): string | undefined {
  if (!stat.isFile()) return `${file} is not a regular file`;
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid && stat.uid !== 0)
    return `${file} belongs to uid ${stat.uid}, not to you (uid ${uid}); run moltbot as the gateway's user`;
  if ((stat.mode & 0o022) !== 0)
    return `${file} can be changed by other users (mode ${octal(stat.mode)}); run: chmod 600 ${file}`;
  return undefined;
}

class ConfigReadError extends Error {}

/** Read a file's text through one descriptor, so the checks and the bytes are about the same file. */
function readChecked(file: string, limit: number, check: (stat: fs.Stats) => string | undefined): string {
  // O_NONBLOCK: a FIFO put in the file's place must not hang the command on open().
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const stat = fs.fstatSync(fd);
    const problem = check(stat);
    if (problem !== undefined) throw new ConfigReadError(problem);
    if (stat.size > limit) throw new ConfigReadError(`${file} is larger than ${limit / 1024} KiB`);
    return fs.readFileSync(fd, "utf8").replace(/^\uFEFF/, "");
  } finally {
    fs.closeSync(fd);
  }
}

function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EACCES" || code === "EPERM") return "cannot be read (permission denied)";
  if (code === "EISDIR") return "is a directory";
  return code !== undefined ? `cannot be read (${code})` : "cannot be read";
}

export type ConfigRead = { ok: true; path: string; exists: boolean; config: unknown } | { ok: false; reason: string };

type Json5Parse = (text: string) => unknown;

function parseJson5(parse: Json5Parse, file: string, text: string): unknown {
  try {
    return parse(text);
  } catch (error) {
    // JSON5's message quotes the offending character; only the position is reported, never text.
    const { lineNumber, columnNumber } = error as { lineNumber?: number; columnNumber?: number };
    const at = typeof lineNumber === "number" ? ` (line ${lineNumber}, column ${columnNumber ?? "?"})` : "";
    throw new ConfigReadError(`${file} is not valid JSON5${at}`);
  }
}

/**
 * The gateway config, parsed, includes resolved. No file is not an error (the gateway then runs on
 * its defaults and the environment); an untrusted or broken one is.
 */
export async function readGatewayConfig(stateDir: string, env: NodeJS.ProcessEnv): Promise<ConfigRead> {
  const located = locateGatewayConfig(stateDir, env);
  const file = located.path;
  try {
    let text: string;
    try {
      text = readChecked(file, MAX_CONFIG_BYTES, (stat) => untrustedReason(file, stat));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT")
        return { ok: true, path: file, exists: false, config: {} };
      throw error;
    }
    // Loaded here, on the --notify path only: no other command evaluates the parser. Only the
    // parser: json5's index would bundle its stringify too.
    const parse: Json5Parse = (await import("json5/lib/parse.js")).default;
    const root = parseJson5(parse, file, text);
    const configDir = fs.realpathSync(path.dirname(file));
    const config = resolveIncludes(root, file, (from, includePath) => {
      const target = path.resolve(path.dirname(from), includePath);
      let real: string;
      try {
        real = fs.realpathSync(target);
      } catch (error) {
        const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
        throw new ConfigReadError(
          `${includePath} (included from ${from}) ${missing ? "does not exist" : describeError(error)}`,
        );
      }
      // OpenClaw confines includes to the config's directory; so does moltbot.
      const relative = path.relative(configDir, real);
      if (relative.startsWith("..") || path.isAbsolute(relative))
        throw new ConfigReadError(`${includePath} (included from ${from}) lies outside ${configDir}`);
      const included = readChecked(real, MAX_CONFIG_BYTES, (stat) => untrustedReason(real, stat));
      return { file: real, value: parseJson5(parse, real, included) };
    });
    return { ok: true, path: file, exists: true, config };
  } catch (error) {
    if (error instanceof ConfigReadError || error instanceof IncludeError) return { ok: false, reason: error.message };
    return { ok: false, reason: `the gateway config ${file} ${describeError(error)}` };
  }
}

/**
 * A token file (`tokenFile`): a regular file, not a symlink (OpenClaw's rule: a link could make
 * moltbot send any file's first bytes as a "token"), at most 16 KiB.
 */
export function readSecretFile(file: string): SecretRead {
  const resolved = expandHome(file);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(resolved);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    return { ok: false, missing, reason: missing ? "does not exist" : describeError(error) };
  }
  if (stat.isSymbolicLink()) return { ok: false, missing: false, reason: "is a symlink (refused)" };
  try {
    const value = readChecked(resolved, MAX_SECRET_BYTES, (opened) =>
      opened.isFile() && opened.ino === stat.ino ? undefined : "is not a regular file",
    );
    return { ok: true, value };
  } catch (error) {
    if (error instanceof ConfigReadError) {
      return { ok: false, missing: false, reason: error.message.replace(`${resolved} `, "") };
    }
    return { ok: false, missing: false, reason: describeError(error) };
  }
}

export type DotEnvRead = { ok: true; path: string; vars: Record<string, string> } | { ok: false; reason: string };

/**
 * `<state>/.env`, which the gateway loads at start-up under the variables it already has (dotenv,
 * `override: false`): a usual home for TELEGRAM_BOT_TOKEN and the like. Parsed with dotenv's own
 * parser, loaded only here. The gateway also loads `./.env` from its working directory; moltbot
 * does not read the current directory's (it is the shell's, not the gateway's, and may be anyone's).
 */
export async function readStateDotEnv(stateDir: string): Promise<DotEnvRead> {
  const file = path.join(stateDir, ".env");
  let text: string;
  try {
    text = readChecked(file, MAX_CONFIG_BYTES, (stat) => untrustedReason(file, stat));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { ok: true, path: file, vars: {} };
    if (error instanceof ConfigReadError) return { ok: false, reason: error.message };
    return { ok: false, reason: `${file} ${describeError(error)}` };
  }
  const { parse } = (await import("dotenv")).default;
  // Copied into a prototype-less object: a line `__proto__=…` stays a variable.
  const vars = Object.assign(Object.create(null) as Record<string, string>, parse(text));
  return { ok: true, path: file, vars };
}
