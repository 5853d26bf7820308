import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/program.js";
import type { CliIO } from "../../src/cli/output.js";
import { listTree } from "../helpers.js";
import {
  expectJsonError,
  expectOneCleanErrorLine,
  faultDir,
  hasRawControl,
  inBatches,
  moltbot,
} from "./fault-helpers.js";

/*
 * Hostile input: whatever a sender, a device or a confused operator passes, moltbot answers with
 * exit 1 or 2 and one clear line: no stack trace, no raw control character on the terminal, and
 * no file anywhere (in particular none outside the state dir). Each case runs twice: human and --json.
 */
const ESC = "\u001b";
const CSI_CLEAR = `${ESC}[2J${ESC}[H`;

interface Case {
  name: string;
  args: string[];
  exit: 1 | 2;
}

const channelCases = (name: string, channel: string): Case[] => [
  { name: `${name}: request`, args: ["pairing", "request", channel, "123"], exit: 2 },
  { name: `${name}: approve`, args: ["pairing", "approve", channel, "ABCD2345"], exit: 2 },
  { name: `${name}: approve --channel`, args: ["pairing", "approve", "--channel", channel, "ABCD2345"], exit: 2 },
  { name: `${name}: reject`, args: ["pairing", "reject", channel, "ABCD2345"], exit: 2 },
  { name: `${name}: list`, args: ["pairing", "list", channel], exit: 2 },
  { name: `${name}: allowlist`, args: ["pairing", "allowlist", channel], exit: 2 },
  { name: `${name}: revoke`, args: ["pairing", "revoke", channel, "123"], exit: 2 },
];

const HUGE_ID = "7".repeat(100 * 1024);

const CASES: Case[] = [
  ...channelCases("channel ..", ".."),
  ...channelCases("channel ../../escape", "../../escape"),
  ...channelCases("channel with /", "tele/gram"),
  ...channelCases("absolute path as channel", "/etc/passwd"),
  ...channelCases("300-character channel", "t".repeat(300)),
  ...channelCases("channel with an escape sequence", `telegram${CSI_CLEAR}`),
  ...channelCases("empty channel", ""),
  { name: "100 kB sender id: request", args: ["pairing", "request", "telegram", HUGE_ID], exit: 2 },
  { name: "100 kB sender id: revoke", args: ["pairing", "revoke", "telegram", HUGE_ID], exit: 2 },
  { name: "sender id with an escape sequence", args: ["pairing", "request", "telegram", `${CSI_CLEAR}123`], exit: 2 },
  { name: "sender id with a newline", args: ["pairing", "request", "telegram", "123\nApproved!"], exit: 2 },
  { name: "blank sender id", args: ["pairing", "request", "telegram", "   "], exit: 2 },
  {
    name: "meta key with an escape sequence",
    args: ["pairing", "request", "telegram", "123", "--meta", `${CSI_CLEAR}=x`],
    exit: 2,
  },
  {
    name: "meta value with an escape sequence",
    args: ["pairing", "request", "telegram", "123", "--meta", `username=${CSI_CLEAR}x`],
    exit: 2,
  },
  { name: "meta key __proto__", args: ["pairing", "request", "telegram", "123", "--meta", "__proto__=x"], exit: 2 },
  { name: "meta without =", args: ["pairing", "request", "telegram", "123", "--meta", "username"], exit: 2 },
  {
    name: "meta value of 100 kB",
    args: ["pairing", "request", "telegram", "123", "--meta", `username=${HUGE_ID}`],
    exit: 2,
  },
  {
    name: "17 meta entries",
    args: [
      "pairing",
      "request",
      "telegram",
      "123",
      ...Array.from({ length: 17 }, (_, i) => ["--meta", `k${i}=v`]).flat(),
    ],
    exit: 2,
  },
  { name: "code with a space inside", args: ["pairing", "approve", "telegram", "ABCD 2345"], exit: 2 },
  { name: "code too short", args: ["pairing", "approve", "telegram", "ABCD234"], exit: 2 },
  { name: "code too long", args: ["pairing", "approve", "telegram", "ABCD23456"], exit: 2 },
  { name: "code with 0 and 1", args: ["pairing", "approve", "telegram", "ABCD2310"], exit: 2 },
  { name: "code with an escape sequence", args: ["pairing", "reject", "telegram", `${CSI_CLEAR}AB`], exit: 2 },
  { name: "lowercase code nobody has", args: ["pairing", "approve", "telegram", "abcd2345"], exit: 1 },
  { name: "code padded with spaces nobody has", args: ["pairing", "reject", "telegram", "  ABCD2345  "], exit: 1 },
  { name: "unknown option", args: ["pairing", "list", "--bogus"], exit: 2 },
  { name: "unknown global option", args: ["--frobnicate", "pairing", "list"], exit: 2 },
  { name: "unknown doctor option", args: ["doctor", "--fixx"], exit: 2 },
  { name: "unknown noun", args: ["pairng", "list"], exit: 2 },
  { name: "unknown verb", args: ["pairing", "aprove", "telegram", "ABCD2345"], exit: 2 },
  { name: "missing sender id", args: ["pairing", "request", "telegram"], exit: 2 },
  { name: "missing code", args: ["pairing", "approve", "telegram"], exit: 2 },
  { name: "missing --channel value", args: ["pairing", "approve", "--channel"], exit: 2 },
  { name: "missing --meta value", args: ["pairing", "request", "telegram", "123", "--meta"], exit: 2 },
  { name: "missing --state-dir value", args: ["pairing", "list", "--state-dir"], exit: 2 },
  { name: "too many arguments", args: ["pairing", "allowlist", "telegram", "extra"], exit: 2 },
  { name: "device request id as a path", args: ["devices", "approve", "../../etc/passwd"], exit: 1 },
  { name: "device reject of an absolute path", args: ["devices", "reject", "/etc/passwd"], exit: 1 },
  { name: "device remove of a path", args: ["devices", "remove", "../x"], exit: 1 },
  { name: "node request id as a path", args: ["nodes", "approve", "../../x"], exit: 1 },
  { name: "100 kB device id", args: ["devices", "request", "--device-id", HUGE_ID, "--public-key", "k"], exit: 2 },
  {
    name: "device name with an escape sequence",
    args: ["devices", "request", "--device-id", "d1", "--public-key", "k", "--name", `${CSI_CLEAR}x`],
    exit: 2,
  },
  {
    name: "device id with a newline",
    args: ["devices", "request", "--device-id", "d1\nd2", "--public-key", "k"],
    exit: 2,
  },
  { name: "missing --public-key", args: ["devices", "request", "--device-id", "d1"], exit: 2 },
  { name: "missing --device-id value", args: ["devices", "request", "--device-id"], exit: 2 },
  { name: "missing --role", args: ["devices", "rotate", "--device", "d1"], exit: 2 },
  { name: "approve without an id", args: ["devices", "approve"], exit: 2 },
  { name: "verify without a token on stdin", args: ["devices", "verify", "--device", "d1", "--role", "node"], exit: 2 },
  { name: "missing node request id", args: ["nodes", "approve"], exit: 2 },
  { name: "unknown devices option", args: ["devices", "list", "--bogus"], exit: 2 },
];

function memoryIO(env: NodeJS.ProcessEnv): CliIO & { stdout: () => string; stderr: () => string } {
  let out = "";
  let err = "";
  return {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    color: false,
    columns: 100,
    interactive: false,
    env,
    readStdin: async () => "",
    confirm: async () => false,
    stdout: () => out,
    stderr: () => err,
  };
}

describe("hostile input", () => {
  it("every hostile argument gives exit 1 or 2 and one clean line, human and --json, and creates no file anywhere", async () => {
    const root = faultDir();
    const cwd = path.join(root, "cwd");
    fs.mkdirSync(cwd);
    const stateDir = path.join(root, "state");
    const runs = CASES.flatMap((testCase) => [
      { testCase, json: false },
      { testCase, json: true },
    ]);
    // Half the runs name the state dir with --state-dir on the command line, half through the environment.
    const outcomes = await inBatches(runs, 2, ({ testCase, json }) =>
      moltbot(json ? ["--json", ...testCase.args] : ["--state-dir", stateDir, ...testCase.args], { stateDir, cwd }),
    );
    outcomes.forEach((outcome, index) => {
      const { testCase, json } = runs[index]!;
      try {
        if (json) {
          const error = expectJsonError(outcome, [testCase.exit]);
          expect(error.message.length).toBeLessThan(1_000);
        } else {
          expectOneCleanErrorLine(outcome, [testCase.exit]);
          // A hint names a command to run, never the state dir given on the line.
          expect(outcome.stderr).not.toContain(`moltbot ${stateDir}`);
        }
      } catch (failure) {
        throw new Error(`${testCase.name}${json ? " (--json)" : ""}: ${(failure as Error).message}`);
      }
    });
    // Nothing was created: not the state dir, not a file beside it, not a file in the cwd.
    expect(listTree(root)).toEqual(["cwd"]);
    console.log(`hostile-input figures: ${JSON.stringify({ cases: CASES.length, runs: runs.length })}`);
  }, 60_000);

  it("NUL bytes (which no process can receive in argv) are refused in-process with exit 2 and an escaped line", async () => {
    const root = faultDir();
    const stateDir = path.join(root, "state");
    const argvs = [
      ["pairing", "request", "tele\u0000gram", "123"],
      ["pairing", "list", "telegram\u0000/../../x"],
      ["pairing", "request", "telegram", "12\u00003"],
      ["pairing", "approve", "telegram", "ABCD\u00002345"],
      ["pairing", "request", "telegram", "123", "--meta", "user\u0000name=x"],
    ];
    for (const argv of argvs) {
      for (const json of [false, true]) {
        const io = memoryIO({ MOLTBOT_STATE_DIR: stateDir });
        const code = await runCli(json ? [...argv, "--json"] : argv, io);
        expect(code, io.stderr()).toBe(2);
        if (json) {
          expect(JSON.parse(io.stdout())).toMatchObject({ error: { code: expect.any(String) } });
        } else {
          expect(io.stdout()).toBe("");
          expect(io.stderr()).toMatch(/^moltbot: [^\n]+\n$/);
        }
        expect(hasRawControl(io.stdout() + io.stderr())).toBe(false);
      }
    }
    expect(listTree(root)).toEqual([]);
  });

  it("meta with escape sequences stored by another writer (a gateway) is never printed raw", async () => {
    const stateDir = path.join(faultDir(), "state");
    const evil = `${CSI_CLEAR}${ESC}]0;pwned\u0007\u009b31m`;
    const at = new Date().toISOString();
    const file = path.join(stateDir, "credentials", "telegram-pairing.json");
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(
      file,
      `${JSON.stringify({ version: 1, requests: [{ id: "123", code: "ABCD2345", createdAt: at, lastSeenAt: at, meta: { username: evil } }] })}\n`,
      { mode: 0o600 },
    );
    for (const args of [
      ["pairing", "list", "telegram"],
      ["pairing", "list"],
      ["pairing", "request", "telegram", "123"],
    ]) {
      const outcome = await moltbot(args, { stateDir });
      expect(outcome.code).toBe(0);
      expect(hasRawControl(outcome.stdout + outcome.stderr), args.join(" ")).toBe(false);
    }
    const listed = await moltbot(["pairing", "list", "telegram"], { stateDir });
    expect(listed.stdout).toContain("username=\\e[2J\\e[H\\e]0;pwned\\x07\\x9b31m");
    // JSON escapes control characters by itself and keeps the data exact.
    const json = await moltbot(["pairing", "list", "telegram", "--json"], { stateDir });
    expect((JSON.parse(json.stdout) as { requests: { meta: { username: string } }[] }).requests[0]!.meta.username).toBe(
      evil,
    );
  });
});
