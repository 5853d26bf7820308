import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LOCK_STALE_MS, acquireLock, updateStore } from "../../src/store/locked-update.js";
import { allowFileSchema } from "../../src/store/schemas.js";
import { ROOT, readJsonFile } from "../helpers.js";
import { backdate, expectOneCleanErrorLine, faultDir, fingerprint, moltbot, startMoltbot } from "./fault-helpers.js";

/*
 * Locks (SPEC §5): `<file>.lock` is proper-lockfile's directory lock, shared with the gateway.
 * A dead holder's lock is taken over once it is LOCK_STALE_MS (10 s) old; a live holder refreshes
 * it, so it is never stolen; a command that cannot get a lock within MOLTBOT_LOCK_TIMEOUT_MS
 * (15 s by default) fails with exit 3 instead of hanging.
 */
const HOLDER = path.join(ROOT, "test/faults/fixtures/lock-holder.mjs");

interface Holder {
  child: ChildProcess;
  locked: Promise<number>;
  released: Promise<number>;
  output: () => string;
}

/** A process holding `<file>.lock` the way the gateway does (see fixtures/lock-holder.mjs). */
function startHolder(file: string, holdMs: number, data?: string): Holder {
  const child = spawn(process.execPath, [HOLDER, file, String(holdMs), ...(data !== undefined ? [data] : [])], {
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 40_000,
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

describe("locks", () => {
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
    const storeFile = {
      path: file,
      label: "a telegram allowlist",
      schema: allowFileSchema,
      empty: () => ({ version: 1 as const, allowFrom: [] }),
    };
    const previous = process.env.MOLTBOT_LOCK_TIMEOUT_MS;
    process.env.MOLTBOT_LOCK_TIMEOUT_MS = "300";
    fs.rmdirSync(`${file}.lock`);
    try {
      const update = updateStore([storeFile] as const, ([allow]) => {
        if (!fs.existsSync(`${file}.thief`)) {
          fs.writeFileSync(`${file}.thief`, "");
          fs.rmdirSync(`${file}.lock`);
          fs.mkdirSync(`${file}.lock`);
        }
        return { states: [{ ...allow, allowFrom: [...allow.allowFrom, "222"] }], result: "written" };
      });
      await expect(update).rejects.toMatchObject({ code: "STORE_LOCKED" });
    } finally {
      if (previous === undefined) delete process.env.MOLTBOT_LOCK_TIMEOUT_MS;
      else process.env.MOLTBOT_LOCK_TIMEOUT_MS = previous;
    }
    expect(fs.readFileSync(file, "utf8")).toBe('{"version":1,"allowFrom":["111"]}\n');
    expect(fs.statSync(`${file}.lock`).isDirectory()).toBe(true);
  });

  // The next three wait for real time (10-16 s each), so they run side by side.
  it.concurrent("a holder killed with SIGKILL while holding the lock is taken over within 15 s", async () => {
    const { stateDir, pendingFile } = await storeWithRequest();
    const holder = startHolder(pendingFile, -1);
    await holder.locked;
    holder.child.kill("SIGKILL");
    const killedAt = Date.now();
    const request = await moltbot(["pairing", "request", "telegram", "222", "--json"], { stateDir });
    expect(request.code, request.stdout).toBe(0);
    const waited = request.endedAt - killedAt;
    // It waited for the lock to go stale (it never stole a fresh one), and not a moment past 15 s.
    expect(waited).toBeGreaterThanOrEqual(LOCK_STALE_MS - 1_500);
    expect(waited).toBeLessThan(15_000);
    expect(readJsonFile<{ requests: { id: string }[] }>(pendingFile).requests.map((r) => r.id)).toEqual(["111", "222"]);
    expect(fs.existsSync(`${pendingFile}.lock`)).toBe(false);
  });

  it.concurrent(
    "a live lock is never stolen, even when held longer than the stale time: the command waits and succeeds after release",
    async () => {
      const { stateDir, code, pendingFile, allowFile } = await storeWithRequest();
      // The holder adds a request of its own while it holds the lock: that write must survive.
      const current = readJsonFile<{ version: 1; requests: Record<string, unknown>[] }>(pendingFile);
      const at = new Date().toISOString();
      const holderRequest = { id: "999", code: "HHHHHHHH", createdAt: at, lastSeenAt: at };
      const data = `${JSON.stringify({ ...current, requests: [...current.requests, holderRequest] }, null, 2)}\n`;
      const holder = startHolder(pendingFile, LOCK_STALE_MS + 1_000, data);
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
    "with the default 15 s budget, a lock that stays busy gives exit 3 after about 15 s: a command never hangs",
    async () => {
      const { stateDir, pendingFile } = await storeWithRequest();
      const holder = startHolder(pendingFile, -1);
      await holder.locked;
      try {
        const before = fingerprint(pendingFile);
        const run = startMoltbot(["pairing", "request", "telegram", "222"], { stateDir, timeoutMs: 30_000 });
        const outcome = await run.done;
        expectOneCleanErrorLine(outcome, [3]);
        expect(outcome.stderr).toContain("moltbot doctor");
        expect(outcome.elapsedMs).toBeGreaterThanOrEqual(15_000);
        expect(outcome.elapsedMs).toBeLessThan(20_000);
        expect(holder.output()).not.toContain("compromised");
        expect(fingerprint(pendingFile)).toBe(before);
      } finally {
        holder.child.kill("SIGKILL");
      }
    },
  );
});
