// `npm run bench` (builds first): how fast the built CLI starts and scales, as whole processes.
//
// Every figure is a ratio of two commands measured side by side in the same run, interleaved
// (A B, B A, A B, …) so that whatever else the shared machine is doing hits both sides equally;
// the table shows the median of each side, their ratio and the target. It is a benchmark, not a
// test: it exits 0 even when a target is missed, and prints FAIL on that line.
//
//   node bench/bench.mjs [figure…] [--runs N]    figures: list approve devices allowlist concurrent memory
//
// Method: wall time of spawnSync(node …) with NODE_EXTRA_CA_CERTS (and NODE_OPTIONS) removed from
// both sides; peak RSS from GNU time's %M (the child's ru_maxrss), or, without /usr/bin/time, from
// a preload that reports process.resourceUsage().maxRSS at exit (loaded on both sides alike).
// Fixtures are written straight in the gateway's file shapes (SPEC §3, §4) and fsynced before
// timing, so no command pays for flushing the bench's own writes.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const BIN = path.join(ROOT, "bin", "moltbot.js");
const NODE = process.execPath;
const FIGURES = ["list", "approve", "devices", "allowlist", "concurrent", "memory", "sqlite"];

const cli = process.argv.slice(2);
const runsAt = cli.indexOf("--runs");
const runsOverride = runsAt === -1 ? undefined : Number(cli[runsAt + 1]);
const selected = cli.filter((arg, i) => !arg.startsWith("--") && (runsAt === -1 || i !== runsAt + 1));
for (const name of selected) {
  if (!FIGURES.includes(name)) {
    console.error(`bench: unknown figure "${name}"; choose from ${FIGURES.join(", ")}.`);
    process.exit(2);
  }
}
const wanted = (name) => selected.length === 0 || selected.includes(name);
const runs = (count) => runsOverride ?? count;

if (!fs.existsSync(path.join(ROOT, "dist", "cli.cjs"))) {
  console.error('bench: dist/cli.cjs is missing; run "npm run bench" (it builds first).');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Environment and fixtures

const LOAD_BEFORE = os.loadavg();
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), "moltbot-bench-"));
process.on("exit", () => fs.rmSync(WORK, { recursive: true, force: true }));

/** The same clean environment for both sides of every comparison. */
function benchEnv(stateDir) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(MOLTBOT_|CLAWDBOT_)/.test(key)) delete env[key];
  }
  for (const key of ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS", "FORCE_COLOR"]) delete env[key];
  if (stateDir !== undefined) env.MOLTBOT_STATE_DIR = stateDir;
  return env;
}

/** Write a store file as the gateway does (2-space JSON, newline, 0600) and make it durable. */
function writeStore(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(file, "w", 0o600);
  try {
    fs.writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const dirFd = fs.openSync(path.dirname(file), "r");
  fs.fsyncSync(dirFd);
  fs.closeSync(dirFd);
}

function stateDir(name) {
  const dir = path.join(WORK, name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

const CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
let codeCounter = 0;
function nextCode() {
  let n = codeCounter++;
  let code = "";
  for (let i = 0; i < 8; i++) {
    code += CODE_ALPHABET[n % 32];
    n = Math.floor(n / 32);
  }
  return code;
}

/** `<credentials>/telegram-pairing.json` with `count` live requests; returns their codes. */
function writePending(dir, count) {
  const at = new Date().toISOString();
  const requests = [];
  for (let i = 0; i < count; i++) {
    requests.push({
      id: String(700000000 + i),
      code: nextCode(),
      createdAt: at,
      lastSeenAt: at,
      meta: { username: `user${i}` },
    });
  }
  writeStore(path.join(dir, "credentials", "telegram-pairing.json"), { version: 1, requests });
  return requests.map((request) => request.code);
}

function writeAllowlist(dir, count) {
  const allowFrom = [];
  for (let i = 0; i < count; i++) allowFrom.push(String(1_000_000_000 + i * 7));
  writeStore(path.join(dir, "credentials", "telegram-allowFrom.json"), { version: 1, allowFrom });
}

const b64url = (bytes) => randomBytes(bytes).toString("base64url");

/**
 * `<state>/devices/paired.json` with `count` devices, each exactly as `moltbot devices request
 * --name … --platform … --role node` followed by `devices approve` writes it (one token).
 */
function writePairedDevices(dir, count) {
  const paired = {};
  const base = Date.now() - 86_400_000;
  for (let i = 0; i < count; i++) {
    const deviceId = randomBytes(32).toString("hex");
    const at = base + i * 1000;
    paired[deviceId] = {
      deviceId,
      publicKey: b64url(32),
      displayName: `Device ${i}`,
      platform: ["ios", "android", "macos", "linux"][i % 4],
      role: "node",
      roles: ["node"],
      tokens: { node: { token: b64url(32), role: "node", scopes: [], createdAtMs: at } },
      createdAtMs: at,
      approvedAtMs: at,
    };
  }
  writeStore(path.join(dir, "devices", "paired.json"), paired);
  writeStore(path.join(dir, "devices", "pending.json"), {});
}

// ---------------------------------------------------------------------------------------------
// Measurement

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const STDOUT = path.join(WORK, "stdout.json");

/**
 * One whole process; its wall time in ms. Its stdout goes to a file, as with `> out.json`, so that
 * a large output measures moltbot writing it, not this script draining a pipe. A failing command
 * is not a measurement: stop.
 */
function timeOnce(side) {
  side.prepare?.();
  const out = fs.openSync(STDOUT, "w");
  let child;
  const start = process.hrtime.bigint();
  try {
    child = spawnSync(NODE, side.args, { env: side.env, stdio: ["ignore", out, "pipe"] });
  } finally {
    fs.closeSync(out);
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (child.status !== 0) {
    throw new Error(
      `${side.label} exited ${child.status ?? child.signal}: ${String(child.stderr).trim().slice(0, 300)}`,
    );
  }
  return { ms, stdout: () => fs.readFileSync(STDOUT, "utf8") };
}

/** Medians of A and B over `count` interleaved runs, after warm-ups (checked with `check`). */
function compare(a, b, { count, warmups = 3 }) {
  for (let i = 0; i < warmups; i++) {
    for (const side of [a, b]) {
      const { stdout } = timeOnce(side);
      if (i === 0 && side.check) side.check(stdout());
    }
  }
  const times = { a: [], b: [] };
  for (let i = 0; i < count; i++) {
    const order = i % 2 === 0 ? ["a", "b"] : ["b", "a"];
    for (const key of order) times[key].push(timeOnce(key === "a" ? a : b).ms);
  }
  return { a: median(times.a), b: median(times.b), count };
}

const TIME = fs.existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
const RSS_PRELOAD = path.join(WORK, "peak-rss.cjs");
fs.writeFileSync(
  RSS_PRELOAD,
  'process.on("exit",()=>require("fs").writeFileSync(process.env.BENCH_RSS_FILE,String(process.resourceUsage().maxRSS)));\n',
);

/** Peak resident memory of one run, in KiB. */
function peakRssOnce(side) {
  const out = path.join(WORK, "rss.txt");
  fs.rmSync(out, { force: true });
  const stdio = ["ignore", "pipe", "pipe"];
  const child = TIME
    ? spawnSync(TIME, ["-f", "%M", "-o", out, NODE, ...side.args], { env: side.env, stdio })
    : spawnSync(NODE, ["--require", RSS_PRELOAD, ...side.args], { env: { ...side.env, BENCH_RSS_FILE: out }, stdio });
  if (child.status !== 0)
    throw new Error(
      `${side.label} exited ${child.status ?? child.signal}: ${String(child.stderr).trim().slice(0, 300)}`,
    );
  const kib = Number(fs.readFileSync(out, "utf8").trim().split("\n").pop());
  if (!Number.isFinite(kib) || kib <= 0) throw new Error(`could not read the peak RSS of ${side.label}`);
  return kib;
}

function compareRss(a, b, count) {
  const kib = { a: [], b: [] };
  for (let i = 0; i < count; i++) {
    const order = i % 2 === 0 ? ["a", "b"] : ["b", "a"];
    for (const key of order) kib[key].push(peakRssOnce(key === "a" ? a : b));
  }
  return { a: median(kib.a), b: median(kib.b), count };
}

/** Run `argvs` as processes, all at once or one after another; wall time and exit codes. */
async function runBatch(argvs, env, simultaneous) {
  const once = (args) =>
    new Promise((resolve) => {
      const child = spawn(NODE, args, { env, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      child.on("close", (code) => resolve({ code, stderr }));
    });
  const start = process.hrtime.bigint();
  let results;
  if (simultaneous) {
    results = await Promise.all(argvs.map(once));
  } else {
    results = [];
    for (const args of argvs) results.push(await once(args));
  }
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, results };
}

// ---------------------------------------------------------------------------------------------
// The figures

const nodeBare = { label: "node -e 0", args: ["-e", "0"], env: benchEnv() };
const rows = [];
const row = (figure, a, b, unit, target, extra = "") => rows.push({ figure, a, b, unit, target, extra });
/**
 * Not a target: the best the figure above could be, its B side plus only the data work bare Node
 * needs for the same file (a bare-Node process doing that work, minus `node -e 0`).
 */
const reference = (figure, a, b, unit, extra) => rows.push({ figure, a, b, unit, target: undefined, extra });
const floorNote = (f) => `bare work ${f.a.toFixed(1)} − node -e 0 ${f.b.toFixed(1)} ms, ${f.count} runs each`;

// Only the data work a command cannot avoid, in bare Node (the file's path is argv[1]).
const FLOOR_DEVICES =
  'const fs=require("fs");const paired=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));' +
  'fs.writeSync(1,JSON.stringify({pending:[],paired:Object.values(paired)},null,2)+"\\n")';
const FLOOR_ALLOWLIST =
  'const fs=require("fs");const f=process.argv[1];const s=JSON.parse(fs.readFileSync(f,"utf8"));s.allowFrom.push("1");' +
  'const t=f+".tmp";const fd=fs.openSync(t,"w",0o600);fs.writeSync(fd,JSON.stringify(s,null,2)+"\\n");fs.fsyncSync(fd);fs.closeSync(fd);' +
  "fs.renameSync(t,f)";

function checkJson(predicate, what) {
  return (stdout) => {
    if (!predicate(JSON.parse(stdout))) throw new Error(`unexpected output for ${what}: ${stdout.slice(0, 200)}`);
  };
}

if (wanted("list") || wanted("memory")) {
  const dir = stateDir("list");
  writePending(dir, 3);
  const list = {
    label: "pairing list telegram --json",
    args: [BIN, "pairing", "list", "telegram", "--json"],
    env: benchEnv(dir),
    check: checkJson((out) => out.requests.length === 3, "pairing list"),
  };
  if (wanted("list")) {
    const r = compare(list, nodeBare, { count: runs(40), warmups: 5 });
    row("pairing list telegram --json (3 pending) / node -e 0", r.a, r.b, "ms", 1.5, `${r.count} runs each`);
  }
  if (wanted("memory")) {
    const r = compareRss(list, nodeBare, runs(12));
    row(
      `peak RSS: pairing list telegram --json / node -e 0 (${TIME ? "GNU time %M" : "resourceUsage"})`,
      r.a / 1024,
      r.b / 1024,
      "MiB",
      1.3,
      `${r.count} runs each`,
    );
  }
}

/** `pairing approve telegram <code>` on a fresh fixture each run: 3 pending, `allowCount` approved. */
function approveSide(name, allowCount) {
  const dir = stateDir(name);
  const side = {
    label: `pairing approve (${allowCount} allowed)`,
    args: [],
    env: benchEnv(dir),
    prepare: () => {
      const codes = writePending(dir, 3);
      writeAllowlist(dir, allowCount);
      side.args = [BIN, "pairing", "approve", "telegram", codes[1]];
    },
  };
  return side;
}

if (wanted("approve")) {
  const r = compare(approveSide("approve", 0), nodeBare, { count: runs(30) });
  row("pairing approve telegram <code> / node -e 0", r.a, r.b, "ms", 2, `${r.count} runs each`);
}

if (wanted("devices")) {
  const big = stateDir("devices-10000");
  const small = stateDir("devices-10");
  writePairedDevices(big, 10_000);
  writePairedDevices(small, 10);
  const side = (dir, count) => ({
    label: `devices list --json (${count} paired)`,
    args: [BIN, "devices", "list", "--json"],
    env: benchEnv(dir),
    check: checkJson((out) => out.paired.length === count, `devices list (${count})`),
  });
  try {
    const r = compare(side(big, 10_000), side(small, 10), { count: runs(20) });
    row("devices list --json: 10 000 paired / 10 paired", r.a, r.b, "ms", 2, `${r.count} runs each`);
    // The floor under that figure: bare Node doing only the unavoidable part (read, parse, print).
    const bare = {
      label: "bare node: read, parse, print 10 000 devices",
      args: ["-e", FLOOR_DEVICES, path.join(big, "devices", "paired.json")],
      env: benchEnv(),
    };
    const f = compare(bare, nodeBare, { count: runs(16), warmups: 2 });
    reference(
      "  floor: 10 paired + bare Node's read/parse/print of the 10 000",
      r.b + f.a - f.b,
      r.b,
      "ms",
      floorNote(f),
    );
  } catch (error) {
    row("devices list --json: 10 000 paired / 10 paired", NaN, NaN, "ms", 2, `error: ${error.message}`);
  }
}

if (wanted("allowlist")) {
  const empty = approveSide("allow-0", 0);
  const r = compare(approveSide("allow-100000", 100_000), empty, { count: runs(20), warmups: 2 });
  row("pairing approve: allowlist of 100 000 / empty", r.a, r.b, "ms", 1.5, `${r.count} runs each`);
  const dir = stateDir("allow-floor");
  writeAllowlist(dir, 100_000);
  const bare = {
    label: "bare node: parse and rewrite 100 000 senders",
    args: ["-e", FLOOR_ALLOWLIST, path.join(dir, "credentials", "telegram-allowFrom.json")],
    env: benchEnv(),
  };
  const f = compare(bare, nodeBare, { count: runs(16), warmups: 2 });
  reference(
    "  floor: empty + bare Node's parse/rewrite/fsync of the 100 000",
    r.b + f.a - f.b,
    r.b,
    "ms",
    floorNote(f),
  );
}

if (wanted("concurrent")) {
  const dir = stateDir("concurrent");
  const env = benchEnv(dir);
  const devices = Array.from({ length: 24 }, (_, i) => `bench-device-${String(i).padStart(2, "0")}`);
  const argvs = devices.map((id) => [
    BIN,
    "devices",
    "request",
    "--device-id",
    id,
    "--public-key",
    b64url(32),
    "--role",
    "node",
    "--json",
  ]);
  const pendingFile = path.join(dir, "devices", "pending.json");
  const round = async (simultaneous) => {
    fs.rmSync(path.join(dir, "devices"), { recursive: true, force: true });
    const { ms, results } = await runBatch(argvs, env, simultaneous);
    const failed = results.filter((result) => result.code !== 0);
    if (failed.length > 0)
      throw new Error(`${failed.length} devices request failed: ${failed[0].stderr.trim().slice(0, 300)}`);
    const pending = JSON.parse(fs.readFileSync(pendingFile, "utf8"));
    const kept = new Set(Object.values(pending).map((request) => request.deviceId));
    return { ms, kept: devices.filter((id) => kept.has(id)).length };
  };
  try {
    await round(true);
    await round(false);
    const times = { simultaneous: [], sequential: [] };
    let minKept = 24;
    // Rounds pair a simultaneous and a sequential batch; a batch is 24 processes on a shared
    // machine, so single rounds scatter widely and it takes several for a stable median.
    const count = runsOverride !== undefined ? Math.max(1, Math.ceil(runsOverride / 4)) : 9;
    for (let i = 0; i < count; i++) {
      const order = i % 2 === 0 ? [true, false] : [false, true];
      for (const simultaneous of order) {
        const { ms, kept } = await round(simultaneous);
        (simultaneous ? times.simultaneous : times.sequential).push(ms);
        minKept = Math.min(minKept, kept);
      }
    }
    row(
      "24 devices request: simultaneous / one after another",
      median(times.simultaneous),
      median(times.sequential),
      "ms",
      1,
      `${count} rounds; kept ${minKept}/24 (fewest of any round)`,
    );
    rows.at(-1).lost = minKept < 24;
  } catch (error) {
    row("24 devices request: simultaneous / one after another", NaN, NaN, "ms", 1, `error: ${error.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The table

const fmt = (value, unit) => (Number.isFinite(value) ? `${value.toFixed(1)} ${unit}` : "—");
const lines = rows.map((r) => {
  const ratio = r.a / r.b;
  const shown = Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "—";
  if (r.target === undefined) return [r.figure, fmt(r.a, r.unit), fmt(r.b, r.unit), shown, "", "(ref)", r.extra];
  const pass = Number.isFinite(ratio) && ratio <= r.target && !r.lost;
  return [r.figure, fmt(r.a, r.unit), fmt(r.b, r.unit), shown, `≤ ${r.target}×`, pass ? "ok" : "FAIL", r.extra];
});
const header = ["figure (A / B)", "median A", "median B", "ratio", "target", "result", ""];
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i].length)));
const format = (cells) =>
  cells
    .map((cell, i) => cell.padEnd(widths[i]))
    .join("  ")
    .trimEnd();
const cpus = os.cpus();
const load = (values) => values.map((value) => value.toFixed(1)).join(" ");
console.log(
  `moltbot bench: Node ${process.version}, ${cpus.length} × ${cpus[0]?.model.trim() ?? "cpu"}, load average ${load(LOAD_BEFORE)} → ` +
    `${load(os.loadavg())}; NODE_EXTRA_CA_CERTS unset on both sides; medians of interleaved whole-process runs`,
);
console.log(format(header));
for (const line of lines) console.log(format(line));
const failures = lines.filter((line) => line[5] === "FAIL").length;
console.log(failures === 0 ? "All targets met." : `FAIL: ${failures} target(s) missed (see the lines marked FAIL).`);

// OpenClaw's SQLite state: its own figures under Node 24 (bench/sqlite.mjs, self-contained), after this table.
if (wanted("sqlite")) {
  const runsArgs = runsOverride !== undefined ? ["--runs", String(runsOverride)] : [];
  const sqlite = spawnSync(NODE, [path.join(ROOT, "bench", "sqlite.mjs"), ...runsArgs], { stdio: "inherit" });
  if (sqlite.status !== 0) console.log("FAIL: the OpenClaw SQLite figures could not be measured (see above).");
}
