import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, readJsonFile, runMoltbot, tempDir, tempStateDir, type RunResult } from "../helpers.js";

/*
 * Issue 10's odd inputs, through the built bin: what another writer (a gateway, a restored backup,
 * an attacker's device) may leave in the store, and where the gateway's own rules differ from a
 * generic one. Each test is named after the finding it closes (10.7 … 10.16).
 */

async function ok(args: string[], stateDir: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const result = await runMoltbot(args, { stateDir, env });
  expect(result.code, `${args.join(" ")}: ${result.stderr}${result.stdout}`).toBe(0);
  return result;
}

const json = async <T>(args: string[], stateDir: string, env: NodeJS.ProcessEnv = {}): Promise<T> =>
  JSON.parse((await ok([...args, "--json"], stateDir, env)).stdout) as T;

function writeStore(stateDir: string, relPath: string, data: unknown): string {
  const file = path.join(stateDir, relPath);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  return file;
}

const iso = (ms: number) => new Date(ms).toISOString();
const dmRequest = (id: string, code: string, at = Date.now()) => ({
  id,
  code,
  createdAt: iso(at),
  lastSeenAt: iso(at),
});

describe("issue 10: what the store may hold, through the CLI", () => {
  it("10.7 a lower-case code in the file is approved through the CLI; a code held twice is AMBIGUOUS (exit 1) for approve, and reject drops both", async () => {
    const stateDir = tempStateDir();
    const pendingFile = writeStore(stateDir, "credentials/telegram-pairing.json", {
      version: 1,
      requests: [dmRequest("111", "abcd2345"), dmRequest("222", "EFGH6789"), dmRequest("333", "efgh6789")],
    });
    const listed = await json<{ requests: { code: string }[] }>(["pairing", "list", "telegram"], stateDir);
    expect(listed.requests.map((request) => request.code)).toEqual(["abcd2345", "EFGH6789", "efgh6789"]);

    const approved = await json<{ id: string; code: string }>(
      ["pairing", "approve", "telegram", " abcd2345 "],
      stateDir,
    );
    expect(approved).toMatchObject({ id: "111", code: "ABCD2345" });
    const allowFile = path.join(stateDir, "credentials", "telegram-allowFrom.json");
    expect(readJsonFile(allowFile)).toEqual({ version: 1, allowFrom: ["111"] });

    const before = fs.readFileSync(pendingFile);
    const human = await runMoltbot(["pairing", "approve", "telegram", "EFGH6789"], { stateDir });
    expect(human.code).toBe(1);
    expect(human.stdout).toBe("");
    expect(human.stderr).toMatch(
      /^moltbot: Code EFGH6789 is held by 2 pending telegram requests \(senders 222, 333\)[^\n]*\n$/,
    );
    const machine = await runMoltbot(["pairing", "approve", "telegram", "efgh6789", "--json"], { stateDir });
    expect(machine.code).toBe(1);
    expect(JSON.parse(machine.stdout)).toMatchObject({ error: { code: "AMBIGUOUS" } });
    expect(fs.readFileSync(pendingFile)).toEqual(before);
    expect(readJsonFile(allowFile)).toEqual({ version: 1, allowFrom: ["111"] });

    const doctor = await runMoltbot(["doctor"], { stateDir });
    expect(doctor.stdout).toContain("code EFGH6789 is held by more than one live request");
    const rejected = await json<{ ids: string[] }>(["pairing", "reject", "telegram", "EFGH6789"], stateDir);
    expect(rejected.ids).toEqual(["222", "333"]);
    expect(readJsonFile(pendingFile)).toEqual({ version: 1, requests: [] });
  });

  it("10.8 nodes approve of a request whose node id is __proto__ is refused (exit 2, naming the reject command): nothing stored, the request kept", async () => {
    const stateDir = tempStateDir();
    const pendingFile = writeStore(stateDir, "nodes/pending.json", {
      r1: { requestId: "r1", nodeId: "__proto__", isRepair: false, ts: Date.now() },
    });
    const pairedFile = writeStore(stateDir, "nodes/paired.json", {});
    const before = fs.readFileSync(pendingFile);

    const human = await runMoltbot(["nodes", "approve", "r1"], { stateDir });
    expect(human.code).toBe(2);
    expect(human.stdout).toBe("");
    expect(human.stderr).toMatch(
      /^moltbot: Node request r1 names the node id "__proto__".* "moltbot nodes reject r1"\.\n$/,
    );
    const machine = await runMoltbot(["nodes", "approve", "r1", "--json"], { stateDir });
    expect(machine.code).toBe(2);
    expect(JSON.parse(machine.stdout)).toMatchObject({ error: { code: "USAGE" } });
    expect(fs.readFileSync(pendingFile)).toEqual(before);
    expect(fs.readFileSync(pairedFile, "utf8")).toBe("{}\n");
    expect((await ok(["nodes", "pending"], stateDir)).stdout).toContain("__proto__");

    await ok(["nodes", "reject", "r1"], stateDir);
    expect(readJsonFile(pendingFile)).toEqual({});
  });

  it("10.9 the same device id with a new public key replaces the old request and says so; listings mark it KEY CHANGED", async () => {
    const stateDir = tempStateDir();
    const request = (key: string, extra: string[] = []) => [
      "devices",
      "request",
      "--device",
      "d1",
      "--public-key",
      key,
      "--role",
      "node",
      ...extra,
    ];
    const first = await json<{ request: { requestId: string } }>(request("k1"), stateDir);
    // Asking again with the same key and role: the same request.
    const repeat = await json<{ created: boolean; request: { requestId: string } }>(request("k1"), stateDir);
    expect(repeat).toMatchObject({ created: false, request: { requestId: first.request.requestId } });
    // A new key before approval: the old request is replaced (never approvable with a key the device dropped).
    const rekeyed = await ok(request("k2"), stateDir);
    expect(rekeyed.stdout).toContain(`It replaces the device's earlier pending request ${first.request.requestId}`);
    const listing = await json<{ pending: { requestId: string; publicKey: string }[] }>(["devices", "list"], stateDir);
    expect(listing.pending.map((entry) => entry.publicKey)).toEqual(["k2"]);
    await ok(["devices", "approve", "d1"], stateDir);

    // Paired with k2; the id arrives with k3.
    const stranger = await runMoltbot([...request("k3"), "--json"], { stateDir });
    const result = JSON.parse(stranger.stdout) as {
      created: boolean;
      request: { requestId: string; publicKeyChanged?: boolean };
    };
    expect(result).toMatchObject({ created: true, request: { publicKeyChanged: true } });
    expect(stranger.stderr).toBe("");
    const again = await runMoltbot(request("k4"), { stateDir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`It replaces the device's earlier pending request ${result.request.requestId}`);
    expect(again.stderr).toMatch(
      /^Warning: device d1 is paired with a different public key; approving request \S+ replaces that key\./m,
    );
    const replaced = JSON.parse((await ok([...request("k5"), "--json"], stateDir)).stdout) as { replaced: string[] };
    expect(replaced.replaced).toHaveLength(1);

    const table = await ok(["devices", "list"], stateDir);
    expect(table.stdout).toMatch(/\bd1\b.*KEY CHANGED/);
    expect(table.stderr).toMatch(/^Warning: device d1 is paired with a different public key/m);
    const narrow = await runMoltbot(["devices", "list"], { stateDir, env: { COLUMNS: "60" } });
    expect(narrow.stdout).toContain("KEY CHANGED");
    const listed = await json<{ pending: { publicKey: string; publicKeyChanged?: boolean }[] }>(
      ["devices", "list"],
      stateDir,
    );
    expect(listed.pending).toEqual([expect.objectContaining({ publicKey: "k5", publicKeyChanged: true })]);
    const latest = await runMoltbot(["devices", "approve", "--latest"], { stateDir });
    expect(latest.code).toBe(1);
    expect(latest.stdout).toContain("KEY CHANGED");
  });

  it("10.10 a request dated in the future is invisible and holds no slot; doctor reports it and --fix prunes it (DM and device)", async () => {
    const stateDir = tempStateDir();
    const future = Date.now() + 3 * 3600_000;
    const pendingFile = writeStore(stateDir, "credentials/slack-pairing.json", {
      version: 1,
      requests: [dmRequest("U1", "JKLM2345", future)],
    });
    const devicesFile = writeStore(stateDir, "devices/pending.json", {
      r1: { requestId: "r1", deviceId: "d1", publicKey: "k1", isRepair: false, ts: future },
    });
    const list = await ok(["pairing", "list", "slack"], stateDir);
    expect(list.stdout).toBe("");
    const approve = await runMoltbot(["pairing", "approve", "slack", "JKLM2345", "--json"], { stateDir });
    expect(approve.code).toBe(1);
    expect(JSON.parse(approve.stdout)).toMatchObject({ error: { code: "NOT_FOUND" } });
    expect(await json<{ pending: unknown[] }>(["devices", "list"], stateDir)).toEqual({ pending: [], paired: [] });

    const doctor = await runMoltbot(["doctor", "--json"], { stateDir });
    expect(doctor.code).toBe(1);
    const findings = (JSON.parse(doctor.stdout) as { findings: { file: string; problem: string }[] }).findings;
    for (const file of [pendingFile, devicesFile]) {
      expect(findings).toContainEqual(
        expect.objectContaining({ file, problem: expect.stringContaining("1 entry dated in the future") }),
      );
    }
    await ok(["doctor", "--fix"], stateDir);
    expect(readJsonFile(pendingFile)).toEqual({ version: 1, requests: [] });
    expect(readJsonFile(devicesFile)).toEqual({});

    // With a cap of one, a future-dated request would have kept everyone else out.
    writeStore(stateDir, "credentials/slack-pairing.json", {
      version: 1,
      requests: [dmRequest("U1", "JKLM2345", future)],
    });
    const created = await json<{ status: string }>(["pairing", "request", "slack", "U2"], stateDir, {
      MOLTBOT_PAIRING_MAX_PENDING: "1",
    });
    expect(created.status).toBe("created");
  });

  it("10.14 devices rotate --scope narrows the device's own scopes in paired.json, not only the token's", async () => {
    const stateDir = tempStateDir();
    const args = ["devices", "request", "--device", "d1", "--public-key", "k1", "--role", "node"];
    await ok([...args, "--scope", "operator.read", "--scope", "operator.write"], stateDir);
    await ok(["devices", "approve", "d1"], stateDir);
    const rotated = await json<{ token: string; scopes: string[] }>(
      ["devices", "rotate", "--device", "d1", "--role", "node", "--scope", "operator.read"],
      stateDir,
    );
    expect(rotated.scopes).toEqual(["operator.read"]);
    const paired = readJsonFile<Record<string, { scopes: string[]; tokens: Record<string, { scopes: string[] }> }>>(
      path.join(stateDir, "devices", "paired.json"),
    );
    expect(paired.d1!.scopes).toEqual(["operator.read"]);
    expect(paired.d1!.tokens.node!.scopes).toEqual(["operator.read"]);
    const listed = await json<{ paired: { scopes: string[] }[] }>(["devices", "list"], stateDir);
    expect(listed.paired[0]!.scopes).toEqual(["operator.read"]);
    const verify = ["devices", "verify", "--device", "d1", "--role", "node", "--json"];
    const narrowed = await runMoltbot([...verify, "--scope", "operator.write"], { stateDir, input: rotated.token });
    expect(narrowed.code).toBe(1);
    expect(JSON.parse(narrowed.stdout)).toEqual({ ok: false, reason: "scope-mismatch" });
    expect((await runMoltbot([...verify, "--scope", "operator.read"], { stateDir, input: rotated.token })).code).toBe(
      0,
    );
  });

  it("10.16 mattermost entries match as the gateway reads them (revoke @Alice removes alice); nostr's id label is nostrPubkey", async () => {
    const stateDir = tempStateDir();
    const allowFile = writeStore(stateDir, "credentials/mattermost-allowFrom.json", {
      version: 1,
      allowFrom: ["alice", " @Bob ", "mattermost:carol", "user:Dave"],
    });
    expect(await json(["pairing", "revoke", "mattermost", "@Alice"], stateDir)).toMatchObject({
      id: "alice",
      removed: true,
    });
    expect(await json(["pairing", "revoke", "mattermost", "user:BOB"], stateDir)).toMatchObject({ removed: true });
    expect(readJsonFile(allowFile)).toEqual({ version: 1, allowFrom: ["mattermost:carol", "user:Dave"] });
    expect((await json<{ status: string }>(["pairing", "request", "mattermost", "@Carol"], stateDir)).status).toBe(
      "allowed",
    );
    expect((await json<{ status: string }>(["pairing", "request", "mattermost", "dave"], stateDir)).status).toBe(
      "allowed",
    );

    const key = "3BF0C63FCB93463407AF97A5E5EE64FA883D107EF9E558472C4EB9AAAEFA459D";
    const created = await json<{ message: string; code: string }>(["pairing", "request", "nostr", key], stateDir);
    expect(created.message).toContain(`Your Nostr public key: ${key}`);
    expect((await ok(["pairing", "list", "nostr"], stateDir)).stdout).toMatch(/^CODE\s+nostrPubkey\s/);
    await ok(["pairing", "approve", "nostr", created.code], stateDir);
    expect(readJsonFile(path.join(stateDir, "credentials", "nostr-allowFrom.json"))).toEqual({
      version: 1,
      allowFrom: [key.toLowerCase()],
    });
    expect(await json(["pairing", "revoke", "nostr", `nostr:${key}`], stateDir)).toMatchObject({ removed: true });
  });
});

/*
 * 10.12: the file system itself says no. Each case runs in a private mount namespace (unshare -m)
 * on a real tmpfs, so the mount vanishes with the shell; the suite runs as root, which may mount.
 */
function inNamespace(script: string): { stdout: string; stderr: string; status: number | null } {
  const dir = tempDir();
  const run = spawnSync("unshare", ["-m", "sh", "-c", script, "sh", dir, process.execPath, BIN], {
    encoding: "utf8",
    timeout: 30_000,
    env: { PATH: process.env.PATH, NO_COLOR: "1" },
  });
  expect(run.error).toBeUndefined();
  return run;
}

describe("10.12 messages when the file system refuses", () => {
  it("a full disk (ENOSPC): exit 3, says the disk is full, does not send the operator to doctor, leaves no temp file and the file intact", () => {
    const { stdout, stderr, status } = inNamespace(`
      D="$1"; N="$2"; B="$3"
      mount -t tmpfs -o size=64k,mode=0755 tmpfs "$D" || exit 9
      "$N" "$B" --state-dir "$D/state" pairing request telegram 111 >/dev/null 2>&1 || exit 8
      before=$(sha256sum < "$D/state/credentials/telegram-pairing.json")
      dd if=/dev/zero of="$D/fill" bs=4096 2>/dev/null
      "$N" "$B" --state-dir "$D/state" pairing request telegram 222 --meta username=bob
      echo "exit=$?"
      after=$(sha256sum < "$D/state/credentials/telegram-pairing.json")
      [ "$before" = "$after" ] && echo unchanged
      ls -A "$D/state/credentials"
      find "$D/state" -name "*.tmp" | wc -l
    `);
    expect(status, stderr).toBe(0);
    expect(stdout.split("\n")).toEqual(["exit=3", "unchanged", "telegram-pairing.json", "0", ""]);
    // The first write of the change fails: moltbot's code history (state/moltbot/), or the requests.
    expect(stderr).toMatch(
      /^moltbot: Could not write \S+(?:credentials\/telegram-pairing|moltbot\/telegram-codes)\.json: no space left on the device\. Nothing was changed; free some space and run the command again\.\n$/,
    );
    expect(stderr).not.toContain("doctor");
  });

  it("a read-only file system (EROFS): exit 3, says so, never blames sudo or root", () => {
    const { stdout, stderr, status } = inNamespace(`
      D="$1"; N="$2"; B="$3"
      mount -t tmpfs -o mode=0755 tmpfs "$D" || exit 9
      "$N" "$B" --state-dir "$D/state" pairing request telegram 111 >/dev/null 2>&1 || exit 8
      mount -o remount,ro "$D" || exit 7
      "$N" "$B" --state-dir "$D/state" pairing request telegram 222
      echo "exit=$?"
      "$N" "$B" --state-dir "$D/state" pairing list telegram --json >/dev/null && echo "reads work"
    `);
    expect(status, stderr).toBe(0);
    expect(stdout.split("\n")).toEqual(["exit=3", "reads work", ""]);
    expect(stderr).toMatch(/^moltbot: Could not create \S+: the file system is read-only\. Nothing was changed\.\n$/);
    expect(stderr).not.toMatch(/sudo|root/);
  });

  it("a state dir that is a file: exit 3, names it as not a directory, no errno jargon", async () => {
    const file = path.join(tempDir(), "state");
    fs.writeFileSync(file, "not a directory\n");
    for (const args of [
      ["pairing", "request", "telegram", "111"],
      ["pairing", "list", "telegram"],
    ]) {
      const result = await runMoltbot(["--state-dir", file, ...args], { stateDir: file });
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(new RegExp(`^moltbot: ${file} is not a directory, so it cannot hold the store`));
      expect(result.stderr).not.toMatch(/ENOTDIR|credentials is not a regular file/);
    }
    expect(fs.readFileSync(file, "utf8")).toBe("not a directory\n");
  });
});
