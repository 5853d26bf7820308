import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, ROOT, cliEnv, runJson, runMoltbot, tempDir, tempStateDir } from "../helpers.js";

/*
 * `pairing wait` and `pairing watch` against a real writer: another `moltbot pairing request`
 * process, started once the waiting process has said (on stderr) that its baseline is taken. No
 * test sleeps to "let it settle": each waits for a line of output, bounded by a deadline.
 */

interface Live {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when stderr (or stdout) matches, rejects after `ms`. */
  waitFor: (stream: "stdout" | "stderr", pattern: RegExp, ms?: number) => Promise<void>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; elapsedMs: number }>;
}

function start(args: readonly string[], stateDir: string, env: NodeJS.ProcessEnv = {}): Live {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cliEnv(stateDir, env),
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 20_000,
  });
  const text = { stdout: "", stderr: "" };
  const waiters: (() => void)[] = [];
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream].setEncoding("utf8").on("data", (chunk: string) => {
      text[stream] += chunk;
      for (const check of [...waiters]) check();
    });
  }
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; elapsedMs: number }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, elapsedMs: Date.now() - started })),
  );
  return {
    child,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    done,
    waitFor: (stream, pattern, ms = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${String(pattern)} on ${stream} within ${ms} ms: ${text.stdout}${text.stderr}`)),
          ms,
        );
        const check = () => {
          if (!pattern.test(text[stream])) return;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          resolve();
        };
        waiters.push(check);
        check();
        void done.then(() => {
          if (!pattern.test(text[stream])) {
            clearTimeout(timer);
            reject(new Error(`exited without ${String(pattern)} on ${stream}: ${text.stdout}${text.stderr}`));
          }
        });
      }),
  };
}

interface RequestDoc {
  channel: string;
  account: string;
  id: string;
  code: string;
  createdAt: string;
  expiresAt: string;
  meta?: Record<string, string>;
}

describe("pairing wait", () => {
  it.each([
    ["file-system notifications", {}],
    ["polling (MOLTBOT_WATCH_POLL_MS)", { MOLTBOT_WATCH_POLL_MS: "50" }],
  ])(
    "with %s: a request written by another process is printed (exit 0); one already pending is not",
    async (_name, env) => {
      const stateDir = tempStateDir();
      const old = await runJson<RequestDoc>(["pairing", "request", "telegram", "111"], { stateDir });
      expect(old.json.code).toBeDefined();
      const waiting = start(["pairing", "wait", "telegram", "--timeout", "15s", "--json"], stateDir, env);
      await waiting.waitFor("stderr", /^Waiting up to 15 s for a new telegram pairing request\.\.\.\n/);
      // Refreshing the pending request is not a new one; a new sender is.
      expect((await runMoltbot(["pairing", "request", "telegram", "111"], { stateDir })).code).toBe(0);
      const fresh = await runJson<RequestDoc>(["pairing", "request", "telegram", "222", "--meta", "username=bob"], {
        stateDir,
      });
      const result = await waiting.done;
      expect(result.code, waiting.stderr()).toBe(0);
      const doc = JSON.parse(waiting.stdout()) as RequestDoc;
      expect(Object.keys(doc)).toEqual([
        "channel",
        "id",
        "account",
        "code",
        "createdAt",
        "lastSeenAt",
        "expiresAt",
        "meta",
      ]);
      expect(doc).toMatchObject({ channel: "telegram", id: "222", code: fresh.json.code, meta: { username: "bob" } });
    },
  );

  it("prints the code alone on stdout, so CODE=$(moltbot pairing wait …) captures it, and the approve line on stderr", async () => {
    const stateDir = tempStateDir();
    const waiting = start(["pairing", "wait", "discord"], stateDir);
    await waiting.waitFor("stderr", /Waiting up to 1 min/);
    const fresh = await runJson<RequestDoc>(["pairing", "request", "discord", "42"], { stateDir });
    expect((await waiting.done).code).toBe(0);
    expect(waiting.stdout()).toBe(`${fresh.json.code}\n`);
    expect(waiting.stderr()).toContain(
      `Approve with: moltbot pairing approve discord ${fresh.json.code} --expect-id 42`,
    );
  });

  it("waits for a state dir that does not exist yet (it watches the nearest directory above it)", async () => {
    const stateDir = path.join(tempDir(), "not", "yet", "state");
    const waiting = start(["pairing", "wait", "slack", "--timeout", "15s", "--json"], stateDir);
    await waiting.waitFor("stderr", /Waiting/);
    expect(fs.existsSync(stateDir)).toBe(false);
    await runMoltbot(["pairing", "request", "slack", "U1"], { stateDir });
    expect((await waiting.done).code).toBe(0);
    expect(JSON.parse(waiting.stdout())).toMatchObject({ channel: "slack", id: "U1" });
  });

  it("ignores other channels and other accounts", async () => {
    const stateDir = tempStateDir();
    const waiting = start(["pairing", "wait", "telegram", "--account", "work", "--timeout", "15s", "--json"], stateDir);
    await waiting.waitFor("stderr", /Waiting/);
    await runMoltbot(["pairing", "request", "discord", "1"], { stateDir });
    await runMoltbot(["pairing", "request", "telegram", "2"], { stateDir });
    await runMoltbot(["pairing", "request", "telegram", "3", "--account", "work"], { stateDir });
    expect((await waiting.done).code).toBe(0);
    expect(JSON.parse(waiting.stdout())).toMatchObject({ id: "3", account: "work" });
  });

  it("exits 1 (TIMEOUT) at the timeout, within seconds, with one JSON error document", async () => {
    const stateDir = tempStateDir();
    const waiting = start(["pairing", "wait", "telegram", "--timeout", "1s", "--json"], stateDir);
    const result = await waiting.done;
    expect(result.code).toBe(1);
    expect(result.elapsedMs).toBeLessThan(6_000);
    expect(JSON.parse(waiting.stdout())).toEqual({
      error: { code: "TIMEOUT", message: expect.stringMatching(/^No new telegram pairing request within 1 s\./) },
    });
  });

  it.each([["soon"], ["-5s"], ["1y"]])("--timeout %s is a usage error (exit 2)", async (timeout) => {
    const result = await runMoltbot(["pairing", "wait", "telegram", "--timeout", timeout], {
      stateDir: tempStateDir(),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^moltbot: Invalid --timeout/);
  });
});

describe("pairing watch", () => {
  it("prints each new request as a JSON line, across channels, and stops after --count", async () => {
    const stateDir = tempStateDir();
    await runMoltbot(["pairing", "request", "telegram", "old"], { stateDir });
    const watching = start(["pairing", "watch", "--json", "--count", "2"], stateDir);
    await watching.waitFor("stderr", /^Watching pairing requests; new ones are printed as they come\.\n/);
    await runMoltbot(["pairing", "request", "telegram", "1"], { stateDir });
    await watching.waitFor("stdout", /\n/);
    await runMoltbot(["pairing", "request", "signal", "+4915112345"], { stateDir });
    const result = await watching.done;
    expect(result.code, watching.stderr()).toBe(0);
    const lines = watching
      .stdout()
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as RequestDoc);
    expect(lines.map((doc) => [doc.channel, doc.id])).toEqual([
      ["telegram", "1"],
      ["signal", "+4915112345"],
    ]);
  });

  it("--exec runs the program (no shell) with the request in MOLTBOT_REQUEST_*, even for a hostile sender id", async () => {
    const stateDir = tempStateDir();
    const work = tempDir();
    const out = path.join(work, "hook.out");
    const pwned = path.join(work, "pwned");
    const hook = path.join(work, "hook.sh");
    fs.writeFileSync(
      hook,
      [
        "#!/bin/sh",
        // The values are used as data, quoted, as the README says a hook must.
        `printf '%s|%s|%s|%s|%s|%s\\n' "$1" "$MOLTBOT_REQUEST_CHANNEL" "$MOLTBOT_REQUEST_ID" "$MOLTBOT_REQUEST_CODE" "$MOLTBOT_REQUEST_META" "$MOLTBOT_STATE_DIR" >> "${out}"`,
        "echo hook-output-goes-to-stderr",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const hostile = `$(touch ${pwned}); touch ${pwned}; \`touch ${pwned}\``;
    const watching = start(
      ["pairing", "watch", "telegram", "--exec", hook, "--arg", "fixed-arg", "--count", "1"],
      stateDir,
    );
    await watching.waitFor("stderr", /Watching telegram pairing requests/);
    const fresh = await runJson<RequestDoc>(
      ["pairing", "request", "telegram", hostile, "--meta", "username=$(reboot)"],
      { stateDir },
    );
    const result = await watching.done;
    expect(result.code, watching.stderr()).toBe(0);
    expect(fs.readFileSync(out, "utf8")).toBe(
      `fixed-arg|telegram|${hostile}|${fresh.json.code}|{"username":"$(reboot)"}|${stateDir}\n`,
    );
    expect(fs.existsSync(pwned)).toBe(false);
    // The hook's output went to stderr: stdout holds only the request line.
    expect(watching.stderr()).toContain("hook-output-goes-to-stderr");
    expect(watching.stdout().split("\n").filter(Boolean)).toHaveLength(1);
  });

  it("a hook that fails is reported on stderr and watching goes on", async () => {
    const stateDir = tempStateDir();
    const watching = start(["pairing", "watch", "--exec", "false", "--count", "2"], stateDir);
    await watching.waitFor("stderr", /Watching/);
    await runMoltbot(["pairing", "request", "telegram", "1"], { stateDir });
    await watching.waitFor("stderr", /--exec false ended with status 1 for telegram code/);
    await runMoltbot(["pairing", "request", "telegram", "2"], { stateDir });
    expect((await watching.done).code).toBe(0);
    expect(watching.stdout().split("\n").filter(Boolean)).toHaveLength(2);
  });

  it.each([
    [["--exec", "/nonexistent/hook"], /^moltbot: --exec \/nonexistent\/hook: no such executable/],
    [["--arg", "x"], /^moltbot: --arg needs --exec/],
    [["--count", "0"], /^moltbot: --count must be a whole number/],
  ])("%j is a usage error before any waiting (exit 2)", async (args, message) => {
    const result = await runMoltbot(["pairing", "watch", ...args], { stateDir: tempStateDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it("costs no CPU while idle (no timer runs: it sleeps in the kernel until a file changes)", async () => {
    const stateDir = tempStateDir();
    const watching = start(["pairing", "watch"], stateDir);
    await watching.waitFor("stderr", /Watching/);
    const ticks = () => {
      // utime and stime, fields 14 and 15 of /proc/<pid>/stat (after the command name in parentheses).
      const fields = fs.readFileSync(`/proc/${watching.child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return Number(fields[11]) + Number(fields[12]);
    };
    const before = ticks();
    // A measuring window, not a wait for something to happen: an idle watcher must not use the CPU in it.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const state = fs.readFileSync(`/proc/${watching.child.pid}/stat`, "utf8").split(") ")[1]![0];
    expect(ticks() - before).toBeLessThanOrEqual(1);
    expect(state).toBe("S");
    watching.child.kill("SIGTERM");
    await watching.done;
  });
});
