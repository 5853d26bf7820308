// Builds dist/: the CLI as one minified CommonJS file (CommonJS starts faster than ESM on Node 20,
// and one file means one read), the library as ESM, and the library's type declarations.
// Outputs are written to a temp name and renamed, so a test running the CLI meanwhile never
// loads half a file.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
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

const results = await Promise.all([
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
for (const file of results.flatMap((result) => result.outputFiles)) {
  mkdirSync(path.dirname(file.path), { recursive: true });
  const temp = `${file.path}.${process.pid}.tmp`;
  writeFileSync(temp, file.contents);
  renameSync(temp, file.path);
}
execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json")], {
  stdio: "inherit",
});
