// One process of the bench's flood figure (bench/bench.mjs): `senders` distinct strangers write to
// one channel through a library, one after another or `parallel` at once, the way a gateway calls
// it for every unknown DM. Prints one JSON line: the elapsed time and what every call answered.
//
//   node bench/flood.mjs <moltbot|clawdbot> <library file> <state dir> <senders> <parallel>
//
// moltbot: dist/index.js, requestDmPairing (status "created" | "capped" | …). clawdbot: the January
// gateway's dist/pairing/pairing-store.js, upsertChannelPairingRequest ({ code, created }; a capped
// stranger gets { code: "", created: false }).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [kind, library, stateDir, sendersArg, parallelArg] = process.argv.slice(2);
const senders = Number(sendersArg);
const parallel = Number(parallelArg);
const lib = await import(pathToFileURL(path.resolve(library)).href);

let request;
let pendingFile;
if (kind === "moltbot") {
  const ctx = lib.createStoreContext({ stateDir, env: {} });
  request = async (senderId) => (await lib.requestDmPairing(ctx, { channel: "telegram", senderId })).status;
  pendingFile = path.join(stateDir, "credentials", "telegram-pairing.json");
} else if (kind === "clawdbot") {
  const env = { CLAWDBOT_STATE_DIR: stateDir, HOME: stateDir };
  request = async (id) => {
    const { code, created } = await lib.upsertChannelPairingRequest({ channel: "telegram", id, env });
    return created ? "created" : code === "" ? "capped" : "pending";
  };
  pendingFile = path.join(stateDir, "credentials", "telegram-pairing.json");
} else {
  throw new Error(`unknown library kind ${kind}`);
}

const ids = Array.from({ length: senders }, (_, i) => String(800_000_000 + i));
const statuses = new Array(senders);
let next = 0;
async function worker() {
  while (next < senders) {
    const i = next++;
    try {
      statuses[i] = await request(ids[i]);
    } catch (error) {
      statuses[i] = `error: ${error.code ?? error.message}`;
    }
  }
}

const start = process.hrtime.bigint();
await Promise.all(Array.from({ length: parallel }, worker));
const ms = Number(process.hrtime.bigint() - start) / 1e6;

const counts = {};
for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
const created = new Set(ids.filter((_, i) => statuses[i] === "created"));
const stored = JSON.parse(fs.readFileSync(pendingFile, "utf8")).requests.map((r) => r.id);
process.stdout.write(
  `${JSON.stringify({ ms, counts, stored: stored.length, storedAreCreated: stored.every((id) => created.has(id)) })}\n`,
);
