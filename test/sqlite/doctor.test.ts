import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { coordinatorPath } from "../../src/store/sqlite/coordinator.js";
import { collectOutput, runJson } from "../helpers.js";
import { dbPath, iso, openclawState, query } from "./helpers.js";

/*
 * `moltbot doctor [--fix]` on an OpenClaw SQLite state, through the built CLI: what it finds, what
 * --fix repairs (modes, expired rows through the locked write) and what it leaves alone.
 */

interface Report {
  ok: boolean;
  store: { stateDir: string; source: string; generation: string };
  findings: { file: string; problem: string; fixed: boolean; severity: string }[];
}

const doctor = (stateDir: string, fix = false) => runJson<Report>(fix ? ["doctor", "--fix"] : ["doctor"], { stateDir });
const problems = (report: Report) => report.findings.filter((finding) => finding.severity !== "info");

describe("doctor on an OpenClaw SQLite state", () => {
  it("a healthy state is ok (exit 0) and named: schema, journal, and the backend that serves it", async () => {
    const stateDir = openclawState();
    const result = await doctor(stateDir);
    expect(result.code).toBe(0);
    expect(result.json.store).toEqual({ stateDir, source: "$MOLTBOT_STATE_DIR", generation: "openclaw-sqlite" });
    expect(problems(result.json)).toEqual([]);
    expect(result.json.findings[0]!.problem).toBe(
      "OpenClaw's SQLite state (schema 18, journal wal): moltbot reads and writes it with its SQLite backend",
    );
  });

  it("modes of state/, the database and its -wal are reported and --fix makes them 0700 and 0600", async () => {
    const stateDir = openclawState();
    const file = dbPath(stateDir);
    fs.writeFileSync(`${file}-wal`, "");
    fs.chmodSync(`${file}-wal`, 0o644);
    fs.chmodSync(file, 0o640);
    fs.chmodSync(path.dirname(file), 0o755);
    const found = await doctor(stateDir);
    expect(found.code).toBe(1);
    expect(problems(found.json).map((f) => [f.file, f.problem])).toEqual([
      [path.dirname(file), "directory mode is 0755 (other users can look inside); it should be 0700"],
      [file, "file mode is 0640 (other users can read it); it should be 0600, as OpenClaw creates it"],
      [`${file}-wal`, "file mode is 0644 (other users can read it); it should be 0600, as OpenClaw creates it"],
    ]);
    const fixed = await doctor(stateDir, true);
    expect(fixed.code, JSON.stringify(fixed.json)).toBe(0);
    expect(problems(fixed.json).every((f) => f.fixed)).toBe(true);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
  });

  it("expired rows are reported, and --fix prunes them through the locked write, leaving live rows alone", async () => {
    const now = Date.now();
    const stateDir = openclawState({
      sql: `INSERT INTO channel_pairing_requests VALUES
          ('telegram', 'default', 'old', 'AAAA2345', '${iso(now - 2 * 3_600_000)}', '${iso(now - 2 * 3_600_000)}', NULL),
          ('telegram', 'default', 'new', 'BBBB2345', '${iso(now)}', '${iso(now)}', '{"username":"kept as it was"}');
        INSERT INTO device_pairing_pending (request_id, device_id, public_key, ts) VALUES ('gone', 'd1', 'k', ${now - 600_000}), ('live', 'd2', 'k', ${now});`,
    });
    const found = await doctor(stateDir);
    expect(problems(found.json).map((f) => f.problem)).toEqual([
      "1 expired request still stored (invisible to every command)",
      "1 expired request still stored (invisible to every command; OpenClaw prunes them on its next device write)",
    ]);
    const fixed = await doctor(stateDir, true);
    expect(fixed.code).toBe(0);
    expect(query(stateDir, "SELECT request_id, meta_json FROM channel_pairing_requests")).toEqual([
      { request_id: "new", meta_json: '{"username":"kept as it was"}' },
    ]);
    expect(query(stateDir, "SELECT request_id FROM device_pairing_pending")).toEqual([{ request_id: "live" }]);
  });

  it("PRAGMA quick_check finding damage is an error doctor does not try to fix", async () => {
    const values = Array.from(
      { length: 400 },
      (_, i) => `('telegram', 'acct${i}', '${i}', 'C${i}', '${iso(Date.now())}', '${iso(Date.now())}', NULL)`,
    );
    const stateDir = openclawState({ sql: `INSERT INTO channel_pairing_requests VALUES ${values.join(",")};` });
    const file = dbPath(stateDir);
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, "r+");
    // Scribble over the middle of the file: table and index pages, not the header.
    fs.writeSync(fd, Buffer.alloc(2048, 0xa5), 0, 2048, Math.floor(size / 2 / 4096) * 4096 + 8);
    fs.closeSync(fd);
    const bytes = fs.readFileSync(file);
    const result = await doctor(stateDir, true);
    expect(result.code).toBe(1);
    const damage = problems(result.json).find((f) => f.file === file)!;
    expect(damage.problem).toMatch(/quick_check found damage|cannot be read/);
    expect(damage.problem).toContain("openclaw doctor");
    expect(damage.fixed).toBe(false);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });

  it("a newer schema and a missing table are errors (moltbot will not write there)", async () => {
    const stateDir = openclawState({ userVersion: 19, sql: "DROP TABLE channel_pairing_allow_entries;" });
    const result = await doctor(stateDir);
    expect(result.code).toBe(1);
    expect(problems(result.json).map((f) => [f.file.replace(stateDir, "<state>"), f.problem])).toEqual([
      [
        "<state>/state/openclaw.sqlite",
        "uses schema 19, newer than the newest moltbot knows (18): moltbot lists it but refuses to write; upgrade moltbot",
      ],
      [
        "<state>/state/openclaw.sqlite (channel_pairing_allow_entries)",
        "table missing: moltbot cannot write these records; start the OpenClaw gateway once (it creates its tables)",
      ],
    ]);
  });

  it("OpenClaw's lock files are reported (held or not) and never removed, even with --fix", async () => {
    const stateDir = openclawState();
    const lock = await coordinatorPath("state-lifecycle", dbPath(stateDir));
    fs.mkdirSync(path.dirname(lock), { recursive: true, mode: 0o700 });
    const child = spawn(
      process.execPath,
      [
        path.join(import.meta.dirname, "fixtures", "hold.mjs"),
        lock,
        "PRAGMA journal_mode = MEMORY; BEGIN EXCLUSIVE;",
        "0",
      ],
      {
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    const done = collectOutput(child);
    await new Promise((resolve) => child.stdout.once("data", resolve));
    const held = await doctor(stateDir, true);
    child.stdin.end();
    await done;
    const idle = await doctor(stateDir);
    const about = (report: Report) => report.findings.find((f) => f.file === lock)!;
    expect(about(held.json)).toMatchObject({
      severity: "info",
      problem: expect.stringMatching(/^held right now: a write is in progress/),
    });
    expect(about(idle.json)).toMatchObject({
      severity: "info",
      problem: expect.stringMatching(/^coordinator lock file, not held/),
    });
    expect(held.code).toBe(0);
    expect(fs.existsSync(lock)).toBe(true);
  });

  it("JSON pairing files beside the database are named as unused (an 'approved but still asks' cause)", async () => {
    const stateDir = openclawState();
    fs.mkdirSync(path.join(stateDir, "credentials"), { mode: 0o700 });
    fs.writeFileSync(
      path.join(stateDir, "credentials", "telegram-work-allowFrom.json"),
      '{"version":1,"allowFrom":["777"]}\n',
    );
    const result = await doctor(stateDir);
    expect(result.code).toBe(0);
    expect(result.json.findings).toContainEqual({
      file: path.join(stateDir, "credentials", "telegram-work-allowFrom.json"),
      problem: expect.stringContaining("not used: this state keeps pairing in"),
      fixed: false,
      severity: "info",
    });
  });

  it("as root on another user's state, --fix changes nothing and says whom to run it as", async () => {
    const stateDir = openclawState();
    fs.chmodSync(dbPath(stateDir), 0o644);
    fs.chownSync(path.dirname(stateDir), 65534, 65534);
    for (const entry of ["", "state", "state/openclaw.sqlite"]) fs.chownSync(path.join(stateDir, entry), 65534, 65534);
    const result = await doctor(stateDir, true);
    expect(result.code).toBe(1);
    expect(problems(result.json)[0]).toMatchObject({
      fixed: false,
      problem: expect.stringContaining("not fixed: moltbot does not change another user's store — run it as nobody"),
    });
    expect(fs.statSync(dbPath(stateDir)).mode & 0o777).toBe(0o644);
  });
});
