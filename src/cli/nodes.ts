import type { Command } from "commander";
import { completes } from "./completion-kinds.js";
import { MoltbotError } from "../errors.js";
import { approveNode, listNodeRequests, rejectNode, removePairedNode, renamePairedNode } from "../store/node-store.js";
import { registerVerbs, slot, withHelp, type Runner, type Verb } from "./kit.js";
import { escapeControl, formatAgo, renderTable } from "./output.js";

const pending: Verb<object, ReturnType<typeof listNodeRequests>> = {
  action: ({ store }) => listNodeRequests(store()),
  human: (listed, show) => {
    if (listed.pending.length === 0) return show.err("No pending node requests: nobody is waiting.\n");
    const { c } = show;
    const now = show.now();
    const rows = listed.pending.map((request) => [
      escapeControl(request.requestId),
      escapeControl(request.displayName ?? request.nodeId),
      escapeControl(request.platform ?? "-"),
      escapeControl(request.version ?? "-"),
      escapeControl(request.remoteIp ?? "-"),
      formatAgo(request.ts, now),
      request.isRepair === true ? "yes" : "no",
    ]);
    const columns = [
      { header: "REQUEST", style: (text: string) => c.cyan(text) },
      { header: "NODE", shrink: true },
      { header: "PLATFORM", optional: true },
      { header: "VERSION", optional: true },
      { header: "IP", optional: true },
      { header: "AGE" },
      { header: "REPAIR", optional: true },
    ];
    show.out(`${renderTable(columns, rows, show.columns, c)}\n`);
    show.err(`Approve one with: ${show.next("nodes", "approve", slot("request"))}\n`);
  },
};

/** `--reason "…"` as the store takes it (it validates it). */
const reasonOf = (options: { reason?: string }) => (options.reason !== undefined ? { reason: options.reason } : {});
const REASON_HELP = "why, for the decision log (moltbot log); at most 500 characters";

const approve: Verb<{ reason?: string }, Awaited<ReturnType<typeof approveNode>>> = {
  action: ({ args: [requestId], options, store }) =>
    approveNode(store(), { requestId: requestId!, ...reasonOf(options) }),
  human: ({ node }, show) => {
    const name = node.displayName !== undefined ? ` (${escapeControl(node.displayName)})` : "";
    show.out(`Approved node ${escapeControl(node.nodeId)}${name}; it receives its token when it next connects.\n`);
  },
};

const reject: Verb<{ reason?: string }, Awaited<ReturnType<typeof rejectNode>>> = {
  action: ({ args: [requestId], options, store }) =>
    rejectNode(store(), { requestId: requestId!, ...reasonOf(options) }),
  human: (result, show) =>
    show.out(`Rejected request ${escapeControl(result.requestId)} from node ${escapeControl(result.nodeId)}.\n`),
};

/** The node named once, as an argument or with OpenClaw's --node. */
function nodeIdOf(positional: string | undefined, option: string | undefined, usage: string): string {
  if ((positional === undefined) === (option === undefined)) throw new MoltbotError("USAGE", usage);
  return (positional ?? option)!;
}

const remove: Verb<{ node?: string; reason?: string }, Awaited<ReturnType<typeof removePairedNode>>> = {
  action: ({ args: [positional], options, store }) =>
    removePairedNode(store(), {
      nodeId: nodeIdOf(
        positional,
        options.node,
        'Give the node once: "moltbot nodes remove <nodeId>" (or --node <id>).',
      ),
      ...reasonOf(options),
    }),
  human: (result, show) => show.out(`Removed node ${escapeControl(result.nodeId)} and its pending requests.\n`),
};

const rename: Verb<{ node?: string; name?: string; reason?: string }, Awaited<ReturnType<typeof renamePairedNode>>> = {
  action: ({ args: [positionalId, positionalName], options, store }) => {
    const usage =
      'Give the node and the name once each: "moltbot nodes rename <nodeId> <name>" (or --node <id> --name <name>).';
    const nodeId = nodeIdOf(positionalId, options.node, usage);
    if ((positionalName === undefined) === (options.name === undefined)) throw new MoltbotError("USAGE", usage);
    return renamePairedNode(store(), { nodeId, name: (positionalName ?? options.name)!, ...reasonOf(options) });
  },
  human: (result, show) =>
    show.out(`Node ${escapeControl(result.nodeId)} is now named "${escapeControl(result.displayName)}".\n`),
};

export function registerNodes(program: Command, run: Runner, words?: readonly string[]): void {
  const nodes = program
    .command("nodes")
    .description("legacy node pairing (nodes/pending.json, nodes/paired.json) for nodes that predate device pairing");
  withHelp(nodes, {
    examples: ["moltbot nodes pending", "moltbot nodes approve 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70"],
  });

  // One entry per verb; only the verb the command line names is built (kit.ts, registerVerbs).
  registerVerbs(nodes, words, {
    pending: () => {
      withHelp(
        nodes.command("pending").description("show live node pairing requests, newest first").action(run(pending)),
        {
          examples: ["moltbot nodes pending", "moltbot nodes pending --json | jq -r '.pending[].requestId'"],
        },
      );
    },
    approve: () => {
      withHelp(
        nodes
          .command("approve <requestId>")
          .description("approve a pending node request; the node gets a token (never printed)")
          .option("--reason <text>", REASON_HELP)
          .action(run(approve)),
        { examples: ["moltbot nodes approve 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70"] },
      );
      completes(nodes, "approve", { requestId: "node-request" });
    },
    reject: () => {
      withHelp(
        nodes
          .command("reject <requestId>")
          .description("drop a pending node request")
          .option("--reason <text>", REASON_HELP)
          .action(run(reject)),
        { examples: ["moltbot nodes reject 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70"] },
      );
      completes(nodes, "reject", { requestId: "node-request" });
    },
    remove: () => {
      withHelp(
        nodes
          .command("remove [nodeId]")
          .description("unpair a node and drop its pending requests")
          .option("--node <id>", "the node's id")
          .option("--reason <text>", REASON_HELP)
          .action(run(remove)),
        { examples: ["moltbot nodes remove kitchen-pi"] },
      );
      completes(nodes, "remove", { nodeId: "paired-node", "--node": "paired-node" });
    },
    rename: () => {
      withHelp(
        nodes
          .command("rename [nodeId] [name]")
          .description("set a paired node's display name (as the gateway's nodes rename does)")
          .option("--node <id>", "the node's id")
          .option("--name <name>", "the new display name")
          .option("--reason <text>", REASON_HELP)
          .action(run(rename)),
        { examples: ['moltbot nodes rename kitchen-pi "Kitchen Pi"'] },
      );
      completes(nodes, "rename", { nodeId: "paired-node", "--node": "paired-node" });
    },
  });
}
