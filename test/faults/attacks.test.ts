import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BIN, ROOT, cliEnv, readJsonFile } from "../helpers.js";
import { LOCK_STALE_MS } from "../../src/store/json/lock.js";
import { NOBODY, RUNNING_AS_ROOT, expectOneCleanErrorLine, faultDir, type Outcome } from "./fault-helpers.js";

/*
 * Issue 9, attacked through the real thing: the built bin in real processes, the attacker playing
 * the gateway's account (nobody, uid 65534, through `setpriv`), the operator running as root as the
 * tool's own advice once suggested. Each test is named after the finding it closes (9.1 … 9.12;
 * 9.3, bash completion, is attacked in test/cli/completion.test.ts; 9.4, the live gateway lock, in
 * test/faults/locks.test.ts). Victims are root-owned files outside the state dir: their owner, mode
 * and bytes are compared before and after, entry by entry.
 */

const SETPRIV = ["--reuid", String(NOBODY.uid), "--regid", String(NOBODY.gid), "--clear-groups"];

interface Run {
  args: readonly string[];
  stateDir?: string;
  /** Run as nobody through setpriv (the attacker, or the gateway's account). */
  nobody?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Run this program instead of the moltbot bin (e.g. ln, mkdir, sh). */
  program?: string;
}

/** A real process: moltbot (or `program`), as root or as nobody, with the tests' minimal environment. */
function run({ args, stateDir, nobody = false, env = {}, program }: Run): Promise<Outcome & { pid: number }> {
  const command = program ? [program, ...args] : [process.execPath, BIN, ...args];
  const [file, argv] = nobody ? ["setpriv", [...SETPRIV, ...command]] : [command[0]!, command.slice(1)];
  const started = Date.now();
  const child = spawn(file, argv, {
    env: stateDir === undefined ? { ...cliEnv("/nonexistent"), ...env } : cliEnv(stateDir, env),
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 40_000,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - started, endedAt: Date.now(), pid: child.pid! }),
    );
  });
}

async function ok(options: Run): Promise<Outcome & { pid: number }> {
  const outcome = await run(options);
  expect(outcome.code, `${options.args.join(" ")}: ${outcome.stderr}${outcome.stdout}`).toBe(0);
  return outcome;
}

/** As nobody: `ln -s`, `mkdir`, `touch`… — the attacker's own plantings, owned by the attacker. */
const plant = (program: string, ...args: string[]) => ok({ program, args, nobody: true });

/** Everything about a tree that an attack could change: type, owner, mode, link target, bytes. */
function snapshot(target: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (at: string, rel: string) => {
    const stat = fs.lstatSync(at);
    let what = `${stat.mode.toString(8)} ${stat.uid}:${stat.gid}`;
    if (stat.isSymbolicLink()) what += ` -> ${fs.readlinkSync(at)}`;
    else if (stat.isFile()) what += ` ${createHash("sha256").update(fs.readFileSync(at)).digest("hex")}`;
    entries[rel] = what;
    if (stat.isDirectory()) for (const name of fs.readdirSync(at)) walk(path.join(at, name), `${rel}/${name}`);
  };
  walk(target, ".");
  return entries;
}

/** Paths under `dir` (not following links) owned by root. */
function rootOwned(dir: string): string[] {
  return Object.entries(snapshot(dir))
    .filter(([, what]) => / 0:\d+/.test(what))
    .map(([rel]) => rel);
}

/** Root-owned victims outside any state dir: a 0640 "shadow" file and a 0755 directory with files. */
function makeVictims(base: string) {
  const dir = path.join(base, "victims");
  fs.mkdirSync(dir, { mode: 0o700 });
  fs.chmodSync(dir, 0o711);
  const shadow = path.join(dir, "shadow");
  fs.writeFileSync(shadow, "root:$6$secret:19000:0:99999:7:::\n", { mode: 0o640 });
  const vdir = path.join(dir, "vdir");
  fs.mkdirSync(vdir, { mode: 0o755 });
  // Shaped like store files, so a doctor that followed the link would find "problems" to fix.
  fs.writeFileSync(path.join(vdir, "pending.json"), "not json\n", { mode: 0o644 });
  fs.writeFileSync(path.join(vdir, "paired.json"), "{}\n", { mode: 0o666 });
  fs.chmodSync(path.join(vdir, "paired.json"), 0o666);
  return { dir, shadow, vdir };
}

const CODE = /Pairing code: ([A-Z2-9]{8})/;

/** A state dir the gateway's account (nobody) made and owns, with a live telegram request and its code. */
async function nobodyStore(base: string) {
  const stateDir = path.join(base, "state");
  // The gateway's account has its state dir (as its home would be); everything in it, it makes itself.
  fs.mkdirSync(stateDir, { mode: 0o700 });
  fs.chownSync(stateDir, NOBODY.uid, NOBODY.gid);
  const created = await ok({ args: ["pairing", "request", "telegram", "111"], stateDir, nobody: true });
  const code = CODE.exec(created.stdout)![1]!;
  await ok({ args: ["pairing", "request", "discord", "222"], stateDir, nobody: true });
  await ok({
    args: ["devices", "request", "--device", "d1", "--public-key", "k1", "--role", "node"],
    stateDir,
    nobody: true,
  });
  const credentials = path.join(stateDir, "credentials");
  return { stateDir, code, credentials, devices: path.join(stateDir, "devices") };
}

/** The lower-case words of a refusal line, for the exact command it prints. */
function refusalCommand(stderr: string): string {
  const match = /Run it as nobody: (sudo -u nobody moltbot .*)\n$/.exec(stderr);
  expect(match, stderr).not.toBeNull();
  return match![1]!;
}

/**
 * Run a printed `sudo -u nobody moltbot …` line as written, in a real shell (sudo is not installed
 * here: setpriv plays it, and `moltbot` is a shim on PATH for the built bin), with no state dir in
 * the environment and a HOME that does not exist: only what the line says decides the store.
 */
async function runPrinted(line: string, base: string): Promise<Outcome> {
  const shim = path.join(base, "bin");
  if (!fs.existsSync(shim)) {
    fs.mkdirSync(shim, { mode: 0o755 });
    fs.writeFileSync(path.join(shim, "moltbot"), `#!/bin/sh\nexec ${process.execPath} ${BIN} "$@"\n`, { mode: 0o755 });
  }
  const prefix = "sudo -u nobody ";
  expect(line.startsWith(prefix)).toBe(true);
  return run({
    program: "sh",
    args: ["-c", line.slice(prefix.length)],
    nobody: true,
    env: { PATH: `${shim}:${process.env.PATH ?? ""}`, HOME: "/nonexistent", MOLTBOT_STATE_DIR: "" },
  });
}

interface Finding {
  file: string;
  problem: string;
  fixed: boolean;
  severity: string;
}

const findingsOf = (outcome: Outcome) => (JSON.parse(outcome.stdout) as { findings: Finding[] }).findings;

beforeAll(() => {
  // Another uid is the attack: without root there is no second account to play it (no skip: fail).
  expect(RUNNING_AS_ROOT, "the attack suite plays another user through setpriv and must run as root").toBe(true);
});

describe("issue 9: attacks on the real edge", () => {
  it("9.1 doctor --fix as root on a store another user controls follows no planted link: victims keep owner, mode and bytes; only a root-owned, singly-linked leftover is given back", async () => {
    const base = faultDir();
    const victims = makeVictims(base);
    const { stateDir, credentials, devices } = await nobodyStore(base);
    // The attacker's plantings, made as nobody.
    await plant("ln", "-s", victims.shadow, path.join(credentials, "discord-allowFrom.json"));
    await plant("ln", "-s", victims.shadow, path.join(devices, "paired.json"));
    await plant("ln", "-s", victims.vdir, path.join(stateDir, "nodes"));
    await plant("ln", "-s", victims.vdir, path.join(credentials, "telegram-allowFrom.json.lock"));
    await plant(
      "ln",
      "-s",
      victims.shadow,
      path.join(credentials, `discord-pairing.json.moltbot-${"a".repeat(32)}.tmp`),
    );
    await plant("mkdir", path.join(credentials, "telegram-pairing.json.lock"));
    await plant(
      "touch",
      "-d",
      "@" + String(Math.floor(Date.now() / 1000) + 7200),
      path.join(credentials, "telegram-pairing.json.lock"),
    );
    // A "sudo moltbot" leftover (root-owned, one link): the one thing root may hand back.
    const leftover = path.join(credentials, "telegram-allowFrom.json");
    fs.writeFileSync(leftover, '{"version":1,"allowFrom":["111"]}\n', { mode: 0o600 });
    // A root-owned file with a second link outside (where hard links to others' files are allowed):
    // giving it "back" would give the attacker the victim.
    const hard = path.join(victims.dir, "hard.json");
    fs.writeFileSync(hard, '{"version":1,"allowFrom":["999"]}\n', { mode: 0o600 });
    fs.linkSync(hard, path.join(credentials, "slack-allowFrom.json"));
    const victimsBefore = snapshot(victims.dir);
    const leftoverBytes = fs.readFileSync(leftover);

    const doctor = await run({ args: ["doctor", "--fix", "--json"], stateDir });
    expect(doctor.code, doctor.stderr).toBe(1);
    expect(snapshot(victims.dir)).toEqual(victimsBefore);
    expect(fs.statSync(hard).uid).toBe(0);
    // The leftover is nobody's again, bytes untouched; the hard-linked one is refused.
    expect(fs.statSync(leftover).uid).toBe(NOBODY.uid);
    expect(fs.readFileSync(leftover)).toEqual(leftoverBytes);
    const findings = findingsOf(doctor);
    expect(findings).toContainEqual(expect.objectContaining({ file: leftover, fixed: true }));
    expect(findings).toContainEqual(
      expect.objectContaining({ file: path.join(credentials, "slack-allowFrom.json"), fixed: false }),
    );
    for (const link of [
      path.join(credentials, "discord-allowFrom.json"),
      path.join(devices, "paired.json"),
      path.join(stateDir, "nodes"),
    ]) {
      expect(findings).toContainEqual(
        expect.objectContaining({ file: link, fixed: false, problem: expect.stringContaining("symbolic link") }),
      );
      expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    }
    // The future-dated lock is explained, and left for its owner with the exact line to run.
    const lock = findings.find((finding) => finding.file === path.join(credentials, "telegram-pairing.json.lock"))!;
    expect(lock.problem).toContain("in the future");
    expect(lock.problem).toContain(`sudo -u nobody moltbot --state-dir ${stateDir} doctor --fix`);
    expect(lock.fixed).toBe(false);
    // Root created nothing and kept nothing of its own in the store (the hard link is the attacker's).
    expect(rootOwned(stateDir)).toEqual(["./credentials/slack-allowFrom.json"]);

    // The owner runs the line doctor gave: the lock is cleared; links are still never followed.
    const asOwner = await runPrinted(`sudo -u nobody moltbot --state-dir ${stateDir} doctor --fix --json`, base);
    expect(asOwner.code, asOwner.stderr).toBe(1);
    expect(fs.existsSync(path.join(credentials, "telegram-pairing.json.lock"))).toBe(false);
    expect(snapshot(victims.dir)).toEqual(victimsBefore);
  });

  it("9.2 root running a write on another user's store is refused (exit 3) with the exact command to run as the owner, creates and chowns nothing, and that command works", async () => {
    const base = faultDir();
    const { stateDir, code } = await nobodyStore(base);
    const device = JSON.parse((await ok({ args: ["devices", "list", "--json"], stateDir, nobody: true })).stdout) as {
      pending: { requestId: string }[];
    };
    const requestId = device.pending[0]!.requestId;
    const before = snapshot(stateDir);
    const lower = code.toLowerCase();

    // With --state-dir on the line, and with the state dir only in the environment (which sudo drops).
    const cases: { args: string[]; viaEnv: boolean }[] = [
      { args: ["--state-dir", stateDir, "pairing", "approve", "telegram", lower], viaEnv: false },
      { args: ["pairing", "approve", "telegram", lower], viaEnv: true },
      { args: ["pairing", "request", "telegram", "333", "--meta", "username=it's me"], viaEnv: true },
      { args: ["pairing", "reject", "--channel", "telegram", code], viaEnv: true },
      { args: ["devices", "request", "--device", "d2", "--public-key", "k2"], viaEnv: true },
      { args: ["devices", "approve", requestId], viaEnv: true },
    ];
    for (const { args, viaEnv } of cases) {
      const human = await run({ args, stateDir, env: viaEnv ? {} : { MOLTBOT_STATE_DIR: "" } });
      expectOneCleanErrorLine(human, [3]);
      expect(human.stderr).toContain(`${stateDir} belongs to nobody, not root`);
      const typed = args[0] === "--state-dir" ? args.slice(2) : args;
      const shellWords = typed.map((word) => (word === "username=it's me" ? `'username=it'\\''s me'` : word));
      expect(refusalCommand(human.stderr)).toBe(
        `sudo -u nobody moltbot --state-dir ${stateDir} ${shellWords.join(" ")}`,
      );

      const json = await run({ args: [...args, "--json"], stateDir });
      expect(json.code).toBe(3);
      expect(json.stderr).toBe("");
      const { error } = JSON.parse(json.stdout) as { error: { code: string; runAs: string; command: string } };
      expect(error).toMatchObject({ code: "STORE_PERMISSION", runAs: "nobody" });
      expect(error.command).toBe(`${refusalCommand(human.stderr)} --json`);
    }
    expect(snapshot(stateDir)).toEqual(before);
    expect(rootOwned(stateDir)).toEqual([]);

    // The printed line, run as written, approves on the same store, as its owner.
    const human = await run({ args: ["pairing", "approve", "telegram", lower], stateDir });
    const approved = await runPrinted(refusalCommand(human.stderr), base);
    expect(approved.code, approved.stderr).toBe(0);
    const allowFile = path.join(stateDir, "credentials", "telegram-allowFrom.json");
    expect(readJsonFile(allowFile)).toEqual({ version: 1, allowFrom: ["111"] });
    expect(rootOwned(stateDir)).toEqual([]);
  });

  it("9.2 links planted at every temp name write-file-atomic would have used change nothing, for root (refused) or for the owner (never followed)", async () => {
    const base = faultDir();
    const { stateDir, code, credentials, devices } = await nobodyStore(base);
    const victims = makeVictims(base);
    // A file of the gateway's own account outside the store: the owner could write it, so only
    // O_NOFOLLOW (not permissions) keeps a planted link from redirecting the owner's write there.
    const outside = path.join(base, "outside");
    fs.mkdirSync(outside, { mode: 0o700 });
    fs.chownSync(outside, NOBODY.uid, NOBODY.gid);
    await plant("sh", "-c", `umask 077; echo 'ssh-ed25519 AAAA owner' > ${outside}/authorized_keys`);
    // write-file-atomic 7 named its temp file `<file>.<uint32 of sha1(__filename, pid, threadId, call)>`:
    // predictable for the next pids. Plant a link at each for the next pids, to both victims.
    const pidMax = Number(fs.readFileSync("/proc/sys/kernel/pid_max", "utf8"));
    const last = Number(fs.readFileSync("/proc/sys/kernel/ns_last_pid", "utf8"));
    const pids = Array.from({ length: 1500 }, (_, i) =>
      last + 1 + i < pidMax ? last + 1 + i : last + 1 + i - pidMax + 300,
    );
    const bundle = path.join(ROOT, "dist", "cli.cjs");
    const files = [
      path.join(credentials, "telegram-pairing.json"),
      path.join(credentials, "telegram-allowFrom.json"),
      path.join(devices, "pending.json"),
      path.join(devices, "paired.json"),
    ];
    const links = files.flatMap((file, f) =>
      pids.flatMap((pid) =>
        [1, 2, 3].map((call) => {
          const hash = createHash("sha1").update(bundle).update(String(pid)).update("0").update(String(call));
          return [
            f % 2 === 0 ? victims.shadow : `${outside}/authorized_keys`,
            `${file}.${hash.digest().readUInt32BE(0)}`,
          ];
        }),
      ),
    );
    const list = path.join(base, "links.json");
    fs.writeFileSync(list, JSON.stringify(links), { mode: 0o644 });
    // One process plants them all, as nobody (a process per link would take half a minute).
    await plant(
      process.execPath,
      "-e",
      `const fs = require("fs"); for (const [to, at] of JSON.parse(fs.readFileSync(${JSON.stringify(list)}, "utf8"))) { try { fs.symlinkSync(to, at); } catch {} }`,
    );
    const planted = fs.readdirSync(credentials).length + fs.readdirSync(devices).length;
    expect(planted).toBeGreaterThan(5_000);
    const victimsBefore = snapshot(victims.dir);
    const outsideBefore = snapshot(outside);

    const refused = await run({ args: ["pairing", "approve", "telegram", code], stateDir });
    expectOneCleanErrorLine(refused, [3]);
    expect(rootOwned(stateDir)).toEqual([]);

    // The owner does the writes themself, with the links all around.
    const pidsSeen: number[] = [];
    for (const args of [
      ["pairing", "approve", "telegram", code],
      ["pairing", "request", "telegram", "444"],
      ["devices", "request", "--device", "d2", "--public-key", "k2", "--role", "node"],
      ["devices", "approve", "d2"],
    ]) {
      const outcome = await ok({ args, stateDir, nobody: true });
      pidsSeen.push(outcome.pid);
    }
    // The writers ran with pids the links were planted for (otherwise this test would prove nothing).
    expect(pidsSeen.filter((pid) => pids.includes(pid)).length, `pids ${pidsSeen.join(",")}`).toBeGreaterThan(0);
    expect(snapshot(victims.dir)).toEqual(victimsBefore);
    expect(snapshot(outside)).toEqual(outsideBefore);
    expect(fs.readdirSync(credentials).length + fs.readdirSync(devices).length).toBe(planted + 2);
    expect(readJsonFile(path.join(credentials, "telegram-allowFrom.json"))).toEqual({ version: 1, allowFrom: ["111"] });
    expect(Object.keys(readJsonFile<object>(path.join(devices, "paired.json")))).toEqual(["d2"]);
  }, 60_000);

  it("9.5 a future-dated lock is taken over by the next write, and doctor explains it (and --fix clears it)", async () => {
    const stateDir = path.join(faultDir(), "state");
    const created = await ok({ args: ["pairing", "request", "telegram", "111"], stateDir });
    const code = CODE.exec(created.stdout)![1]!;
    const pendingLock = path.join(stateDir, "credentials", "telegram-pairing.json.lock");
    const allowLock = path.join(stateDir, "credentials", "telegram-allowFrom.json.lock");
    const future = new Date(Date.now() + 2 * 3600_000);
    for (const lock of [pendingLock, allowLock]) {
      fs.mkdirSync(lock);
      fs.utimesSync(lock, future, future);
    }
    const doctor = await run({ args: ["doctor"], stateDir });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(
      /\[warning\] .*telegram-pairing\.json\.lock: dated 7\d{3} s in the future \(a clock step or a restored backup\): no live process can have refreshed it, so commands take it over/,
    );
    expect(doctor.stderr).toContain(`moltbot doctor --fix`);

    const approved = await ok({ args: ["pairing", "approve", "telegram", code], stateDir });
    expect(approved.elapsedMs).toBeLessThan(5_000);
    expect(fs.existsSync(pendingLock)).toBe(false);

    fs.mkdirSync(pendingLock);
    fs.utimesSync(pendingLock, future, future);
    const fixed = await ok({ args: ["doctor", "--fix", "--json"], stateDir });
    expect(findingsOf(fixed).every((finding) => finding.fixed || finding.severity === "info")).toBe(true);
    expect(fs.existsSync(pendingLock)).toBe(false);
    expect((await run({ args: ["doctor"], stateDir })).code).toBe(0);
  });

  it("9.6 a symlinked store file (or store directory) is refused by every command (exit 3, named) and nothing outside the state dir is touched", async () => {
    const base = faultDir();
    const stateDir = path.join(base, "state");
    const created = await ok({ args: ["pairing", "request", "telegram", "111"], stateDir });
    const code = CODE.exec(created.stdout)![1]!;
    await ok({ args: ["pairing", "request", "discord", "222"], stateDir });
    // Elsewhere: valid store files, so following a link would "work".
    const elsewhere = path.join(base, "elsewhere");
    fs.mkdirSync(elsewhere, { mode: 0o700 });
    fs.writeFileSync(path.join(elsewhere, "allow.json"), '{"version":1,"allowFrom":["999"]}\n', { mode: 0o600 });
    const at = new Date().toISOString();
    const pending = { version: 1, requests: [{ id: "777", code: "WXYZ2345", createdAt: at, lastSeenAt: at }] };
    fs.writeFileSync(path.join(elsewhere, "pending.json"), `${JSON.stringify(pending)}\n`, { mode: 0o600 });
    const devicesElsewhere = path.join(elsewhere, "devices");
    fs.mkdirSync(devicesElsewhere, { mode: 0o700 });
    fs.writeFileSync(path.join(devicesElsewhere, "pending.json"), "{}\n", { mode: 0o600 });
    fs.writeFileSync(path.join(devicesElsewhere, "paired.json"), "{}\n", { mode: 0o600 });
    const credentials = path.join(stateDir, "credentials");
    const allowLink = path.join(credentials, "telegram-allowFrom.json");
    fs.symlinkSync(path.join(elsewhere, "allow.json"), allowLink);
    const discordPending = path.join(credentials, "discord-pairing.json");
    fs.rmSync(discordPending);
    fs.symlinkSync(path.join(elsewhere, "pending.json"), discordPending);
    fs.symlinkSync(devicesElsewhere, path.join(stateDir, "devices"));
    fs.mkdirSync(path.join(stateDir, "nodes"), { mode: 0o700 });
    fs.symlinkSync(path.join(elsewhere, "pending.json"), path.join(stateDir, "nodes", "pending.json"));
    const elsewhereBefore = snapshot(elsewhere);
    const stateBefore = snapshot(stateDir);

    const cases: [string[], string][] = [
      [["pairing", "allowlist", "telegram"], allowLink],
      [["pairing", "approve", "telegram", code], allowLink],
      [["pairing", "revoke", "telegram", "999"], allowLink],
      [["pairing", "request", "telegram", "333"], allowLink],
      [["pairing", "list", "discord"], discordPending],
      [["pairing", "approve", "discord", "WXYZ2345"], discordPending],
      [["pairing", "request", "discord", "444"], discordPending],
      [["devices", "list"], path.join(stateDir, "devices")],
      [["devices", "request", "--device", "d1", "--public-key", "k1"], path.join(stateDir, "devices")],
      [["devices", "rotate", "--device", "d1", "--role", "node"], path.join(stateDir, "devices")],
      [["nodes", "pending"], path.join(stateDir, "nodes", "pending.json")],
      [["nodes", "approve", "x"], path.join(stateDir, "nodes", "pending.json")],
    ];
    for (const [args, named] of cases) {
      const human = await run({ args, stateDir });
      expectOneCleanErrorLine(human, [3]);
      expect(human.stderr, args.join(" ")).toContain(`${named} is a symbolic link`);
      const json = await run({ args: [...args, "--json"], stateDir });
      expect(json.code).toBe(3);
      expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: "STORE_CORRUPT" } });
    }
    // No lock, no temp file, no change: not beside the links, not beside their targets.
    expect(snapshot(elsewhere)).toEqual(elsewhereBefore);
    expect(snapshot(stateDir)).toEqual(stateBefore);
  });

  it("9.7 root leaves no root-owned file in another user's store, and every doctor hint names the state dir (sudo drops the variable that chose it)", async () => {
    const base = faultDir();
    const { stateDir, code, credentials } = await nobodyStore(base);
    // Root's attempt (the state dir named by the environment only) is refused and leaves nothing.
    const refused = await run({ args: ["pairing", "approve", "telegram", code], stateDir });
    expectOneCleanErrorLine(refused, [3]);
    expect(refusalCommand(refused.stderr)).toContain(`--state-dir ${stateDir} `);
    expect(rootOwned(stateDir)).toEqual([]);
    // A leftover from an older moltbot that did write as root: an allowlist nobody cannot read.
    const allowFile = path.join(credentials, "telegram-allowFrom.json");
    fs.writeFileSync(allowFile, '{"version":1,"allowFrom":["555"]}\n', { mode: 0o600 });
    const blocked = await run({ args: ["pairing", "approve", "telegram", code], stateDir, nobody: true });
    expectOneCleanErrorLine(blocked, [3]);
    expect(blocked.stderr).toContain(`Permission denied reading ${allowFile}`);
    // The owner's doctor says what root must run, with the store named on the line.
    const doctor = await run({ args: ["doctor", "--json"], stateDir, nobody: true });
    const finding = findingsOf(doctor).find((entry) => entry.file === allowFile)!;
    const line = `sudo moltbot --state-dir ${stateDir} doctor --fix`;
    expect(finding.problem).toContain(line);
    // Root runs that line in a shell without the variable: the file goes back to its owner.
    const shim = path.join(base, "bin");
    fs.mkdirSync(shim, { mode: 0o755 });
    fs.writeFileSync(path.join(shim, "moltbot"), `#!/bin/sh\nexec ${process.execPath} ${BIN} "$@"\n`, { mode: 0o755 });
    const fixed = await run({
      program: "sh",
      args: ["-c", line.slice("sudo ".length)],
      env: { PATH: `${shim}:${process.env.PATH ?? ""}`, HOME: "/nonexistent", MOLTBOT_STATE_DIR: "" },
    });
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(rootOwned(stateDir)).toEqual([]);
    await ok({ args: ["pairing", "approve", "telegram", code], stateDir, nobody: true });
    expect(readJsonFile(allowFile)).toEqual({ version: 1, allowFrom: ["555", "111"] });
  });

  it("9.7 doctor --fix as root gives back a root-owned credentials directory an older sudo run left, then the files in it; nothing else", async () => {
    const base = faultDir();
    const { stateDir, code, credentials } = await nobodyStore(base);
    // What `sudo moltbot pairing approve` used to leave: credentials/ and the allowlist owned by root.
    const allowFile = path.join(credentials, "telegram-allowFrom.json");
    fs.writeFileSync(allowFile, '{"version":1,"allowFrom":["555"]}\n', { mode: 0o600 });
    fs.chownSync(credentials, 0, 0);
    fs.chownSync(path.join(credentials, "telegram-pairing.json"), 0, 0);
    const blocked = await run({ args: ["pairing", "approve", "telegram", code], stateDir, nobody: true });
    expectOneCleanErrorLine(blocked, [3]);

    const doctor = await run({ args: ["doctor", "--fix", "--json"], stateDir });
    expect(doctor.code, doctor.stdout).toBe(0);
    // The directory first (the files' hand-back opens it and checks its owner), then its files.
    const fixed = findingsOf(doctor).filter((finding) => finding.fixed);
    expect(fixed.map((finding) => finding.file)).toEqual([
      credentials,
      path.join(credentials, "telegram-pairing.json"),
      allowFile,
    ]);
    expect(rootOwned(stateDir)).toEqual([]);
    await ok({ args: ["pairing", "approve", "telegram", code], stateDir, nobody: true });
    expect(readJsonFile(allowFile)).toEqual({ version: 1, allowFrom: ["555", "111"] });
  });

  it("9.7 root does not create a state dir inside another user's directory: refused with the line to run as that user", async () => {
    const base = faultDir();
    const home = path.join(base, "home");
    fs.mkdirSync(home, { mode: 0o755 });
    fs.chownSync(home, NOBODY.uid, NOBODY.gid);
    const stateDir = path.join(home, ".clawdbot");
    const refused = await run({ args: ["--state-dir", stateDir, "pairing", "request", "telegram", "111"] });
    expectOneCleanErrorLine(refused, [3]);
    expect(refusalCommand(refused.stderr)).toBe(
      `sudo -u nobody moltbot --state-dir ${stateDir} pairing request telegram 111`,
    );
    expect(fs.readdirSync(home)).toEqual([]);
  });

  it("9.8 doctor --fix never deletes dated, numbered or .bak backups; it removes only the writers' own dead temp files", async () => {
    const stateDir = path.join(faultDir(), "state");
    const created = await ok({ args: ["pairing", "request", "telegram", "111"], stateDir });
    await ok({ args: ["pairing", "approve", "telegram", CODE.exec(created.stdout)![1]!], stateDir });
    const allowFile = path.join(stateDir, "credentials", "telegram-allowFrom.json");
    const backups = [".20261204", ".3735928559", ".bak", ".1", ".json.bak", ".old.tmp"].map(
      (suffix) => `${allowFile}${suffix}`,
    );
    for (const backup of backups) fs.writeFileSync(backup, '{"version":1,"allowFrom":["old"]}\n', { mode: 0o600 });
    const ours = `${allowFile}.moltbot-${"0123456789abcdef".repeat(2)}.tmp`;
    const gateways = `${allowFile}.6f1c2a9e-8d4b-4c1e-9a7f-2b3c4d5e6f70.tmp`;
    const fresh = `${allowFile}.moltbot-${"f".repeat(32)}.tmp`;
    const old = new Date(Date.now() - LOCK_STALE_MS - 60_000);
    for (const temp of [ours, gateways, fresh]) fs.writeFileSync(temp, "{", { mode: 0o600 });
    for (const target of [...backups, ours, gateways]) fs.utimesSync(target, old, old);
    const before = Object.fromEntries(backups.map((backup) => [backup, fs.readFileSync(backup)]));

    const doctor = await run({ args: ["doctor", "--fix", "--json"], stateDir });
    expect(doctor.code, doctor.stdout).toBe(0);
    for (const backup of backups) expect(fs.readFileSync(backup), backup).toEqual(before[backup]);
    // The writers' dead temp files go; one being written right now stays.
    expect([ours, gateways].filter((temp) => fs.existsSync(temp))).toEqual([]);
    expect(fs.existsSync(fresh)).toBe(true);
    expect(
      findingsOf(doctor)
        .map((finding) => finding.file)
        .sort(),
    ).toEqual([fresh, gateways, ours].sort());
  });

  it("9.9 revoke removes every spelling the gateway honours (tg:123, ' 456 '), through the CLI", async () => {
    const stateDir = path.join(faultDir(), "state");
    const credentials = path.join(stateDir, "credentials");
    fs.mkdirSync(credentials, { recursive: true, mode: 0o700 });
    const allowFile = path.join(credentials, "telegram-allowFrom.json");
    const entries = ["tg:123", " 456 ", "telegram:789", "123", "TG:456", "1000"];
    fs.writeFileSync(allowFile, `${JSON.stringify({ version: 1, allowFrom: entries }, null, 2)}\n`, { mode: 0o600 });

    const first = JSON.parse((await ok({ args: ["pairing", "revoke", "telegram", "123", "--json"], stateDir })).stdout);
    expect(first).toEqual({ channel: "telegram", account: "default", id: "123", removed: true });
    const second = await ok({ args: ["pairing", "revoke", "telegram", "tg:456"], stateDir });
    expect(second.stdout).toContain("456");
    expect(readJsonFile(allowFile)).toEqual({ version: 1, allowFrom: ["telegram:789", "1000"] });
    // Already allowed, whatever spelling the entry has.
    const allowed = JSON.parse(
      (await ok({ args: ["pairing", "request", "telegram", "789", "--json"], stateDir })).stdout,
    );
    expect(allowed.status).toBe("allowed");
  });

  it("9.10 a BOM allowlist is read by every command; doctor calls it an error (the gateway reads it as empty) and --fix rewrites it without the BOM, entries kept", async () => {
    const stateDir = path.join(faultDir(), "state");
    const credentials = path.join(stateDir, "credentials");
    fs.mkdirSync(credentials, { recursive: true, mode: 0o700 });
    const allowFile = path.join(credentials, "telegram-allowFrom.json");
    const body = `${JSON.stringify({ version: 1, allowFrom: ["111", "222"] }, null, 2)}\n`;
    fs.writeFileSync(allowFile, `\ufeff${body}`, { mode: 0o600 });

    expect((await ok({ args: ["pairing", "allowlist", "telegram"], stateDir })).stdout).toBe("111\n222\n");
    const allowed = JSON.parse(
      (await ok({ args: ["pairing", "request", "telegram", "111", "--json"], stateDir })).stdout,
    );
    expect(allowed.status).toBe("allowed");

    const doctor = await run({ args: ["doctor", "--json"], stateDir });
    expect(doctor.code).toBe(1);
    expect(findingsOf(doctor)).toContainEqual({
      file: allowFile,
      problem: expect.stringContaining("byte-order mark: the gateway reads it as empty"),
      fixed: false,
      severity: "error",
    });
    const fixed = await ok({ args: ["doctor", "--fix"], stateDir });
    expect(fixed.stdout).toContain("[fixed]");
    expect(fs.readFileSync(allowFile, "utf8")).toBe(body);
    expect((await run({ args: ["doctor"], stateDir })).code).toBe(0);
  });

  it.each([
    ["duplicate keys", Buffer.from('{"version":1,"allowFrom":["111"],"allowFrom":["222"]}\n'), "twice"],
    [
      "a top-level __proto__ key",
      Buffer.from('{"__proto__":{"admin":true},"version":1,"allowFrom":["111"]}\n'),
      "__proto__",
    ],
    [
      "invalid UTF-8",
      Buffer.concat([Buffer.from('{"version":1,"allowFrom":["1'), Buffer.from([0xff, 0xfe]), Buffer.from('1"]}\n')]),
      "UTF-8",
    ],
  ])(
    "9.11 an allowlist with %s: approve is refused with exit 3, doctor reports it, and its bytes stay as they were",
    async (_name, bytes, said) => {
      const stateDir = path.join(faultDir(), "state");
      const created = await ok({ args: ["pairing", "request", "telegram", "333"], stateDir });
      const code = CODE.exec(created.stdout)![1]!;
      const allowFile = path.join(stateDir, "credentials", "telegram-allowFrom.json");
      fs.writeFileSync(allowFile, bytes, { mode: 0o600 });

      const approve = await run({ args: ["pairing", "approve", "telegram", code], stateDir });
      expectOneCleanErrorLine(approve, [3]);
      expect(approve.stderr).toContain(allowFile);
      expect(approve.stderr).toContain(said);
      const doctor = await run({ args: ["doctor", "--json"], stateDir });
      expect(doctor.code).toBe(1);
      expect(findingsOf(doctor)).toContainEqual(
        expect.objectContaining({ file: allowFile, severity: "error", problem: expect.stringContaining(said) }),
      );
      expect(fs.readFileSync(allowFile)).toEqual(bytes);
      // The request is still there to approve once the file is repaired by hand.
      expect((await ok({ args: ["pairing", "list", "telegram"], stateDir })).stdout).toContain(code);
    },
  );

  it("9.12 devices list --json (and approve, and the table) never print an unknown device-level or token field such as refreshToken", async () => {
    const stateDir = path.join(faultDir(), "state");
    const devices = path.join(stateDir, "devices");
    fs.mkdirSync(devices, { recursive: true, mode: 0o700 });
    const now = Date.now();
    const paired = {
      d1: {
        deviceId: "d1",
        publicKey: "k1",
        role: "node",
        roles: ["node"],
        refreshToken: "SECRET-REFRESH-DEVICE",
        tokens: {
          node: {
            token: "SECRET-TOKEN",
            role: "node",
            scopes: [],
            createdAtMs: now,
            refreshToken: "SECRET-REFRESH-TOKEN",
          },
        },
        createdAtMs: now,
        approvedAtMs: now,
      },
    };
    const pending = {
      r1: {
        requestId: "r1",
        deviceId: "d2",
        publicKey: "k2",
        role: "node",
        roles: ["node"],
        sessionSecret: "SECRET-PENDING",
        isRepair: false,
        ts: now,
      },
    };
    fs.writeFileSync(path.join(devices, "paired.json"), `${JSON.stringify(paired, null, 2)}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(devices, "pending.json"), `${JSON.stringify(pending, null, 2)}\n`, { mode: 0o600 });

    const outputs = [
      await ok({ args: ["devices", "list", "--json"], stateDir }),
      await ok({ args: ["devices", "list"], stateDir }),
      await ok({ args: ["devices", "approve", "r1", "--json"], stateDir }),
      await ok({ args: ["devices", "list", "--json"], stateDir }),
    ];
    for (const outcome of outputs) expect(outcome.stdout + outcome.stderr).not.toContain("SECRET");
    const listing = JSON.parse(outputs[0]!.stdout) as { paired: Record<string, unknown>[] };
    expect(listing.paired[0]).not.toHaveProperty("refreshToken");
    expect(listing.paired[0]!.tokens).toEqual([{ role: "node", scopes: [], createdAtMs: now }]);
    // The fields stay in the file: a newer gateway still has them.
    const file = fs.readFileSync(path.join(devices, "paired.json"), "utf8");
    expect(file).toContain("SECRET-REFRESH-DEVICE");
    expect(file).toContain("SECRET-REFRESH-TOKEN");
  });
});
