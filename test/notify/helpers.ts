import fs from "node:fs";
import path from "node:path";
import { tempDir } from "../helpers.js";

export const TELEGRAM_TOKEN = "123456789:AAtest-Token_abcdefghijklmnopqrstu";
export const DISCORD_TOKEN = "MTIzNDU2Nzg5.discord-SECRET.abcdefghijklmnopqrstuvwxyz";
export const SLACK_TOKEN = "xoxb-1111-2222-SECRETslacktoken";
export const ALL_TOKENS = [TELEGRAM_TOKEN, DISCORD_TOKEN, SLACK_TOKEN];

/** A state dir holding `clawdbot.json` (JSON5 text, mode 0600). */
export function stateWithConfig(text: string, name = "clawdbot.json"): { stateDir: string; configPath: string } {
  const stateDir = path.join(tempDir("moltbot-notify-"), "state");
  fs.mkdirSync(stateDir, { mode: 0o700 });
  const configPath = path.join(stateDir, name);
  fs.writeFileSync(configPath, text, { mode: 0o600 });
  return { stateDir, configPath };
}

/** A gateway config (as JSON5 text) with every notifiable channel configured. */
export function fullConfig(signalUrl = "http://127.0.0.1:1"): string {
  return `// written by hand, as operators do
{
  channels: {
    telegram: { botToken: "${TELEGRAM_TOKEN}", dmPolicy: "pairing" },
    discord: { token: "${DISCORD_TOKEN}" },
    slack: { botToken: "${SLACK_TOKEN}", appToken: "xapp-1-unused" },
    signal: { httpUrl: "${signalUrl}", account: "+15550001111" },
  },
}
`;
}

/** Make a fake executable `name` in a fresh directory; returns the directory (for PATH). */
export function fakeExecutable(name: string, script: string): string {
  const dir = tempDir("moltbot-bin-");
  const file = path.join(dir, name);
  fs.writeFileSync(file, script, { mode: 0o755 });
  return dir;
}

/**
 * A fake `imsg`: records its argv and every stdin line to `<log>`, and answers the JSON-RPC
 * request as `answer` says ("ok", "error", "hang", "exit").
 */
export function fakeImsg(log: string, answer: "ok" | "error" | "hang" | "exit" = "ok"): string {
  return fakeExecutable(
    "imsg",
    `#!${process.execPath}
const fs = require("node:fs");
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ argv: process.argv.slice(2), pid: process.pid }) + "\\n");
if (${JSON.stringify(answer)} === "exit") { process.stderr.write("imsg: Full Disk Access is required\\n"); process.exit(3); }
let buffered = "";
process.stdin.setEncoding("utf8").on("data", (chunk) => {
  buffered += chunk;
  let at;
  while ((at = buffered.indexOf("\\n")) !== -1) {
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ stdin: line }) + "\\n");
    const request = JSON.parse(line);
    if (${JSON.stringify(answer)} === "hang") continue;
    const reply = ${JSON.stringify(answer)} === "ok"
      ? { jsonrpc: "2.0", id: request.id, result: { ok: true, id: "msg-1" } }
      : { jsonrpc: "2.0", id: request.id, error: { code: -32000, message: "buddy not found" } };
    process.stdout.write(JSON.stringify({ jsonrpc: "2.0", method: "ready", params: {} }) + "\\n");
    process.stdout.write(JSON.stringify(reply) + "\\n");
  }
});
process.stdin.on("end", () => process.exit(0));
`,
  );
}

export function readLog(log: string): { argv?: string[]; pid?: number; stdin?: string }[] {
  if (!fs.existsSync(log)) return [];
  return fs
    .readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { argv?: string[]; pid?: number; stdin?: string });
}
