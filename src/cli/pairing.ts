import type { Command } from "commander";
import { resolveChannel } from "../core/channels.js";
import { MoltbotError } from "../errors.js";
import type { NotifyResult } from "../notify/index.js";
import {
  approveDmCode,
  listAllDmRequests,
  listDmRequests,
  readDmAllowlist,
  rejectDmCode,
  requestDmPairing,
  revokeDmSender,
  type ChannelRequests,
} from "../store/dm-store.js";
import { collect, globalOptions, storeContextFor } from "./context.js";
import { colors, escapeControl, formatAgo, formatIn, printJson, renderTable, type CliIO } from "./output.js";

type Action = (io: CliIO, command: Command, args: string[]) => Promise<void>;
export type Runner = (action: Action) => (...args: unknown[]) => Promise<void>;

function parseMeta(pairs: readonly string[]): Record<string, string> {
  const entries = pairs.map((pair): [string, string] => {
    const at = pair.indexOf("=");
    if (at <= 0) throw new MoltbotError("USAGE", `--meta takes key=value (got "${pair.slice(0, 40)}").`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
  // fromEntries defines own properties, so no key (not even __proto__) is silently lost.
  return Object.fromEntries(entries);
}

function formatMeta(meta: Record<string, string> | undefined): string {
  if (!meta) return "";
  return Object.entries(meta)
    .map(([key, value]) => `${escapeControl(key)}=${escapeControl(value)}`)
    .join(" ");
}

/** Under this much time left, the expiry is highlighted: approve now or the sender must ask again. */
const EXPIRES_SOON_MS = 5 * 60 * 1000;

function printChannelTable(io: CliIO, listed: ChannelRequests, now: number): void {
  const c = colors(io);
  const channel = resolveChannel(listed.channel);
  const expiresAt = listed.requests.map((request) => Date.parse(request.expiresAt));
  const rows = listed.requests.map((request, index) => [
    request.code,
    escapeControl(request.id),
    formatMeta(request.meta),
    formatAgo(Date.parse(request.createdAt), now),
    formatIn(expiresAt[index]!, now),
  ]);
  io.out(
    `${renderTable(
      [
        { header: "CODE", style: (text) => c.cyan.bold(text) },
        { header: channel.idLabel, shrink: true },
        { header: "META", shrink: true, optional: true },
        { header: "REQUESTED", optional: true },
        { header: "EXPIRES", style: (text, row) => (expiresAt[row]! - now < EXPIRES_SOON_MS ? c.yellow(text) : text) },
      ],
      rows,
      io.columns,
      c,
    )}\n`,
  );
}

/** The next command after a listing: the exact one when a single request waits. */
function approveHint(channels: readonly ChannelRequests[]): string {
  const requests = channels.flatMap((listed) =>
    listed.requests.map((request) => ({ channel: listed.channel, code: request.code })),
  );
  if (requests.length === 1)
    return `Approve it with: moltbot pairing approve ${requests[0]!.channel} ${requests[0]!.code}\n`;
  const channel = channels.length === 1 ? channels[0]!.channel : "<channel>";
  return `Approve one with: moltbot pairing approve ${channel} <CODE>\n`;
}

const listAction: Action = async (io, command, [channelArg]) => {
  const options = globalOptions(command);
  const ctx = storeContextFor(io, options);
  const now = ctx.now();
  if (channelArg !== undefined) {
    const listed = listDmRequests(ctx, channelArg);
    if (options.json) return printJson(io, listed);
    if (listed.requests.length === 0) {
      io.err(`No pending ${listed.channel} pairing requests: nobody is waiting.\n`);
      return;
    }
    printChannelTable(io, listed, now);
    io.err(approveHint([listed]));
    return;
  }
  const all = listAllDmRequests(ctx);
  if (options.json) return printJson(io, all);
  if (all.channels.length === 0) {
    io.err("No pending pairing requests on any channel: nobody is waiting.\n");
    return;
  }
  all.channels.forEach((listed, index) => {
    io.out(`${index > 0 ? "\n" : ""}${colors(io).bold(listed.channel)} (${listed.requests.length} pending)\n`);
    printChannelTable(io, listed, now);
  });
  io.err(approveHint(all.channels));
};

const requestAction: Action = async (io, command, [channel, senderId]) => {
  const options = globalOptions(command);
  const metaPairs = command.opts<{ meta?: string[] }>().meta;
  const ctx = storeContextFor(io, options);
  const result = await requestDmPairing(ctx, {
    channel: channel!,
    senderId: senderId!,
    ...(metaPairs !== undefined ? { meta: parseMeta(metaPairs) } : {}),
  });
  if (options.json) return printJson(io, result);
  const id = escapeControl(result.id);
  const now = ctx.now();
  switch (result.status) {
    case "created":
      // The reply quotes the sender's id: escape it line by line so the layout stays readable.
      io.out(`${result.message!.split("\n").map(escapeControl).join("\n")}\n`);
      io.err(
        `Created ${result.channel} request ${result.code} for ${id}. Send the text above to the sender; approve with: moltbot pairing approve ${result.channel} ${result.code}\n`,
      );
      return;
    case "pending":
      io.out(
        `${id} already has pending ${result.channel} code ${result.code} (expires ${formatIn(Date.parse(result.expiresAt!), now)}); nothing new to send.\n`,
      );
      io.err(`Approve with: moltbot pairing approve ${result.channel} ${result.code}\n`);
      return;
    case "capped":
      io.out(
        `${result.channel} already has the maximum number of pending requests; ${id} was ignored and nothing was stored.\n`,
      );
      io.err(`See them with: moltbot pairing list ${result.channel}\n`);
      return;
    case "allowed":
      io.out(`${id} is already allowed on ${result.channel}; no code needed.\n`);
      return;
  }
};

/** `approve <channel> <code>` or `approve --channel <channel> <code>`. */
function channelAndCode(
  command: Command,
  args: (string | undefined)[],
  verb: string,
): { channel: string; code: string } {
  const flag = command.opts<{ channel?: string }>().channel;
  const given = args.filter((arg): arg is string => arg !== undefined);
  if (flag !== undefined && given.length === 1) return { channel: flag, code: given[0]! };
  if (flag === undefined && given.length === 2) return { channel: given[0]!, code: given[1]! };
  throw new MoltbotError(
    "USAGE",
    `Usage: moltbot pairing ${verb} <channel> <code> (or --channel <channel> <code>). Run "moltbot pairing list" to see pending codes.`,
  );
}

const approveAction: Action = async (io, command, args) => {
  const options = globalOptions(command);
  const input = channelAndCode(command, args, "approve");
  resolveChannel(input.channel);
  const ctx = storeContextFor(io, options);
  const result = await approveDmCode(ctx, input);
  let notify: NotifyResult | undefined;
  if (command.opts<{ notify?: boolean }>().notify) {
    // After the approval is written: a notice that fails is reported, never an error (exit 0).
    const { notifyApprovedSender } = await import("../notify/index.js");
    notify = await notifyApprovedSender(ctx, { channel: result.channel, senderId: result.id });
  }
  if (options.json) return printJson(io, notify ? { ...result, notify } : result);
  io.out(
    `${colors(io).green("Approved")} ${result.channel} sender ${escapeControl(result.id)} (code ${result.code}).\n`,
  );
  if (notify?.status === "sent") io.err(`notify: sent. Check with: moltbot pairing allowlist ${result.channel}\n`);
  else if (notify)
    io.err(`notify: ${notify.status} (${escapeControl(notify.reason ?? "")}). Tell the sender: "${result.message}"\n`);
  else io.err(`Tell the sender: "${result.message}"  Check with: moltbot pairing allowlist ${result.channel}\n`);
};

const rejectAction: Action = async (io, command, args) => {
  const options = globalOptions(command);
  const input = channelAndCode(command, args, "reject");
  resolveChannel(input.channel);
  const ctx = storeContextFor(io, options);
  const result = await rejectDmCode(ctx, input);
  if (options.json) return printJson(io, result);
  io.out(
    `${colors(io).yellow("Rejected")} ${result.channel} request ${result.code} from ${escapeControl(result.id)}.\n`,
  );
};

const allowlistAction: Action = async (io, command, [channel]) => {
  const options = globalOptions(command);
  const ctx = storeContextFor(io, options);
  const result = readDmAllowlist(ctx, channel!);
  if (options.json) return printJson(io, result);
  if (result.allowFrom.length === 0) {
    io.err(
      `No approved ${result.channel} senders yet. Approve one with: moltbot pairing approve ${result.channel} <CODE>\n`,
    );
    return;
  }
  io.out(result.allowFrom.map((id) => `${escapeControl(id)}\n`).join(""));
};

const revokeAction: Action = async (io, command, [channel, senderId]) => {
  const options = globalOptions(command);
  const ctx = storeContextFor(io, options);
  const result = await revokeDmSender(ctx, { channel: channel!, senderId: senderId! });
  if (options.json) return printJson(io, result);
  const id = escapeControl(result.id);
  io.out(
    result.removed
      ? `Removed ${id} from the ${result.channel} allowlist.\n`
      : `${id} was not on the ${result.channel} allowlist; nothing changed.\n`,
  );
};

export function registerPairing(program: Command, run: Runner): void {
  const pairing = program
    .command("pairing")
    .description("DM pairing: approve who may talk to the bot on a chat channel")
    .addHelpText(
      "after",
      "\nExample:\n  $ moltbot pairing list telegram\n  $ moltbot pairing approve telegram ABCD2345",
    );

  pairing
    .command("list [channel]")
    .description("show live pairing requests, oldest first (all channels when none is given)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ moltbot pairing list telegram\n  $ moltbot pairing list --json | jq '.channels[].requests[].code'",
    )
    .action(run(listAction));

  pairing
    .command("request <channel> <senderId>")
    .description("record a pairing request for a sender (what the gateway does when a stranger writes)")
    .option("--meta <key=value>", "metadata to store with the request, e.g. username=alice (repeatable)", collect)
    .addHelpText("after", "\nExample:\n  $ moltbot pairing request telegram 123456789 --meta username=alice")
    .action(run(requestAction));

  pairing
    .command("approve [channel] [code]")
    .description("approve a pending code: the sender joins the channel's allowlist")
    .option("--channel <channel>", "the channel, when given as an option")
    .option("--notify", 'then send the sender the approval message on their channel (README "Notify")')
    .addHelpText(
      "after",
      "\nExamples:\n  $ moltbot pairing approve telegram ABCD2345\n  $ moltbot pairing approve --channel telegram abcd2345 --notify",
    )
    .action(run(approveAction));

  pairing
    .command("reject [channel] [code]")
    .description("drop a pending code without approving it")
    .option("--channel <channel>", "the channel, when given as an option")
    .addHelpText("after", "\nExample:\n  $ moltbot pairing reject telegram ABCD2345")
    .action(run(rejectAction));

  pairing
    .command("allowlist <channel>")
    .description("show the approved senders of a channel, one per line")
    .addHelpText("after", "\nExample:\n  $ moltbot pairing allowlist telegram")
    .action(run(allowlistAction));

  pairing
    .command("revoke <channel> <senderId>")
    .description("remove a sender from a channel's allowlist")
    .addHelpText("after", "\nExample:\n  $ moltbot pairing revoke telegram 123456789")
    .action(run(revokeAction));
}
