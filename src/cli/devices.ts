import { completes } from "./completion-kinds.js";
import { Option, type Command } from "commander";
import {
  validateDeviceId,
  validateRole,
  type DeviceApproveResult,
  type DevicePendingView,
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
import { collect, slot, withHelp, type Run, type Runner, type Show, type Verb } from "./kit.js";
import { escapeControl, formatAgo, renderTable } from "./output.js";

const list = (values: readonly string[] | undefined): string =>
  values && values.length > 0 ? values.map(escapeControl).join(",") : "-";
const deviceLabel = (request: DevicePendingView): string => escapeControl(request.displayName ?? request.deviceId);

function tokensCell(tokens: readonly DeviceTokenSummary[] | undefined): string {
  if (!tokens || tokens.length === 0) return "-";
  return tokens
    .map((token) => `${escapeControl(token.role)}${token.revokedAtMs !== undefined ? " (revoked)" : ""}`)
    .join(", ");
}

/** REPAIR column: a request whose key differs from the paired device's is marked, never just "yes". */
const repairCell = (request: DevicePendingView): string =>
  request.publicKeyChanged === true ? KEY_CHANGED : request.isRepair === true ? "yes" : "no";
const KEY_CHANGED = "KEY CHANGED";

function printPending(show: Show, pending: readonly DevicePendingView[]): void {
  const { c } = show;
  const now = show.now();
  const rows = pending.map((request) => [
    escapeControl(request.requestId),
    deviceLabel(request),
    escapeControl(request.role ?? "-"),
    list(request.scopes),
    escapeControl(request.remoteIp ?? "-"),
    formatAgo(request.ts, now),
    repairCell(request),
  ]);
  const keyChanged = pending.some((request) => request.publicKeyChanged === true);
  const columns = [
    { header: "REQUEST", style: (text: string) => c.cyan(text) },
    { header: "DEVICE", shrink: true },
    { header: "ROLE" },
    { header: "SCOPES", shrink: true },
    { header: "IP", optional: true },
    { header: "AGE" },
    {
      header: "REPAIR",
      // A changed key is never left out of a narrow table.
      optional: !keyChanged,
      style: (text: string) => (text.startsWith(KEY_CHANGED) ? c.red.bold(text) : text),
    },
  ];
  show.out(`${renderTable(columns, rows, show.columns, c)}\n`);
}

/**
 * A device id arriving with a new public key is either a reinstalled device or someone else using
 * its id: approving replaces the key the gateway knows it by, so the operator is told, every time.
 */
function keyChangedWarning(request: DevicePendingView): string {
  return `Warning: device ${escapeControl(request.deviceId)} is paired with a different public key; approving request ${escapeControl(request.requestId)} replaces that key. Approve it only if you know the device was reset or reinstalled.\n`;
}

function printPaired(show: Show, paired: readonly PairedDeviceView[]): void {
  const { c } = show;
  const rows = paired.map((device) => [
    escapeControl(device.deviceId),
    escapeControl(device.displayName ?? "-"),
    list(device.roles ?? (device.role !== undefined ? [device.role] : undefined)),
    list(device.scopes),
    tokensCell(device.tokens),
    escapeControl(device.remoteIp ?? "-"),
  ]);
  const columns = [
    { header: "DEVICE", shrink: true, style: (text: string) => c.cyan(text) },
    { header: "NAME", shrink: true, optional: true },
    { header: "ROLES", shrink: true },
    { header: "SCOPES", shrink: true },
    { header: "TOKENS", shrink: true },
    { header: "IP", optional: true },
  ];
  show.out(`${renderTable(columns, rows, show.columns, c)}\n`);
}

const listVerb: Verb<object, ReturnType<typeof listDevices>> = {
  action: ({ store }) => listDevices(store()),
  human: (listing, show) => {
    if (listing.pending.length === 0 && listing.paired.length === 0) {
      return show.err("No devices: nothing pending and nothing paired.\n");
    }
    show.out(`${show.c.bold("Pending requests")} (${listing.pending.length})\n`);
    if (listing.pending.length > 0) printPending(show, listing.pending);
    show.out(`\n${show.c.bold("Paired devices")} (${listing.paired.length})\n`);
    if (listing.paired.length > 0) printPaired(show, listing.paired);
    for (const request of listing.pending) if (request.publicKeyChanged === true) show.err(keyChangedWarning(request));
    if (listing.pending.length > 0) show.err(`Approve one with: ${show.next("devices", "approve", slot("request"))}\n`);
  },
};

interface RequestOptions {
  device: string;
  publicKey: string;
  name?: string;
  platform?: string;
  role?: string;
  scope?: string[];
  remoteIp?: string;
}

const requestVerb: Verb<RequestOptions, Awaited<ReturnType<typeof requestDevice>>> = {
  action: ({ options, store }) =>
    requestDevice(store(), {
      deviceId: options.device,
      publicKey: options.publicKey,
      ...(options.name !== undefined ? { displayName: options.name } : {}),
      ...(options.platform !== undefined ? { platform: options.platform } : {}),
      ...(options.role !== undefined ? { role: options.role } : {}),
      ...(options.scope !== undefined ? { scopes: options.scope } : {}),
      ...(options.remoteIp !== undefined ? { remoteIp: options.remoteIp } : {}),
    }),
  human: ({ created, request, replaced }, show) => {
    const device = escapeControl(request.deviceId);
    show.out(
      created
        ? `Created request ${escapeControl(request.requestId)} for device ${device}${request.isRepair ? " (already paired: repair)" : ""}.\n`
        : `Device ${device} already has pending request ${escapeControl(request.requestId)}; nothing new was created.\n`,
    );
    if (replaced !== undefined && replaced.length > 0) {
      show.out(
        `It replaces the device's earlier pending request${replaced.length === 1 ? "" : "s"} ${replaced.map(escapeControl).join(", ")} (asked again with a different public key, role or scopes; ${replaced.length === 1 ? "that one" : "those"} can no longer be approved).\n`,
      );
    }
    if (request.publicKeyChanged === true) show.err(keyChangedWarning(request));
    show.err(`Approve with: ${show.next("devices", "approve", request.requestId)}\n`);
  },
};

function describeRequest(request: DevicePendingView, now: number): string {
  const name = request.displayName !== undefined ? ` (${escapeControl(request.displayName)})` : "";
  return [
    `Newest pending request ${escapeControl(request.requestId)}:`,
    `  device  ${escapeControl(request.deviceId)}${name}${request.isRepair === true ? " [repair: already paired]" : ""}`,
    ...(request.publicKeyChanged === true
      ? ["  key     KEY CHANGED: not the public key the device is paired with; approving replaces it"]
      : []),
    `  role    ${escapeControl(request.role ?? "-")}`,
    `  scopes  ${list(request.scopes)}`,
    `  IP      ${escapeControl(request.remoteIp ?? "-")}`,
    `  age     ${formatAgo(request.ts, now)}`,
  ].join("\n");
}

/**
 * `approve --latest` never approves blindly: whoever keeps their request newest would win the
 * operator's approval. It shows the request and returns its id only on a "y" at the terminal or --yes.
 */
async function confirmLatest({ io, globals, options, store, next }: Run<ApproveOptions>): Promise<string> {
  const ctx = store();
  const newest = listDevices(ctx).pending[0];
  if (!newest)
    throw new MoltbotError("NOT_FOUND", `No pending device requests. Run "${next("devices", "list")}" to check.`);
  const summary = `${describeRequest(newest, ctx.now())}\n`;
  // With --json, stdout is kept for the one document.
  if (globals.json) io.err(summary);
  else io.out(summary);
  if (options.yes === true) return newest.requestId;
  if (io.interactive && (await io.confirm(`Approve device ${escapeControl(newest.deviceId)}?`)))
    return newest.requestId;
  throw new MoltbotError(
    "CONFIRMATION_REQUIRED",
    `Not approved: --latest needs confirmation (answer "y" on a terminal, or pass --yes). To approve this request run: ${next("devices", "approve", newest.requestId)}`,
  );
}

interface ApproveOptions {
  latest?: boolean;
  yes?: boolean;
}

const approveVerb: Verb<ApproveOptions, DeviceApproveResult> = {
  action: async (run) => {
    const [id] = run.args;
    if ((id === undefined) === (run.options.latest !== true)) {
      throw new MoltbotError(
        "USAGE",
        'Give a request id (or device id), or --latest. Run "moltbot devices list" to see pending requests.',
      );
    }
    // With --latest, exactly the request that was shown is approved, not whatever is newest by now.
    const target = id ?? (await confirmLatest(run));
    return approveDevice(run.store(), { id: target });
  },
  // The document keeps its shape: which role got a token is for the human line below.
  json: ({ requestId, device }) => ({ requestId, device }),
  human: ({ device, issuedRole }, show) => {
    const name = device.displayName !== undefined ? ` (${escapeControl(device.displayName)})` : "";
    show.out(
      `Approved device ${escapeControl(device.deviceId)}${name}: roles ${list(device.roles)}, scopes ${list(device.scopes)}.\n`,
    );
    const issued =
      issuedRole !== undefined
        ? `A token for role ${escapeControl(issuedRole)} was issued (not shown; the gateway hands it to the device). `
        : "";
    show.err(`${issued}See the device with: ${show.next("devices", "list")}\n`);
  },
};

const rejectVerb: Verb<object, Awaited<ReturnType<typeof rejectDevice>>> = {
  action: ({ args: [id], store }) => rejectDevice(store(), { id: id! }),
  human: (result, show) =>
    show.out(`Rejected request ${escapeControl(result.requestId)} from device ${escapeControl(result.deviceId)}.\n`),
};

interface TokenOptions {
  device: string;
  role: string;
  scope?: string[];
}

const rotateVerb: Verb<TokenOptions, Awaited<ReturnType<typeof rotateDevice>>> = {
  action: ({ options, store }) =>
    rotateDevice(store(), {
      deviceId: options.device,
      role: options.role,
      ...(options.scope !== undefined ? { scopes: options.scope } : {}),
    }),
  human: (result, show) => {
    // The secret alone on stdout, so `TOKEN=$(moltbot devices rotate …)` captures just it.
    show.out(`${result.token}\n`);
    show.err(
      `New ${escapeControl(result.role)} token for device ${escapeControl(result.deviceId)} (scopes ${list(result.scopes)}). The old one no longer works; hand this one to the device.\n`,
    );
  },
};

const revokeVerb: Verb<TokenOptions, Awaited<ReturnType<typeof revokeDevice>>> = {
  action: ({ options, store }) => revokeDevice(store(), { deviceId: options.device, role: options.role }),
  human: (result, show) => {
    show.out(`Revoked the ${escapeControl(result.role)} token of device ${escapeControl(result.deviceId)}.\n`);
    show.err(
      `Issue a new one with: ${show.next("devices", "rotate", "--device", result.deviceId, "--role", result.role)}\n`,
    );
  },
};

/** `remove <deviceId>` or `remove --device <id>`: the same option name as every other verb naming a paired device. */
const removeVerb: Verb<{ device?: string }, Awaited<ReturnType<typeof removeDeviceEverywhere>>> = {
  action: ({ args: [positional], options, store }) => {
    if ((positional === undefined) === (options.device === undefined)) {
      throw new MoltbotError(
        "USAGE",
        'Give the device once: "moltbot devices remove --device <id>". Run "moltbot devices list" to see paired devices.',
      );
    }
    return removeDeviceEverywhere(store(), { deviceId: (positional ?? options.device)! });
  },
  human: (result, show) => show.out(`Removed device ${escapeControl(result.deviceId)} and its pending requests.\n`),
};

/** More than a token can be: verify stops reading there (a device token is 43 characters). */
const MAX_TOKEN_BYTES = 8192;

/** The token as typed or piped in: one trailing newline (CRLF too) removed, nothing else touched. */
function tokenFrom(text: string): string {
  const token = text.replace(/\r?\n$/, "");
  if (token === "") {
    throw new MoltbotError(
      "USAGE",
      'No token given. Type it at the "Token: " prompt, or pipe it in: printf %s "$TOKEN" | moltbot devices verify --device <id> --role <role>',
    );
  }
  return token;
}

interface Verified {
  deviceId: string;
  role: string;
  outcome: Awaited<ReturnType<typeof verifyDevice>>;
}

const verifyVerb: Verb<TokenOptions, Verified> = {
  action: async ({ options, io, store }) => {
    const deviceId = validateDeviceId(options.device);
    const role = validateRole(options.role);
    // On a terminal: a "Token: " prompt and no echo. From a pipe: at most MAX_TOKEN_BYTES.
    const token = tokenFrom(await io.readStdin({ prompt: "Token: ", maxBytes: MAX_TOKEN_BYTES }));
    const scopes = options.scope !== undefined ? { scopes: options.scope } : {};
    return { deviceId, role, outcome: await verifyDevice(store(), { deviceId, role, token, ...scopes }) };
  },
  // The outcome is the document, failure included; the exit status still says it (1 = not valid).
  json: ({ outcome }) => outcome,
  exit: ({ outcome }) => (outcome.ok ? 0 : 1),
  human: ({ deviceId, role, outcome }, show) => {
    const who = `device ${escapeControl(deviceId)}, role ${escapeControl(role)}`;
    if (outcome.ok) return show.out(`Token valid for ${who}.\n`);
    throw new MoltbotError(
      "VERIFY_FAILED",
      `Token not accepted for ${who}: ${outcome.reason}. Check the device with: ${show.next("devices", "list")}`,
    );
  },
};

/** An option's former name: hidden from help, and filling in the option it was renamed to. */
class AliasOption extends Option {
  constructor(
    flags: string,
    private readonly target: string,
  ) {
    super(flags);
    this.hideHelp();
  }

  override attributeName(): string {
    return this.target;
  }
}

const deviceOption = (description: string) => new Option("--device <id>", description).makeOptionMandatory();

export function registerDevices(program: Command, run: Runner): void {
  const devices = program
    .command("devices")
    .description("device pairing: approve which devices (phones, Macs, nodes) may join the gateway");
  withHelp(devices, { examples: ["moltbot devices list", "moltbot devices approve --latest"] });

  withHelp(
    devices
      .command("list")
      .description(
        "show pending requests (newest first) and paired devices (most recently approved first); never token secrets",
      )
      .action(run(listVerb)),
    { examples: ["moltbot devices list", "moltbot devices list --json | jq -r '.pending[].requestId'"] },
  );

  withHelp(
    devices
      .command("request")
      .description("record a pairing request for a device (what the gateway does when an unknown device connects)")
      .addOption(deviceOption("the device's id"))
      // The option's first name, kept working for scripts written before --device was everywhere.
      .addOption(new AliasOption("--device-id <id>", "device"))
      .requiredOption("--public-key <key>", "the device's public key (base64url)")
      .option("--name <name>", 'display name, e.g. "Ada\'s iPhone"')
      .option("--platform <platform>", "platform, e.g. ios, macos, linux")
      .option("--role <role>", "role requested, e.g. node or operator (a token is issued for it on approval)")
      .option("--scope <scope>", "scope requested (repeatable)", collect)
      .option("--remote-ip <ip>", "address the device connected from")
      .action(run(requestVerb)),
    {
      examples: [
        'moltbot devices request --device ada-iphone --public-key q8Vf2m0T1xvY8o0kLr3sJvW1rY5eQ6dZ7uC9bN4aH2E --name "Ada\'s iPhone" --role node',
      ],
    },
  );

  withHelp(
    devices
      .command("approve [id]")
      .description(
        "approve a pending request by request id (or device id), or the newest one with --latest (asks first)",
      )
      .option("--latest", "approve the newest pending request, after showing it and asking y/N")
      .option("-y, --yes", "with --latest: approve without asking")
      .action(run(approveVerb)),
    {
      examples: [
        "moltbot devices approve 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70",
        "moltbot devices approve --latest",
        "moltbot devices approve --latest --yes --json",
      ],
    },
  );

  withHelp(
    devices
      .command("reject <id>")
      .description("drop a pending request (by request id or device id); an existing pairing is untouched")
      .action(run(rejectVerb)),
    { examples: ["moltbot devices reject 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70"] },
  );

  withHelp(
    devices
      .command("rotate")
      .description(
        "issue a new token for a role of a paired device and print it (the only command that shows a secret)",
      )
      .addOption(deviceOption("the paired device's id"))
      .requiredOption("--role <role>", "the role whose token to replace")
      .option("--scope <scope>", "replace the token's scopes (repeatable)", collect)
      .action(run(rotateVerb)),
    { examples: ["TOKEN=$(moltbot devices rotate --device ada-iphone --role node)"] },
  );

  withHelp(
    devices
      .command("revoke")
      .description("revoke the token of a role of a paired device")
      .addOption(deviceOption("the paired device's id"))
      .requiredOption("--role <role>", "the role whose token to revoke")
      .action(run(revokeVerb)),
    { examples: ["moltbot devices revoke --device ada-iphone --role operator"] },
  );

  withHelp(
    devices
      .command("remove [deviceId]")
      .description("unpair a device and drop its pending requests (also: remove <deviceId>)")
      .option("--device <id>", "the paired device's id")
      .action(run(removeVerb)),
    { examples: ["moltbot devices remove --device ada-iphone"] },
  );

  withHelp(
    devices
      .command("verify")
      .description(
        'check a device token (typed at a "Token: " prompt without echo, or piped on stdin); the token is never printed',
      )
      .addOption(deviceOption("the paired device's id"))
      .requiredOption("--role <role>", "the role the token is for")
      .option("--scope <scope>", "a scope the token must allow (repeatable)", collect)
      .action(run(verifyVerb)),
    {
      notes: ['Exit status: 0 valid, 1 not valid (reason on stderr, or {"ok":false,"reason"} with --json).'],
      examples: [
        'printf %s "$TOKEN" | moltbot devices verify --device ada-iphone --role node',
        "moltbot devices verify --device ada-iphone --role node   # asks for the token",
      ],
    },
  );

  // What each argument completes to in the shells (completion-engine.ts).
  completes(devices, "approve", { id: "device-request" });
  completes(devices, "reject", { id: "device-request" });
  completes(devices, "rotate", { "--device": "paired-device" });
  completes(devices, "revoke", { "--device": "paired-device" });
  completes(devices, "remove", { deviceId: "paired-device", "--device": "paired-device" });
  completes(devices, "verify", { "--device": "paired-device" });
}
