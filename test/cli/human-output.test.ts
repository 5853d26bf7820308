import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { displayWidth } from "../../src/cli/output.js";
import { BIN, cliEnv, tempStateDir } from "../helpers.js";
import { runInProcess, stripAnsi } from "./fake-io.js";

const T0 = Date.parse("2026-03-01T09:00:00.000Z");
const MIN = 60_000;

/** A clock the test moves by hand. */
function clock(start = T0) {
  let now = start;
  return { now: () => now, set: (at: number) => void (now = at) };
}

/** Three requests on telegram at T0, T0+5 min and T0+15 min; returns their codes. */
async function seedTelegram(stateDir: string, time: ReturnType<typeof clock>): Promise<string[]> {
  const senders: [string, number, string[]][] = [
    ["111111111", 0, ["--meta", "username=alice"]],
    [
      "tg:222222222222222222222222222222",
      5,
      ["--meta", "username=bob", "--meta", "name=Robert Tables the Third of his Name"],
    ],
    ["333333333", 15, []],
  ];
  const codes: string[] = [];
  for (const [id, minutes, meta] of senders) {
    time.set(T0 + minutes * MIN);
    const run = await runInProcess(["pairing", "request", "telegram", id, ...meta, "--json"], {
      stateDir,
      now: time.now,
    });
    expect(run.code).toBe(0);
    codes.push((JSON.parse(run.stdout) as { code: string }).code);
  }
  return codes;
}

describe("pairing list (human)", () => {
  it("shows relative times from the injected clock: requested ago and expires in", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    const codes = await seedTelegram(stateDir, time);
    time.set(T0 + 18 * MIN);
    const run = await runInProcess(["pairing", "list", "telegram"], { stateDir, now: time.now, columns: 120 });
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^CODE +telegramUserId +META +REQUESTED +EXPIRES$/);
    // Oldest first: alice 18 min ago (42 min left), bob 13 min ago, the third 3 min ago.
    expect(lines[1]).toMatch(new RegExp(`^${codes[0]} +111111111 +username=alice +18 min ago +in 42 min$`));
    expect(lines[2]).toMatch(new RegExp(`^${codes[1]} .* 13 min ago +in 47 min$`));
    expect(lines[3]).toMatch(new RegExp(`^${codes[2]} +333333333 +3 min ago +in 57 min$`));
    expect(lines).toHaveLength(4);
  });

  it("puts only the table on stdout and the next command on stderr", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    await seedTelegram(stateDir, time);
    const run = await runInProcess(["pairing", "list", "telegram"], { stateDir, now: time.now });
    expect(run.stdout).not.toMatch(/approve/i);
    expect(run.stderr).toBe("Approve one with: moltbot pairing approve telegram <CODE>\n");
  });

  it("fits the terminal width at 40, 60, 80 and 120 columns", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    const codes = await seedTelegram(stateDir, time);
    for (const columns of [40, 60, 80, 120]) {
      const run = await runInProcess(["pairing", "list", "telegram"], { stateDir, now: time.now, columns });
      for (const line of run.stdout.trimEnd().split("\n")) {
        expect(displayWidth(line), `${columns} columns: "${line}"`).toBeLessThanOrEqual(columns);
      }
      // Whatever the width, every code is shown whole: it is what the operator types next.
      for (const code of codes) expect(run.stdout).toContain(code);
    }
  });

  it("cuts nothing when the width is Infinity (stdout is a pipe)", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    await seedTelegram(stateDir, time);
    const run = await runInProcess(["pairing", "list", "telegram"], {
      stateDir,
      now: time.now,
      columns: Number.POSITIVE_INFINITY,
    });
    expect(run.stdout).toContain("tg:222222222222222222222222222222");
    expect(run.stdout).toContain("name=Robert Tables the Third of his Name");
    expect(run.stdout).not.toContain("…");
  });

  it("says on stderr that nothing is waiting, with nothing on stdout, for one channel and for all", async () => {
    const stateDir = tempStateDir();
    const one = await runInProcess(["pairing", "list", "signal"], { stateDir });
    expect(one).toEqual({ code: 0, stdout: "", stderr: "No pending signal pairing requests: nobody is waiting.\n" });
    const all = await runInProcess(["pairing", "list"], { stateDir });
    expect(all).toEqual({
      code: 0,
      stdout: "",
      stderr: "No pending pairing requests on any channel: nobody is waiting.\n",
    });
    expect(fs.existsSync(stateDir)).toBe(false);
  });

  it("hides requests once the injected clock passes their expiry", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    const codes = await seedTelegram(stateDir, time);
    time.set(T0 + 60 * MIN + 1);
    const run = await runInProcess(["pairing", "list", "telegram"], { stateDir, now: time.now });
    expect(run.stdout).not.toContain(codes[0]);
    expect(run.stdout).toContain(codes[1]);
  });

  it("escapes control characters in ids and meta stored by a gateway, whatever wrote them", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    // Written as a (less careful) gateway might have: request refuses these, list must still be safe.
    const credentials = path.join(stateDir, "credentials");
    fs.mkdirSync(credentials, { recursive: true, mode: 0o700 });
    const at = new Date(T0).toISOString();
    const hostile = {
      id: "evil\u202e\u001b[31m",
      code: "ABCD2345",
      createdAt: at,
      lastSeenAt: at,
      meta: { username: "\u001b[2J\u001b]0;pwned\u0007x" },
    };
    fs.writeFileSync(
      path.join(credentials, "discord-pairing.json"),
      JSON.stringify({ version: 1, requests: [hostile] }),
      { mode: 0o600 },
    );
    const run = await runInProcess(["pairing", "list", "discord"], { stateDir, now: time.now, columns: 200 });
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(/[\u0007\u001b\u202e]/);
    expect(run.stdout).toContain("evil\\u202e\\e[31m");
    expect(run.stdout).toContain("username=\\e[2J\\e]0;pwned\\x07x");
  });

  it("groups every channel with live requests under a heading when no channel is given", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    await seedTelegram(stateDir, time);
    await runInProcess(["pairing", "request", "slack", "U123"], { stateDir, now: time.now });
    const run = await runInProcess(["pairing", "list"], { stateDir, now: time.now });
    expect(run.stdout).toMatch(/^telegram \(3 pending\)\nCODE +telegramUserId/);
    expect(run.stdout).toMatch(/\n\nslack \(1 pending\)\nCODE +slackUserId/);
    expect(run.stderr).toBe("Approve one with: moltbot pairing approve <channel> <CODE>\n");
  });
});

describe("colour", () => {
  it("colours the codes (and nothing else in a row) when colour is on", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    const codes = await seedTelegram(stateDir, time);
    const run = await runInProcess(["pairing", "list", "telegram"], {
      stateDir,
      now: time.now,
      color: true,
      columns: 120,
    });
    expect(run.stdout).toContain(`\u001b[36m\u001b[1m${codes[0]}`);
    const row = run.stdout.split("\n")[1]!;
    // One styled span per row: the code. The id, meta and times are plain.
    expect(row.slice(row.indexOf(codes[0]!) + 8)).not.toMatch(/\u001b\[3[0-8]m/);
  });

  it("highlights an expiry under five minutes away", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    await seedTelegram(stateDir, time);
    time.set(T0 + 56 * MIN);
    const run = await runInProcess(["pairing", "list", "telegram"], {
      stateDir,
      now: time.now,
      color: true,
      columns: 120,
    });
    const [, soon, later] = run.stdout.split("\n");
    expect(soon).toContain("\u001b[33min 4 min");
    expect(later).not.toContain("\u001b[33m");
  });

  it("writes no escape codes at all when colour is off", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    const codes = await seedTelegram(stateDir, time);
    const list = await runInProcess(["pairing", "list"], { stateDir, now: time.now });
    const approve = await runInProcess(["pairing", "approve", "telegram", codes[0]!], { stateDir, now: time.now });
    for (const text of [list.stdout, list.stderr, approve.stdout, approve.stderr]) expect(text).not.toContain("\u001b");
    expect(stripAnsi(list.stdout)).toBe(list.stdout);
  });

  const hasScript = spawnSync("script", ["--version"]).status === 0;
  it.skipIf(!hasScript)(
    `the built CLI colours on a terminal and not with NO_COLOR${hasScript ? "" : " (skipped: util-linux `script` not installed)"}`,
    async () => {
      const stateDir = tempStateDir();
      const seeded = spawnSync(process.execPath, [BIN, "pairing", "request", "telegram", "123"], {
        env: cliEnv(stateDir),
      });
      expect(seeded.status).toBe(0);
      // `script` runs the CLI on a pseudo-terminal, as an operator's shell would.
      const onTty = (env: NodeJS.ProcessEnv) =>
        spawnSync("script", ["-qec", `"${process.execPath}" "${BIN}" pairing list telegram`, "/dev/null"], {
          env,
          encoding: "utf8",
          timeout: 20_000,
        }).stdout;
      const withColour = cliEnv(stateDir, { TERM: "xterm" });
      delete withColour.NO_COLOR;
      expect(onTty(withColour)).toContain("\u001b[36m");
      expect(onTty(cliEnv(stateDir, { TERM: "xterm", NO_COLOR: "1" }))).not.toContain("\u001b[");
    },
  );
});

describe("next-command hints", () => {
  it("after a new request: the reply on stdout, how to approve on stderr", async () => {
    const stateDir = tempStateDir();
    const run = await runInProcess(["pairing", "request", "telegram", "123456789"], { stateDir, now: clock().now });
    const code = /Pairing code: ([A-Z2-9]{8})/.exec(run.stdout)![1]!;
    expect(run.stdout).toBe(
      `Moltbot: access not configured.\n\nYour Telegram user id: 123456789\n\nPairing code: ${code}\n\nAsk the bot owner to approve with:\nmoltbot pairing approve telegram ${code}\n`,
    );
    expect(run.stderr).toContain(`approve with: moltbot pairing approve telegram ${code}`);
  });

  it("on a repeated request: the same code, the time left and the approve command", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    await runInProcess(["pairing", "request", "telegram", "123456789"], { stateDir, now: time.now });
    time.set(T0 + 18 * MIN);
    const again = await runInProcess(["pairing", "request", "telegram", "123456789"], { stateDir, now: time.now });
    expect(again.stdout).toMatch(
      /already has pending telegram code [A-Z2-9]{8} \(expires in 42 min\); nothing new to send\./,
    );
    expect(again.stderr).toMatch(/^Approve with: moltbot pairing approve telegram [A-Z2-9]{8}\n$/);
  });

  it("after a listing with one request: the exact approve command", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    const created = await runInProcess(["pairing", "request", "signal", "+15551234567", "--json"], {
      stateDir,
      now: time.now,
    });
    const { code } = JSON.parse(created.stdout) as { code: string };
    for (const argv of [
      ["pairing", "list", "signal"],
      ["pairing", "list"],
    ]) {
      const run = await runInProcess(argv, { stateDir, now: time.now });
      expect(run.stderr).toBe(`Approve it with: moltbot pairing approve signal ${code}\n`);
    }
  });

  it("after approve: what to tell the sender and how to check the allowlist", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    const [code] = await seedTelegram(stateDir, time);
    const run = await runInProcess(["pairing", "approve", "telegram", code!.toLowerCase()], {
      stateDir,
      now: time.now,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`Approved telegram sender 111111111 (code ${code}).\n`);
    expect(run.stderr).toContain("moltbot pairing allowlist telegram");
    const allowlist = await runInProcess(["pairing", "allowlist", "telegram"], { stateDir, now: time.now });
    expect(allowlist.stdout).toBe("111111111\n");
  });

  it("on an empty allowlist: how to approve someone", async () => {
    const run = await runInProcess(["pairing", "allowlist", "whatsapp"], { stateDir: tempStateDir() });
    expect(run).toEqual({
      code: 0,
      stdout: "",
      stderr: "No approved whatsapp senders yet. Approve one with: moltbot pairing approve whatsapp <CODE>\n",
    });
  });

  it("with --json: one document on stdout and no hints", async () => {
    const stateDir = tempStateDir();
    const time = clock();
    await seedTelegram(stateDir, time);
    const run = await runInProcess(["pairing", "list", "telegram", "--json"], { stateDir, now: time.now });
    expect(run.stderr).toBe("");
    const parsed = JSON.parse(run.stdout) as { channel: string; requests: { expiresAt: string }[] };
    expect(parsed.channel).toBe("telegram");
    expect(parsed.requests[0]!.expiresAt).toBe(new Date(T0 + 60 * MIN).toISOString());
  });
});
