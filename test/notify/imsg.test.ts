import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { APPROVED_MESSAGE } from "../../src/core/dm-pairing.js";
import { notifyApprovedSender } from "../../src/notify/index.js";
import { createStoreContext } from "../../src/store/context.js";
import { tempDir } from "../helpers.js";
import { fakeImsg, readLog, stateWithConfig } from "./helpers.js";

function setup(config: string, binDir: string | undefined, extraEnv: NodeJS.ProcessEnv = {}) {
  const { stateDir } = stateWithConfig(config);
  // Only the fake's directory and the system's: a real imsg elsewhere on PATH must not be found.
  const env = { PATH: [binDir, "/usr/bin", "/bin"].filter(Boolean).join(path.delimiter), ...extraEnv };
  return createStoreContext({ stateDir, env });
}

describe("iMessage through `imsg rpc`", () => {
  it("runs `imsg rpc` from PATH and writes one JSON-RPC send with the handle, service and region", async () => {
    const log = path.join(tempDir(), "imsg.log");
    const ctx = setup(`{ channels: { imessage: { region: "DE" } } }`, fakeImsg(log));
    expect(await notifyApprovedSender(ctx, { channel: "imsg", senderId: "+4915112345678" })).toEqual({
      status: "sent",
    });
    const entries = readLog(log);
    expect(entries[0]!.argv).toEqual(["rpc"]);
    expect(
      entries.filter((entry) => entry.stdin !== undefined).map((entry) => JSON.parse(entry.stdin!) as unknown),
    ).toEqual([
      {
        jsonrpc: "2.0",
        id: 1,
        method: "send",
        params: { text: APPROVED_MESSAGE, service: "auto", region: "DE", to: "+4915112345678" },
      },
    ]);
  });

  it("a sender id that a shell would run stays data: it reaches imsg verbatim, on stdin, and nothing runs", async () => {
    const log = path.join(tempDir(), "imsg.log");
    const work = tempDir();
    const hostile = "$(touch pwned)`touch pwned2`;touch pwned3 --db /etc/passwd";
    const dbPath = path.join(work, "$(touch pwned4) chat.db");
    const ctx = setup(`{ channels: { imessage: { dbPath: ${JSON.stringify(dbPath)} } } }`, fakeImsg(log));
    const cwd = process.cwd();
    process.chdir(work);
    try {
      expect(await notifyApprovedSender(ctx, { channel: "imessage", senderId: hostile })).toEqual({ status: "sent" });
    } finally {
      process.chdir(cwd);
    }
    const entries = readLog(log);
    expect(entries[0]!.argv).toEqual(["rpc", "--db", dbPath]);
    const request = JSON.parse(entries.find((entry) => entry.stdin)!.stdin!) as { params: { to: string } };
    expect(request.params.to).toBe(hostile);
    expect(fs.readdirSync(work)).toEqual([]);
    expect(fs.readdirSync(path.dirname(log)).filter((name) => name.startsWith("pwned"))).toEqual([]);
  });

  it("no imsg on PATH is `unsupported` (this machine cannot send iMessages)", async () => {
    const ctx = setup(`{}`, undefined);
    const result = await notifyApprovedSender(ctx, { channel: "imessage", senderId: "a@example.com" });
    expect(result.status).toBe("unsupported");
    expect(result.reason).toMatch(/^imsg is not installed here/);
  });

  it("a configured cliPath that does not exist is `failed` (a setup to fix)", async () => {
    const ctx = setup(`{ channels: { imessage: { cliPath: "/nonexistent/imsg" } } }`, undefined);
    expect(await notifyApprovedSender(ctx, { channel: "imessage", senderId: "a@example.com" })).toEqual({
      status: "failed",
      reason: "cannot run /nonexistent/imsg (not found)",
    });
  });

  it.each([
    ["error", "imsg refused: buddy not found"],
    ["exit", "imsg exited (code 3) without answering: imsg: Full Disk Access is required"],
  ] as const)("an imsg that answers %s is `failed` with its reason", async (answer, reason) => {
    const log = path.join(tempDir(), "imsg.log");
    const ctx = setup(`{}`, fakeImsg(log, answer));
    expect(await notifyApprovedSender(ctx, { channel: "imessage", senderId: "a@example.com" })).toEqual({
      status: "failed",
      reason,
    });
  });

  it("an imsg that never answers is killed at the time limit and reported `failed`", async () => {
    const log = path.join(tempDir(), "imsg.log");
    const ctx = setup(`{}`, fakeImsg(log, "hang"), { MOLTBOT_NOTIFY_TIMEOUT_MS: "500" });
    const started = Date.now();
    const result = await notifyApprovedSender(ctx, { channel: "imessage", senderId: "a@example.com" });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result).toEqual({
      status: "failed",
      reason: "imsg gave no answer within 0.5 s (the message may still arrive)",
    });
    const entries = readLog(log);
    expect(entries.filter((entry) => entry.stdin)).toHaveLength(1);
    // SIGKILLed: gone (a zombie at most for a moment, until Node reaps it).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(() => process.kill(entries[0]!.pid!, 0)).toThrow();
  });
});
