// Builds dist/: the CLI as one minified CommonJS file (CommonJS starts faster than ESM on Node 20,
// and one file means one read), the library as ESM, and the library's type declarations.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  minify: true,
  legalComments: "none",
  define: { __MOLTBOT_VERSION__: JSON.stringify(version) },
  logLevel: "warning",
};

rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
await Promise.all([
  build({ ...common, entryPoints: ["src/cli/entry.ts"], format: "cjs", outfile: "dist/cli.cjs" }),
  build({
    ...common,
    entryPoints: ["src/index.ts"],
    format: "esm",
    outfile: "dist/index.js",
    // Bundled CommonJS dependencies call require(); give the ESM bundle one.
    banner: { js: "import{createRequire as __moltbotRequire}from'node:module';const require=__moltbotRequire(import.meta.url);" },
  }),
]);
execFileSync(
  process.execPath,
  ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"],
  { stdio: "inherit" },
);
