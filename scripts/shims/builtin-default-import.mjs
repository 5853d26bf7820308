// moltbot's own files import node:fs and node:path as `import fs from "node:fs"`. In a CommonJS
// bundle esbuild gives every importing file its own copy of the built-in's exports
// (`__toESM(require("node:fs"))` defines a getter per export, per file): 18 files import node:fs and
// 12 node:path, ~200 KB and ~1.5 ms of every start. This makes each of the two one bundled module
// whose default export is the built-in itself (`require("node:fs")`, no copy at all); the files keep
// their plain imports. It exports the default only: anything else from node:fs or node:path in src/
// (a named or namespace import, a re-export) is refused by ESLint (eslint.config.js, run by npm
// test); the build also refuses a named import or a namespace's member (`import-is-undefined` is an
// error there). Write `fs.x` instead.

/** @type {import("./index.mjs").Shim} */
export default {
  name: "builtin-default-import",
  module: "node:fs, node:path",
  importer: "src/ (moltbot)",
  replacement: "one bundled module whose default export is the built-in, uncopied",
  why: "esbuild copies a built-in's exports into each importing file (18 × node:fs, 12 × node:path)",
  measuredMs: 1.3,
  measure: "list",
  verified: {},
  filter: /^node:(fs|path)$/,
  // Only static imports from our own files (not the replacement's own import, nor packages').
  matches: (args, importerPackage) =>
    args.kind === "import-statement" && args.namespace === "file" && importerPackage === undefined,
  contents: (args) => `export default require(${JSON.stringify(args.path)});\n`,
};
