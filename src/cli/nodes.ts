import type { Command } from "commander";
import { approveNode, listNodeRequests, rejectNode } from "../store/node-store.js";
import { completes } from "./completion-kinds.js";
import { globalOptions, storeContextFor } from "./context.js";
import { colors, escapeControl, formatAgo, printJson, renderTable } from "./output.js";
import type { Runner } from "./pairing.js";

type Action = Parameters<Runner>[0];

const pendingAction: Action = async (io, command) => {
  const options = globalOptions(command);
  const ctx = storeContextFor(io, options);
  const listed = listNodeRequests(ctx);
  if (options.json) return printJson(io, listed);
  if (listed.pending.length === 0) {
    io.err("No pending node requests: nobody is waiting.\n");
    return;
  }
  const c = colors(io);
  const now = ctx.now();
  const rows = listed.pending.map((request) => [
    escapeControl(request.requestId),
    escapeControl(request.displayName ?? request.nodeId),
    escapeControl(request.platform ?? "-"),
    escapeControl(request.version ?? "-"),
    escapeControl(request.remoteIp ?? "-"),
    formatAgo(request.ts, now),
    request.isRepair === true ? "yes" : "no",
  ]);
  io.out(
    `${renderTable(
      [
        { header: "REQUEST", style: (text) => c.cyan(text) },
        { header: "NODE", shrink: true },
        { header: "PLATFORM", optional: true },
        { header: "VERSION", optional: true },
        { header: "IP", optional: true },
        { header: "AGE" },
        { header: "REPAIR", optional: true },
      ],
      rows,
      io.columns,
      c,
    )}\n`,
  );
  io.err("Approve one with: moltbot nodes approve <request>\n");
};

const approveAction: Action = async (io, command, [requestId]) => {
  const options = globalOptions(command);
  const ctx = storeContextFor(io, options);
  const result = await approveNode(ctx, { requestId: requestId! });
  if (options.json) return printJson(io, result);
  const name = result.node.displayName !== undefined ? ` (${escapeControl(result.node.displayName)})` : "";
  io.out(`Approved node ${escapeControl(result.node.nodeId)}${name}; it receives its token when it next connects.\n`);
};

const rejectAction: Action = async (io, command, [requestId]) => {
  const options = globalOptions(command);
  const ctx = storeContextFor(io, options);
  const result = await rejectNode(ctx, { requestId: requestId! });
  if (options.json) return printJson(io, result);
  io.out(`Rejected request ${escapeControl(result.requestId)} from node ${escapeControl(result.nodeId)}.\n`);
};

export function registerNodes(program: Command, run: Runner): void {
  const nodes = program
    .command("nodes")
    .description("legacy node pairing (nodes/pending.json, nodes/paired.json) for nodes that predate device pairing")
    .addHelpText(
      "after",
      "\nExamples:\n  $ moltbot nodes pending\n  $ moltbot nodes approve 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70",
    );

  nodes
    .command("pending")
    .description("show live node pairing requests, newest first")
    .addHelpText(
      "after",
      "\nExamples:\n  $ moltbot nodes pending\n  $ moltbot nodes pending --json | jq -r '.pending[].requestId'",
    )
    .action(run(pendingAction));

  nodes
    .command("approve <requestId>")
    .description("approve a pending node request; the node gets a token (never printed)")
    .addHelpText("after", "\nExample:\n  $ moltbot nodes approve 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70")
    .action(run(approveAction));
  completes(nodes, "approve", { requestId: "node-request" });

  nodes
    .command("reject <requestId>")
    .description("drop a pending node request")
    .addHelpText("after", "\nExample:\n  $ moltbot nodes reject 6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70")
    .action(run(rejectAction));
  completes(nodes, "reject", { requestId: "node-request" });
}
