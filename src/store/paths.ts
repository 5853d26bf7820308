import fs from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { MoltbotError } from "../errors.js";

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
  /** moltbot's own records (block list, code history, decision log): never the gateway's files. */
  moltbotDir: string;
  /** Where the state dir came from, e.g. "--state-dir", "$OPENCLAW_STATE_DIR", "~/.clawdbot". */
  source: string;
  /** Set when two home state dirs compete; the CLI says it once on stderr. */
  warning?: string;
}

function expand(value: string, home: string, cwd: string): string {
  const expanded = value === "~" ? home : value.startsWith("~/") ? path.join(home, value.slice(2)) : value;
  return path.resolve(cwd, expanded);
}

/** The explicit sources, in order: the option, then moltbot's, the January gateway's and OpenClaw's variables. */
const VARIABLES = ["MOLTBOT_STATE_DIR", "CLAWDBOT_STATE_DIR", "OPENCLAW_STATE_DIR"] as const;
/** Home directories by generation, newest first: OpenClaw moves ~/.clawdbot to ~/.openclaw. */
const HOME_DIRS = [".openclaw", ".clawdbot", ".moltbot"] as const;

function sameDir(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * SPEC §2: `--state-dir` > MOLTBOT_STATE_DIR > CLAWDBOT_STATE_DIR > OPENCLAW_STATE_DIR > the first of
 * ~/.openclaw, ~/.clawdbot, ~/.moltbot that exists (else ~/.clawdbot). An explicitly empty
 * `--state-dir` is a usage error: an unset shell variable must never fall back to the real store.
 */
export function resolveStatePaths(options: StatePathOptions = {}): StatePaths {
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const cwd = options.cwd ?? process.cwd();
  const exists = options.exists ?? fs.existsSync;
  let warning: string | undefined;

  if (options.stateDir !== undefined && options.stateDir.trim() === "") {
    throw new MoltbotError(
      "USAGE",
      "--state-dir is empty (an unset shell variable?). Give the state directory, or leave the option out to use the default.",
    );
  }
  let stateDir: string;
  let source: string;
  const variable = VARIABLES.find((name) => (env[name] ?? "").trim() !== "");
  if (options.stateDir !== undefined) {
    stateDir = expand(options.stateDir, home, cwd);
    source = "--state-dir";
  } else if (variable !== undefined) {
    stateDir = expand(env[variable]!, home, cwd);
    source = `$${variable}`;
  } else {
    const found = HOME_DIRS.map((name) => path.join(home, name)).filter((dir) => exists(dir));
    stateDir = found[0] ?? path.join(home, ".clawdbot");
    source = `~/${path.basename(stateDir)}`;
    const others = found.slice(1).filter((dir) => !sameDir(dir, stateDir));
    if (others.length > 0) {
      warning = `Both ${stateDir} and ${others.join(" and ")} exist; using ${stateDir}. Make sure the gateway uses the same directory (or set MOLTBOT_STATE_DIR).`;
    }
  }

  const oauth = [env.MOLTBOT_OAUTH_DIR, env.CLAWDBOT_OAUTH_DIR].find((value) => (value ?? "").trim() !== "");
  return {
    stateDir,
    credentialsDir: oauth !== undefined ? expand(oauth, home, cwd) : path.join(stateDir, "credentials"),
    devicesDir: path.join(stateDir, "devices"),
    nodesDir: path.join(stateDir, "nodes"),
    moltbotDir: path.join(stateDir, "moltbot"),
    source,
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
