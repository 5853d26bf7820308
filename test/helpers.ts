import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, expect } from "vitest";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The built launcher: CLI tests always run what users run. `npm test` builds first. */
export const BIN = path.join(ROOT, "bin", "moltbot.js");

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) {
    // Tests may leave read-only directories behind; make them removable first.
    spawnSync("chmod", ["-R", "u+rwx", dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A fresh temporary directory, removed after the test. */
export function tempDir(prefix = "moltbot-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A state dir path inside a fresh temp dir; the state dir itself does not exist yet. */
export function tempStateDir(): string {
  return path.join(tempDir(), "state");
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The launcher's code cache (bin/moltbot.js) for every spawned moltbot, so that it lands neither in
 * the developer's ~/.cache nor in a HOME a test made and inspects. test/cli/launcher.test.ts sets its own.
 */
const TEST_CACHE_HOME = path.join(os.tmpdir(), `moltbot-test-cache-${process.getuid?.() ?? "user"}`);
// Made here: the launcher creates a missing cache home only inside a directory the user owns (not /tmp).
fs.mkdirSync(TEST_CACHE_HOME, { recursive: true, mode: 0o700 });

/** Environment for a spawned moltbot: no inherited state dir, no colour, no CA bundle slowdown. */
export function cliEnv(stateDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MOLTBOT_STATE_DIR: stateDir,
    NO_COLOR: "1",
    XDG_CACHE_HOME: TEST_CACHE_HOME,
    ...extra,
  };
  for (const key of [
    "CLAWDBOT_STATE_DIR",
    "MOLTBOT_OAUTH_DIR",
    "CLAWDBOT_OAUTH_DIR",
    "NODE_EXTRA_CA_CERTS",
    "MOLTBOT_DEBUG",
    "MOLTBOT_PAIRING_MAX_PENDING",
    "MOLTBOT_STORE",
    "FORCE_COLOR",
  ]) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

/** Collect a spawned child's stdout and stderr (it must have them piped) until it closes. */
export function collectOutput(child: ChildProcess): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Spawn the built `moltbot` and collect its output. */
export function runMoltbot(
  args: readonly string[],
  options: { stateDir: string; env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number },
): Promise<RunResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cliEnv(options.stateDir, options.env),
    cwd: options.cwd ?? ROOT,
    stdio: ["pipe", "pipe", "pipe"],
    timeout: options.timeoutMs ?? 25_000,
  });
  const output = collectOutput(child);
  // A command that does not read stdin may exit before we finish writing it: that EPIPE is expected.
  child.stdin.on("error", () => {});
  child.stdin.end(options.input ?? "");
  return output;
}

/** Run and parse stdout as the one JSON document `--json` promises. */
export async function runJson<T = unknown>(
  args: readonly string[],
  options: Parameters<typeof runMoltbot>[1],
): Promise<RunResult & { json: T }> {
  const result = await runMoltbot([...args, "--json"], options);
  return { ...result, json: JSON.parse(result.stdout) as T };
}

/**
 * The decision log after a race, through the real CLI: `moltbot log --verify` holds (every line in
 * order, chained, ending where its head says); the entries, to compare with what was acknowledged.
 */
export async function verifiedLog<E extends { seq: number }>(stateDir: string): Promise<E[]> {
  const verified = await runJson<{ ok: boolean; entries: number }>(["log", "--verify"], { stateDir });
  expect(verified.code, verified.stdout).toBe(0);
  const { entries } = (await runJson<{ entries: E[] }>(["log"], { stateDir })).json;
  expect(verified.json).toMatchObject({ ok: true, entries: entries.length });
  expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
  return entries;
}

/** A deterministic byte source: cycles through `bytes`. */
export function fixedRandom(bytes: readonly number[]): (size: number) => Uint8Array {
  let index = 0;
  return (size) => Uint8Array.from({ length: size }, () => bytes[index++ % bytes.length]!);
}

/** A seeded pseudo-random byte source (mulberry32), for reproducible "random" tests. */
export function seededRandom(seed: number): (size: number) => Uint8Array {
  let state = seed >>> 0;
  return (size) =>
    Uint8Array.from({ length: size }, () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) & 0xff;
    });
}

export function fileMode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

export function readJsonFile<T = unknown>(file: string): T {
  return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}

/** Every path under `dir` (files and directories), relative, sorted. */
export function listTree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}
