// proper-lockfile requires graceful-fs, which patches fs and queues calls to survive EMFILE in
// programs that open thousands of files. A moltbot command opens a handful, and the lock itself is
// taken with the fs that src/store/locked-update.ts passes in (`lockfile.lock(file, { fs })`), so
// proper-lockfile only needs node:fs's own functions from it.
/** @type {import("./index.mjs").Shim} */
export default {
  name: "lockfile-graceful-fs",
  module: "graceful-fs",
  importer: "proper-lockfile",
  replacement: "node:fs",
  why: "graceful-fs patches and queues fs calls for programs that open thousands of files",
  measuredMs: 1.0,
  measure: "approve",
  verified: { "proper-lockfile": "4.1.2" },
  filter: /^graceful-fs$/,
  matches: (args, importerPackage) => importerPackage === "proper-lockfile",
  contents: () => 'module.exports=require("node:fs");',
};
