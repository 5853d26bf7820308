#!/usr/bin/env node
// Launcher: runs the one bundled file, dist/cli.cjs, compiled from a cache of V8's code when one can
// be trusted, which skips most of parsing and compiling the bundle (the largest part of start-up).
//
// The cache lives in a per-user directory, $XDG_CACHE_HOME/moltbot or ~/.cache/moltbot, never in
// the package: an install is often not writable by its user, and a cache there would be code that
// whoever can write the package directory gets the next user to run. A cache is code V8 runs, so
// it is used only from a directory that is this user's and writable by nobody else, inside a cache
// directory that is also this user's and writable by nobody else; anything else means no cache.
// Either way the CLI behaves the same: the cache only saves compile time.
//
// Node >= 22.1 keeps its own compile cache there (module.enableCompileCache). Older Node gets the
// hand-made cache below, marked for removal.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const process = require("node:process");

const CLI = path.join(module.path, "..", "dist", "cli.cjs");

/** Ours, and nobody else may write to it. */
const isPrivate = (stat, uid) => stat.uid === uid && (stat.mode & 0o022) === 0;

/**
 * Throws unless `dir` is a directory that is ours and writable by nobody else (with `follow`, the one
 * a symbolic link points to; without, not a link). Made (0700) when absent, only inside a directory
 * of ours: root running with another user's HOME must not leave a root-owned ~/.cache there.
 */
function privateDir(dir, uid, follow) {
  const stat = follow ? fs.statSync : fs.lstatSync;
  let found;
  try {
    found = stat(dir);
  } catch (error) {
    if (error.code !== "ENOENT" || fs.statSync(path.dirname(dir)).uid !== uid) throw error;
    fs.mkdirSync(dir, { mode: 0o700 });
    found = stat(dir);
  }
  if (!found.isDirectory() || !isPrivate(found, uid)) throw new Error(`${dir} is not a private directory`);
}

/**
 * The per-user cache directory (`$XDG_CACHE_HOME/moltbot`, else `$HOME/.cache/moltbot`), made if
 * absent; undefined when it, or the cache directory it is in, is not ours alone, or on a system
 * without user ids.
 */
function cacheDir(env = process.env) {
  const uid = process.geteuid?.();
  if (uid === undefined) return undefined;
  // XDG: a relative XDG_CACHE_HOME is invalid and ignored.
  const xdg = env.XDG_CACHE_HOME;
  const base =
    xdg && path.isAbsolute(xdg) ? xdg : env.HOME && path.isAbsolute(env.HOME) ? path.join(env.HOME, ".cache") : "";
  if (base === "") return undefined;
  const dir = path.join(base, "moltbot");
  try {
    privateDir(base, uid, true); // ~/.cache may be a link (to another disk, a tmpfs).
    privateDir(dir, uid, false);
    return dir;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// Node < 22.1 only: the hand-made V8 code cache. REMOVE this section, and its branch at the end, when
// package.json's "engines" requires Node >= 22.1 (module.enableCompileCache then always exists).
//
// The cache file is `cli-<build id>-<Node version>-<arch>.v8` in the cache directory: a header line
// `moltbot-v8 <build id> <commands>` (the commands whose code it holds, e.g. `pairing list,pairing
// approve`), then V8's data. A command not yet in it is compiled as usual and written in at exit, so a
// user's cache grows to cover what they run. V8 itself refuses data from another V8 or other flags.

// Node's own CommonJS wrapper; a cache is valid only for this exact text around the bundle.
const HEAD = "(function (exports, require, module, __filename, __dirname) { ";
const TAIL = "\n})";
const MAGIC = "moltbot-v8 ";
const KEEP_FILES = 8;
const MAX_COMMANDS = 24;

/** The command a cache entry is for: its first two plain words (`pairing list`), options skipped. */
function commandOf(argv) {
  return argv
    .filter((arg) => /^[a-z][a-z-]{0,19}$/.test(arg))
    .slice(0, 2)
    .join(" ");
}

/** The file's bytes, only when it is a regular file that is ours and writable by nobody else. */
function readPrivateFile(file, uid) {
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    const stat = fs.fstatSync(fd);
    return stat.isFile() && isPrivate(stat, uid) ? fs.readFileSync(fd) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Parse a cache file: its commands and V8's data, when it is one for build `id`. */
function parseCache(bytes, id) {
  const end = bytes?.indexOf(0x0a) ?? -1;
  if (end < 0 || end > 1024) return undefined;
  const head = bytes.toString("latin1", 0, end);
  if (!head.startsWith(`${MAGIC}${id} `)) return undefined;
  return { commands: head.slice(MAGIC.length + id.length + 1).split(","), data: bytes.subarray(end + 1) };
}

/** Write the cache (0600, temp file then rename), then drop all but the newest few cache files. */
function writeCache(dir, file, id, commands, data) {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  try {
    const fd = fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      fs.writeSync(fd, `${MAGIC}${id} ${commands.join(",")}\n`, null, "latin1");
      fs.writeSync(fd, data);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
    const caches = fs
      .readdirSync(dir)
      .filter((name) => /^cli-[0-9a-f]{16}-.+\.v8$/.test(name))
      .map((name) => ({ name, at: fs.statSync(path.join(dir, name)).mtimeMs }))
      .sort((a, b) => b.at - a.at);
    for (const { name } of caches.slice(KEEP_FILES)) fs.rmSync(path.join(dir, name), { force: true });
  } catch {
    fs.rmSync(temp, { force: true }); // A cache we cannot write is one we do without.
  }
}

/**
 * Compile and run the bundle (not yet its main()), from the user's cache when it holds this build.
 * `save()` writes the cache when this run compiled code it did not hold; the launcher calls it at exit.
 */
function loadCli({ env = process.env, argv = process.argv.slice(2) } = {}) {
  const source = fs.readFileSync(CLI, "utf8");
  const id = /\/\/moltbot-build:([0-9a-f]{16})\n$/.exec(source.slice(-40))?.[1];
  const dir = id === undefined ? undefined : cacheDir(env);
  const file = dir && path.join(dir, `cli-${id}-${process.version}-${process.arch}.v8`);
  const cache = file && parseCache(readPrivateFile(file, process.geteuid()), id);
  const { Script } = require("node:vm");
  const script = new Script(HEAD + source + TAIL, { filename: CLI, cachedData: cache?.data });
  const cli = { exports: {} };
  script.runInThisContext()(cli.exports, require, cli, CLI, path.dirname(CLI));
  const usedCache = cache !== undefined && script.cachedDataRejected !== true;
  const command = commandOf(argv);
  const commands = usedCache ? cache.commands : [];
  const save =
    file && !commands.includes(command) && commands.length < MAX_COMMANDS
      ? () => writeCache(dir, file, id, [...commands, command], script.createCachedData())
      : undefined;
  return { exports: cli.exports, usedCache, save };
}
// ---------------------------------------------------------------------------------------------------

if (require.main === module) {
  const { enableCompileCache } = require("node:module");
  if (typeof enableCompileCache === "function") {
    // Node >= 22.1. A NODE_COMPILE_CACHE the user set has already enabled theirs; this is then a no-op.
    const dir = cacheDir();
    if (dir !== undefined) enableCompileCache(path.join(dir, "node-compile-cache"));
    require(CLI).main();
  } else {
    const cli = loadCli();
    if (cli.save) process.once("exit", cli.save);
    cli.exports.main();
  }
} else {
  module.exports = { CLI, cacheDir, loadCli };
}
