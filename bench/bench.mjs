// `npm run bench` (builds first): how fast the built CLI starts and scales, as whole processes, and
// how many strangers' requests the library answers per second.
//
// Every start-up figure is a ratio of two commands measured side by side in the same run,
// interleaved (A B, B A, A B, …) so that whatever else the shared machine is doing hits both sides
// equally; the table shows the median of each side, their ratio and the target. It is a benchmark,
// not a test (nothing in `npm test` runs it): it prints FAIL on a line that misses its target, and
// with --check it also exits 1 then.
//
//   node bench/bench.mjs [figure…] [--runs N] [--check] [--gateway <clawdbot package dir>]
//     figures: list approve devices allowlist readonly flood concurrent memory sqlite (default: all);
//     shims (only when named): what each start-up shim saves, for scripts/shims/*.mjs.
//     --gateway: also flood the January gateway's own library (clawdbot@2026.1.24-3) for comparison.
//
// Method: wall time of spawnSync(node …) with NODE_EXTRA_CA_CERTS (and NODE_OPTIONS) removed from
// both sides; peak RSS from GNU time's %M (the child's ru_maxrss), or, without /usr/bin/time, from
// a preload that reports process.resourceUsage().maxRSS at exit (loaded on both sides alike).
// Fixtures are written straight in the gateway's file shapes (SPEC §3, §4) and fsynced before
// timing, so no command pays for flushing the bench's own writes. moltbot's code cache lives in a
// cache directory of the bench's own (XDG_CACHE_HOME), warmed by the warm-up runs of each figure.
import { Buffer } from "node:buffer";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const BIN = path.join(ROOT, "bin", "moltbot.js");
const NODE = process.execPath;
const FIGURES = ["list", "approve", "devices", "allowlist", "readonly", "flood", "concurrent", "memory", "sqlite"];
const EXTRA_FIGURES = ["shims"];

const cli = process.argv.slice(2);
const valueOf = (option) => {
  const at = cli.indexOf(option);
  return at === -1 ? undefined : cli[at + 1];
};
const runsOverride = valueOf("--runs") === undefined ? undefined : Number(valueOf("--runs"));
const gatewayDir = valueOf("--gateway");
const check = cli.includes("--check");
const selected = cli.filter((arg, i) => !arg.startsWith("--") && !["--runs", "--gateway"].includes(cli[i - 1]));
for (const name of selected) {
  if (!FIGURES.includes(name) && !EXTRA_FIGURES.includes(name)) {
    console.error(`bench: unknown figure "${name}"; choose from ${[...FIGURES, ...EXTRA_FIGURES].join(", ")}.`);
    process.exit(2);
  }
}
const wanted = (name) => (selected.length === 0 ? FIGURES.includes(name) : selected.includes(name));
const runs = (count) => runsOverride ?? count;

if (!fs.existsSync(path.join(ROOT, "dist", "cli.cjs"))) {
  console.error('bench: dist/cli.cjs is missing; run "npm run bench" (it builds first).');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Environment and fixtures

const LOAD_BEFORE = os.loadavg();
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), "moltbot-bench-"));
process.on("exit", () => {
  spawnSync("chmod", ["-R", "u+w", WORK]); // The read-only install.
  fs.rmSync(WORK, { recursive: true, force: true });
});
const CACHE_HOME = path.join(WORK, "cache");

/** The same clean environment for both sides of every comparison. */
function benchEnv(stateDir) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(MOLTBOT_|CLAWDBOT_)/.test(key)) delete env[key];
  }
  for (const key of ["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS", "FORCE_COLOR", "NODE_COMPILE_CACHE"]) delete env[key];
  env.XDG_CACHE_HOME = CACHE_HOME;
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
    child = spawnSync(NODE, side.args, { env: side.env, stdio: ["ignore", out, "pipe"], ...side.user });
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
/** A figure with a target: the ratio A / B must be at most `target`. */
const row = (figure, a, b, unit, target, extra = "") => rows.push({ figure, a, b, unit, target, extra });
/** Not a target: shown for what it explains. */
const reference = (figure, a, b, unit, extra) => rows.push({ figure, a, b, unit, target: undefined, extra });
/** A rate with a target: `value` (per second) must be at least `target`; `ok` false fails it anyway. */
const rate = (figure, value, target, extra, ok = true) => rows.push({ figure, value, target, extra, ok });
const floorNote = (f, small) =>
  `floor = B of the row below + bare work ${f.a.toFixed(1)} − the same on ${small} ${f.b.toFixed(1)} ms`;

// The floor of a data-size figure: bare Node doing the same data work with the plainest code, checked
// to leave the same bytes (bench/floors/*.cjs). The first floors, kept as reference rows, did less:
// they printed devices as stored (token secrets included, no fingerprints) and appended to the
// allowlist without reading its entries or digesting the file; moltbot may do neither since then.
const FLOOR_DIR = path.join(ROOT, "bench", "floors");
const FIRST_FLOOR_DEVICES =
  'const fs=require("fs");const paired=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));' +
  'fs.writeSync(1,JSON.stringify({pending:[],paired:Object.values(paired)},null,2)+"\\n")';
const FIRST_FLOOR_ALLOWLIST =
  'const fs=require("fs");const f=process.argv[1];const s=JSON.parse(fs.readFileSync(f,"utf8"));s.allowFrom.push("1");' +
  'const t=f+".tmp";const fd=fs.openSync(t,"w",0o600);fs.writeSync(fd,JSON.stringify(s,null,2)+"\\n");fs.fsyncSync(fd);fs.closeSync(fd);' +
  "fs.renameSync(t,f)";

function checkJson(predicate, what) {
  return (stdout) => {
    if (!predicate(JSON.parse(stdout))) throw new Error(`unexpected output for ${what}: ${stdout.slice(0, 200)}`);
  };
}

/** `pairing list telegram --json` on 3 pending requests, through the launcher `bin`. */
function listSide(dir, bin = BIN, extra = {}) {
  return {
    label: "pairing list telegram --json",
    args: [bin, "pairing", "list", "telegram", "--json"],
    env: benchEnv(dir),
    check: checkJson((out) => out.requests.length === 3, "pairing list"),
    ...extra,
  };
}

if (wanted("list") || wanted("memory")) {
  const dir = stateDir("list");
  writePending(dir, 3);
  const list = listSide(dir);
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
function approveSide(name, allowCount, bin = BIN) {
  const dir = stateDir(name);
  const side = {
    label: `pairing approve (${allowCount} allowed)`,
    args: [],
    env: benchEnv(dir),
    prepare: () => {
      const codes = writePending(dir, 3);
      writeAllowlist(dir, allowCount);
      side.args = [bin, "pairing", "approve", "telegram", codes[1]];
    },
  };
  return side;
}

if (wanted("approve")) {
  const r = compare(approveSide("approve", 0), nodeBare, { count: runs(30) });
  row("pairing approve telegram <code> / node -e 0", r.a, r.b, "ms", 2, `${r.count} runs each`);
}

/**
 * A data-size figure against its floor: the same command on little data (B), plus only the data
 * work bare Node needs for the big data: the floor program on the big data minus the same program
 * on the little data, so that costs which do not grow with the data (loading node:crypto, creating
 * and fsyncing a file) are counted once, in B. The floor is the best the command could do; the
 * target is to stay within 10 % of it. `first` is the figure's first floor, shown for reference
 * (see FLOOR_DIR), minus `node -e 0` as it was then.
 */
function againstFloor(name, { big, small, bare, bareSmall, first, count }) {
  try {
    bare.sameAs();
  } catch (error) {
    row(`${name} / its floor`, NaN, NaN, "ms", 1.1, `error: ${error.message}`);
    return;
  }
  const r = compare(big, small, { count: runs(count), warmups: 2 });
  const f = compare(bare, bareSmall, { count: runs(16), warmups: 2 });
  const g = compare(first, nodeBare, { count: runs(16), warmups: 2 });
  const floor = r.b + f.a - f.b;
  row(`${name} / its floor`, r.a, floor, "ms", 1.1, floorNote(f, small.label));
  reference(`  ${big.label} / ${small.label}`, r.a, r.b, "ms", `${r.count} runs each; floor work ${f.count} runs`);
  reference(`  ${name} / its first floor`, r.a, r.b + g.a - g.b, "ms", `${first.label}; ${g.count} runs`);
}

/** Throws unless two outputs of the same data work are byte for byte the same. */
function sameBytes(what, ours, floor) {
  if (!Buffer.from(ours).equals(Buffer.from(floor))) {
    throw new Error(`the floor program does not leave the bytes the command leaves (${what})`);
  }
}

if (wanted("devices")) {
  const bigDir = stateDir("devices-10000");
  const smallDir = stateDir("devices-10");
  writePairedDevices(bigDir, 10_000);
  writePairedDevices(smallDir, 10);
  const side = (dir, count) => ({
    label: `${count.toLocaleString("en-US").replace(",", " ")} paired`,
    args: [BIN, "devices", "list", "--json"],
    env: benchEnv(dir),
    check: checkJson((out) => out.paired.length === count, `devices list (${count})`),
  });
  const paired = (dir) => path.join(dir, "devices", "paired.json");
  const big = side(bigDir, 10_000);
  const small = side(smallDir, 10);
  const floorProgram = (dir) => ({
    label: "bare node: the same listing",
    args: [path.join(FLOOR_DIR, "devices.cjs"), paired(dir)],
    env: benchEnv(),
  });
  const bareSmall = floorProgram(smallDir);
  const bare = {
    ...floorProgram(bigDir),
    sameAs: () => {
      sameBytes("devices list --json, 10 000", timeOnce(big).stdout(), timeOnce(bare).stdout());
      sameBytes("devices list --json, 10", timeOnce(small).stdout(), timeOnce(bareSmall).stdout());
    },
  };
  const first = {
    label: "first floor: print the devices as stored",
    args: ["-e", FIRST_FLOOR_DEVICES, paired(bigDir)],
    env: benchEnv(),
  };
  againstFloor("devices list --json, 10 000 paired", { big, small, bare, bareSmall, first, count: 20 });
}

if (wanted("allowlist")) {
  // approveSide's prepare() sets the args of the object it made: relabel that object, not a copy.
  const big = Object.assign(approveSide("allow-100000", 100_000), { label: "allowlist of 100 000" });
  const empty = Object.assign(approveSide("allow-0", 0), { label: "empty" });
  const allowlist = (stateDir) => path.join(stateDir, "credentials", "telegram-allowFrom.json");
  // writePending(…, 3) gives its requests the ids 700000000…2, and approveSide approves the second.
  const floorProgram = (name, count) => {
    const dir = stateDir(name);
    return {
      dir,
      label: "bare node: the same approval",
      args: [path.join(FLOOR_DIR, "allowlist.cjs"), allowlist(dir), "700000001"],
      env: benchEnv(),
      prepare: () => writeAllowlist(dir, count),
    };
  };
  const bareSmall = floorProgram("allow-floor-empty", 0);
  /** The allowlist `ours` leaves and the one the floor program `floor` leaves are the same bytes. */
  const leaveSame = (ours, floor) => {
    timeOnce(ours);
    timeOnce(floor);
    sameBytes(
      `the allowlist after approve (${ours.label})`,
      fs.readFileSync(allowlist(ours.env.MOLTBOT_STATE_DIR)),
      fs.readFileSync(allowlist(floor.dir)),
    );
  };
  /** The floor program reads the entries as the gateway does: a sender listed in another spelling is not appended. */
  const readsEntries = (floor) => {
    writeStore(allowlist(floor.dir), { version: 1, allowFrom: ["1", " tg:700000001"] });
    const before = fs.readFileSync(allowlist(floor.dir));
    const run = spawnSync(NODE, floor.args, { env: floor.env });
    if (run.status !== 1 || !fs.readFileSync(allowlist(floor.dir)).equals(before)) {
      throw new Error("the floor program appends a sender the allowlist already names");
    }
  };
  const bare = {
    ...floorProgram("allow-floor", 100_000),
    sameAs: () => {
      leaveSame(big, bare);
      leaveSame(empty, bareSmall);
      readsEntries(bareSmall);
    },
  };
  const first = {
    label: "first floor: parse, append, rewrite",
    args: ["-e", FIRST_FLOOR_ALLOWLIST, allowlist(bare.dir)],
    env: benchEnv(),
    prepare: () => writeAllowlist(bare.dir, 100_000),
  };
  againstFloor("pairing approve, allowlist of 100 000", { big, small: empty, bare, bareSmall, first, count: 20 });
}

/** `npm pack`, then `npm install -g` of the tarball into `prefix`, offline. */
function installTarball(prefix) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  const npm = (args) => {
    const run = spawnSync(
      "npm",
      [...args, "--cache", path.join(WORK, "npm-cache"), "--offline", "--no-audit", "--no-fund", "--loglevel", "error"],
      { cwd: WORK, env: { ...env, NODE_EXTRA_CA_CERTS: "" }, encoding: "utf8" },
    );
    if (run.status !== 0) throw new Error(`npm ${args[0]} failed: ${run.stderr.trim().slice(0, 300)}`);
    return run.stdout;
  };
  const [{ filename }] = JSON.parse(npm(["pack", "--json", "--ignore-scripts", "--pack-destination", WORK, ROOT]));
  npm(["install", "--global", "--prefix", prefix, path.join(WORK, filename)]);
  return path.join(prefix, "lib", "node_modules", "moltbot-pairing", "bin", "moltbot.js");
}

if (wanted("readonly")) {
  // The packed tarball installed read-only (chmod -R a-w), run by a user who cannot write it: as
  // root, both sides run as nobody (root writes anywhere); otherwise as this user. Its code cache
  // is then the user's own (HOME/.cache/moltbot), made by the warm-up runs.
  try {
    fs.chmodSync(WORK, 0o755);
    const bin = installTarball(path.join(WORK, "prefix"));
    spawnSync("chmod", ["-R", "a-w", path.join(WORK, "prefix")]);
    const home = path.join(WORK, "home-readonly");
    const dir = path.join(home, "state");
    writePending(dir, 3);
    const asRoot = process.getuid?.() === 0;
    const user = asRoot ? { uid: 65534, gid: 65534 } : {};
    if (asRoot) spawnSync("chown", ["-R", "65534:65534", home]);
    const env = { ...benchEnv(dir), HOME: home };
    delete env.XDG_CACHE_HOME;
    const list = listSide(dir, bin, { env, user });
    const bare = { ...nodeBare, env, user };
    const r = compare(list, bare, { count: runs(40), warmups: 5 });
    const cached = fs.existsSync(path.join(home, ".cache", "moltbot"));
    row(
      `read-only install, ${asRoot ? "as nobody" : "as this user"}: pairing list / node -e 0`,
      r.a,
      r.b,
      "ms",
      1.5,
      `${r.count} runs each; ${cached ? "cache in ~/.cache/moltbot" : "NO CACHE MADE"}`,
    );
  } catch (error) {
    row("read-only install: pairing list / node -e 0", NaN, NaN, "ms", 1.5, `error: ${error.message}`);
  }
}

if (wanted("flood")) {
  // 2 000 distinct strangers on one channel through the library, in one process: the first 3 are
  // stored, every other is told "capped". Each round on a fresh state directory; rounds of the two
  // modes interleaved; the median round. The check is part of the figure: anything else fails it.
  const SENDERS = 2000;
  const flood = (kind, library, parallel) => {
    const dir = fs.mkdtempSync(path.join(WORK, "flood-"));
    const run = spawnSync(
      NODE,
      [path.join(ROOT, "bench", "flood.mjs"), kind, library, dir, String(SENDERS), String(parallel)],
      {
        env: benchEnv(),
        encoding: "utf8",
        timeout: 300_000,
      },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    if (run.status !== 0)
      throw new Error(`flood (${kind}) exited ${run.status ?? run.signal}: ${run.stderr.trim().slice(0, 300)}`);
    const out = JSON.parse(run.stdout);
    const correct =
      out.counts.created === 3 && out.counts.capped === SENDERS - 3 && out.stored === 3 && out.storedAreCreated;
    return { ...out, correct };
  };
  const floodRows = (kind, library, name, rounds, target) => {
    const results = { 1: [], 50: [] };
    for (let i = 0; i < rounds; i++) {
      for (const parallel of i % 2 === 0 ? [1, 50] : [50, 1]) results[parallel].push(flood(kind, library, parallel));
    }
    for (const parallel of [1, 50]) {
      const perSecond = median(results[parallel].map((r) => (SENDERS * 1000) / r.ms));
      const wrong = results[parallel].find((r) => !r.correct);
      const answered = wrong
        ? `WRONG: ${JSON.stringify(wrong.counts)}, ${wrong.stored} stored`
        : "3 stored, 1 997 capped";
      const figure = `${name}: ${SENDERS} strangers, ${parallel === 1 ? "one after another" : "50 at once"}`;
      rate(figure, perSecond, parallel === 1 ? target : undefined, `${rounds} rounds; ${answered}`, !wrong);
    }
  };
  try {
    floodRows("moltbot", path.join(ROOT, "dist", "index.js"), "library requestDmPairing", runs(5), 15_000);
  } catch (error) {
    rate("library requestDmPairing: 2000 strangers", NaN, 15_000, `error: ${error.message}`, false);
  }
  if (gatewayDir !== undefined) {
    try {
      const store = path.join(gatewayDir, "dist", "pairing", "pairing-store.js");
      floodRows("clawdbot", store, "January gateway's upsertChannelPairingRequest", runs(3), undefined);
    } catch (error) {
      rate("January gateway's upsertChannelPairingRequest", NaN, undefined, `error: ${error.message}`);
    }
  }
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

if (wanted("shims")) {
  // What each start-up shim saves: the CLI bundle built without it against the bundle with all of
  // them, on the command it speeds up (the number recorded in scripts/shims/<name>.mjs).
  const { build } = await import("esbuild");
  const { SHIMS, buildWithShims } = await import("../scripts/shims/index.mjs");
  const bundle = async (shims, name) => {
    const dir = path.join(WORK, `shims-${name}`);
    fs.cpSync(path.join(ROOT, "bin"), path.join(dir, "bin"), { recursive: true });
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    const options = {
      absWorkingDir: ROOT,
      entryPoints: ["src/cli/entry.ts"],
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      minify: true,
      legalComments: "none",
      define: { __MOLTBOT_VERSION__: JSON.stringify(version) },
      logLevel: "silent",
      write: false,
    };
    const result = shims.length === 0 ? await build(options) : await buildWithShims(options, { root: ROOT, shims });
    const code = Buffer.from(result.outputFiles[0].contents).toString("utf8");
    const id = createHash("sha256").update(code).digest("hex").slice(0, 16);
    fs.mkdirSync(path.join(dir, "dist"));
    fs.writeFileSync(path.join(dir, "dist", "cli.cjs"), `${code}//moltbot-build:${id}\n`);
    return path.join(dir, "bin", "moltbot.js");
  };
  const all = await bundle(SHIMS, "all");
  const listDir = stateDir("shims-list");
  writePending(listDir, 3);
  for (const shim of SHIMS.filter((s) => s.measure !== undefined)) {
    const without = await bundle(
      SHIMS.filter((s) => s !== shim),
      shim.name,
    );
    const side = (bin) =>
      shim.measure === "approve"
        ? approveSide(`shims-${shim.name}-${bin === all ? "all" : "without"}`, 0, bin)
        : listSide(listDir, bin);
    const r = compare(side(without), side(all), { count: runs(40), warmups: 5 });
    reference(
      `shim ${shim.name}: without it / with all (${shim.measure === "approve" ? "pairing approve" : "pairing list"})`,
      r.a,
      r.b,
      "ms",
      `saves ${(r.a - r.b).toFixed(1)} ms; ${r.count} runs each`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The table

const fmt = (value, unit) => (Number.isFinite(value) ? `${value.toFixed(1)} ${unit}` : "—");
const perSecond = (value) => (Number.isFinite(value) ? `${Math.round(value).toLocaleString("en-US")}/s` : "—");
const lines = rows.map((r) => {
  if (r.value !== undefined) {
    const pass = r.ok && (r.target === undefined || r.value >= r.target);
    const target = r.target === undefined ? "" : `≥ ${r.target.toLocaleString("en-US")}/s`;
    const result = r.target === undefined && r.ok ? "(ref)" : pass ? "ok" : "FAIL";
    return [r.figure, perSecond(r.value), "", "", target, result, r.extra];
  }
  const ratio = r.a / r.b;
  const shown = Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "—";
  if (r.target === undefined) return [r.figure, fmt(r.a, r.unit), fmt(r.b, r.unit), shown, "", "(ref)", r.extra];
  const pass = Number.isFinite(ratio) && ratio <= r.target && !r.lost;
  return [r.figure, fmt(r.a, r.unit), fmt(r.b, r.unit), shown, `≤ ${r.target}×`, pass ? "ok" : "FAIL", r.extra];
});
const header = ["figure (A / B)", "A", "B", "ratio", "target", "result", ""];
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
if (check && failures > 0) process.exitCode = 1;

// OpenClaw's SQLite state: its own figures under Node 24 (bench/sqlite.mjs, self-contained), after this table.
if (wanted("sqlite")) {
  const args = [...(runsOverride !== undefined ? ["--runs", String(runsOverride)] : []), ...(check ? ["--check"] : [])];
  const sqlite = spawnSync(NODE, [path.join(ROOT, "bench", "sqlite.mjs"), ...args], { stdio: "inherit" });
  if (sqlite.status !== 0) {
    if (sqlite.status !== 1 || !check)
      console.log("FAIL: the OpenClaw SQLite figures could not be measured (see above).");
    process.exitCode = 1;
  }
}
