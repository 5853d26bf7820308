// Builds dist/: the CLI as one minified CommonJS file (CommonJS starts faster than ESM on Node 20,
// and one file means one read), the library as ESM, and the library's type declarations.
// Outputs are written to a temp name and renamed, so a test running the CLI meanwhile never
// loads half a file.
import { build } from "esbuild";
import { Buffer } from "node:buffer";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  target: "node20",
  minify: true,
  legalComments: "none",
  define: { __MOLTBOT_VERSION__: JSON.stringify(version) },
  logLevel: "warning",
  write: false,
};

/*
 * Start-up trims for the CLI bundle, each measured with `npm run bench` (README "Performance"):
 * - commander requires node:child_process at load time, only to spawn executable subcommands, which
 *   we never use; loading it drags in net, dgram and streams (~5 ms). It is loaded on first use instead.
 * - chalk's colour detection (#supports-color) loads node:os and node:tty at import time. We always
 *   pass the level ourselves (`new Chalk({ level })` in cli/output.ts), so the detection is replaced by
 *   "no colour": the default `chalk` instance is colourless, never wrong on a pipe.
 * - graceful-fs (pulled in by proper-lockfile) patches and queues fs calls to survive EMFILE; a command
 *   opens a handful of files and locked-update passes its own fs anyway, so node:fs stands in for it.
 * - proper-lockfile's signal-exit 3 loads node:assert, which creates process.stderr (streams): ~5 ms
 *   of every write. It gets signal-exit 4's onExit instead (same contract: run this on exit or on a
 *   fatal signal), the copy write-file-atomic already bundles.
 * - write-file-atomic loads node:crypto (which loads streams; ~4 ms) only to hash pid, thread id and a
 *   counter into its temp-file suffix, and node:worker_threads (~1 ms) only for that thread id. The CLI
 *   runs on the main thread (id 0), and the suffix only has to differ between writers (it still does:
 *   same inputs, FNV-1a instead of SHA-1; each store file is also written under its lock), so both are
 *   given to it without loading those modules. The library bundle (dist/index.js) keeps the originals.
 * - write-file-atomic resolves the target with fs.realpath, Node's JavaScript version, which lstat()s
 *   every component of the path, one thread-pool round trip each, on every write; it gets
 *   fs.realpath.native (one realpath(3) call, same result on Linux and macOS) instead.
 * - `await import("node:…")` of a built-in becomes a bundled, lazily evaluated require(), so the bundle
 *   holds no real import(), which the launcher's cached compile (bin/moltbot.js) could not serve.
 */
const signalExit4 = createRequire(path.join(root, "node_modules", "write-file-atomic", "package.json")).resolve(
  "signal-exit",
);
const BUILTIN =
  /^(node:)?(assert|child_process|crypto|events|fs|os|path|process|readline|stream|tty|util|worker_threads)$/;
const startupTrims = {
  name: "startup-trims",
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer)
        ? { path: "child_process", namespace: "lazy-builtin" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => ({
      contents: `let m;module.exports=new Proxy({},{get:(_,k)=>(m??=require("node:${args.path}"))[k]});`,
      loader: "js",
    }));
    b.onResolve({ filter: BUILTIN }, (args) =>
      args.kind === "dynamic-import" ? { path: args.path.replace(/^node:/, ""), namespace: "builtin-shim" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "builtin-shim" }, (args) => ({
      contents: `module.exports=require("node:${args.path}");`,
      loader: "js",
    }));
    b.onResolve({ filter: /^#supports-color$/ }, () => ({ path: "supports-color", namespace: "no-color-detection" }));
    b.onLoad({ filter: /.*/, namespace: "no-color-detection" }, () => ({
      contents: "export default { stdout: false, stderr: false };",
      loader: "js",
    }));
    b.onResolve({ filter: /^(node:)?(crypto|worker_threads|fs)$/ }, (args) =>
      /[\\/]node_modules[\\/]write-file-atomic[\\/]/.test(args.importer)
        ? { path: args.path.replace(/^node:/, ""), namespace: "write-file-atomic-shim" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "write-file-atomic-shim" }, (args) => ({
      contents:
        args.path === "fs"
          ? 'const fs=require("node:fs");module.exports=Object.create(fs,{realpath:{value:fs.realpath.native,enumerable:true}});'
          : args.path === "worker_threads"
            ? "module.exports={threadId:0,isMainThread:true};"
            : // createHash(...).update(s)...digest() -> 4 bytes of FNV-1a over everything given to update().
              `exports.createHash=()=>{let h=0x811c9dc5;const o={update(s){for(const c of String(s))h=Math.imul(h^c.codePointAt(0),16777619)>>>0;return o},digest(){const b=Buffer.alloc(4);b.writeUInt32BE(h);return b}};return o};`,
      loader: "js",
    }));
    b.onResolve({ filter: /^signal-exit$/ }, (args) =>
      /[\\/]node_modules[\\/]proper-lockfile[\\/]/.test(args.importer)
        ? { path: "signal-exit", namespace: "signal-exit-4" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "signal-exit-4" }, () => ({
      contents: `module.exports=require(${JSON.stringify(signalExit4)}).onExit;`,
      loader: "js",
      resolveDir: root,
    }));
    b.onResolve({ filter: /^graceful-fs$/ }, () => ({ path: "graceful-fs", namespace: "plain-fs" }));
    b.onLoad({ filter: /.*/, namespace: "plain-fs" }, () => ({
      contents: 'module.exports=require("node:fs");',
      loader: "js",
    }));
  },
};

const [cli, lib] = await Promise.all([
  build({
    ...common,
    entryPoints: ["src/cli/entry.ts"],
    format: "cjs",
    outfile: "dist/cli.cjs",
    plugins: [startupTrims],
  }),
  build({
    ...common,
    entryPoints: ["src/index.ts"],
    format: "esm",
    outfile: "dist/index.js",
    // Bundled CommonJS dependencies call require(); give the ESM bundle one.
    banner: {
      js: "import{createRequire as __moltbotRequire}from'node:module';const require=__moltbotRequire(import.meta.url);",
    },
  }),
]);

function writeAtomically(file, contents) {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, contents);
  renameSync(temp, file);
}

// The CLI ends with its build id, which its code cache must carry too (bin/moltbot.js checks both).
const cliFile = cli.outputFiles[0];
const cliCode = Buffer.from(cliFile.contents).toString("utf8");
if (/\bimport\(/.test(cliCode))
  throw new Error("dist/cli.cjs contains a dynamic import(); bundle it (see startupTrims)");
const buildId = createHash("sha256").update(cliCode).digest("hex").slice(0, 16);
writeAtomically(cliFile.path, `${cliCode}//moltbot-build:${buildId}\n`);
for (const file of lib.outputFiles) writeAtomically(file.path, file.contents);

// V8's compiled code for the CLI, made by running a few commands, so start-up skips compiling the
// bundle (see bin/moltbot.js). Best effort: without it the CLI works the same, only slower to start.
const cacheRun = spawnSync(process.execPath, [path.join(root, "scripts", "code-cache.mjs")], {
  stdio: ["ignore", "ignore", "pipe"],
  timeout: 60_000,
});
if (cacheRun.status !== 0) {
  console.warn(
    `build: no code cache for dist/cli.cjs (${String(cacheRun.stderr).trim() || cacheRun.signal}); the CLI starts slower.`,
  );
}

execFileSync(
  process.execPath,
  [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json")],
  {
    stdio: "inherit",
  },
);
