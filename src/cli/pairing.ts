import type { Command } from "commander";
import { completes } from "./completion-kinds.js";
import { CHANNEL_ALIASES, CHANNEL_NAMES, CORE_CHANNELS, resolveChannel } from "../core/channels.js";
import type { ApproveResult, RejectResult, RequestResult, RevokeResult } from "../core/dm-pairing.js";
import { MoltbotError } from "../errors.js";
import {
  approveDmCode,
  listAllDmRequests,
  listDmRequests,
  readDmAllowlist,
  rejectDmCode,
  requestDmPairing,
  revokeDmSender,
  type ChannelListError,
  type ChannelRequests,
} from "../store/dm-store.js";
import { collect, slot, withHelp, withStateDirInHints, type Runner, type Show, type Verb } from "./kit.js";
import { escapeControl, formatAgo, formatIn, renderTable } from "./output.js";
import type { NotifyResult } from "../notify/index.js";

/** @deprecated Import from kit.ts; kept until the completion rewrite stops importing it from here. */
export type { Runner } from "./kit.js";

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

function printChannelTable(show: Show, listed: ChannelRequests, now: number): void {
  const { c } = show;
  const channel = resolveChannel(listed.channel);
  const expiresAt = listed.requests.map((request) => Date.parse(request.expiresAt));
  // Two bots on one channel: say whose request each is (a January store has one account, no column).
  const accounts = new Set(listed.requests.map((request) => request.account)).size > 1;
  const rows = listed.requests.map((request, index) => [
    // The code is escaped like every other cell: the file may hold anything, a gateway wrote it.
    escapeControl(request.code),
    ...(accounts ? [escapeControl(request.account)] : []),
    escapeControl(request.id),
    formatMeta(request.meta),
    formatAgo(Date.parse(request.createdAt), now),
    formatIn(expiresAt[index]!, now),
  ]);
  const columns = [
    { header: "CODE", style: (text: string) => c.cyan.bold(text) },
    ...(accounts ? [{ header: "ACCOUNT" }] : []),
    { header: channel.idLabel, shrink: true },
    { header: "META", shrink: true, optional: true },
    { header: "REQUESTED", optional: true },
    {
      header: "EXPIRES",
      style: (text: string, row: number) => (expiresAt[row]! - now < EXPIRES_SOON_MS ? c.yellow(text) : text),
    },
  ];
  show.out(`${renderTable(columns, rows, show.columns, c)}\n`);
}

/** The next command after a listing: the exact one when a single request waits. */
function approveHint(show: Show, channels: readonly ChannelRequests[]): string {
  const requests = channels.flatMap((listed) =>
    listed.requests.map((request) => ({ channel: listed.channel, code: request.code })),
  );
  if (requests.length === 1) {
    return `Approve it with: ${show.next("pairing", "approve", requests[0]!.channel, requests[0]!.code)}\n`;
  }
  const channel = channels.length === 1 ? channels[0]!.channel : slot("channel");
  return `Approve one with: ${show.next("pairing", "approve", channel, slot("CODE"))}\n`;
}

interface AllChannels {
  channels: ChannelRequests[];
  errors?: ChannelListError[];
}

/** `--account <id>` as the store takes it: absent when not given. */
const accountOf = (options: { account?: string }) =>
  options.account !== undefined ? { account: options.account } : {};

const list: Verb<{ channel?: string; account?: string }, ChannelRequests | AllChannels> = {
  action: ({ args: [channelArg], options, store, globals }) => {
    if (channelArg !== undefined && options.channel !== undefined) {
      throw new MoltbotError(
        "USAGE",
        'Give the channel once: "moltbot pairing list <channel>" or "moltbot pairing list --channel <channel>".',
      );
    }
    const channel = channelArg ?? options.channel;
    if (channel !== undefined) return listDmRequests(store(), channel, accountOf(options));
    const all = listAllDmRequests(store(), accountOf(options));
    if (all.errors.length === 0) return { channels: all.channels };
    // Following a message's advice ("Run moltbot doctor") must act on this store.
    const errors = all.errors.map((error) => ({
      ...error,
      message: withStateDirInHints(error.message, globals.stateDir),
    }));
    return { ...all, errors };
  },
  human: (listing, show) => {
    const now = show.now();
    if ("channel" in listing) {
      if (listing.requests.length === 0) {
        return show.err(`No pending ${listing.channel} pairing requests: nobody is waiting.\n`);
      }
      printChannelTable(show, listing, now);
      return show.err(approveHint(show, [listing]));
    }
    listing.channels.forEach((listed, index) => {
      show.out(`${index > 0 ? "\n" : ""}${show.c.bold(listed.channel)} (${listed.requests.length} pending)\n`);
      printChannelTable(show, listed, now);
    });
    // A broken channel file hides nobody else: the others are listed, each broken one gets its error line.
    for (const broken of listing.errors ?? []) show.err(`moltbot: ${escapeControl(broken.message)}\n`);
    if (listing.channels.length > 0) show.err(approveHint(show, listing.channels));
    else if (!listing.errors) show.err("No pending pairing requests on any channel: nobody is waiting.\n");
  },
  exit: (listing) => ("errors" in listing && listing.errors ? 3 : 0),
};

const request: Verb<{ meta?: string[]; account?: string }, RequestResult> = {
  action: ({ args: [channel, senderId], options, store }) =>
    requestDmPairing(store(), {
      channel: channel!,
      senderId: senderId!,
      ...accountOf(options),
      ...(options.meta !== undefined ? { meta: parseMeta(options.meta) } : {}),
    }),
  human: (result, show) => {
    const id = escapeControl(result.id);
    const approve = () => show.next("pairing", "approve", result.channel, result.code!);
    switch (result.status) {
      case "created":
        // The reply quotes the sender's id: escape it line by line so the layout stays readable.
        show.out(`${result.message!.split("\n").map(escapeControl).join("\n")}\n`);
        show.err(
          `Created ${result.channel} request ${escapeControl(result.code!)} for ${id}. Send the text above to the sender; approve with: ${approve()}\n`,
        );
        return;
      case "pending":
        show.out(
          `${id} already has pending ${result.channel} code ${escapeControl(result.code!)} (expires ${formatIn(Date.parse(result.expiresAt!), show.now())}); nothing new to send.\n`,
        );
        show.err(`Approve with: ${approve()}\n`);
        return;
      case "capped":
        show.out(
          `${result.channel} already has the maximum number of pending requests; ${id} was ignored and nothing was stored.\n`,
        );
        show.err(`See them with: ${show.next("pairing", "list", result.channel)}\n`);
        return;
      case "allowed":
        show.out(`${id} is already allowed on ${result.channel}; no code needed.\n`);
        return;
    }
  },
};

/** `approve <channel> <code>` or `approve --channel <channel> <code>`; the channel is checked before the store is. */
function channelAndCode(
  channelOption: string | undefined,
  args: (string | undefined)[],
  verb: string,
): { channel: string; code: string } {
  const given = args.filter((arg): arg is string => arg !== undefined);
  let input: { channel: string; code: string } | undefined;
  if (channelOption !== undefined && given.length === 1) input = { channel: channelOption, code: given[0]! };
  if (channelOption === undefined && given.length === 2) input = { channel: given[0]!, code: given[1]! };
  if (!input) {
    throw new MoltbotError(
      "USAGE",
      `Usage: moltbot pairing ${verb} <channel> <code> (or --channel <channel> <code>). Run "moltbot pairing list" to see pending codes.`,
    );
  }
  resolveChannel(input.channel);
  return input;
}

/** "" for the default account (a January store knows no other), " (account work)" otherwise. */
const accountNote = (account: string) => (account === "default" ? "" : ` (account ${escapeControl(account)})`);

const approve: Verb<
  { channel?: string; account?: string; notify?: boolean },
  ApproveResult & { notify?: NotifyResult }
> = {
  action: async ({ args, options, store }) => {
    const result = await approveDmCode(store(), {
      ...channelAndCode(options.channel, args, "approve"),
      ...accountOf(options),
    });
    if (!options.notify) return result;
    // After the approval is written: a notice that fails is reported, never an error (exit 0).
    const { notifyApprovedSender } = await import("../notify/index.js");
    const notify = await notifyApprovedSender(store(), {
      channel: result.channel,
      senderId: result.id,
      account: result.account,
    });
    return { ...result, notify };
  },
  human: (result, show) => {
    show.out(
      `${show.c.green("Approved")} ${result.channel} sender ${escapeControl(result.id)}${accountNote(result.account)} (code ${escapeControl(result.code)}).\n`,
    );
    const check = `Check with: ${show.next("pairing", "allowlist", result.channel, ...(result.account === "default" ? [] : ["--account", result.account]))}`;
    const { notify } = result;
    if (notify?.status === "sent") show.err(`notify: sent. ${check}\n`);
    else if (notify) {
      show.err(
        `notify: ${notify.status} (${escapeControl(notify.reason ?? "")}). Tell the sender: "${result.message}"\n`,
      );
    } else show.err(`Tell the sender: "${result.message}"  ${check}\n`);
  },
};

const reject: Verb<{ channel?: string; account?: string }, RejectResult> = {
  action: ({ args, options, store }) =>
    rejectDmCode(store(), { ...channelAndCode(options.channel, args, "reject"), ...accountOf(options) }),
  human: (result, show) =>
    show.out(
      result.ids === undefined
        ? `${show.c.yellow("Rejected")} ${result.channel} request ${escapeControl(result.code)} from ${escapeControl(result.id)}.\n`
        : `${show.c.yellow("Rejected")} ${result.ids.length} ${result.channel} requests holding code ${escapeControl(result.code)}, from ${result.ids.map(escapeControl).join(", ")} (one code cannot say whom to approve; they get new codes when they write again).\n`,
    ),
};

const allowlist: Verb<{ account?: string }, { channel: string; account: string; allowFrom: string[] }> = {
  action: ({ args: [channel], options, store }) => readDmAllowlist(store(), channel!, accountOf(options)),
  human: (result, show) => {
    if (result.allowFrom.length > 0) return show.out(result.allowFrom.map((id) => `${escapeControl(id)}\n`).join(""));
    show.err(
      `No approved ${result.channel} senders yet. Approve one with: ${show.next("pairing", "approve", result.channel, slot("CODE"))}\n`,
    );
  },
};

const revoke: Verb<{ account?: string }, RevokeResult> = {
  action: ({ args: [channel, senderId], options, store }) =>
    revokeDmSender(store(), { channel: channel!, senderId: senderId!, ...accountOf(options) }),
  human: (result, show) => {
    const id = escapeControl(result.id);
    const list = `the ${result.channel} allowlist${accountNote(result.account)}`;
    show.out(result.removed ? `Removed ${id} from ${list}.\n` : `${id} was not on ${list}; nothing changed.\n`);
  },
};

/** The valid channel names, for help: a newcomer should not have to guess them. */
function channelsNote(): string {
  const aliases = Object.entries(CHANNEL_ALIASES);
  const named = (name: string) => {
    const alias = aliases.filter(([, target]) => target === name).map(([short]) => short);
    return alias.length > 0 ? `${name} (or ${alias.join(", ")})` : name;
  };
  const core = CORE_CHANNELS.map((channel) => channel.name);
  const extensions = CHANNEL_NAMES.filter((name) => !core.includes(name));
  return `Channels: ${core.map(named).join(", ")}; extension channels: ${extensions.map(named).join(", ")}. Case-insensitive.`;
}

const ACCOUNT_HELP =
  "the bot account (two Telegram bots, a work Slack...); default: the default account, or any account when approving";

export function registerPairing(program: Command, run: Runner): void {
  const pairing = program
    .command("pairing")
    .description("DM pairing: approve who may talk to the bot on a chat channel");
  withHelp(pairing, {
    notes: [channelsNote()],
    examples: ["moltbot pairing list telegram", "moltbot pairing approve telegram ABCD2345"],
  });
  withHelp(program, { notes: [channelsNote()] });

  withHelp(
    pairing
      .command("list [channel]")
      .description("show live pairing requests, oldest first (all channels when none is given)")
      .option("--channel <channel>", "the channel, when given as an option")
      .option("--account <id>", ACCOUNT_HELP)
      .action(run(list)),
    {
      examples: ["moltbot pairing list telegram", "moltbot pairing list --json | jq '.channels[].requests[].code'"],
    },
  );

  withHelp(
    pairing
      .command("request <channel> <senderId>")
      .description("record a pairing request for a sender (what the gateway does when a stranger writes)")
      .option("--meta <key=value>", "metadata to store with the request, e.g. username=alice (repeatable)", collect)
      .option("--account <id>", ACCOUNT_HELP)
      .action(run(request)),
    { examples: ["moltbot pairing request telegram 123456789 --meta username=alice"] },
  );

  withHelp(
    pairing
      .command("approve [channel] [code]")
      .description("approve a pending code: the sender joins the channel's allowlist")
      .option("--channel <channel>", "the channel, when given as an option")
      .option("--account <id>", ACCOUNT_HELP)
      .option("--notify", 'then send the sender the approval message on their channel (README "Notify")')
      .action(run(approve)),
    {
      examples: [
        "moltbot pairing approve telegram ABCD2345",
        "moltbot pairing approve --channel telegram abcd2345 --notify",
        "moltbot pairing approve telegram ABCD2345 --account work",
      ],
    },
  );

  withHelp(
    pairing
      .command("reject [channel] [code]")
      .description("drop a pending code without approving it")
      .option("--channel <channel>", "the channel, when given as an option")
      .option("--account <id>", ACCOUNT_HELP)
      .action(run(reject)),
    { examples: ["moltbot pairing reject telegram ABCD2345"] },
  );

  withHelp(
    pairing
      .command("allowlist <channel>")
      .description("show the approved senders of a channel, one per line")
      .option("--account <id>", ACCOUNT_HELP)
      .action(run(allowlist)),
    { examples: ["moltbot pairing allowlist telegram"] },
  );

  withHelp(
    pairing
      .command("revoke <channel> <senderId>")
      .description("remove a sender from a channel's allowlist")
      .option("--account <id>", ACCOUNT_HELP)
      .action(run(revoke)),
    { examples: ["moltbot pairing revoke telegram 123456789"] },
  );

  // What each argument completes to in the shells (completion-engine.ts).
  completes(pairing, "list", { channel: "channel", "--channel": "channel" });
  completes(pairing, "request", { channel: "channel" });
  completes(pairing, "approve", { channel: "channel", code: "dm-code", "--channel": "channel" });
  completes(pairing, "reject", { channel: "channel", code: "dm-code", "--channel": "channel" });
  completes(pairing, "allowlist", { channel: "channel" });
  completes(pairing, "revoke", { channel: "channel" });
}
