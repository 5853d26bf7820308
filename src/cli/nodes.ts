import type { Command } from "commander";
import { completes } from "./completion-kinds.js";
import { approveNode, listNodeRequests, rejectNode } from "../store/node-store.js";
import { slot, withHelp, type Runner, type Verb } from "./kit.js";
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

const approve: Verb<object, Awaited<ReturnType<typeof approveNode>>> = {
  action: ({ args: [requestId], store }) => approveNode(store(), { requestId: requestId! }),
  human: ({ node }, show) => {
    const name = node.displayName !== undefined ? ` (${escapeControl(node.displayName)})` : "";
    show.out(`Approved node ${escapeControl(node.nodeId)}${name}; it receives its token when it next connects.\n`);
  },
};

const reject: Verb<object, Awaited<ReturnType<typeof rejectNode>>> = {
  action: ({ args: [requestId], store }) => rejectNode(store(), { requestId: requestId! }),
  human: (result, show) =>
    show.out(`Rejected request ${escapeControl(result.requestId)} from node ${escapeControl(result.nodeId)}.\n`),
};

export function registerNodes(program: Command, run: Runner): void {
  const nodes = program
    .command("nodes")
    .description("legacy node pairing (nodes/pending.json, nodes/paired.json) for nodes that predate device pairing");
  withHelp(nodes, {
    examples: ["moltbot nodes pending", "moltbot nodes approve 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70"],
  });

  withHelp(nodes.command("pending").description("show live node pairing requests, newest first").action(run(pending)), {
    examples: ["moltbot nodes pending", "moltbot nodes pending --json | jq -r '.pending[].requestId'"],
  });

  withHelp(
    nodes
      .command("approve <requestId>")
      .description("approve a pending node request; the node gets a token (never printed)")
      .action(run(approve)),
    { examples: ["moltbot nodes approve 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70"] },
  );

  withHelp(nodes.command("reject <requestId>").description("drop a pending node request").action(run(reject)), {
    examples: ["moltbot nodes reject 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70"],
  });

  // What each argument completes to in the shells (completion-engine.ts).
  completes(nodes, "approve", { requestId: "node-request" });
  completes(nodes, "reject", { requestId: "node-request" });
}
