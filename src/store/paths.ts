import { existsSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { MoltbotError } from "../errors.js";
import type { ChannelInfo } from "../core/channels.js";

export interface StatePathOptions {
  /** `--state-dir`, which beats every environment variable. */
  stateDir?: string;
  env?: NodeJS.ProcessEnv;
  home?: string;
  cwd?: string;
  /** Injected for tests; defaults to `fs.existsSync`. */
  exists?: (dir: string) => boolean;
}

export interface StatePaths {
  stateDir: string;
  credentialsDir: string;
  devicesDir: string;
  nodesDir: string;
  /** Set when both `~/.clawdbot` and `~/.moltbot` exist; the CLI says it once on stderr. */
  warning?: string;
}

function expand(value: string, home: string, cwd: string): string {
  const expanded = value === "~" ? home : value.startsWith("~/") ? path.join(home, value.slice(2)) : value;
  return path.resolve(cwd, expanded);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== "" ? value : undefined;
}

/** SPEC §2: `--state-dir` > MOLTBOT_STATE_DIR > CLAWDBOT_STATE_DIR > ~/.clawdbot (or ~/.moltbot). */
export function resolveStatePaths(options: StatePathOptions = {}): StatePaths {
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const cwd = options.cwd ?? process.cwd();
  const exists = options.exists ?? existsSync;
  let warning: string | undefined;

  const explicit = nonEmpty(options.stateDir) ?? nonEmpty(env.MOLTBOT_STATE_DIR) ?? nonEmpty(env.CLAWDBOT_STATE_DIR);
  let stateDir: string;
  if (explicit !== undefined) {
    stateDir = expand(explicit, home, cwd);
  } else {
    const clawdbot = path.join(home, ".clawdbot");
    const moltbot = path.join(home, ".moltbot");
    const hasClawdbot = exists(clawdbot);
    const hasMoltbot = exists(moltbot);
    stateDir = !hasClawdbot && hasMoltbot ? moltbot : clawdbot;
    if (hasClawdbot && hasMoltbot) {
      warning = `Both ${clawdbot} and ${moltbot} exist; using ${clawdbot}. Make sure the gateway uses the same directory (or set MOLTBOT_STATE_DIR).`;
    }
  }

  const oauth = nonEmpty(env.MOLTBOT_OAUTH_DIR) ?? nonEmpty(env.CLAWDBOT_OAUTH_DIR);
  return {
    stateDir,
    credentialsDir: oauth !== undefined ? expand(oauth, home, cwd) : path.join(stateDir, "credentials"),
    devicesDir: path.join(stateDir, "devices"),
    nodesDir: path.join(stateDir, "nodes"),
    ...(warning !== undefined ? { warning } : {}),
  };
}

/** Join and prove the result stays inside `base`: a file name never escapes its directory. */
export function fileInside(base: string, fileName: string): string {
  const resolved = path.resolve(base, fileName);
  const relative = path.relative(base, resolved);
  if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative) || relative.includes(path.sep)) {
    throw new MoltbotError("USAGE", `Refusing to use "${fileName}": it would lie outside ${base}.`);
  }
  return resolved;
}

export const dmPendingFile = (paths: StatePaths, channel: ChannelInfo): string =>
  fileInside(paths.credentialsDir, `${channel.name}-pairing.json`);

export const dmAllowFile = (paths: StatePaths, channel: ChannelInfo): string =>
  fileInside(paths.credentialsDir, `${channel.name}-allowFrom.json`);
