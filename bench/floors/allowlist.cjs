// The floor of `moltbot pairing approve telegram <code>` on a large allowlist: bare Node making the
// same change with the plainest code. It reads the allowlist, refuses a sender an entry already names
// as the gateway reads entries (trimmed, `tg:`/`telegram:` stripped), appends the sender, and
// replaces the file durably (temp file, fsync, rename), with the SHA-256 of the file before and after
// that moltbot's decision journal records. bench.mjs checks that the file it leaves is byte for byte
// the one the command leaves.
// Usage: node allowlist.cjs <credentials/telegram-allowFrom.json> <sender id>
"use strict";
const fs = require("node:fs");
const { hash } = require("node:crypto");

const [file, sender] = process.argv.slice(2);
const bytes = fs.readFileSync(file);
const before = hash("sha256", bytes, "hex");
const state = JSON.parse(bytes.toString("utf8"));
const NOT_DIGITS = /[^0-9]/;
const asRead = (entry) =>
  entry
    .trim()
    .replace(/^(telegram|tg):/i, "")
    .trim();
const listed =
  state.allowFrom.includes(sender) || state.allowFrom.some((e) => NOT_DIGITS.test(e) && asRead(e) === sender);
if (listed) process.exit(1);
state.allowFrom.push(sender);
const text = `${JSON.stringify(state, null, 2)}\n`;
const after = hash("sha256", text, "hex");
const temp = `${file}.tmp`;
const fd = fs.openSync(temp, "w", 0o600);
fs.writeSync(fd, text);
fs.fsyncSync(fd);
fs.closeSync(fd);
fs.renameSync(temp, file);
if (before === after) process.exit(1);
