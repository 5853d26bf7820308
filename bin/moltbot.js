#!/usr/bin/env node
// Launcher: runs the one bundled file, dist/cli.cjs. When V8's compiled code for that exact file is
// next to it (dist/cli.cjs.cache), V8 starts from it instead of parsing and compiling the bundle, the
// largest part of start-up. The build makes one by running the budgeted commands
// (scripts/code-cache.mjs); a copy installed without one writes one after its first run, if its
// directory is writable. A cache is used only when its build id matches the bundle's and it belongs
// to the bundle's owner; V8 itself refuses one made by another Node version or with other flags.
// Either way the CLI behaves the same: the cache only saves compile time.
"use strict";
const { Buffer } = require("node:buffer");
const fs = require("node:fs");
const path = require("node:path");
const process = require("node:process");

const CLI = path.join(module.path, "..", "dist", "cli.cjs");
const CACHE = `${CLI}.cache`;
// Node's own CommonJS wrapper; a cache is valid only for this exact text around the bundle.
const HEAD = "(function (exports, require, module, __filename, __dirname) { ";
const TAIL = "\n})";

function readCache(id) {
  try {
    const cache = fs.readFileSync(CACHE);
    if (cache.toString("latin1", 0, 16) !== id || fs.statSync(CACHE).uid !== fs.statSync(CLI).uid) return undefined;
    return cache.subarray(16);
  } catch {
    return undefined; // No cache: compile from source.
  }
}

/** Compile and run the bundle, from the code cache when one matches. */
function loadCli() {
  const source = fs.readFileSync(CLI, "utf8");
  const id = /\/\/moltbot-build:([0-9a-f]{16})\n$/.exec(source.slice(-40))?.[1];
  const cachedData = id === undefined ? undefined : readCache(id);
  const { Script } = require("node:vm");
  const script = new Script(HEAD + source + TAIL, { filename: CLI, cachedData });
  const cli = { exports: {} };
  script.runInThisContext()(cli.exports, require, cli, CLI, path.dirname(CLI));
  const rejected = cachedData !== undefined && script.cachedDataRejected === true;
  return { exports: cli.exports, script, id, usedCache: cachedData !== undefined && !rejected, rejected };
}

function cacheId() {
  try {
    const fd = fs.openSync(CACHE, "r");
    try {
      const head = Buffer.alloc(16);
      return fs.readSync(fd, head, 0, 16, 0) === 16 ? head.toString("latin1") : undefined;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/**
 * Write the code compiled so far as the cache of build `id` (temp file, then rename). Unless `replace`,
 * a cache of the same build that appeared meanwhile is kept: the build's own covers more commands.
 */
function saveCache(script, id, { replace = false } = {}) {
  const temp = `${CACHE}.${process.pid}.tmp`;
  try {
    if (!replace && cacheId() === id) return;
    fs.accessSync(path.dirname(CACHE), fs.constants.W_OK);
    fs.writeFileSync(temp, Buffer.concat([Buffer.from(id, "latin1"), script.createCachedData()]), { mode: 0o644 });
    fs.renameSync(temp, CACHE);
  } catch {
    fs.rmSync(temp, { force: true }); // Not ours to write (e.g. a system-wide install): run uncached.
  }
}

if (require.main === module) {
  const cli = loadCli();
  // One that V8 refused (another Node version, or damaged) is replaced; otherwise a cache of this
  // build written meanwhile (by the build itself) is kept.
  if (!cli.usedCache && cli.id !== undefined)
    process.once("exit", () => saveCache(cli.script, cli.id, { replace: cli.rejected }));
  cli.exports.main();
} else {
  module.exports = { CLI, loadCli, saveCache };
}
