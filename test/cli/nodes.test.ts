import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonFile, runJson, runMoltbot, tempStateDir } from "../helpers.js";

const MINUTE = 60_000;

function writeNodes(stateDir: string, name: string, data: unknown): string {
  const file = path.join(stateDir, "nodes", name);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  return file;
}

describe("nodes (legacy node pairing)", () => {
  it("pending lists live requests newest first; on a fresh state dir it is empty and creates nothing", async () => {
    const stateDir = tempStateDir();
    expect((await runJson(["nodes", "pending"], { stateDir })).json).toEqual({ pending: [] });
    const empty = await runMoltbot(["nodes", "pending"], { stateDir });
    expect(empty.code).toBe(0);
    expect(empty.stderr).toBe("No pending node requests: nobody is waiting.\n");
    expect(fs.existsSync(stateDir)).toBe(false);

    const now = Date.now();
    writeNodes(stateDir, "pending.json", {
      r0: { requestId: "r0", nodeId: "expired", ts: now - 5 * MINUTE - 1000 },
      r1: {
        requestId: "r1",
        nodeId: "n1",
        displayName: "Kitchen\u001b[31m",
        platform: "linux",
        version: "1.4.2",
        remoteIp: "10.1.1.1",
        ts: now - 2 * MINUTE,
        caps: ["camera"],
      },
      r2: { requestId: "r2", nodeId: "n2", isRepair: true, ts: now - MINUTE },
    });
    const json = await runJson<{ pending: { requestId: string; caps?: string[] }[] }>(["nodes", "pending"], {
      stateDir,
    });
    expect(json.json.pending.map((request) => request.requestId)).toEqual(["r2", "r1"]);
    expect(json.json.pending[1]!.caps).toEqual(["camera"]);
    const human = await runMoltbot(["nodes", "pending"], { stateDir, env: { COLUMNS: "200" } });
    const lines = human.stdout.split("\n");
    expect(lines[0]).toMatch(/^REQUEST\s+NODE\s+PLATFORM\s+VERSION\s+IP\s+AGE\s+REPAIR$/);
    expect(lines[1]).toMatch(/^r2\s+n2\s+-\s+-\s+-\s+1 min ago\s+yes$/);
    expect(lines[2]).toMatch(/^r1\s+Kitchen\\e\[31m\s+linux\s+1\.4\.2\s+10\.1\.1\.1\s+2 min ago\s+no$/);
    expect(human.stdout).not.toContain("\u001b");
  });

  it("approve pairs the node with a token that is never printed; reject drops a request; unknown ids are exit 1", async () => {
    const stateDir = tempStateDir();
    const now = Date.now();
    writeNodes(stateDir, "pending.json", {
      r1: { requestId: "r1", nodeId: "n1", displayName: "Kitchen", ts: now },
      r2: { requestId: "r2", nodeId: "n2", ts: now },
    });
    writeNodes(stateDir, "paired.json", {
      n0: { nodeId: "n0", token: "old-secret", createdAtMs: 1, approvedAtMs: 2, permissions: { x: 1 } },
    });
    const approved = await runJson<{ requestId: string; node: Record<string, unknown> }>(["nodes", "approve", "r1"], {
      stateDir,
    });
    expect(approved.code).toBe(0);
    expect(approved.json.requestId).toBe("r1");
    expect(approved.json.node).toMatchObject({ nodeId: "n1", displayName: "Kitchen" });
    expect(approved.json.node).not.toHaveProperty("token");
    const paired = readJsonFile<Record<string, { token: string; permissions?: unknown }>>(
      path.join(stateDir, "nodes", "paired.json"),
    );
    expect(paired.n1!.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(paired.n0!.permissions).toEqual({ x: 1 });
    expect(approved.stdout).not.toContain(paired.n1!.token);

    const rejected = await runMoltbot(["nodes", "reject", "r2"], { stateDir });
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toBe("Rejected request r2 from node n2.\n");
    expect(readJsonFile(path.join(stateDir, "nodes", "pending.json"))).toEqual({});

    for (const args of [
      ["nodes", "approve", "r1"],
      ["nodes", "reject", "nope"],
    ]) {
      const missing = await runJson<{ error: { code: string; message: string } }>(args, { stateDir });
      expect(missing.code).toBe(1);
      expect(missing.json.error.code).toBe("NOT_FOUND");
      expect(missing.json.error.message).toContain("moltbot nodes pending");
    }
    expect((await runMoltbot(["nodes", "approve"], { stateDir })).code).toBe(2);
  });
});
