import type { Command } from "commander";
import {
  validateDeviceId,
  validateRole,
  type DevicePendingRequest,
  type DeviceTokenSummary,
  type PairedDeviceView,
} from "../core/device-pairing.js";
import { MoltbotError } from "../errors.js";
import {
  approveDevice,
  listDevices,
  rejectDevice,
  removeDeviceEverywhere,
  requestDevice,
  revokeDevice,
  rotateDevice,
  verifyDevice,
} from "../store/device-store.js";
import { completes } from "./completion-kinds.js";
import { collect, globalOptions, storeContextFor, type GlobalOptions } from "./context.js";
import { colors, escapeControl, formatAgo, printJson, renderTable, type CliIO } from "./output.js";
import type { Runner } from "./pairing.js";

type Action = Parameters<Runner>[0];

const list = (values: readonly string[] | undefined): string =>
  values && values.length > 0 ? values.map(escapeControl).join(",") : "-";
const deviceLabel = (request: DevicePendingRequest): string => escapeControl(request.displayName ?? request.deviceId);

/** Quote an argument for a POSIX shell only when it needs it. */
function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+,~-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The command an operator runs next, with --state-dir when they gave one; safe to print. */
function commandLine(options: GlobalOptions, words: string): string {
  return escapeControl(
    `moltbot ${options.stateDir !== undefined ? `--state-dir ${shellQuote(options.stateDir)} ` : ""}${words}`,
  );
}

function tokensCell(tokens: readonly DeviceTokenSummary[] | undefined): string {
  if (!tokens || tokens.length === 0) return "-";
  return tokens
    .map((token) => `${escapeControl(token.role)}${token.revokedAtMs !== undefined ? " (revoked)" : ""}`)
    .join(", ");
}

function printPending(io: CliIO, pending: readonly DevicePendingRequest[], now: number): void {
  const c = colors(io);
  const rows = pending.map((request) => [
    escapeControl(request.requestId),
    deviceLabel(request),
    escapeControl(request.role ?? "-"),
    list(request.scopes),
    escapeControl(request.remoteIp ?? "-"),
    formatAgo(request.ts, now),
    request.isRepair === true ? "yes" : "no",
  ]);
  io.out(
    `${renderTable(
      [
        { header: "REQUEST", style: (text) => c.cyan(text) },
        { header: "DEVICE", shrink: true },
        { header: "ROLE" },
        { header: "SCOPES", shrink: true },
        { header: "IP", optional: true },
        { header: "AGE" },
        { header: "REPAIR", optional: true },
      ],
      rows,
      io.columns,
      c,
    )}\n`,
  );
}

function printPaired(io: CliIO, paired: readonly PairedDeviceView[]): void {
  const c = colors(io);
  const rows = paired.map((device) => [
    escapeControl(device.deviceId),
    escapeControl(device.displayName ?? "-"),
    list(device.roles ?? (device.role !== undefined ? [device.role] : undefined)),
    list(device.scopes),
    tokensCell(device.tokens),
    escapeControl(device.remoteIp ?? "-"),
  ]);
  io.out(
    `${renderTable(
      [
        { header: "DEVICE", shrink: true, style: (text) => c.cyan(text) },
        { header: "NAME", shrink: true, optional: true },
        { header: "ROLES", shrink: true },
        { header: "SCOPES", shrink: true },
        { header: "TOKENS", shrink: true },
        { header: "IP", optional: true },
      ],
      rows,
      io.columns,
      c,
    )}\n`,
  );
}

const listAction: Action = async (io, command) => {
  const options = globalOptions(command);
  const ctx = storeContextFor(io, options);
  const listing = listDevices(ctx);
  if (options.json) return printJson(io, listing);
  const c = colors(io);
  if (listing.pending.length === 0 && listing.paired.length === 0) {
    io.err("No devices: nothing pending and nothing paired.\n");
    return;
  }
  io.out(`${c.bold("Pending requests")} (${listing.pending.length})\n`);
  if (listing.pending.length > 0) printPending(io, listing.pending, ctx.now());
  io.out(`\n${c.bold("Paired devices")} (${listing.paired.length})\n`);
  if (listing.paired.length > 0) printPaired(io, listing.paired);
  if (listing.pending.length > 0) io.err(`Approve one with: ${commandLine(options, "devices approve <request>")}\n`);
};

interface RequestOptions {
  deviceId: string;
  publicKey: string;
  name?: string;
  platform?: string;
  role?: string;
  scope?: string[];
  remoteIp?: string;
}

const requestAction: Action = async (io, command) => {
  const options = globalOptions(command);
  const flags = command.opts<RequestOptions>();
  const ctx = storeContextFor(io, options);
  const result = await requestDevice(ctx, {
    deviceId: flags.deviceId,
    publicKey: flags.publicKey,
    ...(flags.name !== undefined ? { displayName: flags.name } : {}),
    ...(flags.platform !== undefined ? { platform: flags.platform } : {}),
    ...(flags.role !== undefined ? { role: flags.role } : {}),
    ...(flags.scope !== undefined ? { scopes: flags.scope } : {}),
    ...(flags.remoteIp !== undefined ? { remoteIp: flags.remoteIp } : {}),
  });
  if (options.json) return printJson(io, result);
  const { request } = result;
  const device = escapeControl(request.deviceId);
  io.out(
    result.created
      ? `Created request ${escapeControl(request.requestId)} for device ${device}${request.isRepair ? " (already paired: repair)" : ""}.\n`
      : `Device ${device} already has pending request ${escapeControl(request.requestId)}; nothing new was created.\n`,
  );
  io.err(`Approve with: ${commandLine(options, `devices approve ${shellQuote(request.requestId)}`)}\n`);
};

function describeRequest(request: DevicePendingRequest, now: number): string {
  const name = request.displayName !== undefined ? ` (${escapeControl(request.displayName)})` : "";
  return [
    `Newest pending request ${escapeControl(request.requestId)}:`,
    `  device  ${escapeControl(request.deviceId)}${name}${request.isRepair === true ? " [repair: already paired]" : ""}`,
    `  role    ${escapeControl(request.role ?? "-")}`,
    `  scopes  ${list(request.scopes)}`,
    `  IP      ${escapeControl(request.remoteIp ?? "-")}`,
    `  age     ${formatAgo(request.ts, now)}`,
  ].join("\n");
}

/**
 * `approve --latest` never approves blindly: whoever keeps their request newest would win the
 * operator's approval. It shows the request and approves it only on a "y" at the terminal or --yes.
 */
async function confirmLatest(
  io: CliIO,
  options: GlobalOptions,
  yes: boolean,
  request: DevicePendingRequest,
  now: number,
): Promise<void> {
  const summary = `${describeRequest(request, now)}\n`;
  if (options.json) io.err(summary);
  else io.out(summary);
  if (yes) return;
  if (io.interactive && (await io.confirm(`Approve device ${escapeControl(request.deviceId)}?`))) return;
  throw new MoltbotError(
    "CONFIRMATION_REQUIRED",
    `Not approved: --latest needs confirmation (answer "y" on a terminal, or pass --yes). To approve this request run: ${commandLine(options, `devices approve ${shellQuote(request.requestId)}`)}`,
  );
}

const approveAction: Action = async (io, command, [id]) => {
  const options = globalOptions(command);
  const flags = command.opts<{ latest?: boolean; yes?: boolean }>();
  if ((id === undefined) === (flags.latest !== true)) {
    throw new MoltbotError(
      "USAGE",
      'Give a request id (or device id), or --latest. Run "moltbot devices list" to see pending requests.',
    );
  }
  const ctx = storeContextFor(io, options);
  let target = id;
  if (flags.latest === true) {
    const newest = listDevices(ctx).pending[0];
    if (!newest)
      throw new MoltbotError(
        "NOT_FOUND",
        `No pending device requests. Run "${commandLine(options, "devices list")}" to check.`,
      );
    await confirmLatest(io, options, flags.yes === true, newest, ctx.now());
    // Approve exactly the request that was shown, not whatever is newest by now.
    target = newest.requestId;
  }
  const result = await approveDevice(ctx, { id: target! });
  if (options.json) return printJson(io, result);
  const { device } = result;
  const name = device.displayName !== undefined ? ` (${escapeControl(device.displayName)})` : "";
  io.out(
    `Approved device ${escapeControl(device.deviceId)}${name}: roles ${list(device.roles)}, scopes ${list(device.scopes)}.\n`,
  );
  // The token minted by this approval is the one stamped with the approval time.
  const minted = device.tokens?.find((token) => (token.rotatedAtMs ?? token.createdAtMs) === device.approvedAtMs);
  const issued = minted
    ? `A token for role ${escapeControl(minted.role)} was issued (not shown; the gateway hands it to the device). `
    : "";
  io.err(`${issued}See the device with: ${commandLine(options, "devices list")}\n`);
};

const rejectAction: Action = async (io, command, [id]) => {
  const options = globalOptions(command);
  const ctx = storeContextFor(io, options);
  const result = await rejectDevice(ctx, { id: id! });
  if (options.json) return printJson(io, result);
  io.out(`Rejected request ${escapeControl(result.requestId)} from device ${escapeControl(result.deviceId)}.\n`);
};

interface TokenOptions {
  device: string;
  role: string;
  scope?: string[];
}

const rotateAction: Action = async (io, command) => {
  const options = globalOptions(command);
  const flags = command.opts<TokenOptions>();
  const ctx = storeContextFor(io, options);
  const result = await rotateDevice(ctx, {
    deviceId: flags.device,
    role: flags.role,
    ...(flags.scope !== undefined ? { scopes: flags.scope } : {}),
  });
  if (options.json) return printJson(io, result);
  // The secret alone on stdout, so `TOKEN=$(moltbot devices rotate …)` captures just it.
  io.out(`${result.token}\n`);
  io.err(
    `New ${escapeControl(result.role)} token for device ${escapeControl(result.deviceId)} (scopes ${list(result.scopes)}). The old one no longer works; hand this one to the device.\n`,
  );
};

const revokeAction: Action = async (io, command) => {
  const options = globalOptions(command);
  const flags = command.opts<TokenOptions>();
  const ctx = storeContextFor(io, options);
  const result = await revokeDevice(ctx, { deviceId: flags.device, role: flags.role });
  if (options.json) return printJson(io, result);
  io.out(`Revoked the ${escapeControl(result.role)} token of device ${escapeControl(result.deviceId)}.\n`);
  io.err(
    `Issue a new one with: ${commandLine(options, `devices rotate --device ${shellQuote(result.deviceId)} --role ${result.role}`)}\n`,
  );
};

const removeAction: Action = async (io, command, [deviceId]) => {
  const options = globalOptions(command);
  const ctx = storeContextFor(io, options);
  const result = await removeDeviceEverywhere(ctx, { deviceId: deviceId! });
  if (options.json) return printJson(io, result);
  io.out(`Removed device ${escapeControl(result.deviceId)} and its pending requests.\n`);
};

/** The token as piped in: one trailing newline (CRLF too) removed, nothing else touched. */
function tokenFromStdin(text: string): string {
  const token = text.replace(/\r?\n$/, "");
  if (token === "") {
    throw new MoltbotError(
      "USAGE",
      'No token on stdin. Pipe it in, e.g. printf %s "$TOKEN" | moltbot devices verify --device <id> --role <role>',
    );
  }
  return token;
}

async function verifyAction(io: CliIO, command: Command): Promise<number> {
  const options = globalOptions(command);
  const flags = command.opts<TokenOptions>();
  const deviceId = validateDeviceId(flags.device);
  const role = validateRole(flags.role);
  const token = tokenFromStdin(await io.readStdin());
  const ctx = storeContextFor(io, options);
  const result = await verifyDevice(ctx, {
    deviceId,
    role,
    token,
    ...(flags.scope !== undefined ? { scopes: flags.scope } : {}),
  });
  if (options.json) {
    // The outcome is the document, failure included; the exit status still says it (1 = not valid).
    printJson(io, result);
    return result.ok ? 0 : 1;
  }
  if (!result.ok) {
    throw new MoltbotError(
      "VERIFY_FAILED",
      `Token not accepted for device ${deviceId}, role ${role}: ${result.reason}. Check the device with: ${commandLine(options, "devices list")}`,
    );
  }
  io.out(`Token valid for device ${escapeControl(deviceId)}, role ${role}.\n`);
  return 0;
}

export function registerDevices(program: Command, run: Runner): void {
  const devices = program
    .command("devices")
    .description("device pairing: approve which devices (phones, Macs, nodes) may join the gateway")
    .addHelpText("after", "\nExamples:\n  $ moltbot devices list\n  $ moltbot devices approve --latest");

  devices
    .command("list")
    .description(
      "show pending requests (newest first) and paired devices (most recently approved first); never token secrets",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  $ moltbot devices list\n  $ moltbot devices list --json | jq -r '.pending[].requestId'",
    )
    .action(run(listAction));

  devices
    .command("request")
    .description("record a pairing request for a device (what the gateway does when an unknown device connects)")
    .requiredOption("--device-id <id>", "the device's id")
    .requiredOption("--public-key <key>", "the device's public key (base64url)")
    .option("--name <name>", 'display name, e.g. "Ada\'s iPhone"')
    .option("--platform <platform>", "platform, e.g. ios, macos, linux")
    .option("--role <role>", "role requested, e.g. node or operator (a token is issued for it on approval)")
    .option("--scope <scope>", "scope requested (repeatable)", collect)
    .option("--remote-ip <ip>", "address the device connected from")
    .addHelpText(
      "after",
      '\nExample:\n  $ moltbot devices request --device-id ada-iphone --public-key q8Vf2m0T1xvY8o0kLr3sJvW1rY5eQ6dZ7uC9bN4aH2E --name "Ada\'s iPhone" --role node',
    )
    .action(run(requestAction));

  devices
    .command("approve [id]")
    .description("approve a pending request by request id (or device id), or the newest one with --latest (asks first)")
    .option("--latest", "approve the newest pending request, after showing it and asking y/N")
    .option("-y, --yes", "with --latest: approve without asking")
    .addHelpText(
      "after",
      "\nExamples:\n  $ moltbot devices approve 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70\n  $ moltbot devices approve --latest\n  $ moltbot devices approve --latest --yes --json",
    )
    .action(run(approveAction));
  completes(devices, "approve", { id: "device-request" });

  devices
    .command("reject <id>")
    .description("drop a pending request (by request id or device id); an existing pairing is untouched")
    .addHelpText("after", "\nExample:\n  $ moltbot devices reject 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70")
    .action(run(rejectAction));
  completes(devices, "reject", { id: "device-request" });

  devices
    .command("rotate")
    .description("issue a new token for a role of a paired device and print it (the only command that shows a secret)")
    .requiredOption("--device <id>", "the paired device's id")
    .requiredOption("--role <role>", "the role whose token to replace")
    .option("--scope <scope>", "replace the token's scopes (repeatable)", collect)
    .addHelpText("after", "\nExample:\n  $ TOKEN=$(moltbot devices rotate --device ada-iphone --role node)")
    .action(run(rotateAction));
  completes(devices, "rotate", { "--device": "paired-device" });

  devices
    .command("revoke")
    .description("revoke the token of a role of a paired device")
    .requiredOption("--device <id>", "the paired device's id")
    .requiredOption("--role <role>", "the role whose token to revoke")
    .addHelpText("after", "\nExample:\n  $ moltbot devices revoke --device ada-iphone --role operator")
    .action(run(revokeAction));
  completes(devices, "revoke", { "--device": "paired-device" });

  devices
    .command("remove <deviceId>")
    .description("unpair a device and drop its pending requests")
    .addHelpText("after", "\nExample:\n  $ moltbot devices remove ada-iphone")
    .action(run(removeAction));
  completes(devices, "remove", { deviceId: "paired-device" });

  devices
    .command("verify")
    .description("check a device token read from stdin (exit 0 valid, 1 not); the token is never printed")
    .requiredOption("--device <id>", "the paired device's id")
    .requiredOption("--role <role>", "the role the token is for")
    .option("--scope <scope>", "a scope the token must allow (repeatable)", collect)
    .addHelpText(
      "after",
      '\nExit status: 0 valid, 1 not valid (reason on stderr, or {"ok":false,"reason"} with --json).\n\nExample:\n  $ printf %s "$TOKEN" | moltbot devices verify --device ada-iphone --role node',
    )
    // Returns its exit status (runCli honours it): with --json a failed check is a result, not an error.
    .action(run(verifyAction as unknown as Action));
  completes(devices, "verify", { "--device": "paired-device" });
}
