#!/usr/bin/env node
// Launcher: runs the one bundled file, dist/cli.cjs. When the build left V8's compiled code for that
// exact file (dist/cli.cjs.cache, made by scripts/code-cache.mjs), V8 starts from it instead of
// parsing and compiling the whole bundle, the largest part of start-up. The cache is used only if its
// build id matches the bundle's; V8 itself refuses one made by another Node version or with other
// flags. Either way the CLI behaves the same: the cache only saves compile time.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const CLI = path.join(module.path, "..", "dist", "cli.cjs");
// Node's own CommonJS wrapper; a cache is valid only for this exact text around the bundle.
const HEAD = "(function (exports, require, module, __filename, __dirname) { ";
const TAIL = "\n})";

/** Compile and run the bundle, from the code cache when one matches. Returns its exports and script. */
function loadCli() {
  const source = fs.readFileSync(CLI, "utf8");
  let cachedData;
  try {
    const cache = fs.readFileSync(`${CLI}.cache`);
    const id = /\/\/moltbot-build:([0-9a-f]{16})\n$/.exec(source.slice(-40));
    if (id && cache.toString("latin1", 0, 16) === id[1]) cachedData = cache.subarray(16);
  } catch {
    // No cache: compile from source.
  }
  const { Script } = require("node:vm");
  const script = new Script(HEAD + source + TAIL, { filename: CLI, cachedData });
  const cli = { exports: {} };
  script.runInThisContext()(cli.exports, require, cli, CLI, path.dirname(CLI));
  return { exports: cli.exports, script, usedCache: cachedData !== undefined && !script.cachedDataRejected };
}

if (require.main === module) loadCli().exports.main();
else module.exports = { CLI, loadCli };
