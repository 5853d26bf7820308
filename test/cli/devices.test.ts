import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { publicKeyFingerprint } from "../../src/core/fingerprint.js";
import { listTree, readJsonFile, runJson, runMoltbot, tempStateDir } from "../helpers.js";

const MINUTE = 60_000;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface ErrorJson {
  error: { code: string; message: string };
}
interface PendingJson {
  requestId: string;
  deviceId: string;
  publicKey: string;
  displayName?: string;
  role?: string;
  roles?: string[];
  scopes?: string[];
  isRepair: boolean;
  ts: number;
}
interface TokenJson {
  token?: string;
  role: string;
  scopes: string[];
  createdAtMs: number;
  rotatedAtMs?: number;
  revokedAtMs?: number;
  lastUsedAtMs?: number;
}
interface DeviceJson {
  deviceId: string;
  fingerprint: string;
  operatorLabel?: string;
  roles?: string[];
  scopes?: string[];
  tokens?: TokenJson[];
  createdAtMs: number;
  approvedAtMs: number;
}
interface ListJson {
  pending: PendingJson[];
  paired: DeviceJson[];
}

const devicesFile = (stateDir: string, name: string) => path.join(stateDir, "devices", name);

function writeDevices(stateDir: string, name: string, data: unknown): string {
  const file = devicesFile(stateDir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  return file;
}

function pendingEntry(requestId: string, deviceId: string, ts: number, extra: Record<string, unknown> = {}) {
  return {
    requestId,
    deviceId,
    publicKey: `pk-${deviceId}`,
    role: "node",
    roles: ["node"],
    isRepair: false,
    ts,
    ...extra,
  };
}

async function request(stateDir: string, deviceId: string, ...extra: string[]) {
  const result = await runJson<{ created: boolean; request: PendingJson }>(
    ["devices", "request", "--device-id", deviceId, "--public-key", `pk-${deviceId}`, ...extra],
    { stateDir },
  );
  expect(result.code, result.stderr).toBe(0);
  return result.json;
}

/** The stored secret of a device's role, read from disk (the CLI never prints it outside rotate). */
const storedToken = (stateDir: string, deviceId: string, role: string): string =>
  readJsonFile<Record<string, { tokens: Record<string, { token: string }> }>>(devicesFile(stateDir, "paired.json"))[
    deviceId
  ]!.tokens[role]!.token;

describe("devices list", () => {
  it("on a fresh state dir prints an empty result and creates nothing", async () => {
    const stateDir = tempStateDir();
    const human = await runMoltbot(["devices", "list"], { stateDir });
    expect(human.code).toBe(0);
    expect(human.stdout).toBe("");
    expect(human.stderr).toBe("No devices: nothing pending and nothing paired.\n");
    const json = await runJson<ListJson>(["devices", "list"], { stateDir });
    expect(json.json).toEqual({ pending: [], paired: [] });
    expect(fs.existsSync(stateDir)).toBe(false);
  });

  it("shows pending (newest first, expired hidden) and paired tables, escaping device strings and never a secret", async () => {
    const stateDir = tempStateDir();
    const now = Date.now();
    writeDevices(stateDir, "pending.json", {
      old: pendingEntry("old", "old-dev", now - 5 * MINUTE - 1000),
      a: pendingEntry("a", "dev-a", now - 2 * MINUTE, {
        displayName: "Ada\u202e phone",
        scopes: ["operator.read"],
        remoteIp: "10.0.0.7",
      }),
      b: pendingEntry("b", "dev-b", now - MINUTE, { isRepair: true }),
      "c\u001b[2J": pendingEntry("c\u001b[2J", "dev-c", now - 3 * MINUTE),
    });
    writeDevices(stateDir, "paired.json", {
      p1: {
        deviceId: "p1",
        publicKey: "k",
        roles: ["node", "operator"],
        scopes: ["s1"],
        remoteIp: "10.0.0.9",
        tokens: {
          node: {
            token: "SECRET-node-token-value-aaaaaaaaaaaaaaaaaaa",
            role: "node",
            scopes: [],
            createdAtMs: 1,
            revokedAtMs: 2,
          },
          operator: {
            token: "SECRET-operator-token-value-bbbbbbbbbbbbbbb",
            role: "operator",
            scopes: ["s1"],
            createdAtMs: 1,
          },
        },
        createdAtMs: 1,
        approvedAtMs: 5,
      },
      p2: { deviceId: "p2", publicKey: "k", createdAtMs: 1, approvedAtMs: 9 },
    });
    const json = await runJson<ListJson>(["devices", "list"], { stateDir });
    expect(json.json.pending.map((entry) => entry.requestId)).toEqual(["b", "a", "c\u001b[2J"]);
    expect(json.json.paired.map((device) => device.deviceId)).toEqual(["p2", "p1"]);
    expect(json.json.paired[1]!.tokens).toEqual([
      { role: "node", scopes: [], createdAtMs: 1, revokedAtMs: 2 },
      { role: "operator", scopes: ["s1"], createdAtMs: 1 },
    ]);
    expect(json.stdout).not.toContain("SECRET");

    const human = await runMoltbot(["devices", "list"], { stateDir, env: { COLUMNS: "200" } });
    expect(human.code).toBe(0);
    expect(human.stdout).not.toContain("SECRET");
    expect(human.stdout).not.toContain("\u202e");
    const lines = human.stdout.split("\n");
    expect(human.stdout).not.toContain("\u001b");
    expect(lines[0]).toBe("Pending requests (3)");
    // The key's fingerprint, to read aloud with the device's owner before approving.
    const fp = (deviceId: string) => publicKeyFingerprint(`pk-${deviceId}`);
    expect(lines[1]).toMatch(/^REQUEST\s+DEVICE\s+FINGERPRINT\s+ROLE\s+SCOPES\s+IP\s+AGE\s+REPAIR$/);
    expect(lines[2]).toMatch(new RegExp(`^b\\s+dev-b\\s+${fp("dev-b")}\\s+node\\s+-\\s+-\\s+1 min ago\\s+yes$`));
    expect(lines[3]).toMatch(
      new RegExp(
        `^a\\s+Ada\\\\u202e phone\\s+${fp("dev-a")}\\s+node\\s+operator\\.read\\s+10\\.0\\.0\\.7\\s+2 min ago\\s+no$`,
      ),
    );
    expect(lines[4]).toMatch(/^c\\e\[2J\s+dev-c\s/);
    expect(lines[6]).toBe("Paired devices (2)");
    expect(lines[7]).toMatch(/^DEVICE\s+NAME\s+FINGERPRINT\s+ROLES\s+SCOPES\s+TOKENS\s+IP$/);
    expect(json.json.paired[1]!.fingerprint).toMatch(/^[0-9a-f]{4}(-[0-9a-f]{4}){4}$/);
    expect(lines[9]).toMatch(
      new RegExp(
        `^p1\\s+-\\s+${json.json.paired[1]!.fingerprint}\\s+node,operator\\s+s1\\s+node \\(revoked\\), operator\\s+10\\.0\\.0\\.9$`,
      ),
    );
    expect(human.stderr).toBe("Approve one with: moltbot devices approve <request>\n");
  });

  it("a corrupt paired.json is exit 3 naming the file, and is left untouched", async () => {
    const stateDir = tempStateDir();
    const file = writeDevices(stateDir, "paired.json", { d: { deviceId: "d" } });
    const before = fs.readFileSync(file, "utf8");
    const result = await runJson<ErrorJson>(["devices", "list"], { stateDir });
    expect(result.code).toBe(3);
    expect(result.json.error.code).toBe("STORE_CORRUPT");
    expect(result.json.error.message).toContain(file);
    const approve = await runMoltbot(["devices", "rotate", "--device", "d", "--role", "node"], { stateDir });
    expect(approve.code).toBe(3);
    expect(approve.stderr).toMatch(/^moltbot: .*paired\.json.*moltbot doctor.*\n$/);
    expect(fs.readFileSync(file, "utf8")).toBe(before);
  });
});

describe("devices request and approve", () => {
  it("request creates a UUID v4 request; asking again returns it; approve pairs it with a token it does not print", async () => {
    const stateDir = tempStateDir();
    const first = await request(
      stateDir,
      "phone",
      "--name",
      "Ada's phone",
      "--platform",
      "ios",
      "--role",
      "node",
      "--scope",
      "node.b",
      "--scope",
      "node.a",
    );
    expect(first.created).toBe(true);
    expect(first.request).toMatchObject({
      deviceId: "phone",
      displayName: "Ada's phone",
      platform: "ios",
      roles: ["node"],
      scopes: ["node.b", "node.a"],
      isRepair: false,
    });
    expect(first.request.requestId).toMatch(UUID_V4);
    // Fewer scopes of its role: covered by what it asked before (OpenClaw's rule), so the same request.
    const again = await request(stateDir, "phone", "--name", "Ada's phone", "--role", "node", "--scope", "node.a");
    expect(again).toEqual({ created: false, request: first.request });

    const approved = await runJson<{ requestId: string; device: DeviceJson }>(
      ["devices", "approve", first.request.requestId],
      { stateDir },
    );
    expect(approved.code).toBe(0);
    expect(approved.json.requestId).toBe(first.request.requestId);
    expect(approved.json.device).toMatchObject({ deviceId: "phone", roles: ["node"], scopes: ["node.b", "node.a"] });
    expect(approved.json.device.tokens).toEqual([
      { role: "node", scopes: ["node.a", "node.b"], createdAtMs: approved.json.device.approvedAtMs },
    ]);
    const secret = storedToken(stateDir, "phone", "node");
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(approved.stdout + approved.stderr).not.toContain(secret);

    const repair = await request(stateDir, "phone", "--role", "operator", "--scope", "c");
    expect(repair.request.isRepair).toBe(true);
    const human = await runMoltbot(["devices", "approve", "phone"], { stateDir });
    expect(human.code).toBe(0);
    expect(human.stdout).toBe("Approved device phone (Ada's phone): roles node,operator, scopes node.b,node.a,c.\n");
    expect(human.stderr).toContain("A token for role operator was issued (not shown");
    expect(human.stdout + human.stderr).not.toContain(storedToken(stateDir, "phone", "operator"));
    const list = await runJson<ListJson>(["devices", "list"], { stateDir });
    expect(list.json.pending).toEqual([]);
    expect(list.stdout).not.toContain(secret);
  });

  it("unknown and expired requests are exit 1; bad input is exit 2 with one line on stderr", async () => {
    const stateDir = tempStateDir();
    writeDevices(stateDir, "pending.json", { gone: pendingEntry("gone", "dev", Date.now() - 5 * MINUTE - 1000) });
    for (const id of ["gone", "dev", "nope"]) {
      const result = await runJson<ErrorJson>(["devices", "approve", id], { stateDir });
      expect(result.code).toBe(1);
      expect(result.json.error.code).toBe("NOT_FOUND");
      expect(result.json.error.message).toContain("moltbot devices list");
    }
    for (const args of [
      ["devices", "request", "--public-key", "k"],
      ["devices", "request", "--device-id", "a\u001b[2Jb", "--public-key", "k"],
      ["devices", "request", "--device-id", "d", "--public-key", "k", "--role", "bad role"],
      ["devices", "request", "--device-id", "d", "--public-key", "k", "--scope", "x\ty"],
      ["devices", "request", "--device-id", "x".repeat(300), "--public-key", "k"],
      ["devices", "approve"],
      ["devices", "approve", "some-id", "--latest"],
      ["devices", "verify", "--device", "d"],
    ]) {
      const result = await runMoltbot(args, { stateDir });
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/^moltbot: [^\n]+\n$/);
      expect(result.stderr).not.toContain("\u001b");
    }
  });

  it("approve --latest shows the newest request and, unconfirmed, prints the exact command and exits 1", async () => {
    const stateDir = tempStateDir();
    const now = Date.now();
    const file = writeDevices(stateDir, "pending.json", {
      older: pendingEntry("older", "dev-old", now - 2 * MINUTE),
      newer: pendingEntry("newer", "dev-new", now - MINUTE, {
        scopes: ["operator.read"],
        remoteIp: "192.168.1.4",
        displayName: "Mac",
      }),
    });
    const before = fs.readFileSync(file, "utf8");
    const human = await runMoltbot(["--state-dir", stateDir, "devices", "approve", "--latest"], { stateDir });
    expect(human.code).toBe(1);
    expect(human.stdout).toBe(
      `Newest pending request newer:\n  device  dev-new (Mac)\n  key     ${publicKeyFingerprint("pk-dev-new")}\n  role    node\n  scopes  operator.read\n  IP      192.168.1.4\n  age     1 min ago\n`,
    );
    expect(human.stderr).toBe(
      `moltbot: Not approved: --latest needs confirmation (answer "y" on a terminal, or pass --yes). To approve this request (and only while it presents this key) run: moltbot --state-dir ${stateDir} devices approve newer --expect-fingerprint ${publicKeyFingerprint("pk-dev-new")}\n`,
    );
    const json = await runJson<ErrorJson>(["devices", "approve", "--latest"], { stateDir });
    expect(json.code).toBe(1);
    expect(json.json.error.code).toBe("CONFIRMATION_REQUIRED");
    expect(json.json.error.message).toContain("moltbot devices approve newer");
    expect(fs.readFileSync(file, "utf8")).toBe(before);

    const yes = await runJson<{ requestId: string; device: DeviceJson }>(["devices", "approve", "--latest", "--yes"], {
      stateDir,
    });
    expect(yes.code).toBe(0);
    expect(yes.json.requestId).toBe("newer");
    expect(Object.keys(readJsonFile<object>(file))).toEqual(["older"]);
  });

  it("reject drops the request and leaves an existing pairing untouched", async () => {
    const stateDir = tempStateDir();
    const first = await request(stateDir, "d", "--role", "node");
    await runMoltbot(["devices", "approve", first.request.requestId], { stateDir });
    const pairedBefore = fs.readFileSync(devicesFile(stateDir, "paired.json"), "utf8");
    const second = await request(stateDir, "d", "--role", "operator");
    const rejected = await runJson(["devices", "reject", second.request.requestId], { stateDir });
    expect(rejected.code).toBe(0);
    expect(rejected.json).toEqual({ requestId: second.request.requestId, deviceId: "d" });
    expect(fs.readFileSync(devicesFile(stateDir, "paired.json"), "utf8")).toBe(pairedBefore);
    expect((await runJson(["devices", "reject", second.request.requestId], { stateDir })).code).toBe(1);
  });
});

describe("devices rotate, verify, revoke, remove", () => {
  it("rotate prints the new secret (stdout only); verify reads it from stdin; revoke and remove end it", async () => {
    const stateDir = tempStateDir();
    const asked = await request(stateDir, "mac", "--role", "operator", "--scope", "operator.read");
    await runMoltbot(["devices", "approve", asked.request.requestId], { stateDir });
    const original = storedToken(stateDir, "mac", "operator");

    const rotated = await runMoltbot(["devices", "rotate", "--device", "mac", "--role", "operator"], { stateDir });
    expect(rotated.code).toBe(0);
    const token = rotated.stdout.trim();
    expect(rotated.stdout).toBe(`${token}\n`);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(token).toBe(storedToken(stateDir, "mac", "operator"));
    expect(rotated.stderr).not.toContain(token);

    const rotatedJson = await runJson<{
      deviceId: string;
      role: string;
      token: string;
      scopes: string[];
      rotatedAtMs: number;
    }>(["devices", "rotate", "--device", "mac", "--role", "operator", "--scope", "b", "--scope", " a"], { stateDir });
    expect(Object.keys(rotatedJson.json)).toEqual(["deviceId", "role", "token", "scopes", "rotatedAtMs"]);
    expect(rotatedJson.json).toMatchObject({ deviceId: "mac", role: "operator", scopes: ["a", "b"] });
    const secret = rotatedJson.json.token;

    const verify = (input: string, ...extra: string[]) =>
      runMoltbot(["devices", "verify", "--device", "mac", "--role", "operator", ...extra], { stateDir, input });
    const ok = await verify(`${secret}\n`);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe("Token valid for device mac, role operator.\n");
    const okJson = await verify(secret, "--json");
    expect(JSON.parse(okJson.stdout)).toEqual({ ok: true });
    for (const [input, reason] of [
      [original, "token-mismatch"],
      [`${secret} `, "token-mismatch"],
    ] as const) {
      const failed = await verify(input, "--json");
      expect(failed.code).toBe(1);
      expect(JSON.parse(failed.stdout)).toEqual({ ok: false, reason });
    }
    const scope = await verify(secret, "--scope", "c", "--json");
    expect(JSON.parse(scope.stdout)).toEqual({ ok: false, reason: "scope-mismatch" });
    const human = await verify(original);
    expect(human.code).toBe(1);
    expect(human.stdout).toBe("");
    expect(human.stderr).toMatch(
      /^moltbot: Token not accepted for device mac, role operator: token-mismatch\. [^\n]*\n$/,
    );
    expect(human.stderr).not.toContain(original);
    expect((await verify("")).code).toBe(2);
    const unknown = await runMoltbot(["devices", "verify", "--device", "other", "--role", "operator", "--json"], {
      stateDir,
      input: secret,
    });
    expect(JSON.parse(unknown.stdout)).toEqual({ ok: false, reason: "device-not-paired" });
    const lastUsed = await runJson<ListJson>(["devices", "list"], { stateDir });
    expect(lastUsed.json.paired[0]!.tokens![0]!.lastUsedAtMs).toEqual(expect.any(Number));

    const revoked = await runJson<{ deviceId: string; role: string; revokedAtMs: number }>(
      ["devices", "revoke", "--device", "mac", "--role", "operator"],
      { stateDir },
    );
    expect(revoked.code).toBe(0);
    expect(Object.keys(revoked.json)).toEqual(["deviceId", "role", "revokedAtMs"]);
    expect(JSON.parse((await verify(secret, "--json")).stdout)).toEqual({ ok: false, reason: "token-revoked" });
    expect(
      (await runJson<ErrorJson>(["devices", "revoke", "--device", "mac", "--role", "admin"], { stateDir })).code,
    ).toBe(1);

    await request(stateDir, "mac", "--role", "node");
    const removed = await runJson(["devices", "remove", "mac"], { stateDir });
    expect(removed.code).toBe(0);
    expect(removed.json).toEqual({ deviceId: "mac" });
    expect((await runJson<ListJson>(["devices", "list"], { stateDir })).json).toEqual({ pending: [], paired: [] });
    const again = await runJson<ErrorJson>(["devices", "remove", "mac"], { stateDir });
    expect(again.code).toBe(1);
    expect(again.json.error.code).toBe("NOT_FOUND");
    expect(JSON.parse((await verify(secret, "--json")).stdout)).toEqual({ ok: false, reason: "device-not-paired" });
    expect(listTree(path.join(stateDir, "devices"))).toEqual(["paired.json", "pending.json"]);
  });

  it("rotate, revoke and remove of an unknown device are exit 1 and create nothing", async () => {
    const stateDir = tempStateDir();
    for (const args of [
      ["devices", "rotate", "--device", "ghost", "--role", "node"],
      ["devices", "revoke", "--device", "ghost", "--role", "node"],
      ["devices", "remove", "ghost"],
      ["devices", "reject", "ghost"],
    ]) {
      const result = await runJson<ErrorJson>(args, { stateDir });
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.json.error.code).toBe("NOT_FOUND");
    }
    expect(fs.existsSync(stateDir)).toBe(false);
  });

  it("every devices command has --help with an example", async () => {
    const stateDir = tempStateDir();
    for (const verb of ["list", "request", "approve", "reject", "rotate", "revoke", "remove", "verify"]) {
      const help = await runMoltbot(["devices", verb, "--help"], { stateDir });
      expect(help.code, verb).toBe(0);
      expect(help.stdout, verb).toMatch(/Examples?:\n[^\n]*moltbot devices /);
    }
  });
});
