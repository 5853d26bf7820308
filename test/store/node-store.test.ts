import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createStoreContext } from "../../src/store/context.js";
import { approveNode, listNodeRequests, rejectNode, requestNode, verifyNode } from "../../src/store/node-store.js";
import { fileMode, listTree, readJsonFile, seededRandom, tempStateDir } from "../helpers.js";

const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const originalUmask = process.umask();
let clock = T0;
const context = (stateDir: string) =>
  createStoreContext({ stateDir, env: {}, now: () => clock, random: seededRandom(3) });

async function errorOf(run: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await run();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error("expected an error");
}

afterEach(() => {
  process.umask(originalUmask);
  clock = T0;
});

describe("legacy node store", () => {
  it("request and approve write nodes/ 0700 and both files 0600; the token stays on disk only", async () => {
    process.umask(0o000);
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    const { request } = await requestNode(ctx, { nodeId: "n1", displayName: "Kitchen" });
    expect(listNodeRequests(ctx).pending).toEqual([request]);
    const approved = await approveNode(ctx, { requestId: request.requestId });
    const dir = path.join(stateDir, "nodes");
    expect(fileMode(dir)).toBe(0o700);
    expect(fileMode(path.join(dir, "pending.json"))).toBe(0o600);
    expect(fileMode(path.join(dir, "paired.json"))).toBe(0o600);
    expect(listTree(dir)).toEqual(["paired.json", "pending.json"]);
    const token = readJsonFile<Record<string, { token: string }>>(path.join(dir, "paired.json")).n1!.token;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(approved)).not.toContain(token);
    expect(readJsonFile(path.join(dir, "pending.json"))).toEqual({});
    clock += 5;
    expect(await verifyNode(ctx, { nodeId: "n1", token })).toEqual({ ok: true });
    expect(
      readJsonFile<Record<string, { lastConnectedAtMs: number }>>(path.join(dir, "paired.json")).n1!.lastConnectedAtMs,
    ).toBe(T0 + 5);
  });

  it("keeps unknown fields of the gateway's node files", async () => {
    const stateDir = tempStateDir();
    const dir = path.join(stateDir, "nodes");
    fs.mkdirSync(dir, { recursive: true });
    const pending = { r1: { requestId: "r1", nodeId: "n1", caps: ["camera"], commands: ["snap"], ts: T0 } };
    const paired = { n0: { nodeId: "n0", token: "t", createdAtMs: 1, approvedAtMs: 2, permissions: { screen: true } } };
    fs.writeFileSync(path.join(dir, "pending.json"), JSON.stringify(pending));
    fs.writeFileSync(path.join(dir, "paired.json"), JSON.stringify(paired));
    await approveNode(context(stateDir), { requestId: "r1" });
    const after = readJsonFile<Record<string, Record<string, unknown>>>(path.join(dir, "paired.json"));
    expect(after.n0).toEqual(paired.n0);
    expect(after.n1).toMatchObject({ nodeId: "n1", createdAtMs: T0, approvedAtMs: T0 });
  });

  it("a miss creates nothing; a corrupt file is never overwritten", async () => {
    const stateDir = tempStateDir();
    const ctx = context(stateDir);
    expect(listNodeRequests(ctx)).toEqual({ pending: [] });
    expect((await errorOf(() => approveNode(ctx, { requestId: "nope" }))).code).toBe("NOT_FOUND");
    expect((await errorOf(() => rejectNode(ctx, { requestId: "nope" }))).code).toBe("NOT_FOUND");
    expect(await verifyNode(ctx, { nodeId: "n", token: "t" })).toEqual({ ok: false });
    expect((await errorOf(() => requestNode(ctx, { nodeId: "n\u0007" }))).code).toBe("USAGE");
    expect(fs.existsSync(stateDir)).toBe(false);

    const dir = path.join(stateDir, "nodes");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "pending.json"), '{"r1":{"requestId":"r1","nodeId":"n1","ts":"soon"}}');
    const error = await errorOf(() => rejectNode(ctx, { requestId: "r1" }));
    expect(error.code).toBe("STORE_CORRUPT");
    expect(error.message).toContain(path.join(dir, "pending.json"));
    expect(fs.readFileSync(path.join(dir, "pending.json"), "utf8")).toContain('"soon"');
  });
});
