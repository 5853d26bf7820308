import fs from "node:fs";
import type { Command } from "commander";
import { completes } from "./completion-kinds.js";
import { CHANNEL_ALIASES, CHANNEL_NAMES, CORE_CHANNELS, resolveChannel } from "../core/channels.js";
import type { ApproveResult, RejectResult, RequestResult, RevokeResult } from "../core/dm-pairing.js";
import { MoltbotError } from "../errors.js";
import type { BlockedView, BlockResult, UnblockResult } from "../core/block-list.js";
import { parseDuration } from "../core/text.js";
import {
  accountsAllowing,
  approveDmCode,
  blockDmSender,
  listAllDmRequests,
  listBlockedSenders,
  listDmRequests,
  readDmAllowlist,
  rejectDmCode,
  requestDmPairing,
  revokeDmSender,
  unblockDmSender,
  type ChannelListError,
  type ChannelRequests,
} from "../store/dm-store.js";
import {
  collect,
  registerVerbs,
  slot,
  withHelp,
  withStateDirInHints,
  type Runner,
  type Show,
  type Verb,
} from "./kit.js";
import { colors, escapeControl, formatAgo, formatDuration, formatIn, renderTable } from "./output.js";
import type { NotifyResult } from "../notify/index.js";
import type { NewRequest } from "../store/watch.js";

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

/** `--reason "…"` as the store takes it (it validates: at most 500 characters, no control characters). */
const reasonOf = (options: { reason?: string }) => (options.reason !== undefined ? { reason: options.reason } : {});

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
      case "blocked":
        // The gateway stays silent to a blocked sender: there is nothing to send them.
        show.out(`${id} is blocked on ${result.channel}; nothing was stored and nothing is to be sent.\n`);
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
  { channel?: string; account?: string; notify?: boolean; expectId?: string; reason?: string },
  ApproveResult & { notify?: NotifyResult }
> = {
  action: async ({ args, options, store }) => {
    const result = await approveDmCode(store(), {
      ...channelAndCode(options.channel, args, "approve"),
      ...accountOf(options),
      ...reasonOf(options),
      ...(options.expectId !== undefined ? { expectId: options.expectId } : {}),
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

const reject: Verb<{ channel?: string; account?: string; reason?: string }, RejectResult> = {
  action: ({ args, options, store }) =>
    rejectDmCode(store(), {
      ...channelAndCode(options.channel, args, "reject"),
      ...accountOf(options),
      ...reasonOf(options),
    }),
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

const revoke: Verb<{ account?: string; reason?: string }, RevokeResult> = {
  action: ({ args: [channel, senderId], options, store }) =>
    revokeDmSender(store(), { channel: channel!, senderId: senderId!, ...accountOf(options), ...reasonOf(options) }),
  human: (result, show) => {
    const id = escapeControl(result.id);
    const list = `the ${result.channel} allowlist${accountNote(result.account)}`;
    show.out(result.removed ? `Removed ${id} from ${list}.\n` : `${id} was not on ${list}; nothing changed.\n`);
  },
};

const scopeNote = (account: string) => (account === "*" ? "on every account" : `on account ${escapeControl(account)}`);

const block: Verb<{ account?: string; reason?: string }, BlockResult & { allowedOn: string[] }> = {
  action: async ({ args: [channel, senderId], options, store }) => {
    const result = await blockDmSender(store(), {
      channel: channel!,
      senderId: senderId!,
      ...accountOf(options),
      ...reasonOf(options),
    });
    // The gateway reads its allowlists, never this block list: say where the sender is still let in.
    const allowedOn = accountsAllowing(store(), result.channel, result.id, options.account);
    return { ...result, allowedOn };
  },
  human: (result, show) => {
    const id = escapeControl(result.id);
    show.out(
      result.added
        ? `Blocked ${result.channel} sender ${id} ${scopeNote(result.account)}${result.dropped > 0 ? `; dropped ${result.dropped} pending request${result.dropped === 1 ? "" : "s"}` : ""}.\n`
        : `${id} was already blocked on ${result.channel} ${scopeNote(result.account)}; nothing changed.\n`,
    );
    for (const account of result.allowedOn) {
      const revokeWords = [
        "pairing",
        "revoke",
        result.channel,
        result.id,
        ...(account === "default" ? [] : ["--account", account]),
      ];
      show.err(
        `${id} is still on the ${result.channel} allowlist${accountNote(account)}, so the gateway still lets them in. Revoke with: ${show.next(...revokeWords)}\n`,
      );
    }
  },
};

const unblock: Verb<{ account?: string; reason?: string }, UnblockResult> = {
  action: ({ args: [channel, senderId], options, store }) =>
    unblockDmSender(store(), { channel: channel!, senderId: senderId!, ...accountOf(options), ...reasonOf(options) }),
  human: (result, show) => {
    const id = escapeControl(result.id);
    show.out(
      result.removed
        ? `Unblocked ${result.channel} sender ${id} ${scopeNote(result.account)}.\n`
        : `${id} was not blocked on ${result.channel} ${scopeNote(result.account)}; nothing changed.\n`,
    );
  },
};

const blocked: Verb<object, { blocked: BlockedView[] }> = {
  action: ({ args: [channel], store }) => listBlockedSenders(store(), channel),
  human: ({ blocked: entries }, show) => {
    if (entries.length === 0) return show.err("Nobody is blocked.\n");
    const now = show.now();
    const rows = entries.map((entry) => [
      entry.channel,
      entry.account === "*" ? "(all)" : escapeControl(entry.account),
      escapeControl(entry.id),
      formatAgo(Date.parse(entry.at), now),
      escapeControl(entry.reason ?? ""),
    ]);
    const columns = [
      { header: "CHANNEL" },
      { header: "ACCOUNT" },
      { header: "SENDER", shrink: true, style: (text: string) => show.c.cyan(text) },
      { header: "SINCE" },
      { header: "REASON", shrink: true, optional: true },
    ];
    show.out(`${renderTable(columns, rows, show.columns, show.c)}\n`);
  },
};

/** A new request as `wait --json` prints it, and `watch --json` one per line. */
const requestDocument = (request: NewRequest) => request;

/** "10 s", "2 min": how long wait waits, for its first line. */
const timeoutMsOf = (options: { timeout?: string }) => parseDuration(options.timeout ?? "60s", "--timeout");

const wait: Verb<{ account?: string; timeout?: string }, NewRequest> = {
  action: async ({ args: [channelArg], options, store, io }) => {
    const channel = resolveChannel(channelArg!);
    const timeoutMs = timeoutMsOf(options);
    const ctx = store();
    const { watchDmRequests, watchPollMs } = await import("../store/watch.js");
    const pollMs = watchPollMs(io.env);
    const watcher = watchDmRequests(ctx, {
      channel,
      ...accountOf(options),
      ...(pollMs !== undefined ? { pollMs } : {}),
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const forHow = timeoutMs === 0 ? "" : ` up to ${formatDuration(timeoutMs)}`;
      // The line says the baseline is taken: a request written from now on is a new one.
      io.err(`Waiting${forHow} for a new ${channel.name} pairing request...\n`);
      const timedOut = new Promise<never>((_, reject) => {
        if (timeoutMs === 0) return;
        timer = setTimeout(
          () =>
            reject(
              new MoltbotError(
                "TIMEOUT",
                `No new ${channel.name} pairing request within ${formatDuration(timeoutMs)}. Run "moltbot pairing list ${channel.name}" to see who is waiting.`,
              ),
            ),
          timeoutMs,
        );
      });
      const batch = await Promise.race([watcher.next(), timedOut]);
      return batch[0]!;
    } finally {
      if (timer) clearTimeout(timer);
      watcher.close();
    }
  },
  json: requestDocument,
  human: (request, show) => {
    // The code alone on stdout, so `CODE=$(moltbot pairing wait telegram)` captures just it.
    show.out(`${escapeControl(request.code)}\n`);
    const meta = formatMeta(request.meta);
    show.err(
      `New ${request.channel} request from ${escapeControl(request.id)}${accountNote(request.account)}${meta ? ` (${meta})` : ""}. Approve with: ${show.next("pairing", "approve", request.channel, request.code, "--expect-id", request.id)}\n`,
    );
  },
};

/** The environment of an --exec command: the request in MOLTBOT_REQUEST_* (README "pairing watch"). */
function execEnvironment(env: NodeJS.ProcessEnv, stateDir: string, request: NewRequest): NodeJS.ProcessEnv {
  // Sender text goes into the environment as it is (never into a command line); only NUL, which an
  // environment cannot hold, is written as \0.
  const clean = (value: string) => value.replace(/\0/g, "\\0");
  return {
    ...env,
    MOLTBOT_STATE_DIR: stateDir,
    MOLTBOT_REQUEST_CHANNEL: request.channel,
    MOLTBOT_REQUEST_ACCOUNT: clean(request.account),
    MOLTBOT_REQUEST_ID: clean(request.id),
    MOLTBOT_REQUEST_CODE: clean(request.code),
    MOLTBOT_REQUEST_CREATED_AT: clean(request.createdAt),
    MOLTBOT_REQUEST_EXPIRES_AT: clean(request.expiresAt),
    MOLTBOT_REQUEST_META: clean(JSON.stringify(request.meta ?? {})),
    MOLTBOT_REQUEST_JSON: clean(JSON.stringify(request)),
  };
}

/** The program --exec names, found the way a shell would (PATH), or a usage error before any waiting. */
function resolveProgram(program: string, env: NodeJS.ProcessEnv): string {
  const candidates = program.includes("/")
    ? [program]
    : (env.PATH ?? "")
        .split(":")
        .filter(Boolean)
        .map((dir) => `${dir}/${program}`);
  for (const candidate of candidates) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // Not this one.
    }
  }
  throw new MoltbotError(
    "USAGE",
    `--exec ${program.slice(0, 100)}: no such executable${program.includes("/") ? "" : " on PATH"}. Give a program (a script path, or a command name), and its arguments with --arg.`,
  );
}

/** Run one --exec command and wait for it; its output goes to stderr, so stdout keeps only requests. */
async function runHook(program: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number | string> {
  // Loaded here: child_process brings net and streams, which no other pairing command needs.
  const { spawn } = await import("node:child_process");
  return new Promise((resolve) => {
    const child = spawn(program, args, { env, stdio: ["ignore", 2, 2], shell: false });
    child.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    child.on("close", (code, signal) => resolve(code ?? signal ?? "killed"));
  });
}

interface WatchOptions {
  account?: string;
  exec?: string;
  arg?: string[];
  count?: string;
}

const watch: Verb<WatchOptions, { count: number }> = {
  streamed: true,
  action: async ({ args: [channelArg], options, store, io, globals }) => {
    const channel = channelArg === undefined ? undefined : resolveChannel(channelArg);
    if (options.arg !== undefined && options.exec === undefined) {
      throw new MoltbotError("USAGE", "--arg needs --exec: it is an argument of the --exec command.");
    }
    const count = options.count === undefined ? Number.POSITIVE_INFINITY : Number(options.count);
    if (options.count !== undefined && (!/^\d+$/.test(options.count) || count < 1)) {
      throw new MoltbotError(
        "USAGE",
        `--count must be a whole number of requests, 1 or more (got "${String(options.count).slice(0, 20)}").`,
      );
    }
    const program = options.exec === undefined ? undefined : resolveProgram(options.exec, io.env);
    const ctx = store();
    const { watchDmRequests, watchPollMs } = await import("../store/watch.js");
    const pollMs = watchPollMs(io.env);
    const reportedErrors = new Set<string>();
    const watcher = watchDmRequests(ctx, {
      ...(channel ? { channel } : {}),
      ...accountOf(options),
      ...(pollMs !== undefined ? { pollMs } : {}),
      onError: (message) => {
        if (reportedErrors.has(message)) return;
        reportedErrors.add(message);
        io.err(`moltbot: ${escapeControl(message)}\n`);
      },
    });
    const c = await colors(io);
    io.err(
      `Watching ${channel ? `${channel.name} ` : ""}pairing requests${watcher.mode() === "poll" ? " (polling)" : ""}; new ones are printed as they come.\n`,
    );
    let seen = 0;
    try {
      while (seen < count) {
        for (const request of await watcher.next()) {
          if (seen >= count) break;
          seen++;
          if (globals.json) io.out(`${JSON.stringify(requestDocument(request))}\n`);
          else {
            const meta = formatMeta(request.meta);
            io.out(
              `${request.createdAt}  ${request.channel}${request.account === "default" ? "" : `/${escapeControl(request.account)}`}  ${c.cyan.bold(escapeControl(request.code))}  ${escapeControl(request.id)}${meta ? `  ${meta}` : ""}\n`,
            );
          }
          if (program === undefined) continue;
          const status = await runHook(
            program,
            options.arg ?? [],
            execEnvironment(io.env, ctx.paths.stateDir, request),
          );
          if (status !== 0) {
            io.err(
              `moltbot: --exec ${escapeControl(options.exec!)} ended with ${typeof status === "number" ? `status ${status}` : status} for ${request.channel} code ${escapeControl(request.code)}.\n`,
            );
          }
        }
      }
    } finally {
      watcher.close();
    }
    return { count: seen };
  },
  human: () => {},
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

/** Every deciding verb takes it; it goes into the decision log (`moltbot log`). */
const REASON_HELP = "why, for the decision log (moltbot log); at most 500 characters";

const ACCOUNT_HELP =
  "the bot account (two Telegram bots, a work Slack...); default: the default account, or any account when approving";

export function registerPairing(program: Command, run: Runner, words?: readonly string[]): void {
  const pairing = program
    .command("pairing")
    .description("DM pairing: approve who may talk to the bot on a chat channel");
  withHelp(pairing, {
    notes: [channelsNote()],
    examples: ["moltbot pairing list telegram", "moltbot pairing approve telegram ABCD2345"],
  });
  withHelp(program, { notes: [channelsNote()] });

  // One entry per verb; only the verb the command line names is built (kit.ts, registerVerbs).
  registerVerbs(pairing, words, {
    list: () => {
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
      completes(pairing, "list", { channel: "channel", "--channel": "channel" });
    },
    request: () => {
      withHelp(
        pairing
          .command("request <channel> <senderId>")
          .description("record a pairing request for a sender (what the gateway does when a stranger writes)")
          .option("--meta <key=value>", "metadata to store with the request, e.g. username=alice (repeatable)", collect)
          .option("--account <id>", ACCOUNT_HELP)
          .action(run(request)),
        { examples: ["moltbot pairing request telegram 123456789 --meta username=alice"] },
      );
      completes(pairing, "request", { channel: "channel" });
    },
    approve: () => {
      withHelp(
        pairing
          .command("approve [channel] [code]")
          .description("approve a pending code: the sender joins the channel's allowlist")
          .option("--channel <channel>", "the channel, when given as an option")
          .option("--account <id>", ACCOUNT_HELP)
          .option("--notify", 'then send the sender the approval message on their channel (README "Notify")')
          .option(
            "--expect-id <senderId>",
            "approve only if the code still belongs to this sender (checked under the lock)",
          )
          .option("--reason <text>", REASON_HELP)
          .action(run(approve)),
        {
          examples: [
            "moltbot pairing approve telegram ABCD2345",
            "moltbot pairing approve --channel telegram abcd2345 --notify",
            "moltbot pairing approve telegram ABCD2345 --account work",
            'moltbot pairing approve telegram ABCD2345 --expect-id 123456789 --reason "my sister"',
          ],
        },
      );
      completes(pairing, "approve", { channel: "channel", code: "dm-code", "--channel": "channel" });
    },
    reject: () => {
      withHelp(
        pairing
          .command("reject [channel] [code]")
          .description("drop a pending code without approving it")
          .option("--channel <channel>", "the channel, when given as an option")
          .option("--account <id>", ACCOUNT_HELP)
          .option("--reason <text>", REASON_HELP)
          .action(run(reject)),
        { examples: ["moltbot pairing reject telegram ABCD2345"] },
      );
      completes(pairing, "reject", { channel: "channel", code: "dm-code", "--channel": "channel" });
    },
    allowlist: () => {
      withHelp(
        pairing
          .command("allowlist <channel>")
          .description("show the approved senders of a channel, one per line")
          .option("--account <id>", ACCOUNT_HELP)
          .action(run(allowlist)),
        { examples: ["moltbot pairing allowlist telegram"] },
      );
      completes(pairing, "allowlist", { channel: "channel" });
    },
    revoke: () => {
      withHelp(
        pairing
          .command("revoke <channel> <senderId>")
          .description("remove a sender from a channel's allowlist")
          .option("--account <id>", ACCOUNT_HELP)
          .option("--reason <text>", REASON_HELP)
          .action(run(revoke)),
        { examples: ["moltbot pairing revoke telegram 123456789"] },
      );
      completes(pairing, "revoke", { channel: "channel" });
    },
    block: () => {
      withHelp(
        pairing
          .command("block <channel> <senderId>")
          .description(
            "block a sender: their requests get no code and take no slot, and their codes cannot be approved",
          )
          .option("--account <id>", "block on this account only (default: every account of the channel)")
          .option("--reason <text>", REASON_HELP)
          .action(run(block)),
        { examples: ['moltbot pairing block telegram 123456789 --reason "spam"'] },
      );
      completes(pairing, "block", { channel: "channel" });
    },
    unblock: () => {
      withHelp(
        pairing
          .command("unblock <channel> <senderId>")
          .description("lift a block (without --account: every block of the sender on the channel)")
          .option("--account <id>", "lift only this account's block")
          .option("--reason <text>", REASON_HELP)
          .action(run(unblock)),
        { examples: ["moltbot pairing unblock telegram 123456789"] },
      );
      completes(pairing, "unblock", { channel: "channel" });
    },
    blocked: () => {
      withHelp(
        pairing
          .command("blocked [channel]")
          .description("show the blocked senders (all channels when none is given), oldest first")
          .action(run(blocked)),
        { examples: ["moltbot pairing blocked", "moltbot pairing blocked telegram --json"] },
      );
      completes(pairing, "blocked", { channel: "channel" });
    },
    wait: () => {
      withHelp(
        pairing
          .command("wait <channel>")
          .description(
            "wait for a NEW pairing request (not one already pending) and print its code; exit 1 at the timeout",
          )
          .option("--account <id>", "only requests of this account")
          .option("--timeout <duration>", "how long to wait: 30s, 5m, 1h; 0 waits for ever (default 60s)")
          .action(run(wait)),
        {
          notes: ["Exit status: 0 with the request, 1 (TIMEOUT) when none came in time."],
          examples: [
            'CODE=$(moltbot pairing wait telegram --timeout 2m) && moltbot pairing approve telegram "$CODE"',
            "moltbot pairing wait telegram --json | jq -r .id",
          ],
        },
      );
      completes(pairing, "wait", { channel: "channel" });
    },
    watch: () => {
      withHelp(
        pairing
          .command("watch [channel]")
          .description(
            "print each new pairing request as it comes (all channels when none is given); optionally run a command for each",
          )
          .option("--account <id>", "only requests of this account")
          .option(
            "--exec <program>",
            "run this program for each new request, with the request in MOLTBOT_REQUEST_* variables (no shell)",
          )
          .option("--arg <value>", "an argument for the --exec program (repeatable)", collect)
          .option("--count <n>", "stop after this many requests")
          .action(run(watch)),
        {
          notes: [
            "With --json, one JSON object per line (JSON Lines). Sender data reaches --exec only in environment variables, never in its command line.",
          ],
          examples: [
            "moltbot pairing watch",
            "moltbot pairing watch telegram --json",
            "moltbot pairing watch --exec ./notify-me.sh",
            "moltbot pairing watch --exec notify-send --arg 'moltbot: new pairing request'",
          ],
        },
      );
      completes(pairing, "watch", { channel: "channel" });
    },
  });
}
