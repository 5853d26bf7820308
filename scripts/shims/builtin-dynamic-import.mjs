// moltbot's own code loads some built-ins only when needed (`await import("node:readline")` for
// prompts). esbuild leaves an import() of an external module in the bundle; this turns it into a
// require() evaluated at the same place, still lazy. Needed by the Node 20 launcher, whose cached
// compile (vm.Script in bin/moltbot.js) cannot serve a real import(); it also keeps Node's ESM loader
// from starting for one built-in. The build also refuses a bundle that still holds an import().
import { isBuiltin } from "node:module";

/** @type {import("./index.mjs").Shim} */
export default {
  name: "builtin-dynamic-import",
  module: "node:* via import()",
  importer: "src/ (moltbot)",
  replacement: "a bundled require() at the same place",
  why: "the Node 20 launcher's cached compile (vm.Script) cannot serve a real import()",
  measuredMs: undefined,
  measure: undefined,
  verified: {},
  filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/,
  matches: (args, importerPackage) =>
    args.kind === "dynamic-import" && importerPackage === undefined && isBuiltin(args.path),
  contents: (args) =>
    `module.exports=require(${JSON.stringify(args.path.startsWith("node:") ? args.path : `node:${args.path}`)});`,
};
