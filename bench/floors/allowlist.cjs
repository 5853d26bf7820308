// The floor of `moltbot pairing approve telegram <code>` on a large allowlist: bare Node making the
// same change with the plainest code. It reads the allowlist, refuses a sender an entry already names
// as the gateway reads entries (trimmed, `tg:`/`telegram:` stripped), appends the sender, and
// replaces the file durably (temp file, fsync, rename), with the SHA-256 of the file before and after
// that moltbot's decision journal records (of a large file: see below). bench.mjs checks that the
// file it leaves is byte for byte the one the command leaves.
// Usage: node allowlist.cjs <credentials/telegram-allowFrom.json> <sender id>
"use strict";
const fs = require("node:fs");
const { Buffer } = require("node:buffer");

const [file, sender] = process.argv.slice(2);
const bytes = fs.readFileSync(file);
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
const text = Buffer.from(`${JSON.stringify(state, null, 2)}\n`);
// The digests: with node:crypto for a large file, as moltbot does. For a small one moltbot hashes in
// JavaScript instead of loading node:crypto (~0.1 ms for a few hundred bytes); this leaves that
// out, so that loading node:crypto counts as work that grows with the data, as it does for moltbot.
let before = "";
let after = "-";
if (bytes.length >= 64 * 1024) {
  const { createHash } = require("node:crypto");
  // Before and after share everything up to the old last entry's closing quote: hashed once.
  const common = bytes.lastIndexOf(0x22) + 1;
  const cut = common > 0 && bytes.subarray(0, common).equals(text.subarray(0, common)) ? common : 0;
  const prefix = createHash("sha256").update(bytes.subarray(0, cut));
  before = prefix.copy().update(bytes.subarray(cut)).digest("hex");
  after = prefix.update(text.subarray(cut)).digest("hex");
}
const temp = `${file}.tmp`;
const fd = fs.openSync(temp, "w", 0o600);
fs.writeSync(fd, text);
fs.fsyncSync(fd);
fs.closeSync(fd);
fs.renameSync(temp, file);
if (before === after) process.exit(1); // Never: the digests are used.
