import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { withReadConnection } from "../../src/store/sqlite/backend.js";
import { coordinatorPath } from "../../src/store/sqlite/coordinator.js";
import { DEVICE_PENDING } from "../../src/store/catalogue.js";
import { createStoreContext } from "../../src/store/context.js";
import { collectOutput, listTree, runJson, runMoltbot, tempDir, type RunResult } from "../helpers.js";
import { dbPath, openclawState, query, sqlite, track } from "./helpers.js";

/*
 * Writing beside a live gateway, through real processes: OpenClaw's coordinator lock (its exact
 * path and its directory rules), BEGIN IMMEDIATE on the database, OpenClaw's backup lease, and
 * many writers at once. Reads take no lock and write nothing.
 */

const HOLD = path.join(import.meta.dirname, "fixtures", "hold.mjs");

/** Start a process that holds `sql`'s lock on `file`; resolves once it holds it. */
async function hold(file: string, sql: string, ms: number) {
  const child = spawn(process.execPath, [HOLD, file, sql, String(ms)], { stdio: ["pipe", "pipe", "pipe"] });
  const done = collectOutput(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`holder exited ${code}`)));
  });
  return { release: () => child.stdin.end(), done };
}

const nobody = { uid: 65534, gid: 65534 };

function asNobody(args: string[], stateDir: string, env: NodeJS.ProcessEnv = {}): RunResult {
  const result = spawnSync(
    "setpriv",
    ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, path.resolve("bin/moltbot.js"), ...args],
    { env: { ...process.env, MOLTBOT_STATE_DIR: stateDir, NO_COLOR: "1", ...env }, encoding: "utf8", cwd: "/" },
  );
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

function chownTree(dir: string, owner: { uid: number; gid: number }) {
  spawnSync("chown", ["-R", `${owner.uid}:${owner.gid}`, dir]);
}

describe("OpenClaw's coordinator lock", () => {
  it("is /tmp/openclaw-state-locks-<uid>/state-lifecycle.<sha256 of the real db path, 8 hex>.lock.sqlite, whatever TMPDIR says and through a linked state dir", async () => {
    const stateDir = openclawState();
    const link = path.join(tempDir(), "linked-state");
    fs.symlinkSync(stateDir, link);
    const expected = `/tmp/openclaw-state-locks-${process.getuid!()}/state-lifecycle.${createHash("sha256")
      .update(fs.realpathSync(dbPath(stateDir)))
      .digest("hex")
      .slice(0, 8)}.lock.sqlite`;
    expect(await coordinatorPath("state-lifecycle", path.join(link, "state", "openclaw.sqlite"))).toBe(expected);
    fs.rmSync(expected, { force: true });
    const result = await runJson(["pairing", "request", "telegram", "1"], {
      stateDir: link,
      env: { TMPDIR: tempDir("moltbot-other-tmp-") },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(fs.statSync(expected).isFile()).toBe(true);
    expect(fs.statSync(path.dirname(expected)).mode & 0o777).toBe(0o700);
  });

  it("a writer waits for the lock a real process holds, and fails with STORE_LOCKED (exit 3) when the wait runs out; nothing is written", async () => {
    const stateDir = openclawState();
    const lock = await coordinatorPath("state-lifecycle", dbPath(stateDir));
    fs.mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
    const holder = await hold(lock, "PRAGMA journal_mode = MEMORY; BEGIN EXCLUSIVE;", 0);
    const started = Date.now();
    const result = await runMoltbot(["pairing", "request", "telegram", "1"], {
      stateDir,
      env: { MOLTBOT_LOCK_TIMEOUT_MS: "800" },
    });
    const waited = Date.now() - started;
    holder.release();
    await holder.done;
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      /^moltbot: Another process \(the OpenClaw gateway, or another moltbot\) kept writing .*openclaw\.sqlite for 0\.8 s; nothing was written\. Try again/,
    );
    expect(result.stderr.split("\n")).toHaveLength(2);
    expect(waited).toBeGreaterThanOrEqual(800);
    expect(waited).toBeLessThan(8000);
    expect(query(stateDir, "SELECT count(*) AS n FROM channel_pairing_requests")).toEqual([{ n: 0 }]);
  });

  it("a lock released within the wait lets the write through", async () => {
    const stateDir = openclawState();
    const lock = await coordinatorPath("state-lifecycle", dbPath(stateDir));
    fs.mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
    const holder = await hold(lock, "PRAGMA journal_mode = MEMORY; BEGIN EXCLUSIVE;", 1200);
    const started = Date.now();
    const result = await runJson<{ status: string }>(["pairing", "request", "telegram", "1"], {
      stateDir,
      env: { MOLTBOT_LOCK_TIMEOUT_MS: "10000" },
    });
    await holder.done;
    expect(result.json.status).toBe("created");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it("the database held with BEGIN IMMEDIATE by another connection: STORE_LOCKED after the wait", async () => {
    const stateDir = openclawState();
    const holder = await hold(dbPath(stateDir), "BEGIN IMMEDIATE;", 0);
    const result = await runJson<{ error: { code: string; message: string } }>(
      ["devices", "request", "--device-id", "d", "--public-key", "k"],
      {
        stateDir,
        env: { MOLTBOT_LOCK_TIMEOUT_MS: "600" },
      },
    );
    holder.release();
    await holder.done;
    expect(result.code).toBe(3);
    expect(result.json.error).toMatchObject({
      code: "STORE_LOCKED",
      message: expect.stringContaining("stayed locked by another connection"),
    });
  });

  it("a connection that locks the database's schema for a moment (as OpenClaw's last connection does while it checkpoints the WAL away on close) is waited for, not a refusal", async () => {
    const stateDir = openclawState();
    const session = createStoreContext({ stateDir, env: {} }).backend.begin(Date.now() + 10_000);
    // Held from before the write opens its connection until 1.2 s later: the connection's first
    // statements read the schema, and must wait for it like the transaction does.
    const holder = await hold(dbPath(stateDir), "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;", 1200);
    const started = Date.now();
    try {
      expect(await session.open(DEVICE_PENDING, {})).toEqual({});
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    } finally {
      await session.close();
      await holder.done;
    }
  });

  it("OpenClaw's backup or restore (state-handles held exclusively) stops a write at once", async () => {
    const stateDir = openclawState();
    const lock = await coordinatorPath("state-handles", dbPath(stateDir));
    fs.mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
    const holder = await hold(lock, "PRAGMA journal_mode = MEMORY; BEGIN EXCLUSIVE;", 0);
    const result = await runJson<{ error: { code: string; message: string } }>(
      ["pairing", "request", "telegram", "1"],
      { stateDir },
    );
    holder.release();
    await holder.done;
    expect(result.json.error).toMatchObject({
      code: "STORE_LOCKED",
      message: expect.stringContaining("backing up or restoring"),
    });
  });

  it("reads take no lock: list answers while a writer holds both locks", async () => {
    const stateDir = openclawState({
      sql: `INSERT INTO channel_pairing_requests VALUES ('telegram', 'default', '1', 'ABCD2345', '${new Date().toISOString()}', '${new Date().toISOString()}', NULL);`,
    });
    const lock = await coordinatorPath("state-lifecycle", dbPath(stateDir));
    fs.mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
    const coordinator = await hold(lock, "PRAGMA journal_mode = MEMORY; BEGIN EXCLUSIVE;", 0);
    const writer = await hold(dbPath(stateDir), "BEGIN IMMEDIATE; DELETE FROM channel_pairing_requests;", 0);
    const result = await runJson<{ requests: unknown[] }>(["pairing", "list", "telegram"], { stateDir });
    writer.release();
    coordinator.release();
    await Promise.all([writer.done, coordinator.done]);
    expect(result.code, result.stderr).toBe(0);
    // The uncommitted delete is not seen.
    expect(result.json.requests).toHaveLength(1);
  });

  it("16 moltbot writers at once (requests on 16 accounts, then 4 approvals) lose nothing", async () => {
    const stateDir = openclawState();
    const requests = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        runJson<{ code: string }>(["pairing", "request", "telegram", String(1000 + i), "--account", `acct${i}`], {
          stateDir,
          env: { MOLTBOT_LOCK_TIMEOUT_MS: "30000" },
        }),
      ),
    );
    expect(requests.map((r) => r.code)).toEqual(Array(16).fill(0));
    expect(query(stateDir, "SELECT count(*) AS n FROM channel_pairing_requests")).toEqual([{ n: 16 }]);
    const approvals = await Promise.all(
      requests.slice(0, 4).map((r) => runJson(["pairing", "approve", "telegram", r.json.code], { stateDir })),
    );
    expect(approvals.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect(query(stateDir, "SELECT count(*) AS n FROM channel_pairing_allow_entries")).toEqual([{ n: 4 }]);
    expect(query(stateDir, "SELECT count(*) AS n FROM channel_pairing_requests")).toEqual([{ n: 12 }]);
  });
});

describe("the lock directory's rules (as another user, so the shared one is not touched)", () => {
  const dir = "/tmp/openclaw-state-locks-65534";

  function nobodyState() {
    const stateDir = openclawState();
    chownTree(path.dirname(stateDir), nobody);
    return stateDir;
  }

  it.each([
    ["is created 0700 when absent", () => {}, 0, 0o700],
    [
      "is made 0700 when it is 0755 and ours",
      () => {
        fs.mkdirSync(dir, { mode: 0o755 });
        fs.chmodSync(dir, 0o755);
        fs.chownSync(dir, nobody.uid, nobody.gid);
      },
      0,
      0o700,
    ],
  ])("%s", (_name, prepare, code, mode) => {
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      prepare();
      const stateDir = nobodyState();
      const result = asNobody(["pairing", "request", "telegram", "1"], stateDir);
      expect(result.code, result.stderr).toBe(code);
      expect(fs.lstatSync(dir).mode & 0o7777).toBe(mode);
      expect(fs.lstatSync(dir).uid).toBe(nobody.uid);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [
      "a symbolic link",
      () => {
        const elsewhere = tempDir();
        chownTree(elsewhere, nobody);
        fs.symlinkSync(elsewhere, dir);
      },
      "is not a real directory",
    ],
    ["another user's", () => fs.mkdirSync(dir, { mode: 0o700 }), "belongs to uid 0, not to you"],
  ])("is refused when it is %s (exit 3, nothing written)", (_name, prepare, message) => {
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      prepare();
      const stateDir = nobodyState();
      const result = asNobody(["pairing", "request", "telegram", "1"], stateDir);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(message);
      expect(query(stateDir, "SELECT count(*) AS n FROM channel_pairing_requests")).toEqual([{ n: 0 }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("reading writes nothing", () => {
  it("list and allowlist on a checkpointed WAL database create no -wal or -shm, and take no lock", async () => {
    const stateDir = openclawState();
    const lock = await coordinatorPath("state-lifecycle", dbPath(stateDir));
    const before = listTree(stateDir);
    for (const args of [
      ["pairing", "list"],
      ["pairing", "allowlist", "telegram"],
      ["devices", "list"],
    ]) {
      const result = await runMoltbot([...args, "--json"], { stateDir });
      expect(result.code, result.stderr).toBe(0);
    }
    expect(listTree(stateDir)).toEqual(before);
    expect(fs.existsSync(lock)).toBe(false);
  });

  it("an immutable read that a writer starting meanwhile disturbs is read again through the WAL", () => {
    const stateDir = openclawState();
    const file = dbPath(stateDir);
    const writer = new (sqlite().DatabaseSync)(file);
    let calls = 0;
    try {
      const count = withReadConnection(file, 1000, (db) => {
        calls++;
        // First time: the quiet (immutable) read; a gateway opens the database and commits meanwhile.
        if (calls === 1) {
          writer.exec("INSERT INTO channel_pairing_allow_entries VALUES ('telegram', 'default', '1', 0, 0);");
        }
        return db.prepare("SELECT count(*) AS n FROM channel_pairing_allow_entries").get()?.n;
      });
      expect(calls).toBe(2);
      expect(count).toBe(1);
    } finally {
      writer.close();
    }
  });

  it("root reading another user's state creates nothing there, even beside a live WAL", async () => {
    const stateDir = openclawState();
    // A gateway-like connection keeps the WAL and its index open.
    const gateway = await hold(
      dbPath(stateDir),
      "PRAGMA journal_mode = WAL; BEGIN; SELECT count(*) FROM channel_pairing_requests;",
      0,
    );
    chownTree(path.dirname(stateDir), nobody);
    const before = listTree(stateDir);
    const result = await runMoltbot(["pairing", "list", "--json"], { stateDir });
    const after = listTree(stateDir);
    const owners = after.map((entry) => fs.lstatSync(path.join(stateDir, entry)).uid);
    gateway.release();
    await gateway.done;
    expect(result.code, result.stderr).toBe(0);
    expect(before).toContain("state/openclaw.sqlite-wal");
    expect(after).toEqual(before);
    expect(owners).toEqual(after.map(() => nobody.uid));
  });

  it("root writing into another user's state is refused with the command to run as its owner", async () => {
    const stateDir = openclawState();
    chownTree(path.dirname(stateDir), nobody);
    const result = await runMoltbot(["pairing", "request", "telegram", "1"], { stateDir });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("belongs to nobody, not root");
    track(stateDir);
  });
});
