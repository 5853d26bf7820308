import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import nodeModule from "node:module";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, cliEnv, listTree, tempDir } from "../helpers.js";

/*
 * bin/moltbot.js starts the bundle from a per-user cache of V8's compiled code ($XDG_CACHE_HOME/moltbot
 * or ~/.cache/moltbot): Node's own compile cache on Node >= 22.1, its hand-made one before. The cache
 * only saves compile time: whatever it holds, a command's output is the same, nothing is ever written
 * next to the package, and a cache another account could have written is never used (it is code V8
 * runs). The tests run whichever branch the Node running them takes.
 */

const NODE_COMPILE_CACHE = "enableCompileCache" in nodeModule;
const AS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534;
const LIST = ["pairing", "list", "telegram", "--json"];
const EMPTY_LIST = '{\n  "channel": "telegram",\n  "requests": []\n}\n';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run `node args…`, as `nobody` through setpriv when `asNobody` (root only). */
function node(args: string[], env: NodeJS.ProcessEnv, asNobody = false): Run {
  const [file, argv] = asNobody
    ? ["setpriv", ["--reuid", String(NOBODY), "--regid", String(NOBODY), "--clear-groups", process.execPath, ...args]]
    : [process.execPath, args];
  const result = spawnSync(file, argv, { env, encoding: "utf8", timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function launch(bin: string, env: NodeJS.ProcessEnv, asNobody = false): Run {
  return node([bin, ...LIST], env, asNobody);
}

/**
 * Whether the launcher would start the bundle from a cache now. Asked of a fresh process: within one
 * process V8 reuses what it compiled and never looks at a cache again.
 */
function startsFromCache(bin: string, env: NodeJS.ProcessEnv, asNobody = false): boolean {
  if (NODE_COMPILE_CACHE) {
    const run = launch(bin, { ...env, NODE_DEBUG_NATIVE: "COMPILE_CACHE" }, asNobody);
    expect(run.stdout).toBe(EMPTY_LIST);
    return /V8 code cache for CommonJS .*cli\.cjs was accepted/.test(run.stderr);
  }
  const script = `process.stdout.write(String(require(${JSON.stringify(bin)}).loadCli({ argv: ${JSON.stringify(LIST)} }).usedCache))`;
  const run = node(["-e", script], env, asNobody);
  expect(run.stderr).toBe("");
  return run.stdout === "true";
}

/** The cache files under a cache directory (Node's, or the hand-made ones), relative paths. */
function cacheFiles(dir: string): string[] {
  return listTree(dir).filter((file) => fs.statSync(path.join(dir, file)).isFile());
}

/** Names, modes, sizes and times of everything under `dir`: to show that nothing in it changed. */
function snapshot(dir: string): string[] {
  return listTree(dir).map((file) => {
    const stat = fs.lstatSync(path.join(dir, file));
    return `${file} ${stat.mode.toString(8)} ${stat.size} ${stat.mtimeMs} ${stat.ctimeMs}`;
  });
}

/** Move `file` aside and put a symbolic link to it in its place. */
function replaceWithLink(file: string): void {
  fs.renameSync(file, `${file}.real`);
  fs.symlinkSync(`${file}.real`, file);
}

/** A private copy of bin/ and dist/cli.cjs, and a fresh cache home for it. */
function installCopy(): { bin: string; root: string; cacheHome: string; env: NodeJS.ProcessEnv } {
  const root = tempDir("moltbot-launcher-");
  fs.cpSync(path.join(ROOT, "bin"), path.join(root, "bin"), { recursive: true });
  fs.mkdirSync(path.join(root, "dist"));
  fs.copyFileSync(path.join(ROOT, "dist", "cli.cjs"), path.join(root, "dist", "cli.cjs"));
  const cacheHome = path.join(tempDir("moltbot-cache-home-"), "cache");
  const env = cliEnv(path.join(tempDir(), "state"), { XDG_CACHE_HOME: cacheHome });
  delete env.NODE_COMPILE_CACHE;
  return { bin: path.join(root, "bin", "moltbot.js"), root, cacheHome, env };
}

describe("the launcher's code cache", () => {
  it("a first run makes a private cache in the user's cache directory, a second starts from it, same output, nothing written next to the package", () => {
    const { bin, root, cacheHome, env } = installCopy();
    const before = snapshot(root);
    expect(launch(bin, env)).toEqual({ status: 0, stdout: EMPTY_LIST, stderr: "" });
    const dir = path.join(cacheHome, "moltbot");
    expect(fs.statSync(cacheHome).mode & 0o777).toBe(0o700);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const files = cacheFiles(dir);
    expect(files).toHaveLength(1);
    expect(fs.statSync(path.join(dir, files[0]!)).mode & 0o777).toBe(0o600);
    expect(startsFromCache(bin, env)).toBe(true);
    expect(launch(bin, env)).toEqual({ status: 0, stdout: EMPTY_LIST, stderr: "" });
    expect(snapshot(root)).toEqual(before);
  });

  it("without XDG_CACHE_HOME the cache is ~/.cache/moltbot; a relative XDG_CACHE_HOME is ignored, as XDG says", () => {
    const { bin, env } = installCopy();
    const home = tempDir("moltbot-home-");
    const relative = { ...env, HOME: home, XDG_CACHE_HOME: "relative/cache" };
    expect(launch(bin, relative).stdout).toBe(EMPTY_LIST);
    expect(cacheFiles(path.join(home, ".cache", "moltbot"))).toHaveLength(1);
    expect(fs.existsSync(path.join(path.dirname(bin), "relative"))).toBe(false);
    expect(startsFromCache(bin, relative)).toBe(true);
  });

  it("runs uncached, writing nothing, when there is no HOME and no XDG_CACHE_HOME", () => {
    const { bin, env } = installCopy();
    const bare = { ...env };
    delete bare.HOME;
    delete bare.XDG_CACHE_HOME;
    expect(launch(bin, bare)).toEqual({ status: 0, stdout: EMPTY_LIST, stderr: "" });
    expect(startsFromCache(bin, bare)).toBe(false);
  });

  /** A cache directory that is not the user's alone is not used, and nothing is written into it. */
  const unsafeDirs: [string, (dir: string, cacheHome: string) => void][] = [
    ["group-writable", (dir) => fs.chmodSync(dir, 0o770)],
    ["writable by everyone", (dir) => fs.chmodSync(dir, 0o777)],
    ["a symbolic link to a private directory", (dir) => replaceWithLink(dir)],
    ["inside a group-writable cache home", (_dir, cacheHome) => fs.chmodSync(cacheHome, 0o770)],
    ...(AS_ROOT
      ? ([
          ["owned by another user", (dir) => fs.chownSync(dir, NOBODY, NOBODY)],
          ["inside a cache home owned by another user", (_dir, cacheHome) => fs.chownSync(cacheHome, NOBODY, NOBODY)],
        ] as [string, (dir: string, cacheHome: string) => void][])
      : []),
  ];
  it.each(unsafeDirs)("ignores a cache directory that is %s, and writes nothing into it", (_name, spoil) => {
    const { bin, cacheHome, env } = installCopy();
    expect(launch(bin, env).status).toBe(0);
    const dir = path.join(cacheHome, "moltbot");
    spoil(dir, cacheHome);
    const before = snapshot(cacheHome);
    expect(startsFromCache(bin, env)).toBe(false);
    expect(launch(bin, { ...env })).toEqual({ status: 0, stdout: EMPTY_LIST, stderr: "" });
    expect(node([bin, "--version"], env).status).toBe(0);
    expect(snapshot(cacheHome)).toEqual(before);
  });

  it.runIf(AS_ROOT)("root with another user's HOME uses nothing there and creates nothing there", () => {
    const { bin, env } = installCopy();
    const home = tempDir("moltbot-home-");
    fs.chownSync(home, NOBODY, NOBODY);
    const theirs = { ...env, HOME: home, XDG_CACHE_HOME: "" };
    expect(launch(bin, theirs)).toEqual({ status: 0, stdout: EMPTY_LIST, stderr: "" });
    expect(listTree(home)).toEqual([]);
  });
});

// Node < 22.1 only, like the hand-made cache itself (remove with it).
describe.runIf(!NODE_COMPILE_CACHE)("the hand-made cache (Node < 22.1)", () => {
  function primed() {
    const copy = installCopy();
    expect(launch(copy.bin, copy.env).status).toBe(0);
    const dir = path.join(copy.cacheHome, "moltbot");
    const [name] = cacheFiles(dir);
    return { ...copy, dir, file: path.join(dir, name!) };
  }

  const header = (file: string) => fs.readFileSync(file, "latin1").split("\n", 1)[0];

  it("holds the commands it was made from; a new command is added at exit, a known one writes nothing", () => {
    const { bin, env, file } = primed();
    expect(header(file)).toMatch(/^moltbot-v8 [0-9a-f]{16} pairing list$/);
    const { ino } = fs.statSync(file);
    expect(launch(bin, env).status).toBe(0);
    expect(fs.statSync(file).ino).toBe(ino);
    expect(node([bin, "pairing", "allowlist", "telegram", "--json"], env).status).toBe(0);
    expect(header(file)).toMatch(/ pairing list,pairing allowlist$/);
    expect(startsFromCache(bin, env)).toBe(true);
  });

  const damaged: [string, (bytes: Buffer) => Buffer][] = [
    [
      "another build's",
      (bytes) =>
        Buffer.from(
          bytes.toString("latin1").replace(/^moltbot-v8 [0-9a-f]{16}/, "moltbot-v8 0123456789abcdef"),
          "latin1",
        ),
    ],
    [
      "this build's header over random bytes",
      (bytes) => Buffer.concat([bytes.subarray(0, bytes.indexOf(10) + 1), Buffer.alloc(4096, 7)]),
    ],
    ["truncated", (bytes) => bytes.subarray(0, bytes.length >> 1)],
    ["empty", () => Buffer.alloc(0)],
  ];
  it.each(damaged)("ignores a cache that is %s, runs the same, and replaces it with a good one", (_name, spoil) => {
    const { bin, env, file } = primed();
    fs.writeFileSync(file, spoil(fs.readFileSync(file)));
    expect(startsFromCache(bin, env)).toBe(false);
    expect(launch(bin, env)).toEqual({ status: 0, stdout: EMPTY_LIST, stderr: "" });
    expect(startsFromCache(bin, env)).toBe(true);
  });

  const unsafeFiles: [string, (file: string) => void][] = [
    ["group-writable", (file) => fs.chmodSync(file, 0o620)],
    ["writable by everyone", (file) => fs.chmodSync(file, 0o666)],
    ["a symbolic link to a good cache", (file) => replaceWithLink(file)],
    ...(AS_ROOT
      ? ([["owned by another user", (file) => fs.chownSync(file, NOBODY, NOBODY)]] as [
          string,
          (file: string) => void,
        ][])
      : []),
  ];
  it.each(unsafeFiles)("ignores a cache file that is %s, and replaces it with a private one", (_name, spoil) => {
    const { bin, env, file } = primed();
    spoil(file);
    expect(startsFromCache(bin, env)).toBe(false);
    expect(launch(bin, env)).toEqual({ status: 0, stdout: EMPTY_LIST, stderr: "" });
    const stat = fs.lstatSync(file);
    expect([stat.isFile(), stat.uid, stat.mode & 0o777]).toEqual([true, process.getuid!(), 0o600]);
    expect(startsFromCache(bin, env)).toBe(true);
  });

  it("keeps the newest eight cache files, so that old builds and Node versions do not pile up", () => {
    const { bin, env, dir, file } = primed();
    const data = fs.readFileSync(file);
    for (let i = 0; i < 10; i++) {
      const old = path.join(dir, `cli-${String(i).padStart(16, "0")}-v0.0.${i}-x64.v8`);
      fs.writeFileSync(old, data, { mode: 0o600 });
      fs.utimesSync(old, 1000 + i, 1000 + i);
    }
    fs.rmSync(file);
    expect(launch(bin, env).status).toBe(0);
    const left = cacheFiles(dir).sort();
    expect(left).toHaveLength(8);
    expect(left).toContain(path.basename(file));
    expect(left).not.toContain(`cli-${"0".repeat(16)}-v0.0.0-x64.v8`);
  });
});

/*
 * The real thing: the packed tarball installed into a prefix, made read-only, run by another user
 * (nobody, via setpriv) whose HOME is a fresh writable directory. When not root, the same runs as
 * the current user, for whom chmod -R a-w does make the install read-only.
 */
describe("a read-only install", () => {
  let work: string;
  let prefix: string;
  let bin: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "moltbot-readonly-"));
    fs.chmodSync(work, 0o755);
    const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
    const npm = (args: string[]) =>
      execFileSync(
        "npm",
        [
          ...args,
          "--cache",
          path.join(work, "npm-cache"),
          "--offline",
          "--no-audit",
          "--no-fund",
          "--loglevel",
          "error",
        ],
        {
          cwd: work,
          env: { ...npmEnv, NODE_EXTRA_CA_CERTS: "" },
          encoding: "utf8",
          timeout: 90_000,
        },
      );
    const [packed] = JSON.parse(npm(["pack", "--json", "--ignore-scripts", "--pack-destination", work, ROOT])) as {
      filename: string;
    }[];
    prefix = path.join(work, "prefix");
    npm(["install", "--global", "--prefix", prefix, path.join(work, packed!.filename)]);
    fs.rmSync(path.join(work, "npm-cache"), { recursive: true, force: true });
    execFileSync("chmod", ["-R", "a-w", prefix]);
    bin = path.join(prefix, "lib", "node_modules", "moltbot-pairing", "bin", "moltbot.js");
  }, 120_000);
  afterAll(() => {
    execFileSync("chmod", ["-R", "u+w", work]);
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** A fresh HOME for the user running moltbot, and that user's environment. */
  function userHome(): { home: string; env: NodeJS.ProcessEnv } {
    const home = fs.mkdtempSync(path.join(work, "home-"));
    if (AS_ROOT) fs.chownSync(home, NOBODY, NOBODY);
    const env = cliEnv(path.join(home, "state"), { HOME: home });
    delete env.XDG_CACHE_HOME;
    delete env.NODE_COMPILE_CACHE;
    return { home, env };
  }

  it("runs from the user's cache from its second run on, and nothing in the install changes", () => {
    const { home, env } = userHome();
    const before = snapshot(prefix);
    expect(launch(bin, env, AS_ROOT)).toEqual({ status: 0, stdout: EMPTY_LIST, stderr: "" });
    const dir = path.join(home, ".cache", "moltbot");
    const stat = fs.statSync(dir);
    expect([stat.uid, stat.mode & 0o777]).toEqual([AS_ROOT ? NOBODY : process.getuid!(), 0o700]);
    expect(cacheFiles(dir)).toHaveLength(1);
    expect(startsFromCache(bin, env, AS_ROOT)).toBe(true);
    expect(launch(bin, env, AS_ROOT)).toEqual({ status: 0, stdout: EMPTY_LIST, stderr: "" });
    expect(snapshot(prefix)).toEqual(before);
  });

  it.runIf(AS_ROOT)("ignores a cache directory owned by another user, or group-writable", () => {
    const { home, env } = userHome();
    expect(launch(bin, env, true).status).toBe(0);
    const dir = path.join(home, ".cache", "moltbot");
    fs.chownSync(dir, 0, 0);
    fs.chmodSync(dir, 0o755);
    expect(startsFromCache(bin, env, true)).toBe(false);
    fs.chownSync(dir, NOBODY, NOBODY);
    fs.chmodSync(dir, 0o770);
    expect(startsFromCache(bin, env, true)).toBe(false);
    fs.chmodSync(dir, 0o700);
    expect(startsFromCache(bin, env, true)).toBe(true);
  });

  it.runIf(AS_ROOT && !NODE_COMPILE_CACHE)(
    "ignores a cache file owned by another user, or group-writable (Node < 22.1)",
    () => {
      const { home, env } = userHome();
      expect(launch(bin, env, true).status).toBe(0);
      const dir = path.join(home, ".cache", "moltbot");
      const file = path.join(dir, cacheFiles(dir)[0]!);
      fs.chownSync(file, 0, 0);
      expect(startsFromCache(bin, env, true)).toBe(false);
      fs.chownSync(file, NOBODY, NOBODY);
      fs.chmodSync(file, 0o620);
      expect(startsFromCache(bin, env, true)).toBe(false);
      fs.chmodSync(file, 0o600);
      expect(startsFromCache(bin, env, true)).toBe(true);
    },
  );

  it("the installed library writes through its bundled dependencies (request, then list)", () => {
    const { home, env } = userHome();
    const library = path.join(prefix, "lib", "node_modules", "moltbot-pairing", "dist", "index.js");
    const script = `import { createStoreContext, listDmRequests, requestDmPairing } from ${JSON.stringify(library)};
const ctx = createStoreContext({ stateDir: ${JSON.stringify(path.join(home, "state"))} });
const result = await requestDmPairing(ctx, { channel: "telegram", senderId: "123456789" });
console.log(JSON.stringify([result.status, listDmRequests(ctx, "telegram").requests.map((r) => r.code === result.code)]));`;
    const run = node(["--input-type=module", "-e", script], env, AS_ROOT);
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual(["created", [true]]);
  });
});
