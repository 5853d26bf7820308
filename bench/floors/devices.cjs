// The floor of `moltbot devices list --json` on a large paired.json: bare Node printing the same
// bytes with the plainest code (read, parse, each device's documented fields and key fingerprint,
// newest approval first, print). bench.mjs checks that its output is byte for byte the command's.
// Usage: node devices.cjs <devices/paired.json>
"use strict";
const fs = require("node:fs");
const { hash } = require("node:crypto");

const paired = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const views = [];
for (const id in paired) {
  const d = paired[id];
  const hex = hash("sha256", d.publicKey, "hex");
  const fingerprint = `${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}`;
  const view = { deviceId: d.deviceId, publicKey: d.publicKey, fingerprint };
  if (d.displayName !== undefined) view.displayName = d.displayName;
  if (d.platform !== undefined) view.platform = d.platform;
  if (d.clientId !== undefined) view.clientId = d.clientId;
  if (d.clientMode !== undefined) view.clientMode = d.clientMode;
  if (d.role !== undefined) view.role = d.role;
  if (d.roles !== undefined) view.roles = d.roles;
  if (d.scopes !== undefined) view.scopes = d.scopes;
  if (d.remoteIp !== undefined) view.remoteIp = d.remoteIp;
  if (d.operatorLabel !== undefined) view.operatorLabel = d.operatorLabel;
  if (d.tokens !== undefined) {
    view.tokens = [];
    for (const role in d.tokens) {
      const t = d.tokens[role];
      view.tokens.push({ role: t.role ?? role, scopes: t.scopes, createdAtMs: t.createdAtMs });
    }
    view.tokens.sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
  }
  view.createdAtMs = d.createdAtMs;
  view.approvedAtMs = d.approvedAtMs;
  if (d.approvedVia !== undefined) view.approvedVia = d.approvedVia;
  if (d.lastSeenAtMs !== undefined) view.lastSeenAtMs = d.lastSeenAtMs;
  views.push(view);
}
views.sort((a, b) => b.approvedAtMs - a.approvedAtMs);
fs.writeSync(1, `${JSON.stringify({ pending: [], paired: views }, null, 2)}\n`);
