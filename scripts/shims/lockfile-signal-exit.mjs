// proper-lockfile registers `onExit(releaseAllLocks)` with signal-exit 3, which loads node:assert,
// and node:assert creates process.stderr (the stream modules) on every command that writes.
// signal-exit 4's onExit keeps the same contract (run this on exit or on a fatal signal, return a
// function that unregisters it) without those modules.
/** @type {import("./index.mjs").Shim} */
export default {
  name: "lockfile-signal-exit",
  module: "signal-exit (3)",
  importer: "proper-lockfile",
  replacement: "signal-exit 4's onExit (devDependency)",
  why: "signal-exit 3 loads node:assert, which creates process.stderr and the stream modules",
  measuredMs: 4.7,
  measure: "approve",
  verified: { "proper-lockfile": "4.1.2", "signal-exit": "4.1.0" },
  filter: /^signal-exit$/,
  matches: (args, importerPackage) => importerPackage === "proper-lockfile",
  // Resolved from the project root: the top-level signal-exit, which package.json pins to 4.
  contents: () => 'module.exports=require("signal-exit").onExit;',
};
