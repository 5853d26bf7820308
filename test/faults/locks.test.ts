import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveChannel } from "../../src/core/channels.js";
import { DM_ALLOW, singleRecord } from "../../src/store/catalogue.js";
import { createStoreContext } from "../../src/store/context.js";
import { DEFAULT_LOCK_TIMEOUT_MS, LOCK_STALE_MS, acquireLock } from "../../src/store/json/lock.js";
import { runTransaction } from "../../src/store/transaction.js";
import { ROOT, readJsonFile } from "../helpers.js";
import { backdate, expectOneCleanErrorLine, faultDir, fingerprint, moltbot, startMoltbot } from "./fault-helpers.js";

/*
 * Locks (SPEC §5): `<file>.lock` is proper-lockfile's directory lock, shared with the gateway, with
 * the gateway's own parameters. A dead holder's lock is taken over once it is LOCK_STALE_MS (30 s)
 * old; a live holder refreshes it every 15 s, so it is never stolen; OpenClaw's lock file is
 * honoured by its own rule; a command that cannot get a lock within MOLTBOT_LOCK_TIMEOUT_MS (40 s by
 * default) fails with exit 3 instead of hanging.
 */
const HOLDER = path.join(ROOT, "test/faults/fixtures/lock-holder.mjs");
const OPENCLAW_HOLDER = path.join(ROOT, "test/faults/fixtures/openclaw-lock.mjs");

interface Holder {
  child: ChildProcess;
  locked: Promise<number>;
  released: Promise<number>;
  output: () => string;
}

/** A process holding `<file>.lock` the way the gateway does (see fixtures/lock-holder.mjs). */
function startHolder(file: string, holdMs: number, data?: string, script = HOLDER): Holder {
  const child = spawn(process.execPath, [script, file, String(holdMs), ...(data !== undefined ? [data] : [])], {
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 60_000,
  });
  let output = "";
  const waitFor = (word: string) =>
    new Promise<number>((resolve, reject) => {
      const check = () => {
        const match = new RegExp(`^${word} (\\d+)$`, "m").exec(output);
        if (match) resolve(Number(match[1]));
      };
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString("utf8");
        check();
      });
      child.on("close", () => reject(new Error(`holder exited before "${word}": ${output}`)));
    });
  const locked = waitFor("locked");
  const released = waitFor("released");
  released.catch(() => {});
  return { child, locked, released, output: () => output };
}

/** A state dir with one live telegram request from sender 111; returns its paths and code. */
async function storeWithRequest() {
  const stateDir = path.join(faultDir(), "state");
  const created = await moltbot(["pairing", "request", "telegram", "111", "--json"], { stateDir });
  expect(created.code).toBe(0);
  const credentials = path.join(stateDir, "credentials");
  return {
    stateDir,
    code: (JSON.parse(created.stdout) as { code: string }).code,
    pendingFile: path.join(credentials, "telegram-pairing.json"),
    allowFile: path.join(credentials, "telegram-allowFrom.json"),
  };
}

describe("locks", { timeout: 70_000 }, () => {
  it("a lock left by a dead process (untouched for longer than the stale time) is taken over with no operator action", async () => {
    const { stateDir, code, pendingFile, allowFile } = await storeWithRequest();
    // The holder is gone, so nothing refreshes the lock: back-dating it is the clock moving on.
    fs.mkdirSync(`${pendingFile}.lock`);
    backdate(`${pendingFile}.lock`, LOCK_STALE_MS + 5_000);
    fs.mkdirSync(`${allowFile}.lock`);
    backdate(`${allowFile}.lock`, LOCK_STALE_MS + 5_000);

    const approved = await moltbot(["pairing", "approve", "telegram", code, "--json"], { stateDir });
    expect(approved.code, approved.stdout).toBe(0);
    expect(approved.elapsedMs).toBeLessThan(5_000);
    expect(fs.existsSync(`${pendingFile}.lock`)).toBe(false);
    expect(fs.existsSync(`${allowFile}.lock`)).toBe(false);
    expect(readJsonFile(allowFile)).toEqual({ version: 1, allowFrom: ["111"] });
  });

  it("a command that cannot get a busy lock within MOLTBOT_LOCK_TIMEOUT_MS fails with exit 3 and one line, and leaves the lock and files alone", async () => {
    const { stateDir, code, pendingFile } = await storeWithRequest();
    const lock = `${pendingFile}.lock`;
    fs.mkdirSync(lock);
    // A live holder keeps touching its lock; so do we, for the whole wait.
    const keepFresh = setInterval(() => backdate(lock, 0), 300);
    try {
      const before = fingerprint(pendingFile);
      const env = { MOLTBOT_LOCK_TIMEOUT_MS: "1500" };
      const human = await moltbot(["pairing", "approve", "telegram", code], { stateDir, env });
      expectOneCleanErrorLine(human, [3]);
      expect(human.stderr).toContain(pendingFile);
      expect(human.stderr).toContain(".lock");
      expect(human.stderr).toContain("moltbot doctor");
      expect(human.elapsedMs).toBeGreaterThanOrEqual(1_500);
      expect(human.elapsedMs).toBeLessThan(6_000);

      const json = await moltbot(["pairing", "request", "telegram", "222", "--json"], { stateDir, env });
      expect(json.code).toBe(3);
      expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: "STORE_LOCKED" } });

      expect(fs.statSync(lock).isDirectory()).toBe(true);
      expect(fingerprint(pendingFile)).toBe(before);
      expect(fs.existsSync(path.join(stateDir, "credentials", "telegram-allowFrom.json"))).toBe(false);
    } finally {
      clearInterval(keepFresh);
    }
  });

  it("a lock taken over by another process while held is noticed before writing: nothing is written, and the new owner's lock is never removed", async () => {
    const dir = path.join(faultDir(), "credentials");
    fs.mkdirSync(dir, { mode: 0o700 });
    const file = path.join(dir, "telegram-allowFrom.json");
    fs.writeFileSync(file, '{"version":1,"allowFrom":["111"]}\n', { mode: 0o600 });
    const lock = await acquireLock(file, Date.now() + 1_000);
    expect(lock.compromised()).toBeUndefined();
    // What proper-lockfile's non-atomic stale takeover can do: another process replaces our lock.
    fs.rmdirSync(`${file}.lock`);
    fs.mkdirSync(`${file}.lock`);
    expect(lock.compromised()).toBeInstanceOf(Error);
    await lock.release();
    expect(fs.statSync(`${file}.lock`).isDirectory()).toBe(true);

    // The one read-modify-write notices it too, starts over, and gives up at the deadline unwritten.
    fs.rmdirSync(`${file}.lock`);
    const ctx = createStoreContext({ stateDir: path.dirname(dir), env: { MOLTBOT_LOCK_TIMEOUT_MS: "300" } });
    const update = runTransaction(
      ctx,
      singleRecord(DM_ALLOW),
      { state: { channel: resolveChannel("telegram") } },
      ({ state }) => {
        // Only under the lock: the first, unlocked decision takes none.
        if (fs.existsSync(`${file}.lock`) && !fs.existsSync(`${file}.thief`)) {
          fs.writeFileSync(`${file}.thief`, "");
          fs.rmdirSync(`${file}.lock`);
          fs.mkdirSync(`${file}.lock`);
        }
        return { state: { ...state, allowFrom: [...state.allowFrom, "222"] }, result: "written" };
      },
    );
    await expect(update).rejects.toMatchObject({ code: "STORE_LOCKED" });
    expect(fs.readFileSync(file, "utf8")).toBe('{"version":1,"allowFrom":["111"]}\n');
    expect(fs.statSync(`${file}.lock`).isDirectory()).toBe(true);
  });

  it("a lock dated in the future (clock step, restored backup) is taken over instead of blocking every write", async () => {
    const { stateDir, code, pendingFile } = await storeWithRequest();
    fs.mkdirSync(`${pendingFile}.lock`);
    backdate(`${pendingFile}.lock`, -(LOCK_STALE_MS + 3_600_000));
    const approved = await moltbot(["pairing", "approve", "telegram", code, "--json"], { stateDir });
    expect(approved.code, approved.stdout).toBe(0);
    expect(approved.elapsedMs).toBeLessThan(5_000);
  });

  it("a lock dated a little in the future (proper-lockfile's own +1 s, a small clock step) is honoured", async () => {
    const { stateDir, code, pendingFile } = await storeWithRequest();
    fs.mkdirSync(`${pendingFile}.lock`);
    backdate(`${pendingFile}.lock`, -5_000);
    const env = { MOLTBOT_LOCK_TIMEOUT_MS: "1000" };
    const approved = await moltbot(["pairing", "approve", "telegram", code, "--json"], { stateDir, env });
    expect(approved.code).toBe(3);
  });

  it("OpenClaw's lock file: a dead process's or one older than 30 s is taken over; a live one is waited for", async () => {
    const { stateDir, pendingFile } = await storeWithRequest();
    const lock = `${pendingFile}.lock`;
    const write = (payload: object) => fs.writeFileSync(lock, JSON.stringify(payload, null, 2));
    // Dead process (a pid that cannot exist).
    write({ pid: 2 ** 22 + 7, createdAt: new Date().toISOString() });
    let result = await moltbot(["pairing", "request", "telegram", "222", "--json"], { stateDir });
    expect(result.code, result.stdout).toBe(0);
    expect(fs.existsSync(lock)).toBe(false);
    // A live process, but older than the stale time.
    write({ pid: process.pid, createdAt: new Date(Date.now() - LOCK_STALE_MS - 1_000).toISOString() });
    result = await moltbot(["pairing", "request", "telegram", "333", "--json"], { stateDir });
    expect(result.code, result.stdout).toBe(0);
    // A live, fresh one: never removed; the command waits (and here gives up at its deadline).
    write({ pid: process.pid, createdAt: new Date().toISOString() });
    result = await moltbot(["pairing", "request", "telegram", "444", "--json"], {
      stateDir,
      env: { MOLTBOT_LOCK_TIMEOUT_MS: "1500", MOLTBOT_PAIRING_MAX_PENDING: "10" },
    });
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: "STORE_LOCKED" } });
    expect(fs.statSync(lock).isFile()).toBe(true);
    fs.rmSync(lock);
  });

  it.concurrent("a command waits while a live OpenClaw process holds its lock file, then writes", async () => {
    const { stateDir, pendingFile } = await storeWithRequest();
    const holder = startHolder(pendingFile, 2_000, undefined, OPENCLAW_HOLDER);
    await holder.locked;
    const request = await moltbot(["pairing", "request", "telegram", "222", "--json"], { stateDir });
    const releasedAt = await holder.released;
    expect(request.code, request.stdout).toBe(0);
    expect(request.endedAt).toBeGreaterThanOrEqual(releasedAt);
  });

  // The next three wait for real time (12-41 s each), so they run side by side.
  it.concurrent("a holder killed with SIGKILL while holding the lock is taken over once it is 30 s old", async () => {
    const { stateDir, pendingFile } = await storeWithRequest();
    const holder = startHolder(pendingFile, -1);
    await holder.locked;
    holder.child.kill("SIGKILL");
    const killedAt = Date.now();
    const request = await moltbot(["pairing", "request", "telegram", "222", "--json"], { stateDir, timeoutMs: 55_000 });
    expect(request.code, request.stdout).toBe(0);
    const waited = request.endedAt - killedAt;
    // It waited for the lock to go stale (it never stole a fresh one), and took it over then.
    expect(waited).toBeGreaterThanOrEqual(LOCK_STALE_MS - 1_500);
    expect(waited).toBeLessThan(LOCK_STALE_MS + 5_000);
    expect(readJsonFile<{ requests: { id: string }[] }>(pendingFile).requests.map((r) => r.id)).toEqual(["111", "222"]);
    expect(fs.existsSync(`${pendingFile}.lock`)).toBe(false);
  });

  it.concurrent(
    "a live gateway lock (stale 30 s, refreshed every 15 s) held for longer than moltbot's old 10 s stale time is never stolen: the command waits and succeeds after release",
    async () => {
      const { stateDir, code, pendingFile, allowFile } = await storeWithRequest();
      // The holder adds a request of its own while it holds the lock: that write must survive.
      const current = readJsonFile<{ version: 1; requests: Record<string, unknown>[] }>(pendingFile);
      const at = new Date().toISOString();
      const holderRequest = { id: "999", code: "HHHHHHHH", createdAt: at, lastSeenAt: at };
      const data = `${JSON.stringify({ ...current, requests: [...current.requests, holderRequest] }, null, 2)}\n`;
      const holder = startHolder(pendingFile, 12_000, data);
      await holder.locked;

      const approve = await moltbot(["pairing", "approve", "telegram", code, "--json"], { stateDir });
      const releasedAt = await holder.released;
      expect(approve.code, approve.stdout).toBe(0);
      expect(approve.endedAt).toBeGreaterThanOrEqual(releasedAt);
      expect(holder.output()).not.toContain("compromised");
      expect(readJsonFile<{ requests: { id: string }[] }>(pendingFile).requests.map((r) => r.id)).toEqual(["999"]);
      expect(readJsonFile(allowFile)).toEqual({ version: 1, allowFrom: ["111"] });
    },
  );

  it.concurrent(
    "with the default 40 s budget, a lock that stays busy gives exit 3 after about 40 s: a command never hangs",
    async () => {
      const { stateDir, pendingFile } = await storeWithRequest();
      const holder = startHolder(pendingFile, -1);
      await holder.locked;
      try {
        const before = fingerprint(pendingFile);
        const run = startMoltbot(["pairing", "request", "telegram", "222"], { stateDir, timeoutMs: 55_000 });
        const outcome = await run.done;
        expectOneCleanErrorLine(outcome, [3]);
        expect(outcome.stderr).toContain("moltbot doctor");
        expect(outcome.elapsedMs).toBeGreaterThanOrEqual(DEFAULT_LOCK_TIMEOUT_MS);
        expect(outcome.elapsedMs).toBeLessThan(DEFAULT_LOCK_TIMEOUT_MS + 5_000);
        expect(holder.output()).not.toContain("compromised");
        expect(fingerprint(pendingFile)).toBe(before);
      } finally {
        holder.child.kill("SIGKILL");
      }
    },
  );
});
