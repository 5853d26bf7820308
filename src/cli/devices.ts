import { completes } from "./completion-kinds.js";
import { Option, type Command } from "commander";
import {
  validateDeviceId,
  validateRole,
  type DeviceApproveResult,
  type DeviceClearResult,
  type DeviceRenameResult,
  type DevicePendingView,
  type DeviceTokenSummary,
  type PairedDeviceView,
} from "../core/device-pairing.js";
import { MoltbotError } from "../errors.js";
import {
  approveDevice,
  clearAllDevices,
  listDevices,
  previewDeviceClear,
  rejectDevice,
  removeDeviceEverywhere,
  renamePairedDevice,
  requestDevice,
  revokeDevice,
  rotateDevice,
  verifyDevice,
} from "../store/device-store.js";
import { collect, registerVerbs, slot, withHelp, type Run, type Runner, type Show, type Verb } from "./kit.js";
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
    request.fingerprint,
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
    { header: "FINGERPRINT" },
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
    escapeControl(device.operatorLabel ?? device.displayName ?? "-"),
    device.fingerprint,
    list(device.roles ?? (device.role !== undefined ? [device.role] : undefined)),
    list(device.scopes),
    tokensCell(device.tokens),
    escapeControl(device.remoteIp ?? "-"),
  ]);
  const columns = [
    { header: "DEVICE", shrink: true, style: (text: string) => c.cyan(text) },
    { header: "NAME", shrink: true, optional: true },
    { header: "FINGERPRINT" },
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
    `  key     ${request.fingerprint}`,
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
async function confirmLatest({ io, globals, options, store, next }: Run<ApproveOptions>): Promise<DevicePendingView> {
  const ctx = store();
  const newest = listDevices(ctx).pending[0];
  if (!newest)
    throw new MoltbotError("NOT_FOUND", `No pending device requests. Run "${next("devices", "list")}" to check.`);
  const summary = `${describeRequest(newest, ctx.now())}\n`;
  // With --json, stdout is kept for the one document.
  if (globals.json) io.err(summary);
  else io.out(summary);
  if (options.yes === true) return newest;
  if (io.interactive && (await io.confirm(`Approve device ${escapeControl(newest.deviceId)}?`))) return newest;
  throw new MoltbotError(
    "CONFIRMATION_REQUIRED",
    `Not approved: --latest needs confirmation (answer "y" on a terminal, or pass --yes). To approve this request (and only while it presents this key) run: ${next("devices", "approve", newest.requestId, "--expect-fingerprint", newest.fingerprint)}`,
  );
}

interface ApproveOptions {
  latest?: boolean;
  yes?: boolean;
  expectFingerprint?: string;
  reason?: string;
}

/** `--reason "…"` as the store takes it (it validates it). */
const reasonOf = (options: { reason?: string }) => (options.reason !== undefined ? { reason: options.reason } : {});

const approveVerb: Verb<ApproveOptions, DeviceApproveResult> = {
  action: async (run) => {
    const [id] = run.args;
    if ((id === undefined) === (run.options.latest !== true)) {
      throw new MoltbotError(
        "USAGE",
        'Give a request id (or device id), or --latest. Run "moltbot devices list" to see pending requests.',
      );
    }
    // With --latest, exactly the request that was shown is approved (its id and its key), not
    // whatever is newest by now.
    const shown = id === undefined ? await confirmLatest(run) : undefined;
    const expectFingerprint = run.options.expectFingerprint ?? shown?.fingerprint;
    return approveDevice(run.store(), {
      id: id ?? shown!.requestId,
      ...(expectFingerprint !== undefined ? { expectFingerprint } : {}),
      ...reasonOf(run.options),
    });
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

const rejectVerb: Verb<{ reason?: string }, Awaited<ReturnType<typeof rejectDevice>>> = {
  action: ({ args: [id], options, store }) => rejectDevice(store(), { id: id!, ...reasonOf(options) }),
  human: (result, show) =>
    show.out(`Rejected request ${escapeControl(result.requestId)} from device ${escapeControl(result.deviceId)}.\n`),
};

interface TokenOptions {
  device: string;
  role: string;
  scope?: string[];
  reason?: string;
}

const rotateVerb: Verb<TokenOptions, Awaited<ReturnType<typeof rotateDevice>>> = {
  action: ({ options, store }) =>
    rotateDevice(store(), {
      deviceId: options.device,
      role: options.role,
      ...(options.scope !== undefined ? { scopes: options.scope } : {}),
      ...reasonOf(options),
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
  action: ({ options, store }) =>
    revokeDevice(store(), { deviceId: options.device, role: options.role, ...reasonOf(options) }),
  human: (result, show) => {
    show.out(`Revoked the ${escapeControl(result.role)} token of device ${escapeControl(result.deviceId)}.\n`);
    show.err(
      `Issue a new one with: ${show.next("devices", "rotate", "--device", result.deviceId, "--role", result.role)}\n`,
    );
  },
};

/** `remove <deviceId>` or `remove --device <id>`: the same option name as every other verb naming a paired device. */
const removeVerb: Verb<{ device?: string; reason?: string }, Awaited<ReturnType<typeof removeDeviceEverywhere>>> = {
  action: ({ args: [positional], options, store }) => {
    if ((positional === undefined) === (options.device === undefined)) {
      throw new MoltbotError(
        "USAGE",
        'Give the device once: "moltbot devices remove --device <id>". Run "moltbot devices list" to see paired devices.',
      );
    }
    return removeDeviceEverywhere(store(), { deviceId: (positional ?? options.device)!, ...reasonOf(options) });
  },
  human: (result, show) => show.out(`Removed device ${escapeControl(result.deviceId)} and its pending requests.\n`),
};

/** `rename <deviceId> <name>`, or OpenClaw's `rename --device <id> --name <label>`. */
const renameVerb: Verb<{ device?: string; name?: string; reason?: string }, DeviceRenameResult> = {
  action: ({ args: [positionalId, positionalName], options, store }) => {
    const deviceId = positionalId ?? options.device;
    const name = positionalName ?? options.name;
    if (
      deviceId === undefined ||
      name === undefined ||
      (positionalId !== undefined && options.device !== undefined) ||
      (positionalName !== undefined && options.name !== undefined)
    ) {
      throw new MoltbotError(
        "USAGE",
        'Give the device and the name once each: "moltbot devices rename <deviceId> <name>" (or --device <id> --name <name>).',
      );
    }
    return renamePairedDevice(store(), { deviceId, name, ...reasonOf(options) });
  },
  human: (result, show) =>
    show.out(`Device ${escapeControl(result.deviceId)} is now labelled "${escapeControl(result.operatorLabel)}".\n`),
};

interface ClearOptions {
  pending?: boolean;
  paired?: boolean;
  yes?: boolean;
  reason?: string;
}

function describeClear(result: DeviceClearResult): string {
  const lines = [
    ...result.pending.map((id) => `  pending request ${escapeControl(id)}`),
    ...result.paired.map((id) => `  paired device   ${escapeControl(id)}`),
  ];
  return lines.length === 0 ? "Nothing to clear.\n" : `${lines.join("\n")}\n`;
}

/**
 * `devices clear --pending|--paired --yes`. Without --yes it names what would go and stops (exit 1,
 * CONFIRMATION_REQUIRED), like approve --latest: a destructive verb never acts on a guess.
 */
const clearVerb: Verb<ClearOptions, DeviceClearResult> = {
  action: async ({ options, store, io, globals, next }) => {
    if (options.pending !== true && options.paired !== true) {
      throw new MoltbotError(
        "USAGE",
        'Say what to clear: --pending (every pending request), --paired (every paired device), or both. Run "moltbot devices clear --help".',
      );
    }
    const what = { pending: options.pending === true, paired: options.paired === true };
    if (options.yes !== true) {
      const preview = previewDeviceClear(store(), what);
      // Nothing to remove: nothing to confirm.
      if (preview.pending.length + preview.paired.length === 0) return preview;
      // With --json, stdout is kept for the one document.
      (globals.json ? io.err : io.out)(`Would remove:\n${describeClear(preview)}`);
      const flags = [...(what.pending ? ["--pending"] : []), ...(what.paired ? ["--paired"] : [])];
      throw new MoltbotError(
        "CONFIRMATION_REQUIRED",
        `Nothing was removed: devices clear needs --yes. To remove ${preview.pending.length + preview.paired.length} entries run: ${next("devices", "clear", ...flags, "--yes")}`,
      );
    }
    return clearAllDevices(store(), { ...what, ...reasonOf(options) });
  },
  human: (result, show) => {
    if (result.pending.length + result.paired.length === 0) return show.out("Nothing to clear.\n");
    const parts = [
      ...(result.pending.length > 0 ? [`${result.pending.length} pending requests`] : []),
      ...(result.paired.length > 0 ? [`${result.paired.length} paired devices`] : []),
    ];
    show.out(`Removed ${parts.join(" and ")}.\n`);
  },
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

/** Every deciding verb takes it; it goes into the decision log (`moltbot log`). */
const REASON_HELP = "why, for the decision log (moltbot log); at most 500 characters";

const deviceOption = (description: string) => new Option("--device <id>", description).makeOptionMandatory();

export function registerDevices(program: Command, run: Runner, words?: readonly string[]): void {
  const devices = program
    .command("devices")
    .description("device pairing: approve which devices (phones, Macs, nodes) may join the gateway");
  withHelp(devices, { examples: ["moltbot devices list", "moltbot devices approve --latest"] });

  // One entry per verb; only the verb the command line names is built (kit.ts, registerVerbs).
  registerVerbs(devices, words, {
    list: () => {
      withHelp(
        devices
          .command("list")
          .description(
            "show pending requests (newest first) and paired devices (most recently approved first); never token secrets",
          )
          .action(run(listVerb)),
        { examples: ["moltbot devices list", "moltbot devices list --json | jq -r '.pending[].requestId'"] },
      );
    },
    request: () => {
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
    },
    approve: () => {
      withHelp(
        devices
          .command("approve [id]")
          .description(
            "approve a pending request by request id (or device id), or the newest one with --latest (asks first)",
          )
          .option("--latest", "approve the newest pending request, after showing it and asking y/N")
          .option("-y, --yes", "with --latest: approve without asking")
          .option(
            "--expect-fingerprint <fp>",
            "approve only if the request's key still has this fingerprint (devices list)",
          )
          .option("--reason <text>", REASON_HELP)
          .action(run(approveVerb)),
        {
          examples: [
            "moltbot devices approve 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70",
            "moltbot devices approve --latest",
            "moltbot devices approve --latest --yes --json",
            "moltbot devices approve ada-iphone --expect-fingerprint 3fa9-1c2e-8b0d-77a1-c4e2",
          ],
        },
      );
      completes(devices, "approve", { id: "device-request" });
    },
    reject: () => {
      withHelp(
        devices
          .command("reject <id>")
          .description("drop a pending request (by request id or device id); an existing pairing is untouched")
          .option("--reason <text>", REASON_HELP)
          .action(run(rejectVerb)),
        { examples: ["moltbot devices reject 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70"] },
      );
      completes(devices, "reject", { id: "device-request" });
    },
    rotate: () => {
      withHelp(
        devices
          .command("rotate")
          .description(
            "issue a new token for a role of a paired device and print it (the only command that shows a secret)",
          )
          .addOption(deviceOption("the paired device's id"))
          .requiredOption("--role <role>", "the role whose token to replace")
          .option("--scope <scope>", "replace the token's scopes (repeatable)", collect)
          .option("--reason <text>", REASON_HELP)
          .action(run(rotateVerb)),
        { examples: ["TOKEN=$(moltbot devices rotate --device ada-iphone --role node)"] },
      );
      completes(devices, "rotate", { "--device": "paired-device" });
    },
    revoke: () => {
      withHelp(
        devices
          .command("revoke")
          .description("revoke the token of a role of a paired device")
          .addOption(deviceOption("the paired device's id"))
          .requiredOption("--role <role>", "the role whose token to revoke")
          .option("--reason <text>", REASON_HELP)
          .action(run(revokeVerb)),
        { examples: ["moltbot devices revoke --device ada-iphone --role operator"] },
      );
      completes(devices, "revoke", { "--device": "paired-device" });
    },
    remove: () => {
      withHelp(
        devices
          .command("remove [deviceId]")
          .description("unpair a device and drop its pending requests (also: remove <deviceId>)")
          .option("--device <id>", "the paired device's id")
          .option("--reason <text>", REASON_HELP)
          .action(run(removeVerb)),
        { examples: ["moltbot devices remove --device ada-iphone"] },
      );
      completes(devices, "remove", { deviceId: "paired-device", "--device": "paired-device" });
    },
    rename: () => {
      withHelp(
        devices
          .command("rename [deviceId] [name]")
          .description("label a paired device with your own name (1-64 characters), shown in listings")
          .option("--device <id>", "the paired device's id")
          .option("--name <name>", "the label")
          .option("--reason <text>", REASON_HELP)
          .action(run(renameVerb)),
        {
          examples: [
            'moltbot devices rename ada-iphone "Ada\'s phone"',
            'moltbot devices rename --device ada-iphone --name "Ada\'s phone"',
          ],
        },
      );
      completes(devices, "rename", { deviceId: "paired-device", "--device": "paired-device" });
    },
    clear: () => {
      withHelp(
        devices
          .command("clear")
          .description(
            "remove every pending request (--pending) and/or every paired device (--paired); shows what would go without --yes",
          )
          .option("--pending", "drop every pending request")
          .option("--paired", "unpair every device")
          .option("-y, --yes", "really remove them (without it: print what would go, exit 1)")
          .option("--reason <text>", REASON_HELP)
          .action(run(clearVerb)),
        {
          notes: ["Exit status: 0 when removed, 1 (CONFIRMATION_REQUIRED) without --yes."],
          examples: ["moltbot devices clear --pending", "moltbot devices clear --pending --paired --yes"],
        },
      );
    },
    verify: () => {
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
      completes(devices, "verify", { "--device": "paired-device" });
    },
  });
}
