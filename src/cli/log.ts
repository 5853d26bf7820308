import type { Command } from "commander";
import { completes } from "./completion-kinds.js";
import { resolveChannel } from "../core/channels.js";
import type { DecisionEntry } from "../core/decisions.js";
import { parseDuration } from "../core/text.js";
import { MoltbotError } from "../errors.js";
import { readDecisionLog } from "../store/decision-log.js";
import { loadNativeHash, type LogVerification } from "../core/decision-chain.js";
import { withHelp, type Runner, type Show, type Verb } from "./kit.js";
import { escapeControl, renderTable } from "./output.js";

/** `--since`: an ISO date or time, or a duration back from now (`2h`, `7d`). */
function sinceOf(text: string, now: number): number {
  if (/^\d+\s*[a-z]*$/i.test(text.trim())) return now - parseDuration(text, "--since");
  const at = Date.parse(text);
  if (!Number.isFinite(at)) {
    throw new MoltbotError(
      "USAGE",
      `Invalid --since "${text.slice(0, 40)}": give a date or time (2026-02-01, 2026-02-01T12:00Z) or a duration back from now (2h, 7d).`,
    );
  }
  return at;
}

interface Listed {
  entries: DecisionEntry[];
  verification: LogVerification;
}

/** What a decision was about, in a few words. */
function subject(entry: DecisionEntry): string {
  const parts: string[] = [];
  if (entry.channel !== undefined) {
    parts.push(
      `${entry.channel}${entry.account !== undefined && entry.account !== "default" ? `/${entry.account}` : ""}`,
    );
  }
  if (entry.senderId !== undefined) parts.push(`sender ${entry.senderId}`);
  if (entry.deviceId !== undefined) parts.push(`device ${entry.deviceId}`);
  if (entry.nodeId !== undefined) parts.push(`node ${entry.nodeId}`);
  if (entry.role !== undefined) parts.push(`role ${entry.role}`);
  if (entry.name !== undefined) parts.push(`name "${entry.name}"`);
  if (entry.count !== undefined) parts.push(`${entry.count} entries`);
  return escapeControl(parts.join(" "));
}

const operatorOf = (entry: DecisionEntry): string => {
  const { operator } = entry;
  if (typeof operator !== "object" || operator === null) return "-";
  return escapeControl(`${operator.user}${operator.sudoUser !== undefined ? ` (sudo: ${operator.sudoUser})` : ""}`);
};

function printEntries(show: Show, entries: readonly DecisionEntry[]): void {
  const rows = entries.map((entry) => [
    escapeControl(String(entry.at)),
    escapeControl(String(entry.action)) + (entry.recovered !== undefined ? ` (${entry.recovered})` : ""),
    subject(entry),
    operatorOf(entry),
    escapeControl(entry.reason ?? ""),
  ]);
  const columns = [
    { header: "AT" },
    { header: "DECISION", style: (text: string) => show.c.cyan(text) },
    { header: "ABOUT", shrink: true },
    { header: "BY", shrink: true, optional: true },
    { header: "REASON", shrink: true, optional: true },
  ];
  show.out(`${renderTable(columns, rows, show.columns, show.c)}\n`);
}

const log: Verb<
  { channel?: string; since?: string; verify?: boolean },
  Listed & { verify: boolean; filtered: boolean }
> = {
  action: async ({ options, store }) => {
    const channel = options.channel === undefined ? undefined : resolveChannel(options.channel).name;
    const ctx = store();
    const since = options.since === undefined ? undefined : sinceOf(options.since, ctx.now());
    // Every line is hashed again: node:crypto's SHA-256 for a log of any length.
    await loadNativeHash();
    const { entries, verification } = readDecisionLog(ctx);
    const shown = entries.filter(
      (entry) =>
        (channel === undefined || entry.channel === channel) &&
        (since === undefined || Date.parse(String(entry.at)) >= since),
    );
    return {
      entries: shown,
      verification,
      verify: options.verify === true,
      filtered: channel !== undefined || since !== undefined,
    };
  },
  json: ({ entries, verification, verify }) => (verify ? verification : { entries }),
  exit: ({ verification, verify }) => (verify && !verification.ok ? 1 : 0),
  human: ({ entries, verification, verify, filtered }, show) => {
    if (verify) {
      if (!verification.ok) {
        throw new MoltbotError(
          "VERIFY_FAILED",
          `The decision log does not verify: ${verification.problem ?? "unknown problem"} (the first ${verification.entries} entries hold together). Run "${show.next("doctor", "--fix")}" to set it aside and start a new log.`,
        );
      }
      const note = verification.interrupted
        ? " A decision was interrupted by a crash; the next decision records it."
        : "";
      show.out(`Decision log verified: ${verification.entries} entries, last hash ${verification.head}.${note}\n`);
      return;
    }
    if (entries.length === 0)
      show.err(filtered ? "No decisions match these filters.\n" : "No decisions recorded yet.\n");
    else printEntries(show, entries);
    if (!verification.ok) {
      show.err(
        `moltbot: the decision log does not verify (${escapeControl(verification.problem ?? "")}); run "${show.next("log", "--verify")}".\n`,
      );
    }
  },
};

export function registerLog(program: Command, run: Runner): void {
  withHelp(
    program
      .command("log")
      .description(
        "show the record of decisions (approve, reject, revoke, block, rotate, remove, …); --verify checks its hash chain",
      )
      .option("--channel <channel>", "only decisions about this DM channel")
      .option("--since <when>", "only decisions since a date or time (2026-02-01) or for a duration back (2h, 7d)")
      .option("--verify", "check that no line was edited, removed, added or reordered (exit 1 when one was)")
      .action(run(log)),
    {
      notes: ["The log is <state>/moltbot/decisions.jsonl; it never holds a token or a code in clear."],
      examples: [
        "moltbot log --since 7d",
        "moltbot log --channel telegram --json | jq '.entries[] | select(.action == \"pairing.approve\")'",
        "moltbot log --verify",
      ],
    },
  );
  completes(program, "log", { "--channel": "channel" });
}
