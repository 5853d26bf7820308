// Writes dist/cli.cjs.cache: V8's compiled code for dist/cli.cjs after running a few typical commands
// in-process (on a throw-away state dir), so that bin/moltbot.js starts without compiling the bundle.
// Run by scripts/build.mjs. The cache starts with the bundle's build id; bin/moltbot.js uses it only
// when that id matches, and V8 refuses it under another Node version, so a stale cache costs nothing.
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

// The launcher itself compiles the bundle here, so the cache is made for exactly the text it loads.
const { CLI, loadCli, saveCache } = createRequire(import.meta.url)("../bin/moltbot.js");

const state = fs.mkdtempSync(path.join(os.tmpdir(), "moltbot-code-cache-"));
const at = new Date().toISOString();
const store = (file, value) => {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
};
const request = (id, code) => ({ id, code, createdAt: at, lastSeenAt: at, meta: { username: "cache" } });
store(path.join(state, "credentials", "telegram-pairing.json"), {
  version: 1,
  requests: [request("111111111", "CACHEAAA"), request("222222222", "CACHEBBB")],
});
store(path.join(state, "credentials", "telegram-allowFrom.json"), { version: 1, allowFrom: ["333333333"] });
const device = {
  deviceId: "cache-device",
  publicKey: "cache-key",
  role: "node",
  roles: ["node"],
  scopes: [],
  createdAtMs: Date.now(),
  approvedAtMs: Date.now(),
};
store(path.join(state, "devices", "paired.json"), { [device.deviceId]: device });

// The commands whose speed is budgeted (README "Performance"); others compile on first use as usual.
const COMMANDS = [
  ["pairing", "list", "telegram", "--json"],
  ["pairing", "list"],
  ["pairing", "approve", "telegram", "CACHEAAA"],
  ["devices", "list", "--json"],
  ["devices", "request", "--device-id", "cache-device-2", "--public-key", "cache-key-2", "--role", "node", "--json"],
];

async function writeCache() {
  process.env.MOLTBOT_STATE_DIR = state;
  process.env.NO_COLOR = "1";
  const { exports: cli, script, id } = loadCli();
  if (id === undefined) throw new Error(`${CLI} has no build id`);
  for (const argv of COMMANDS) await cli.main(argv);
  process.exitCode = 0;
  saveCache(script, id, { replace: true });
}

writeCache()
  .catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(state, { recursive: true, force: true }));
