import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, readJsonFile, runJson, runMoltbot, tempDir, tempStateDir } from "../helpers.js";
import { installed, node24 } from "./packages.js";

/*
 * Interop with the real gateway of OpenClaw's JSON generation with accounts (openclaw@2026.5.6 from
 * the npm registry, February–July 2026 layout): its own store functions, run by Node 24 in another
 * process, and moltbot on the same state dir, both ways.
 */

const DRIVER = path.join(ROOT, "test", "interop", "fixtures", "openclaw-json-driver.mjs");
let node = "";
let openclaw = "";

beforeAll(() => {
  node = node24();
  openclaw = path.join(installed("openclaw-2026.5.6", "openclaw@2026.5.6"), "node_modules", "openclaw");
}, 900_000);

type Op = [string, ...unknown[]];

function gatewayEnv(stateDir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: tempDir("openclaw-home-"), OPENCLAW_STATE_DIR: stateDir, TZ: "UTC" };
}

/** Run ops through the gateway's own functions; returns their results in order. */
function gateway<T = unknown[]>(stateDir: string, ops: Op[]): T {
  const run = spawnSync(node, [DRIVER, openclaw, JSON.stringify(ops)], {
    env: gatewayEnv(stateDir),
    encoding: "utf8",
    timeout: 120_000,
  });
  if (run.status !== 0) throw new Error(`openclaw driver failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").pop()!) as T;
}

const codeOf = (requests: { id: string; code: string; meta?: { accountId?: string } }[], id: string, account: string) =>
  requests.find((request) => request.id === id && (request.meta?.accountId ?? "default") === account)!.code;

describe("moltbot and OpenClaw's JSON gateway (openclaw@2026.5.6) on one state dir", { timeout: 300_000 }, () => {
  it("requests, approvals and revokes per account are read the same both ways", async () => {
    const stateDir = tempStateDir();
    // The gateway records three strangers on two bots.
    const [, , , listed] = gateway<
      [unknown, unknown, unknown, { id: string; code: string; meta?: { accountId?: string } }[]]
    >(stateDir, [
      ["request", "telegram", "111", ""],
      ["request", "telegram", "222", "Work"],
      ["request", "telegram", "333", "work"],
      ["list", "telegram"],
    ]);
    // moltbot lists them with their accounts (and an ACCOUNT column for people).
    const list = await runJson<{ requests: { id: string; account: string; code: string }[] }>(
      ["pairing", "list", "telegram"],
      { stateDir },
    );
    expect(list.json.requests.map((request) => [request.id, request.account])).toEqual([
      ["111", "default"],
      ["222", "work"],
      ["333", "work"],
    ]);
    const human = await runMoltbot(["pairing", "list", "telegram"], { stateDir });
    expect(human.stdout).toMatch(/^CODE\s+ACCOUNT\s+telegramUserId/m);
    const onlyWork = await runJson<{ requests: { id: string }[] }>(
      ["pairing", "list", "telegram", "--account", "WORK"],
      {
        stateDir,
      },
    );
    expect(onlyWork.json.requests.map((request) => request.id)).toEqual(["222", "333"]);

    // moltbot approves: each into its request's account file; the gateway reads them there.
    const approved = await runJson(["pairing", "approve", "telegram", codeOf(listed, "222", "work")], { stateDir });
    expect(approved.json).toMatchObject({ account: "work", id: "222" });
    expect(
      (
        await runJson(["pairing", "approve", "telegram", codeOf(listed, "111", "default"), "--account", "default"], {
          stateDir,
        })
      ).json,
    ).toMatchObject({ account: "default", id: "111" });
    // moltbot records a request for the work bot; the gateway sees it, with the same code, and approves it.
    const mine = await runJson<{ code: string }>(["pairing", "request", "telegram", "444", "--account", "work"], {
      stateDir,
    });
    const [workList] = gateway<[{ id: string; code: string }[]]>(stateDir, [["list", "telegram", "work"]]);
    expect(workList.map((request) => [request.id, request.code])).toEqual([
      ["333", codeOf(listed, "333", "work")],
      ["444", mine.json.code],
    ]);
    const [gatewayApproval, workAllow, defaultAllow] = gateway<[{ id: string }, string[], string[]]>(stateDir, [
      ["approve", "telegram", mine.json.code],
      ["allowlist", "telegram", "work"],
      ["allowlist", "telegram", "default"],
    ]);
    expect(gatewayApproval.id).toBe("444");
    expect(workAllow).toEqual(["222", "444"]);
    expect(defaultAllow).toEqual(["111"]);
    expect((await runJson(["pairing", "allowlist", "telegram", "--account", "work"], { stateDir })).json).toEqual({
      channel: "telegram",
      account: "work",
      allowFrom: ["222", "444"],
    });

    // moltbot revokes for the work bot only; the gateway agrees.
    await runJson(["pairing", "revoke", "telegram", "tg:222", "--account", "work"], { stateDir });
    const [afterRevoke, defaultAfter] = gateway<[string[], string[]]>(stateDir, [
      ["allowlist", "telegram", "work"],
      ["allowlist", "telegram", "default"],
    ]);
    expect(afterRevoke).toEqual(["444"]);
    expect(defaultAfter).toEqual(["111"]);
    expect(readJsonFile(path.join(stateDir, "credentials", "telegram-default-allowFrom.json"))).toEqual({
      version: 1,
      allowFrom: ["111"],
    });
  });

  it("the cap is per account on both sides, and codes stay unique across accounts", async () => {
    const stateDir = tempStateDir();
    for (const id of ["1", "2", "3"]) {
      await runJson(["pairing", "request", "slack", `U${id}`, "--account", "work"], { stateDir });
    }
    const capped = await runJson(["pairing", "request", "slack", "U4", "--account", "work"], { stateDir });
    expect(capped.json).toMatchObject({ status: "capped" });
    const [gatewayCapped, gatewayOther, all] = gateway<
      [{ code: string; created: boolean }, { code: string }, { code: string }[]]
    >(stateDir, [
      ["request", "slack", "U5", "work"],
      ["request", "slack", "U5", "home"],
      ["list", "slack"],
    ]);
    expect(gatewayCapped).toEqual({ code: "", created: false });
    expect(gatewayOther.code).toMatch(/^[A-Z2-9]{8}$/);
    expect(new Set(all.map((request) => request.code)).size).toBe(4);
    expect(
      (await runJson(["pairing", "request", "slack", "U6", "--account", "home"], { stateDir })).json,
    ).toMatchObject({
      status: "created",
    });
  });

  it("writing at the same time as the gateway loses nothing: each honours the other's lock", async () => {
    const stateDir = tempStateDir();
    await runJson(["pairing", "request", "telegram", "0", "--account", "seed"], { stateDir });
    // The gateway writes 12 requests (its lock is a {pid, createdAt} file) while 8 moltbot processes
    // write theirs (moltbot's lock is a directory); every account is new, so nobody is capped.
    const gatewayOps: Op[] = Array.from({ length: 12 }, (_, i) => ["request", "telegram", `g${i}`, `ga${i}`]);
    const gatewayRun = new Promise<{ code: string; created: boolean }[]>((resolve, reject) => {
      const child = spawn(node, [DRIVER, openclaw, JSON.stringify(gatewayOps)], {
        env: gatewayEnv(stateDir),
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.on("close", (code) =>
        code === 0
          ? resolve(JSON.parse(out.trim().split("\n").pop()!) as { code: string; created: boolean }[])
          : reject(new Error(`driver exited ${code}`)),
      );
    });
    const ours = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        runJson<{ code: string }>(["pairing", "request", "telegram", `m${i}`, "--account", `ma${i}`], { stateDir }),
      ),
    );
    const theirs = await gatewayRun;
    expect(ours.every((result) => result.code === 0)).toBe(true);
    expect(theirs.every((result) => result.created)).toBe(true);
    const stored = readJsonFile<{ requests: { id: string; code: string }[] }>(
      path.join(stateDir, "credentials", "telegram-pairing.json"),
    ).requests;
    const byId = new Map(stored.map((request) => [request.id, request.code]));
    ours.forEach((result, i) => expect(byId.get(`m${i}`)).toBe(result.json.code));
    theirs.forEach((result, i) => expect(byId.get(`g${i}`)).toBe(result.code));
    expect(fs.readdirSync(path.join(stateDir, "credentials")).filter((name) => name.endsWith(".lock"))).toEqual([]);
  });
});
