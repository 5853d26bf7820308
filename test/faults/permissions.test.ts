import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonFile } from "../helpers.js";
import {
  NOBODY,
  RUNNING_AS_ROOT,
  expectOneCleanErrorLine,
  faultDir,
  fingerprint,
  moltbot,
  type SpawnOptions,
} from "./fault-helpers.js";

/*
 * Permissions. The suite runs as root in CI, and root reads and writes whatever the mode says, so
 * "unreadable" and "read-only" are made real by running moltbot as `nobody` (uid 65534) against
 * files and directories owned by root: a root-owned 0600 file cannot be read by nobody, and a
 * root-owned 0755 directory cannot be written by nobody. That is also the real-world failure
 * (a "sudo moltbot" leftover in the gateway user's state dir). Run as a normal user, the same tests
 * use chmod 000 / chmod 0555 on the user's own files, which then do stop the process.
 */
const mode = (file: string) => fs.statSync(file).mode & 0o777;
const gateway: Pick<SpawnOptions, "user"> = RUNNING_AS_ROOT ? { user: NOBODY } : {};

function chownTree(dir: string, uid: number, gid: number): void {
  fs.chownSync(dir, uid, gid);
  for (const name of fs.readdirSync(dir)) {
    const at = path.join(dir, name);
    if (fs.statSync(at).isDirectory()) chownTree(at, uid, gid);
    else fs.chownSync(at, uid, gid);
  }
}

async function codeOf(stateDir: string, sender: string, options: Partial<SpawnOptions> = {}): Promise<string> {
  const created = await moltbot(["pairing", "request", "telegram", sender, "--json"], { stateDir, ...options });
  expect(created.code, created.stdout).toBe(0);
  return (JSON.parse(created.stdout) as { code: string }).code;
}

describe("permissions", () => {
  it("under umask 000 every directory is created 0700 and every file written 0600", async () => {
    const stateDir = path.join(faultDir(), "state");
    const options = { stateDir, umask000: true };
    const code = await codeOf(stateDir, "111", options);
    expect((await moltbot(["pairing", "approve", "telegram", code], options)).code).toBe(0);
    expect((await moltbot(["pairing", "request", "discord", "555"], options)).code).toBe(0);
    const device = await moltbot(
      ["devices", "request", "--device-id", "d1", "--public-key", "k1", "--role", "node", "--json"],
      options,
    );
    const requestId = (JSON.parse(device.stdout) as { request: { requestId: string } }).request.requestId;
    expect((await moltbot(["devices", "approve", requestId], options)).code).toBe(0);
    expect((await moltbot(["devices", "request", "--device-id", "d2", "--public-key", "k2"], options)).code).toBe(0);

    const credentials = path.join(stateDir, "credentials");
    const devices = path.join(stateDir, "devices");
    expect([mode(stateDir), mode(credentials), mode(devices)]).toEqual([0o700, 0o700, 0o700]);
    const files = [
      ...fs.readdirSync(credentials).map((name) => path.join(credentials, name)),
      ...fs.readdirSync(devices).map((name) => path.join(devices, name)),
    ];
    expect(files.map((file) => path.relative(stateDir, file)).sort()).toEqual([
      "credentials/discord-pairing.json",
      "credentials/telegram-allowFrom.json",
      "credentials/telegram-pairing.json",
      "devices/paired.json",
      "devices/pending.json",
    ]);
    for (const file of files) expect(mode(file), file).toBe(0o600);
    expect((await moltbot(["doctor"], options)).code).toBe(0);
  });

  it("a read-only state directory: reads still work, every write exits 3 with one clear line, nothing changes", async () => {
    const stateDir = path.join(faultDir(), "state");
    const approved = await codeOf(stateDir, "111");
    expect((await moltbot(["pairing", "approve", "telegram", approved], { stateDir })).code).toBe(0);
    const code = await codeOf(stateDir, "333");
    const credentials = path.join(stateDir, "credentials");
    const own = path.join(stateDir, "moltbot");
    // Root-owned and world-readable, not writable by nobody (or 0555 for a non-root runner);
    // moltbot's own records (decision log, code history) alike.
    for (const dir of [stateDir, credentials, own]) fs.chmodSync(dir, RUNNING_AS_ROOT ? 0o755 : 0o555);
    for (const dir of [credentials, own]) {
      for (const name of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, name), 0o644);
    }
    const before = fingerprint(stateDir);

    const list = await moltbot(["pairing", "list", "telegram", "--json"], { stateDir, ...gateway });
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { requests: { code: string }[] }).requests.map((r) => r.code)).toEqual([code]);
    const allowlist = await moltbot(["pairing", "allowlist", "telegram"], { stateDir, ...gateway });
    expect(allowlist.stdout).toBe("111\n");

    for (const args of [
      ["pairing", "request", "telegram", "222"],
      ["pairing", "approve", "telegram", code],
      ["pairing", "reject", "telegram", code],
      ["pairing", "revoke", "telegram", "111"],
    ]) {
      const outcome = await moltbot(args, { stateDir, ...gateway });
      expectOneCleanErrorLine(outcome, [3]);
      // As the gateway's user in a root-owned dir: the ownership rule refuses before any write is tried
      // (a non-root runner gets the kernel's "permission denied" instead).
      expect(outcome.stderr).toMatch(
        RUNNING_AS_ROOT
          ? new RegExp(`belongs to uid 0, not to you .* Run it as root: sudo moltbot --state-dir ${stateDir} pairing `)
          : /Permission denied/,
      );
    }
    // Doctor, as the same user, reports the loose modes and cannot repair someone else's files.
    const doctor = await moltbot(["doctor", "--fix", "--json"], { stateDir, ...gateway });
    expect(doctor.code).toBe(1);
    expect(fingerprint(stateDir)).toBe(before);
  });

  it("an unreadable allowlist (a root-owned 0600 file in the gateway user's dir) stops every command with exit 3 and is never rebuilt", async () => {
    const stateDir = path.join(faultDir(), "state");
    const approved = await codeOf(stateDir, "111");
    expect((await moltbot(["pairing", "approve", "telegram", approved], { stateDir })).code).toBe(0);
    const code = await codeOf(stateDir, "333");
    const credentials = path.join(stateDir, "credentials");
    const allowFile = path.join(credentials, "telegram-allowFrom.json");
    if (RUNNING_AS_ROOT) {
      // The gateway's user owns the store; a "sudo moltbot" left the allowlist root-owned 0600.
      chownTree(stateDir, NOBODY.uid, NOBODY.gid);
      fs.chownSync(allowFile, 0, 0);
    } else {
      fs.chmodSync(allowFile, 0o000);
    }
    const before = fingerprint(stateDir);

    for (const args of [
      ["pairing", "allowlist", "telegram"],
      ["pairing", "approve", "telegram", code],
      ["pairing", "request", "telegram", "222"],
      ["pairing", "revoke", "telegram", "111"],
    ]) {
      const outcome = await moltbot(args, { stateDir, ...gateway });
      expectOneCleanErrorLine(outcome, [3]);
      expect(outcome.stderr).toContain(`Permission denied reading ${allowFile}`);
      expect(outcome.stderr).toContain("moltbot doctor");
    }
    expect(fingerprint(stateDir)).toBe(before);

    // Doctor names the file and the fix; as the gateway's user it cannot read it, so it moves nothing.
    const doctor = await moltbot(["doctor", "--fix", "--json"], { stateDir, ...gateway });
    expect(doctor.code).toBe(1);
    const report = JSON.parse(doctor.stdout) as { findings: { file: string; problem: string; fixed: boolean }[] };
    expect(report.findings).toContainEqual(
      expect.objectContaining({ file: allowFile, fixed: false, problem: expect.stringContaining("permission denied") }),
    );
    expect(fingerprint(stateDir)).toBe(before);

    if (!RUNNING_AS_ROOT) return;
    // "sudo moltbot doctor --fix" gives the file back to the directory's owner; nothing is lost.
    const rootFix = await moltbot(["doctor", "--fix"], { stateDir });
    expect(rootFix.code, rootFix.stdout + rootFix.stderr).toBe(0);
    expect(fs.statSync(allowFile).uid).toBe(NOBODY.uid);
    expect((await moltbot(["pairing", "approve", "telegram", code], { stateDir, ...gateway })).code).toBe(0);
    expect(readJsonFile(allowFile)).toEqual({ version: 1, allowFrom: ["111", "333"] });
  });

  it("doctor, as a user who cannot even list the credentials directory, reports it (exit 1) instead of failing", async () => {
    const stateDir = path.join(faultDir(), "state");
    await codeOf(stateDir, "111");
    const credentials = path.join(stateDir, "credentials");
    // Root-owned 0700: nobody cannot look inside (a non-root runner removes its own read bit).
    fs.chmodSync(stateDir, 0o755);
    fs.chmodSync(credentials, RUNNING_AS_ROOT ? 0o700 : 0o300);
    const doctor = await moltbot(["doctor", "--fix", "--json"], { stateDir, ...gateway });
    fs.chmodSync(credentials, 0o700);
    expect(doctor.code).toBe(1);
    const report = JSON.parse(doctor.stdout) as { findings: { file: string; problem: string; fixed: boolean }[] };
    expect(report.findings).toContainEqual({
      file: credentials,
      problem: expect.stringContaining("cannot be listed: permission denied"),
      fixed: false,
      severity: "error",
    });
    expect(fs.readdirSync(credentials)).toEqual(["telegram-pairing.json"]);
  });
});
