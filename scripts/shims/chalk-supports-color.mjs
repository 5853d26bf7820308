// chalk detects colour support (its vendored supports-color, imported as "#supports-color") when it
// loads, which loads node:os and node:tty. moltbot never asks chalk to detect anything: the CLI
// decides the level itself and passes it (`new Chalk({ level })` in src/cli/output.ts). With the
// detection replaced by "no colour", the default `chalk` instance is colourless, never wrong on a pipe.
/** @type {import("./index.mjs").Shim} */
export default {
  name: "chalk-supports-color",
  module: "#supports-color",
  importer: "chalk",
  replacement: "{ stdout: false, stderr: false } (no colour detected)",
  why: "the detection loads node:os and node:tty; the CLI passes chalk its colour level itself",
  measuredMs: 2.0,
  measure: "approve",
  verified: { chalk: "5.6.2" },
  filter: /^#supports-color$/,
  matches: (args, importerPackage) => importerPackage === "chalk",
  contents: () => "export default { stdout: false, stderr: false };",
};
