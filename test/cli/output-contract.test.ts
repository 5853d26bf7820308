import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { codeDigest } from "../../src/core/decision-chain.js";
import { ERROR_EXIT_CODES } from "../../src/errors.js";
import { publicKeyFingerprint } from "../../src/core/fingerprint.js";
import {
  BIN,
  ROOT,
  cliEnv,
  collectOutput,
  readJsonFile,
  runMoltbot,
  tempStateDir,
  type RunResult,
} from "../helpers.js";

/*
 * The output contract (SPEC §6), held against the built bin: with --json, stdout is exactly one
 * JSON document for every command, help and --version included, and for every error code; stdout
 * that cannot be written (a full device) is one line on stderr and a non-zero exit, never a stack
 * trace; a reader that goes away ends the output quietly.
 */

const VERSION = readJsonFile<{ version: string }>(path.join(ROOT, "package.json")).version;
const TOKEN = "q8Vf2m0T1xvY8o0kLr3sJvW1rY5eQ6dZ7uC9bN4aH2E";

function write(file: string, data: unknown): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, typeof data === "string" ? data : `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  return file;
}

/** A store with something for every command: two DM requests, an allowlist, a pending and a paired device, a node request. */
function seed(stateDir: string): void {
  const now = Date.now();
  const at = new Date(now).toISOString();
  write(path.join(stateDir, "credentials", "telegram-pairing.json"), {
    version: 1,
    requests: [
      { id: "111", code: "ABCD2345", createdAt: at, lastSeenAt: at },
      { id: "222", code: "WXYZ6789", createdAt: at, lastSeenAt: at },
    ],
  });
  write(path.join(stateDir, "credentials", "telegram-allowFrom.json"), { version: 1, allowFrom: ["999"] });
  write(path.join(stateDir, "devices", "pending.json"), {
    r1: {
      requestId: "r1",
      deviceId: "dev-1",
      publicKey: "pk",
      role: "node",
      roles: ["node"],
      isRepair: false,
      ts: now,
    },
  });
  write(path.join(stateDir, "devices", "paired.json"), {
    p1: {
      deviceId: "p1",
      publicKey: "pk",
      role: "node",
      roles: ["node"],
      tokens: { node: { token: TOKEN, role: "node", scopes: [], createdAtMs: now } },
      createdAtMs: now,
      approvedAtMs: now,
    },
  });
  write(path.join(stateDir, "nodes", "pending.json"), {
    n1: { requestId: "n1", nodeId: "node-1", ts: now, isRepair: false },
  });
  write(path.join(stateDir, "nodes", "paired.json"), {
    "node-9": { nodeId: "node-9", token: "t".repeat(32), createdAtMs: now, approvedAtMs: now },
  });
}

/** moltbot's code history for telegram: code ZZZZ3456 of sender `id`, gone with `fate` 5 minutes ago. */
function codeHistory(stateDir: string, id: string, fate: string, createdAgoMs = 10 * 60_000): void {
  const now = Date.now();
  write(path.join(stateDir, "moltbot", "telegram-codes.json"), {
    version: 1,
    codes: [
      {
        hash: codeDigest("ZZZZ3456"),
        id,
        account: "default",
        createdAt: new Date(now - createdAgoMs).toISOString(),
        fate,
        at: new Date(now - 5 * 60_000).toISOString(),
      },
    ],
  });
}

interface Case {
  args: string[];
  exit: number;
  /** Keys of the document, in order (the JSON shapes table of the README). */
  keys: string[];
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Break the seeded store first. */
  prepare?: (stateDir: string) => void;
}

const helpKeys = ["command", "usage", "description", "arguments", "options", "commands", "notes", "examples"];
const errorKeys = ["error"];

const COMMANDS: Record<string, Case> = {
  "pairing list": { args: ["pairing", "list"], exit: 0, keys: ["channels"] },
  "pairing list <channel>": { args: ["pairing", "list", "telegram"], exit: 0, keys: ["channel", "requests"] },
  "pairing list --channel": {
    args: ["pairing", "list", "--channel", "telegram"],
    exit: 0,
    keys: ["channel", "requests"],
  },
  "pairing request": {
    args: ["pairing", "request", "telegram", "333"],
    exit: 0,
    keys: ["channel", "account", "id", "status", "code", "expiresAt", "message"],
  },
  "pairing approve": {
    args: ["pairing", "approve", "telegram", "ABCD2345"],
    exit: 0,
    keys: ["channel", "account", "code", "id", "message"],
  },
  "pairing reject": {
    args: ["pairing", "reject", "telegram", "WXYZ6789"],
    exit: 0,
    keys: ["channel", "account", "code", "id"],
  },
  "pairing allowlist": {
    args: ["pairing", "allowlist", "telegram"],
    exit: 0,
    keys: ["channel", "account", "allowFrom"],
  },
  "pairing revoke": {
    args: ["pairing", "revoke", "telegram", "999"],
    exit: 0,
    keys: ["channel", "account", "id", "removed"],
  },
  "devices list": { args: ["devices", "list"], exit: 0, keys: ["pending", "paired"] },
  "devices request": {
    args: ["devices", "request", "--device", "d9", "--public-key", "k"],
    exit: 0,
    keys: ["created", "request"],
  },
  "devices approve": { args: ["devices", "approve", "r1"], exit: 0, keys: ["requestId", "device"] },
  "devices approve --latest --yes": {
    args: ["devices", "approve", "--latest", "--yes"],
    exit: 0,
    keys: ["requestId", "device"],
  },
  "devices reject": { args: ["devices", "reject", "r1"], exit: 0, keys: ["requestId", "deviceId"] },
  "devices rotate": {
    args: ["devices", "rotate", "--device", "p1", "--role", "node"],
    exit: 0,
    keys: ["deviceId", "role", "token", "scopes", "rotatedAtMs"],
  },
  "devices revoke": {
    args: ["devices", "revoke", "--device", "p1", "--role", "node"],
    exit: 0,
    keys: ["deviceId", "role", "revokedAtMs"],
  },
  "devices remove": { args: ["devices", "remove", "--device", "p1"], exit: 0, keys: ["deviceId"] },
  "devices verify (valid)": {
    args: ["devices", "verify", "--device", "p1", "--role", "node"],
    input: TOKEN,
    exit: 0,
    keys: ["ok"],
  },
  // VERIFY_FAILED is the human form of this: with --json the failed check is the document, still exit 1.
  "devices verify (not valid)": {
    args: ["devices", "verify", "--device", "p1", "--role", "node"],
    input: "wrong",
    exit: 1,
    keys: ["ok", "reason"],
  },
  "nodes pending": { args: ["nodes", "pending"], exit: 0, keys: ["pending"] },
  "nodes approve": { args: ["nodes", "approve", "n1"], exit: 0, keys: ["requestId", "node"] },
  "nodes reject": { args: ["nodes", "reject", "n1"], exit: 0, keys: ["requestId", "nodeId"] },
  "nodes remove": { args: ["nodes", "remove", "node-9", "--reason", "sold"], exit: 0, keys: ["nodeId"] },
  "nodes rename": { args: ["nodes", "rename", "node-9", "Kitchen"], exit: 0, keys: ["nodeId", "displayName"] },
  "pairing approve --expect-id --reason": {
    args: ["pairing", "approve", "telegram", "ABCD2345", "--expect-id", "111", "--reason", "my sister"],
    exit: 0,
    keys: ["channel", "account", "code", "id", "message"],
  },
  "pairing block": {
    args: ["pairing", "block", "telegram", "444", "--reason", "spam"],
    exit: 0,
    keys: ["channel", "account", "id", "added", "dropped", "allowedOn"],
  },
  "pairing unblock": {
    args: ["pairing", "unblock", "telegram", "444"],
    exit: 0,
    keys: ["channel", "account", "id", "removed"],
  },
  "pairing blocked": { args: ["pairing", "blocked"], exit: 0, keys: ["blocked"] },
  "devices approve --expect-fingerprint": {
    args: ["devices", "approve", "r1", "--expect-fingerprint", publicKeyFingerprint("pk")],
    exit: 0,
    keys: ["requestId", "device"],
  },
  "devices rename": { args: ["devices", "rename", "p1", "Ada's phone"], exit: 0, keys: ["deviceId", "operatorLabel"] },
  "devices clear --yes": {
    args: ["devices", "clear", "--pending", "--paired", "--yes"],
    exit: 0,
    keys: ["pending", "paired"],
  },
  log: { args: ["log"], exit: 0, keys: ["entries"] },
  "log --verify": { args: ["log", "--verify"], exit: 0, keys: ["ok", "entries", "head"] },
  doctor: { args: ["doctor"], exit: 0, keys: ["ok", "findings", "store"] },
  "doctor --fix": { args: ["doctor", "--fix"], exit: 0, keys: ["ok", "findings", "store"] },
  "completion bash": { args: ["completion", "bash"], exit: 0, keys: ["shell", "script"] },
  "--version": { args: ["--version"], exit: 0, keys: ["version"] },
  "--help": { args: ["--help"], exit: 0, keys: helpKeys },
  help: { args: ["help"], exit: 0, keys: helpKeys },
  "pairing --help": { args: ["pairing", "--help"], exit: 0, keys: helpKeys },
  "pairing approve --help": { args: ["pairing", "approve", "--help"], exit: 0, keys: helpKeys },
  "help devices verify": { args: ["help", "devices", "verify"], exit: 0, keys: helpKeys },
  "devices help rotate": { args: ["devices", "help", "rotate"], exit: 0, keys: helpKeys },
  "doctor -h": { args: ["doctor", "-h"], exit: 0, keys: helpKeys },
};

/** One case of every error code a user can meet. */
const ERRORS: Record<string, Case> = {
  USAGE: { args: ["pairing", "request", "telegram"], exit: 2, keys: errorKeys },
  UNKNOWN_CHANNEL: { args: ["pairing", "list", "telegarm"], exit: 2, keys: errorKeys },
  INVALID_CODE: { args: ["pairing", "approve", "telegram", "ABC"], exit: 2, keys: errorKeys },
  NOT_FOUND: { args: ["pairing", "approve", "telegram", "ZZZZ2345"], exit: 1, keys: errorKeys },
  CONFIRMATION_REQUIRED: { args: ["devices", "approve", "--latest"], exit: 1, keys: errorKeys },
  STORE_CORRUPT: {
    args: ["pairing", "list", "telegram"],
    exit: 3,
    keys: errorKeys,
    prepare: (stateDir) => write(path.join(stateDir, "credentials", "telegram-pairing.json"), "{ half a file"),
  },
  STORE_PERMISSION: {
    args: ["devices", "list"],
    exit: 3,
    keys: errorKeys,
    // The file as root left it (0600), read by the gateway's user; run as a normal user, a file it cannot read.
    prepare: (stateDir) => fs.chmodSync(path.join(stateDir, "devices", "paired.json"), 0o000),
  },
  STORE_LOCKED: {
    args: ["pairing", "request", "telegram", "444"],
    exit: 3,
    keys: errorKeys,
    env: { MOLTBOT_LOCK_TIMEOUT_MS: "300" },
    // A fresh lock directory: another process is changing the file right now.
    prepare: (stateDir) => fs.mkdirSync(path.join(stateDir, "credentials", "telegram-pairing.json.lock")),
  },
  STORE_IO: {
    // /proc/self cannot hold a directory: creating the store fails (ENOENT), neither corrupt nor a permission.
    args: ["--state-dir", "/proc/self", "pairing", "request", "telegram", "444"],
    exit: 3,
    keys: errorKeys,
  },
  STORE_UNSUPPORTED: {
    // OpenClaw's SQLite state on this Node (20, without node:sqlite): one line naming the Node it needs.
    // (Under a Node with node:sqlite the same case is still STORE_UNSUPPORTED: an empty file has no tables to write.)
    args: ["pairing", "request", "telegram", "444"],
    exit: 3,
    keys: errorKeys,
    prepare: (stateDir) => write(path.join(stateDir, "state", "openclaw.sqlite"), ""),
  },
  EXPIRED: {
    args: ["pairing", "approve", "telegram", "XPRD2345"],
    exit: 1,
    keys: errorKeys,
    prepare: (stateDir) => {
      const at = new Date(Date.now() - 2 * 3_600_000).toISOString();
      write(path.join(stateDir, "credentials", "telegram-pairing.json"), {
        version: 1,
        requests: [{ id: "111", code: "XPRD2345", createdAt: at, lastSeenAt: at }],
      });
    },
  },
  ALREADY_APPROVED: {
    args: ["pairing", "approve", "telegram", "ZZZZ3456"],
    exit: 1,
    keys: errorKeys,
    prepare: (stateDir) => codeHistory(stateDir, "555", "approved"),
  },
  ALREADY_REJECTED: {
    args: ["pairing", "approve", "telegram", "ZZZZ3456"],
    exit: 1,
    keys: errorKeys,
    prepare: (stateDir) => codeHistory(stateDir, "555", "rejected"),
  },
  REPLACED: {
    args: ["pairing", "approve", "telegram", "ZZZZ3456"],
    exit: 1,
    keys: errorKeys,
    // Sender 111 had this code, it expired, and 111 holds ABCD2345 now.
    prepare: (stateDir) => codeHistory(stateDir, "111", "expired", 2 * 3_600_000),
  },
  BLOCKED: {
    args: ["pairing", "approve", "telegram", "ABCD2345"],
    exit: 1,
    keys: errorKeys,
    prepare: (stateDir) =>
      write(path.join(stateDir, "moltbot", "blocked.json"), {
        version: 1,
        blocked: [{ channel: "telegram", id: "111", at: new Date().toISOString() }],
      }),
  },
  REQUEST_CHANGED: {
    args: ["pairing", "approve", "telegram", "ABCD2345", "--expect-id", "222"],
    exit: 1,
    keys: errorKeys,
  },
  TIMEOUT: { args: ["pairing", "wait", "telegram", "--timeout", "1s"], exit: 1, keys: errorKeys },
  AMBIGUOUS: {
    args: ["pairing", "approve", "telegram", "ABCD2345"],
    exit: 1,
    keys: errorKeys,
    // Two live requests holding one code (a hand edit, or two writers): approving it would have to guess.
    prepare: (stateDir) => {
      const at = new Date().toISOString();
      write(path.join(stateDir, "credentials", "telegram-pairing.json"), {
        version: 1,
        requests: [
          { id: "111", code: "ABCD2345", createdAt: at, lastSeenAt: at },
          { id: "333", code: "abcd2345", createdAt: at, lastSeenAt: at },
        ],
      });
    },
  },
};
/**
 * Codes that are never a JSON error document: OUTPUT_FAILED (stdout itself is broken: see "/dev/full" below),
 * VERIFY_FAILED (with --json a failed check is the result document). INTERNAL, a bug, is not a code
 * of the table.
 */
const NOT_AS_JSON = ["OUTPUT_FAILED", "VERIFY_FAILED"];

const RUNNING_AS_ROOT = process.getuid?.() === 0;

/** Spawn the built bin, as `nobody` when `asNobody` (root reads any file, so a permission needs another user). */
function run(args: readonly string[], stateDir: string, options: Partial<Case> & { asNobody?: boolean } = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cliEnv(stateDir, options.env),
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
    timeout: 20_000,
    ...(options.asNobody ? { uid: 65534, gid: 65534 } : {}),
  });
  child.stdin.on("error", () => {});
  child.stdin.end(options.input ?? "");
  return collectOutput(child);
}

function expectOneDocument(result: RunResult, keys: string[]): Record<string, unknown> {
  expect(result.stdout.endsWith("}\n"), result.stdout.slice(-200)).toBe(true);
  // JSON.parse refuses anything after the first document: exactly one it is.
  const document = JSON.parse(result.stdout) as Record<string, unknown>;
  expect(Object.keys(document)).toEqual(keys);
  expect(result.stderr).not.toMatch(/\n\s+at |node:internal/);
  return document;
}

describe("--json: exactly one JSON document on stdout", () => {
  it.each(Object.entries(COMMANDS))("%s", async (_name, testCase) => {
    const stateDir = tempStateDir();
    seed(stateDir);
    const result = await run([...testCase.args, "--json"], stateDir, testCase);
    expect(result.code, result.stderr).toBe(testCase.exit);
    const document = expectOneDocument(result, testCase.keys);
    if (testCase.keys === helpKeys) {
      const words = testCase.args.filter((arg) => !arg.startsWith("-") && arg !== "help");
      expect(document.command).toBe(["moltbot", ...words].join(" "));
      expect(document.usage).toMatch(new RegExp(`^${["moltbot", ...words].join(" ")}`));
      expect((document.examples as string[]).length).toBeGreaterThan(0);
    }
    if (testCase.args[0] === "--version") expect(document).toEqual({ version: VERSION });
  });

  it.each(Object.entries(ERRORS))("error %s", async (code, testCase) => {
    const stateDir = tempStateDir();
    seed(stateDir);
    testCase.prepare?.(stateDir);
    const asNobody = code === "STORE_PERMISSION" && RUNNING_AS_ROOT;
    const result = await run([...testCase.args, "--json"], stateDir, { ...testCase, asNobody });
    expect(result.code, result.stdout).toBe(testCase.exit);
    const document = expectOneDocument(result, ["error"]) as { error: { code: string; message: string } };
    expect(Object.keys(document.error)).toEqual(["code", "message"]);
    expect(document.error.code).toBe(code);
    expect(ERROR_EXIT_CODES[code as keyof typeof ERROR_EXIT_CODES]).toBe(testCase.exit);
    // Only --latest writes to stderr with --json: the request it would approve, for the person deciding;
    // and wait, the line that says its baseline is taken.
    if (code === "CONFIRMATION_REQUIRED") expect(result.stderr).toMatch(/^Newest pending request r1:\n/);
    else if (code === "TIMEOUT")
      expect(result.stderr).toBe("Waiting up to 1 s for a new telegram pairing request...\n");
    else expect(result.stderr).toBe("");
  });

  it("every error code is either covered above or one that is never a JSON document", () => {
    expect(Object.keys(ERROR_EXIT_CODES).sort()).toEqual([...Object.keys(ERRORS), ...NOT_AS_JSON].sort());
  });

  it("STORE_UNSUPPORTED on a Node without node:sqlite: every command on an OpenClaw SQLite state is one line naming the Node it needs, exit 3", async () => {
    // The precondition: vitest runs this file under the project's floor, Node 20, which has no node:sqlite.
    expect(
      (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.("node:sqlite"),
    ).toBeUndefined();
    const stateDir = tempStateDir();
    write(path.join(stateDir, "state", "openclaw.sqlite"), "");
    for (const args of [["pairing", "list"], ["devices", "approve", "r1"], ["doctor"]]) {
      const result = await runMoltbot(args, { stateDir });
      expect(result).toMatchObject({ code: 3, stdout: "" });
      expect(result.stderr).toBe(
        `moltbot: This state keeps pairing in OpenClaw's SQLite database (${stateDir}/state/openclaw.sqlite), which needs Node.js 24.16 or newer (this is Node ${process.version}, without node:sqlite). Run moltbot with the Node that runs OpenClaw.\n`,
      );
    }
  });

  it.each([
    ["pairing wait --json: one document, the new request", ["pairing", "wait", "telegram", "--timeout", "15s"]],
    ["pairing watch --json --count 1: one JSON line per request", ["pairing", "watch", "--count", "1"]],
  ])("%s", async (_name, args) => {
    const stateDir = tempStateDir();
    seed(stateDir);
    const child = spawn(process.execPath, [BIN, ...args, "--json"], {
      env: cliEnv(stateDir),
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 20_000,
    });
    const output = collectOutput(child);
    // The request is written once the baseline is taken (the first line on stderr says so).
    await new Promise<void>((resolve) => child.stderr.once("data", () => resolve()));
    expect((await runMoltbot(["pairing", "request", "telegram", "333"], { stateDir })).code).toBe(0);
    const result = await output;
    expect(result.code, result.stderr).toBe(0);
    const document = expectOneDocument(result, [
      "channel",
      "id",
      "account",
      "code",
      "createdAt",
      "lastSeenAt",
      "expiresAt",
    ]);
    expect(document).toMatchObject({ channel: "telegram", id: "333" });
  });

  it("VERIFY_FAILED, the human form of a failed check: exit 1 and one line", async () => {
    const stateDir = tempStateDir();
    seed(stateDir);
    const result = await runMoltbot(["devices", "verify", "--device", "p1", "--role", "node"], {
      stateDir,
      input: "x",
    });
    expect(result).toMatchObject({ code: 1, stdout: "" });
    expect(result.stderr).toMatch(/^moltbot: Token not accepted for device p1, role node: token-mismatch\. [^\n]+\n$/);
  });

  it("help of every command as JSON names its options, marks required ones and lists subcommands", async () => {
    const stateDir = tempStateDir();
    const rotate = JSON.parse((await runMoltbot(["devices", "rotate", "--help", "--json"], { stateDir })).stdout) as {
      options: { flags: string; required: boolean; global?: boolean }[];
    };
    expect(rotate.options.filter((option) => option.required).map((option) => option.flags)).toEqual([
      "--device <id>",
      "--role <role>",
    ]);
    expect(rotate.options.filter((option) => option.global).map((option) => option.flags)).toContain("--json");
    const root = JSON.parse((await runMoltbot(["--help", "--json"], { stateDir })).stdout) as {
      commands: { name: string }[];
      notes: string[];
    };
    expect(root.commands.map((command) => command.name)).toEqual([
      "pairing",
      "devices",
      "nodes",
      "doctor",
      "log",
      "completion",
      "help",
    ]);
    expect(root.notes.join(" ")).toContain("telegram, whatsapp, signal, imessage (or imsg), discord, slack");
    expect(fs.existsSync(stateDir)).toBe(false);
  });
});

describe("stdout on a full device (> /dev/full)", () => {
  /** Run with stdout on /dev/full, where every write fails with ENOSPC. */
  async function toDevFull(args: readonly string[], stateDir: string): Promise<RunResult> {
    const full = fs.openSync("/dev/full", "w");
    try {
      const child = spawn(process.execPath, [BIN, ...args], {
        env: cliEnv(stateDir),
        cwd: ROOT,
        stdio: ["ignore", full, "pipe"],
        timeout: 20_000,
      });
      let stderr = "";
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      return await new Promise((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code, signal) => resolve({ code, signal, stdout: "", stderr }));
      });
    } finally {
      fs.closeSync(full);
    }
  }
  const FAILED = "moltbot: Could not write to stdout (ENOSPC: no space left on device).";

  it.each<[string, string[], number, string]>([
    ["a listing", ["pairing", "list", "telegram"], 1, " The command itself completed; only its output was lost."],
    [
      "a listing, --json",
      ["pairing", "list", "telegram", "--json"],
      1,
      " The command itself completed; only its output was lost.",
    ],
    [
      "an approval, --json (it was made)",
      ["pairing", "approve", "telegram", "ABCD2345", "--json"],
      1,
      " The command itself completed; only its output was lost.",
    ],
    ["--version", ["--version"], 1, ""],
    ["--version --json", ["--version", "--json"], 1, ""],
    ["--help", ["--help"], 1, ""],
    ["pairing --help --json", ["pairing", "--help", "--json"], 1, ""],
    [
      "an error document (NOT_FOUND keeps its exit 1)",
      ["pairing", "approve", "telegram", "ZZZZ2345", "--json"],
      1,
      " The command failed: No pending telegram request",
    ],
    [
      "an error document (USAGE keeps its exit 2)",
      ["pairing", "list", "telegarm", "--json"],
      2,
      " The command failed: Unknown channel",
    ],
  ])("%s: one line on stderr, a non-zero exit, no stack trace", async (_name, args, exit, rest) => {
    const stateDir = tempStateDir();
    seed(stateDir);
    const result = await toDevFull(args, stateDir);
    expect(result.code).toBe(exit);
    expect(result.stderr.startsWith(`${FAILED}${rest}`), result.stderr).toBe(true);
    expect(result.stderr).toMatch(/^[^\n]+\n$/);
    expect(result.stderr).not.toMatch(/\bat |node:internal|Error:/);
  });
});

describe("a reader that goes away", () => {
  it.each([[[] as string[]], [["--json"]]])("`moltbot … %j | head -c1` ends quietly with exit 0", async (extra) => {
    const stateDir = tempStateDir();
    // Far more than a pipe holds (64 KiB), so moltbot is still writing when head exits.
    const ids = Array.from({ length: 40_000 }, (_, index) => String(100_000_000 + index));
    write(path.join(stateDir, "credentials", "telegram-allowFrom.json"), { version: 1, allowFrom: ids });
    const script = 'set -o pipefail; "$0" "$@" | head -c1 >/dev/null; echo "status ${PIPESTATUS[0]}"';
    const child = spawn("bash", ["-c", script, process.execPath, BIN, "pairing", "allowlist", "telegram", ...extra], {
      env: cliEnv(stateDir),
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 20_000,
    });
    const result = await collectOutput(child);
    expect(result.stdout).toBe("status 0\n");
    expect(result.stderr).toBe("");
  });
});
