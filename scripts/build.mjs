// Builds dist/: the CLI as one minified CommonJS file (CommonJS starts faster than ESM on Node 20,
// and one file means one read), the library as ESM, and the library's type declarations.
// Outputs are written to a temp name and renamed, so a test running the CLI meanwhile never
// loads half a file.
import { build } from "esbuild";
import { Buffer } from "node:buffer";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { StaleShimError, buildWithShims } from "./shims/index.mjs";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  target: "node20",
  // MOLTBOT_NO_MINIFY=1 keeps names, for reading a --cpu-prof of the bundle.
  minify: process.env.MOLTBOT_NO_MINIFY !== "1",
  legalComments: "none",
  define: { __MOLTBOT_VERSION__: JSON.stringify(version) },
  logLevel: "warning",
  write: false,
};

// The CLI bundle gets the start-up shims declared in scripts/shims/ (README "Performance"); the
// build fails when one of them has gone stale. The library bundle keeps every package as it is.
// The library: the store operations (dist/index.js) and the pure rules (dist/core.js, `moltbot-pairing/core`).
const library = (entry, outfile) =>
  build({
    ...common,
    entryPoints: [entry],
    format: "esm",
    outfile,
    // Bundled CommonJS dependencies (proper-lockfile, json5) call require(); ESM has none, so the
    // bundle defines it.
    banner: {
      js: "import{createRequire as __moltbotRequire}from'node:module';const require=__moltbotRequire(import.meta.url);",
    },
  });
const [cli, lib, core] = await Promise.all([
  buildWithShims(
    {
      ...common,
      entryPoints: ["src/cli/entry.ts"],
      format: "cjs",
      outfile: "dist/cli.cjs",
      // An import the bundle cannot satisfy is an error, not a warning and `undefined` at run time
      // (e.g. a namespace import of node:fs used by member, through the builtin-default-import shim).
      logOverride: { "import-is-undefined": "error" },
    },
    { root },
  ),
  library("src/index.ts", "dist/index.js"),
  library("src/core.ts", "dist/core.js"),
]).catch((error) => {
  if (!(error instanceof StaleShimError)) throw error;
  console.error(`build: ${error.message}`);
  process.exit(1);
});

function writeAtomically(file, contents) {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, contents);
  renameSync(temp, file);
}

// The CLI ends with its build id: on Node < 22.1 bin/moltbot.js keeps its code cache per build id.
const cliFile = cli.outputFiles[0];
const cliCode = Buffer.from(cliFile.contents).toString("utf8");
if (/\bimport\(/.test(cliCode))
  throw new Error("dist/cli.cjs contains a dynamic import(); bundle it (see scripts/shims/builtin-dynamic-import.mjs)");
const buildId = createHash("sha256").update(cliCode).digest("hex").slice(0, 16);
writeAtomically(cliFile.path, `${cliCode}//moltbot-build:${buildId}\n`);
for (const file of [...lib.outputFiles, ...core.outputFiles]) writeAtomically(file.path, file.contents);
// Left by builds before the cache moved to the user's cache directory (bin/moltbot.js).
rmSync(path.join(root, "dist", "cli.cjs.cache"), { force: true });

execFileSync(
  process.execPath,
  [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json")],
  {
    stdio: "inherit",
  },
);
