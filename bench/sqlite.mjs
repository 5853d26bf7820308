// The OpenClaw SQLite figures of `npm run bench` (bench/bench.mjs runs this file last; alone:
// `node bench/sqlite.mjs [--runs N]`). Self-contained on purpose: its own fixture, measurement and table.
//
// The state is made by the real OpenClaw 2026.9.6 (its own store functions: 3 pending telegram
// requests in state/openclaw.sqlite, its -wal and -shm left as a running gateway leaves them), from
// the test cache (scripts/test-packages.mjs installs it once). Every command runs under that
// cache's Node 24, OpenClaw's own: moltbot needs node:sqlite for this state, and OpenClaw Node 24.
//
// Figures (medians of interleaved whole-process runs, as bench.mjs measures):
//   moltbot pairing list telegram --json / node -e 0                         target ≤ 2×
//   moltbot pairing list telegram --json / openclaw pairing list telegram --json   (reference)
//   peak RSS of the same two                                                 (reference)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openclawSqlite } from "../scripts/test-packages.mjs";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const BIN = path.join(ROOT, "bin", "moltbot.js");
const DRIVE = path.join(ROOT, "test", "sqlite", "fixtures", "openclaw-drive.mjs");
const TIME = fs.existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
const runsAt = process.argv.indexOf("--runs");
const runs = (count) => (runsAt === -1 ? count : Number(process.argv[runsAt + 1]));

const cache = openclawSqlite();
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), "moltbot-bench-sqlite-"));
const stateDir = path.join(WORK, "state");
const home = path.join(WORK, "home");
fs.mkdirSync(stateDir, { mode: 0o700 });
fs.mkdirSync(home, { mode: 0o700 });
process.on("exit", () => fs.rmSync(WORK, { recursive: true, force: true }));
const env = (extra = {}) => {
  const out = { PATH: process.env.PATH, HOME: home, ...extra };
  return out;
};
// moltbot's compile cache in a cache home of the bench's own, warmed by the warm-up runs.
const CACHE_HOME = path.join(WORK, "cache");
fs.mkdirSync(CACHE_HOME, { mode: 0o700 });
const moltbotEnv = env({ MOLTBOT_STATE_DIR: stateDir, NO_COLOR: "1", XDG_CACHE_HOME: CACHE_HOME });
const openclawEnv = env({ OPENCLAW_STATE_DIR: stateDir, OPENCLAW_DIR: cache.openclaw });

const made = spawnSync(
  cache.node,
  [
    DRIVE,
    JSON.stringify(
      ["111", "222", "333"].map((id) => ({ op: "dm.request", channel: "telegram", id, meta: { username: `u${id}` } })),
    ),
  ],
  { env: openclawEnv, encoding: "utf8" },
);
if (made.status !== 0) {
  console.error(`bench: OpenClaw could not make the state: ${made.stderr.slice(-1000)}`);
  process.exit(1);
}

// The same 3 requests as January JSON, for the reference row: what the SQLite backend itself costs.
const jsonDir = path.join(WORK, "json-state");
fs.mkdirSync(path.join(jsonDir, "credentials"), { recursive: true, mode: 0o700 });
const at = new Date().toISOString();
fs.writeFileSync(
  path.join(jsonDir, "credentials", "telegram-pairing.json"),
  `${JSON.stringify({ version: 1, requests: ["111", "222", "333"].map((id, i) => ({ id, code: `ABCDEFG${i + 2}`, createdAt: at, lastSeenAt: at, meta: { username: `u${id}` } })) }, null, 2)}\n`,
  { mode: 0o600 },
);

const sides = {
  json: {
    label: "moltbot pairing list telegram --json (JSON state)",
    args: [BIN, "pairing", "list", "telegram", "--json"],
    env: env({ MOLTBOT_STATE_DIR: jsonDir, NO_COLOR: "1", XDG_CACHE_HOME: CACHE_HOME }),
  },
  moltbot: {
    label: "moltbot pairing list telegram --json",
    args: [BIN, "pairing", "list", "telegram", "--json"],
    env: moltbotEnv,
  },
  node: { label: "node -e 0", args: ["-e", "0"], env: env() },
  openclaw: {
    label: "openclaw pairing list telegram --json",
    args: [cache.openclawCli, "pairing", "list", "telegram", "--json"],
    env: openclawEnv,
  },
};

function once(side) {
  const start = process.hrtime.bigint();
  const result = spawnSync(cache.node, side.args, {
    env: side.env,
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${side.label} exited ${result.status}: ${result.stderr.slice(0, 300)}`);
  if (side !== sides.node) {
    const listed = JSON.parse(result.stdout.slice(result.stdout.indexOf("{")));
    if (listed.requests.length !== 3) throw new Error(`${side.label} listed ${listed.requests.length} requests, not 3`);
  }
  return ms;
}

function rssOnce(side) {
  const result = spawnSync(TIME, ["-f", "%M", cache.node, ...side.args], {
    env: side.env,
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  return Number(result.stderr.trim().split("\n").at(-1)) / 1024;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2
    ? sorted[(sorted.length - 1) / 2]
    : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
};

/** Interleaved runs of two sides (A B, B A, …) after warm-ups; medians. */
function compare(a, b, count, warmups, measure = once) {
  for (let i = 0; i < warmups; i++) {
    measure(a);
    measure(b);
  }
  const values = { a: [], b: [] };
  for (let i = 0; i < count; i++) {
    for (const key of i % 2 === 0 ? ["a", "b"] : ["b", "a"]) values[key].push(measure(key === "a" ? a : b));
  }
  return { a: median(values.a), b: median(values.b), count };
}

const rows = [];
const list = compare(sides.moltbot, sides.node, runs(30), 4);
rows.push([
  "pairing list telegram --json (OpenClaw SQLite state) / node -e 0",
  list.a,
  list.b,
  "ms",
  2,
  `${list.count} runs each`,
]);
const backend = compare(sides.moltbot, sides.json, runs(30), 2);
rows.push([
  "  same on a JSON state (3 requests): SQLite state / JSON state",
  backend.a,
  backend.b,
  "ms",
  undefined,
  `${backend.count} runs each; what the SQLite backend itself adds`,
]);
const vsOpenclaw = compare(sides.moltbot, sides.openclaw, runs(8), 1);
rows.push([
  "pairing list telegram --json: moltbot / openclaw, same state",
  vsOpenclaw.a,
  vsOpenclaw.b,
  "ms",
  undefined,
  `${vsOpenclaw.count} runs each`,
]);
if (TIME) {
  const rss = compare(sides.moltbot, sides.openclaw, runs(4), 0, rssOnce);
  rows.push([
    "peak RSS: moltbot / openclaw pairing list, same state",
    rss.a,
    rss.b,
    "MiB",
    undefined,
    `${rss.count} runs each (GNU time %M)`,
  ]);
}

const fmt = (value, unit) => (Number.isFinite(value) ? `${value.toFixed(1)} ${unit}` : "—");
const lines = rows.map(([figure, a, b, unit, target, extra]) => {
  const ratio = a / b;
  return [
    figure,
    fmt(a, unit),
    fmt(b, unit),
    `${ratio.toFixed(2)}×`,
    target === undefined ? "" : `≤ ${target}×`,
    target === undefined ? "(ref)" : ratio <= target ? "ok" : "FAIL",
    extra,
  ];
});
const header = ["OpenClaw SQLite figure (A / B)", "median A", "median B", "ratio", "target", "result", ""];
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i].length)));
const format = (cells) =>
  cells
    .map((cell, i) => cell.padEnd(widths[i]))
    .join("  ")
    .trimEnd();
console.log(
  `moltbot bench (SQLite): Node ${cache.nodeVersion} (OpenClaw's), OpenClaw ${cache.openclawVersion}; load average ${os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(" ")}`,
);
console.log(format(header));
for (const line of lines) console.log(format(line));
// --check (bench.mjs passes it on): a missed target is exit 1.
if (process.argv.includes("--check") && lines.some((line) => line[5] === "FAIL")) process.exitCode = 1;
