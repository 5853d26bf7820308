import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { afterAll, expect } from "vitest";
import { BIN, ROOT, cliEnv } from "../helpers.js";

/** The uid/gid that plays "the gateway's user" when the suite runs as root (root reads any file). */
export const NOBODY = { uid: 65534, gid: 65534 };
export const RUNNING_AS_ROOT = process.getuid?.() === 0;

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** ms from spawn to exit. */
  elapsedMs: number;
  /** Epoch ms at exit. */
  endedAt: number;
}

export interface SpawnOptions {
  stateDir: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as another user (root only). */
  user?: { uid: number; gid: number };
  /** Run under `umask 000`, so only explicit modes protect the files. */
  umask000?: boolean;
  /** Text on stdin (default: none, stdin closed). */
  input?: string;
  timeoutMs?: number;
}

export interface Running {
  child: ChildProcess;
  done: Promise<Outcome>;
}

/** Spawn the built `moltbot` (never through a shell unless a umask is needed), collecting its output. */
export function startMoltbot(args: readonly string[], options: SpawnOptions): Running {
  const started = Date.now();
  const [command, argv] = options.umask000
    ? ["/bin/sh", ["-c", 'umask 000 && exec "$0" "$@"', process.execPath, BIN, ...args]]
    : [process.execPath, [BIN, ...args]];
  const child = spawn(command, argv, {
    env: cliEnv(options.stateDir, options.env),
    cwd: options.cwd ?? ROOT,
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    timeout: options.timeoutMs ?? 40_000,
    ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  // A command that does not read stdin may exit before we finish writing it: that EPIPE is expected.
  if (options.input !== undefined) child.stdin!.on("error", () => {}).end(options.input);
  const done = new Promise<Outcome>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - started, endedAt: Date.now() }),
    );
  });
  return { child, done };
}

export const moltbot = (args: readonly string[], options: SpawnOptions): Promise<Outcome> =>
  startMoltbot(args, options).done;

/** Run `tasks` with at most `limit` at a time (two cores shared with other suites). */
export async function inBatches<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A temp dir removed after the whole file (not after each test: concurrent tests share a file),
 * and traversable by other users (mkdtemp makes 0700), for tests that run moltbot as nobody.
 */
export function faultDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "moltbot-fault-"));
  fs.chmodSync(dir, 0o755);
  made.push(dir);
  return dir;
}

/** Seeded PRNG (mulberry32) returning floats in [0, 1): the same "random" kill schedule every run. */
export function seededFloat(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A fingerprint of a path's bytes (a file) or of its whole tree (a directory), to prove nothing changed. */
export function fingerprint(target: string): string {
  const hash = createHash("sha256");
  const walk = (at: string, rel: string) => {
    const stat = fs.lstatSync(at);
    hash.update(`${rel}\0${stat.mode}\0${stat.uid}\0`);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(at).sort()) walk(path.join(at, name), `${rel}/${name}`);
    } else {
      hash.update(fs.readFileSync(at));
    }
  };
  walk(target, ".");
  return hash.digest("hex");
}

// Any C0/C1 control other than the newline that ends a line: what a hostile string would inject.
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

/** SPEC §6: an error is one clear line on stderr, no stack trace, no raw control character anywhere. */
export function expectOneCleanErrorLine(outcome: Outcome, exitCodes: readonly number[]): void {
  expect(exitCodes, `exit ${outcome.code}; stderr: ${outcome.stderr.slice(0, 300)}`).toContain(outcome.code);
  expect(outcome.stdout).toBe("");
  expect(outcome.stderr).toMatch(/^moltbot: [^\n]+\n$/);
  expect(outcome.stderr.length).toBeLessThan(1_000);
  expect(outcome.stderr).not.toMatch(/\n\s+at |Error: |node:internal/);
  expect(RAW_CONTROL.test(outcome.stderr)).toBe(false);
}

/** With --json: exactly one JSON document on stdout, the error; nothing raw on either stream. */
export function expectJsonError(outcome: Outcome, exitCodes: readonly number[]): { code: string; message: string } {
  expect(exitCodes, `exit ${outcome.code}; stdout: ${outcome.stdout.slice(0, 300)}`).toContain(outcome.code);
  const parsed = JSON.parse(outcome.stdout) as { error: { code: string; message: string } };
  expect(Object.keys(parsed)).toEqual(["error"]);
  expect(RAW_CONTROL.test(outcome.stdout.replace(/\n/g, ""))).toBe(false);
  expect(outcome.stderr).toBe("");
  return parsed.error;
}

export function hasRawControl(text: string): boolean {
  return RAW_CONTROL.test(text);
}

/** Back-date a path's mtime: the "clock" moves on for a lock whose dead holder can no longer refresh it. */
export function backdate(target: string, ms: number): void {
  const at = new Date(Date.now() - ms);
  fs.utimesSync(target, at, at);
}
