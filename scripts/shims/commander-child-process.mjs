// commander requires node:child_process when it loads, only to spawn executable subcommands
// (`program.command("x", "description")`), which moltbot never declares. Loading it pulls in net,
// dgram and the stream modules. The replacement loads it on first use, so nothing changes if a
// future command does spawn a subcommand.
/** @type {import("./index.mjs").Shim} */
export default {
  name: "commander-child-process",
  module: "node:child_process",
  importer: "commander",
  replacement: "a Proxy that requires node:child_process on first property access",
  why: "commander loads it at start-up only to spawn executable subcommands, which moltbot has none of",
  measuredMs: 2.8,
  measure: "list",
  verified: { commander: "14.0.3" },
  filter: /^(node:)?child_process$/,
  matches: (args, importerPackage) => importerPackage === "commander",
  contents: () => 'let m;module.exports=new Proxy({},{get:(_,k)=>(m??=require("node:child_process"))[k]});',
};
