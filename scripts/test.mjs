// `npm test`'s test step: the whole suite in two vitest runs, so one command still runs everything.
//
// 1. everything but test/sqlite/, under this Node (the project's floor, Node 20 on CI);
// 2. test/sqlite/ (OpenClaw's SQLite store: node:sqlite, and the real OpenClaw 2026.9.6) under the
//    Node 24 from the test cache (scripts/test-packages.mjs installs it from the registry
//    the first time; if that fails, this run fails: those tests are never skipped).
//
// Arguments go to both runs. A JSON report (`--outputFile.json=<file>`, as .ci/run asks) is written
// by the first run to <file> and by the second to <file>.node24.json. `--only=node20|node24` runs one.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { openclawSqlite } from "./test-packages.mjs";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const vitest = path.join(root, "node_modules", "vitest", "vitest.mjs");

let only;
const args = [];
for (const arg of process.argv.slice(2)) {
  if (arg.startsWith("--only=")) only = arg.slice("--only=".length);
  else args.push(arg);
}
// A filter that matches files of one run only must not fail the other for having none.
const filtered = args.some((arg) => !arg.startsWith("-"));
const extra = filtered ? ["--passWithNoTests"] : [];

function forNode24(list) {
  const out = [];
  for (let i = 0; i < list.length; i++) {
    const arg = list[i];
    if (arg.startsWith("--outputFile.json=")) out.push(`${arg}.node24.json`);
    else if (arg === "--outputFile.json" && i + 1 < list.length) out.push(arg, `${list[++i]}.node24.json`);
    else out.push(arg);
  }
  return out;
}

function run(node, runArgs) {
  const result = spawnSync(node, [vitest, "run", ...runArgs], { cwd: root, stdio: "inherit" });
  return result.status ?? 1;
}

let status = 0;
if (only === undefined || only === "node20") {
  status = run(process.execPath, [...args, ...extra]) || status;
}
if (only === undefined || only === "node24") {
  let cache;
  try {
    cache = openclawSqlite();
  } catch (error) {
    console.error(`\nmoltbot tests: FAILED to prepare the SQLite/OpenClaw tests: ${error.message}`);
    process.exit(1);
  }
  console.log(`\nmoltbot tests: test/sqlite/ under Node ${cache.nodeVersion} (OpenClaw ${cache.openclawVersion})`);
  status = run(cache.node, ["--config", "vitest.sqlite.config.ts", ...forNode24(args), ...extra]) || status;
}
process.exit(status);
