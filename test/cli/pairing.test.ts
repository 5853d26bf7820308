import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  BIN,
  ROOT,
  cliEnv,
  collectOutput,
  fileMode,
  listTree,
  readJsonFile,
  runJson,
  runMoltbot,
  tempDir,
  tempStateDir,
  type RunResult,
} from "../helpers.js";

const VERSION = readJsonFile<{ version: string }>(path.join(ROOT, "package.json")).version;
const CODE = /^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}$/;
const APPROVED = "Moltbot access approved. Send a message to start chatting.";
const ALL_CHANNELS = [
  "telegram",
  "whatsapp",
  "signal",
  "imessage",
  "discord",
  "slack",
  "matrix",
  "msteams",
  "mattermost",
  "bluebubbles",
  "nextcloud-talk",
  "zalo",
  "zalouser",
  "nostr",
];
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

type Options = Parameters<typeof runMoltbot>[1];
interface ErrorJson {
  error: { code: string; message: string };
}
interface RequestJson {
  channel: string;
  id: string;
  status: string;
  code?: string;
  expiresAt?: string;
  message?: string;
}
interface StoredRequest {
  id: string;
  code: string;
  createdAt: string;
  lastSeenAt: string;
  meta?: Record<string, string>;
  [key: string]: unknown;
}

const credentials = (stateDir: string, file: string) => path.join(stateDir, "credentials", file);
const iso = (ms: number) => new Date(ms).toISOString();

function writeStore(stateDir: string, file: string, data: unknown): string {
  const full = credentials(stateDir, file);
  fs.mkdirSync(path.dirname(full), { recursive: true, mode: 0o700 });
  fs.writeFileSync(full, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  return full;
}

function stored(id: string, code: string, createdAt: number, extra: Partial<StoredRequest> = {}): StoredRequest {
  return { id, code, createdAt: iso(createdAt), lastSeenAt: iso(createdAt), ...extra };
}

/** Every file and directory under `dir` with its bytes (or mode), to prove "nothing changed". */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of listTree(dir)) {
    const full = path.join(dir, entry);
    const stat = fs.statSync(full);
    out[entry] = stat.isDirectory()
      ? `dir ${(stat.mode & 0o777).toString(8)}`
      : `${(stat.mode & 0o777).toString(8)} ${fs.readFileSync(full, "utf8")}`;
  }
  return out;
}

/** Asserts the human error contract: nothing on stdout, one line on stderr, no stack trace. */
function expectHumanError(result: RunResult, exitCode: number, ...fragments: string[]): void {
  expect(result.code).toBe(exitCode);
  expect(result.stdout).toBe("");
  expect(result.stderr.endsWith("\n")).toBe(true);
  expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(result.stderr).toMatch(/^moltbot: /);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  for (const fragment of fragments) expect(result.stderr).toContain(fragment);
}

/** Asserts the JSON error contract: exactly {"error":{"code","message"}} on stdout, nothing else. */
function expectJsonError(result: RunResult & { json: unknown }, exitCode: number, code: string): string {
  expect(result.code).toBe(exitCode);
  expect(result.stderr).toBe("");
  const json = result.json as ErrorJson;
  expect(Object.keys(json)).toEqual(["error"]);
  expect(Object.keys(json.error)).toEqual(["code", "message"]);
  expect(json.error.code).toBe(code);
  expect(json.error.message.length).toBeGreaterThan(10);
  return json.error.message;
}

async function request(
  stateDir: string,
  channel: string,
  senderId: string,
  extra: string[] = [],
  options: Partial<Options> = {},
) {
  const result = await runJson<RequestJson>(["pairing", "request", channel, senderId, ...extra], {
    stateDir,
    ...options,
  });
  expect(result.code, result.stdout + result.stderr).toBe(0);
  return result.json;
}

/** Run the built bin through a shell, to set a umask or a resource limit first. */
function runInShell(prefix: string, args: readonly string[], stateDir: string): Promise<RunResult> {
  return collectOutput(
    spawn("sh", ["-c", `${prefix}; exec "$0" "$@"`, process.execPath, BIN, ...args], {
      env: cliEnv(stateDir),
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 25_000,
    }),
  );
}

describe("moltbot --version and --help", () => {
  it("--version prints the package version", async () => {
    const result = await runMoltbot(["--version"], { stateDir: tempStateDir() });
    expect(result).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
  });

  it("--help on pairing and on every pairing command shows an example and exits 0", async () => {
    const stateDir = tempStateDir();
    const commands = ["list", "request", "approve", "reject", "allowlist", "revoke"];
    const results = await Promise.all([
      runMoltbot(["pairing", "--help"], { stateDir }),
      ...commands.map((verb) => runMoltbot(["pairing", verb, "--help"], { stateDir })),
    ]);
    expect(results[0].code).toBe(0);
    expect(results[0].stdout).toMatch(/Example/);
    commands.forEach((verb, index) => {
      const result = results[index + 1]!;
      expect(result.code, verb).toBe(0);
      expect(result.stdout).toContain(`Usage: moltbot pairing ${verb}`);
      expect(result.stdout).toMatch(/Examples?:/);
      expect(result.stdout).toContain(`$ moltbot pairing ${verb} `);
    });
    expect(fs.existsSync(stateDir)).toBe(false);
  });
});

describe("pairing without a command", () => {
  it("is a usage error (exit 2) that points at the noun's help, human and --json", async () => {
    const stateDir = tempStateDir();
    const [human, json] = await Promise.all([
      runMoltbot(["pairing"], { stateDir }),
      runJson(["pairing"], { stateDir }),
    ]);
    expectHumanError(human, 2, 'Run "moltbot pairing --help" for usage.');
    expectJsonError(json, 2, "USAGE");
  });
});

describe("pairing request", () => {
  it("a new sender: prints exactly the reply to send on stdout and how to approve on stderr", async () => {
    const stateDir = tempStateDir();
    const result = await runMoltbot(["pairing", "request", "Telegram", "123456789", "--meta", "username=alice"], {
      stateDir,
    });
    expect(result.code).toBe(0);
    const code = /Pairing code: (\S+)/.exec(result.stdout)![1]!;
    expect(code).toMatch(CODE);
    expect(result.stdout).toBe(
      `Moltbot: access not configured.\n\nYour Telegram user id: 123456789\n\nPairing code: ${code}\n\nAsk the bot owner to approve with:\nmoltbot pairing approve telegram ${code}\n`,
    );
    expect(result.stderr).toContain(`moltbot pairing approve telegram ${code}`);
    const file = readJsonFile<{ version: number; requests: StoredRequest[] }>(
      credentials(stateDir, "telegram-pairing.json"),
    );
    expect(file.version).toBe(1);
    expect(file.requests).toEqual([
      {
        id: "123456789",
        code,
        createdAt: expect.any(String),
        lastSeenAt: file.requests[0]!.createdAt,
        meta: { username: "alice" },
      },
    ]);
    expect(file.requests[0]!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("--json: created with code, expiry 1 h after createdAt and the message; the channel reply line per channel", async () => {
    const stateDir = tempStateDir();
    const [signal, signalUuid, whatsapp, matrix] = await Promise.all([
      request(stateDir, "signal", "+4915112345678"),
      request(stateDir, "signal", "uuid:0b5e-77"),
      request(stateDir, "whatsapp", "+4915112345678"),
      request(stateDir, "matrix", "@alice:example.org"),
    ]);
    expect(Object.keys(signal)).toEqual(["channel", "account", "id", "status", "code", "expiresAt", "message"]);
    expect(signal).toMatchObject({ channel: "signal", id: "+4915112345678", status: "created" });
    expect(signal.message).toContain("\nYour Signal number: +4915112345678\n");
    expect(signalUuid.message).toContain("\nYour Signal sender id: uuid:0b5e-77\n");
    expect(whatsapp.message).toContain("\nYour WhatsApp phone number: +4915112345678\n");
    // Matrix's reply has no id line (its adapter sends none).
    expect(matrix.message).not.toContain("user id");
    const [first] = readJsonFile<{ requests: StoredRequest[] }>(
      credentials(stateDir, "signal-pairing.json"),
    ).requests.filter((r) => r.code === signal.code);
    expect(Date.parse(signal.expiresAt!) - Date.parse(first!.createdAt)).toBe(HOUR);
  });

  it("a repeat sender: pending with the same code, no message, lastSeenAt updated, meta replaced", async () => {
    const stateDir = tempStateDir();
    const file = writeStore(stateDir, "telegram-pairing.json", {
      version: 1,
      requests: [stored("123", "ABCD2345", Date.now() - 30 * MINUTE, { meta: { username: "alice" } })],
    });
    const human = await runMoltbot(["pairing", "request", "telegram", "tg:123"], { stateDir });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("already has pending telegram code ABCD2345");
    expect(human.stdout).not.toContain("Pairing code:");
    const json = await request(stateDir, "telegram", "123", ["--meta", "username=bob"]);
    expect(json).toEqual({
      channel: "telegram",
      account: "default",
      id: "123",
      status: "pending",
      code: "ABCD2345",
      expiresAt: iso(Date.parse(readJsonFile<{ requests: StoredRequest[] }>(file).requests[0]!.createdAt) + HOUR),
    });
    const [after] = readJsonFile<{ requests: StoredRequest[] }>(file).requests;
    expect(after!.meta).toEqual({ username: "bob" });
    expect(Date.parse(after!.lastSeenAt)).toBeGreaterThan(Date.parse(after!.createdAt) + 29 * MINUTE);
  });

  it("the cap: a fourth sender is capped, nothing is stored, and the human output says so", async () => {
    const stateDir = tempStateDir();
    for (const id of ["1", "2", "3"]) expect((await request(stateDir, "slack", `U${id}`)).status).toBe("created");
    const before = snapshot(stateDir);
    const json = await request(stateDir, "slack", "U4");
    expect(json).toEqual({ channel: "slack", account: "default", id: "U4", status: "capped" });
    const human = await runMoltbot(["pairing", "request", "slack", "U5"], { stateDir });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("maximum number of pending requests");
    expect(snapshot(stateDir)).toEqual(before);
  });

  it("MOLTBOT_PAIRING_MAX_PENDING sets the cap; a bad value is a usage error that creates nothing", async () => {
    const stateDir = tempStateDir();
    const env = { MOLTBOT_PAIRING_MAX_PENDING: "1" };
    expect((await request(stateDir, "discord", "1", [], { env })).status).toBe("created");
    expect((await request(stateDir, "discord", "2", [], { env })).status).toBe("capped");
    const fresh = tempStateDir();
    const results = await Promise.all(
      ["0", "101", "abc", "2.5"].map((value) =>
        runJson(["pairing", "request", "discord", "1"], {
          stateDir: fresh,
          env: { MOLTBOT_PAIRING_MAX_PENDING: value },
        }),
      ),
    );
    for (const result of results) expect(expectJsonError(result, 2, "USAGE")).toContain("MOLTBOT_PAIRING_MAX_PENDING");
    expect(fs.existsSync(fresh)).toBe(false);
  });

  it("an approved sender is allowed: no code, nothing written", async () => {
    const stateDir = tempStateDir();
    writeStore(stateDir, "telegram-allowFrom.json", { version: 1, allowFrom: ["123"] });
    const before = snapshot(stateDir);
    expect(await request(stateDir, "telegram", "telegram:123")).toEqual({
      channel: "telegram",
      account: "default",
      id: "telegram:123",
      status: "allowed",
    });
    const human = await runMoltbot(["pairing", "request", "telegram", "123"], { stateDir });
    expect(human.stdout).toBe("123 is already allowed on telegram; no code needed.\n");
    expect(snapshot(stateDir)).toEqual(before);
  });

  it("bad sender ids and --meta are usage errors (exit 2) and create nothing", async () => {
    const stateDir = tempStateDir();
    const results = await Promise.all([
      runJson(["pairing", "request", "telegram", "*"], { stateDir }),
      runJson(["pairing", "request", "telegram", "tg:"], { stateDir }),
      runJson(["pairing", "request", "telegram", "12\u001b[2J"], { stateDir }),
      runJson(["pairing", "request", "telegram", "1", "--meta", "novalue"], { stateDir }),
      runJson(["pairing", "request", "telegram", "1", "--meta", "bad key=v"], { stateDir }),
      runJson(["pairing", "request", "telegram"], { stateDir }),
    ]);
    for (const result of results) expectJsonError(result, 2, "USAGE");
    expectHumanError(await runMoltbot(["pairing", "request", "telegram", "*"], { stateDir }), 2, "never be approved");
    expect(fs.existsSync(stateDir)).toBe(false);
  });
});

describe("pairing approve and reject", () => {
  it("approve: the normalised id joins the allowlist, the request goes, human and --json", async () => {
    const stateDir = tempStateDir();
    const now = Date.now();
    writeStore(stateDir, "telegram-pairing.json", {
      version: 1,
      requests: [stored("tg:777", "ABCD2345", now - 3 * MINUTE), stored("888", "EFGH2345", now - 2 * MINUTE)],
    });
    const human = await runMoltbot(["pairing", "approve", "telegram", "ABCD2345"], { stateDir });
    expect(human.code).toBe(0);
    expect(human.stdout).toBe("Approved telegram sender tg:777 (code ABCD2345).\n");
    expect(human.stderr).toContain(APPROVED);
    const json = await runJson(["pairing", "approve", "--channel", "TELEGRAM", " efgh2345 "], { stateDir });
    expect(json.code).toBe(0);
    expect(json.stdout).toBe(
      `${JSON.stringify({ channel: "telegram", account: "default", code: "EFGH2345", id: "888", message: APPROVED }, null, 2)}\n`,
    );
    expect(readJsonFile(credentials(stateDir, "telegram-allowFrom.json"))).toEqual({
      version: 1,
      allowFrom: ["777", "888"],
    });
    expect(readJsonFile(credentials(stateDir, "telegram-pairing.json"))).toEqual({ version: 1, requests: [] });
  });

  it("the code list shows is exactly what approve accepts", async () => {
    const stateDir = tempStateDir();
    await request(stateDir, "imsg", "alice@example.com");
    const list = await runMoltbot(["pairing", "list", "imessage"], { stateDir });
    const row = list.stdout.split("\n").find((line) => line.includes("alice@example.com"))!;
    const shown = row.split(/\s+/)[0]!;
    expect(shown).toMatch(CODE);
    const approve = await runMoltbot(["pairing", "approve", "imsg", shown], { stateDir });
    expect(approve.code).toBe(0);
    expect(readJsonFile(credentials(stateDir, "imessage-allowFrom.json"))).toEqual({
      version: 1,
      allowFrom: ["alice@example.com"],
    });
  });

  it("an unknown code is NOT_FOUND as always; an expired one says EXPIRED and how long ago; neither changes anything", async () => {
    const stateDir = tempStateDir();
    writeStore(stateDir, "telegram-pairing.json", {
      version: 1,
      requests: [stored("1", "XPRD2345", Date.now() - HOUR - MINUTE)],
    });
    const before = snapshot(stateDir);
    const [unknownHuman, expiredHuman, unknownJson, expiredJson, rejectExpired] = await Promise.all([
      runMoltbot(["pairing", "approve", "telegram", "WXYZ2345"], { stateDir }),
      runMoltbot(["pairing", "approve", "telegram", "XPRD2345"], { stateDir }),
      runJson(["pairing", "approve", "telegram", "WXYZ2345"], { stateDir }),
      runJson(["pairing", "approve", "telegram", "xprd2345"], { stateDir }),
      runJson(["pairing", "reject", "telegram", "XPRD2345"], { stateDir }),
    ]);
    expectHumanError(
      unknownHuman,
      1,
      "No pending telegram request with code WXYZ2345",
      "moltbot pairing list telegram",
    );
    expect(unknownHuman.stderr).toBe(
      'moltbot: No pending telegram request with code WXYZ2345. Run "moltbot pairing list telegram" to see pending codes.\n',
    );
    expectHumanError(expiredHuman, 1, "Code XPRD2345 expired 1 min ago", "telegram sender 1");
    expectJsonError(unknownJson, 1, "NOT_FOUND");
    expect(expectJsonError(expiredJson, 1, "EXPIRED")).toMatch(
      /^Code XPRD2345 expired 1 min ago, at \S+Z \(codes last 1 hour/,
    );
    expectJsonError(rejectExpired, 1, "EXPIRED");
    expect(snapshot(stateDir)).toEqual(before);
  });

  it("malformed codes, unknown channels and missing arguments are usage errors (exit 2)", async () => {
    const stateDir = tempStateDir();
    const [badCode, typo, typoHuman, missing, missingHuman, both, badCodeHuman] = await Promise.all([
      runJson(["pairing", "approve", "telegram", "ABC"], { stateDir }),
      runJson(["pairing", "approve", "telegarm", "ABCD2345"], { stateDir }),
      runMoltbot(["pairing", "list", "telegarm"], { stateDir }),
      runJson(["pairing", "approve", "telegram"], { stateDir }),
      runMoltbot(["pairing", "reject"], { stateDir }),
      runJson(["pairing", "approve", "--channel", "telegram", "telegram", "ABCD2345"], { stateDir }),
      runMoltbot(["pairing", "approve", "telegram", "ABCD234O"], { stateDir }),
    ]);
    expectJsonError(badCode, 2, "INVALID_CODE");
    expect(expectJsonError(typo, 2, "UNKNOWN_CHANNEL")).toContain('Did you mean "telegram"?');
    expectHumanError(typoHuman, 2, 'Did you mean "telegram"?', "Valid channels: telegram, whatsapp");
    expectJsonError(missing, 2, "USAGE");
    expectHumanError(missingHuman, 2, "moltbot pairing list");
    expectJsonError(both, 2, "USAGE");
    expectHumanError(badCodeHuman, 2, "is not a pairing code");
    expect(fs.existsSync(stateDir)).toBe(false);
  });

  it("reject removes the request without approving it, human and --json", async () => {
    const stateDir = tempStateDir();
    writeStore(stateDir, "discord-pairing.json", {
      version: 1,
      requests: [stored("user:1", "AAAA2345", Date.now() - MINUTE), stored("2", "BBBB2345", Date.now())],
    });
    const human = await runMoltbot(["pairing", "reject", "discord", "aaaa2345"], { stateDir });
    expect(human).toMatchObject({ code: 0, stdout: "Rejected discord request AAAA2345 from user:1.\n" });
    const json = await runJson(["pairing", "reject", "--channel", "discord", "BBBB2345"], { stateDir });
    expect(json.json).toEqual({ channel: "discord", account: "default", code: "BBBB2345", id: "2" });
    expect(readJsonFile(credentials(stateDir, "discord-pairing.json"))).toEqual({ version: 1, requests: [] });
    expect(fs.existsSync(credentials(stateDir, "discord-allowFrom.json"))).toBe(false);
  });
});

describe("pairing list", () => {
  it("on a fresh machine: empty results, approve/reject find nothing, and the disk is left untouched", async () => {
    const root = tempDir();
    const stateDir = path.join(root, "state");
    const [human, humanOne, json, jsonOne, allow, allowJson, revoke, approve, reject] = await Promise.all([
      runMoltbot(["pairing", "list"], { stateDir }),
      runMoltbot(["pairing", "list", "telegram"], { stateDir }),
      runJson(["pairing", "list"], { stateDir }),
      runJson(["pairing", "list", "telegram"], { stateDir }),
      runMoltbot(["pairing", "allowlist", "telegram"], { stateDir }),
      runJson(["pairing", "allowlist", "telegram"], { stateDir }),
      runJson(["pairing", "revoke", "telegram", "tg:1"], { stateDir }),
      runJson(["pairing", "approve", "telegram", "ABCD2345"], { stateDir }),
      runMoltbot(["pairing", "reject", "telegram", "ABCD2345"], { stateDir }),
    ]);
    expect(human).toMatchObject({ code: 0, stdout: "" });
    expect(human.stderr).toContain("No pending pairing requests");
    expect(humanOne).toMatchObject({ code: 0, stdout: "" });
    expect(json.stdout).toBe('{\n  "channels": []\n}\n');
    expect(jsonOne.json).toEqual({ channel: "telegram", requests: [] });
    expect(allow).toMatchObject({ code: 0, stdout: "" });
    expect(allow.stderr).toContain("No approved telegram senders");
    expect(allowJson.json).toEqual({ channel: "telegram", account: "default", allowFrom: [] });
    expect(revoke.json).toEqual({ channel: "telegram", account: "default", id: "1", removed: false });
    expectJsonError(approve, 1, "NOT_FOUND");
    expectHumanError(reject, 1, "No pending telegram request with code ABCD2345");
    expect(listTree(root)).toEqual([]);
  });

  it("without a channel shows every channel with live requests, oldest first, and touches nothing", async () => {
    const stateDir = tempStateDir();
    const now = Date.now();
    ALL_CHANNELS.forEach((channel, index) => {
      writeStore(stateDir, `${channel}-pairing.json`, {
        version: 1,
        requests: [
          stored(`${channel}-newer`, "BBBB2345", now - MINUTE),
          stored(`${channel}-expired`, "CCCC2345", now - HOUR - MINUTE),
          stored(`${channel}-older`, "AAAA2345", now - 10 * MINUTE - index * 1000, { meta: { username: `u${index}` } }),
        ],
      });
    });
    writeStore(stateDir, "signal-allowFrom.json", { version: 1, allowFrom: ["+1"] });
    const before = snapshot(stateDir);
    const [json, human] = await Promise.all([
      runJson<{ channels: { channel: string; requests: { id: string }[] }[] }>(["pairing", "list"], { stateDir }),
      runMoltbot(["pairing", "list"], { stateDir }),
    ]);
    expect(json.code).toBe(0);
    expect(json.json.channels.map((c) => c.channel)).toEqual(ALL_CHANNELS);
    for (const listed of json.json.channels) {
      expect(listed.requests.map((r) => r.id)).toEqual([`${listed.channel}-older`, `${listed.channel}-newer`]);
    }
    expect(human.code).toBe(0);
    for (const channel of ALL_CHANNELS) {
      expect(human.stdout).toContain(`${channel} (2 pending)`);
      expect(human.stdout).toContain(`${channel}-older`);
      expect(human.stdout).not.toContain(`${channel}-expired`);
    }
    expect(human.stdout).toMatch(/CODE\s+telegramUserId\s+META\s+REQUESTED\s+EXPIRES/);
    expect(human.stdout).toMatch(/CODE\s+signalNumber\s+/);
    expect(human.stdout).toMatch(/CODE\s+nextcloudUserId\s+/);
    expect(human.stderr).toContain("moltbot pairing approve <channel> <CODE>");
    expect(snapshot(stateDir)).toEqual(before);
  });

  it("for one channel: table with code, id label, meta, age and time left; --json with the documented fields", async () => {
    const stateDir = tempStateDir();
    const now = Date.now();
    writeStore(stateDir, "telegram-pairing.json", {
      version: 1,
      // Half a minute off the whole minutes, so a slow spawn cannot tip a rounded figure.
      requests: [
        stored("222", "BBBB2345", now - 5 * MINUTE + 30_000),
        stored("111", "AAAA2345", now - 20 * MINUTE + 30_000, { meta: { username: "alice" }, agent: "main" }),
      ],
    });
    const [human, json] = await Promise.all([
      runMoltbot(["pairing", "list", "TELEGRAM"], { stateDir }),
      runJson<{ channel: string; requests: Record<string, unknown>[] }>(["pairing", "list", "telegram"], { stateDir }),
    ]);
    const lines = human.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^CODE\s+telegramUserId\s+META\s+REQUESTED\s+EXPIRES( IN)?$/);
    expect(lines[1]).toMatch(/^AAAA2345\s+111\s+username=alice\s+19 min ago\s+(in )?40 min$/);
    expect(lines[2]).toMatch(/^BBBB2345\s+222\s+4 min ago\s+(in )?55 min$/);
    expect(human.stderr).toContain("moltbot pairing approve telegram <CODE>");
    expect(json.json.channel).toBe("telegram");
    expect(json.json.requests.map((r) => Object.keys(r))).toEqual([
      ["id", "account", "code", "createdAt", "lastSeenAt", "expiresAt", "meta"],
      ["id", "account", "code", "createdAt", "lastSeenAt", "expiresAt"],
    ]);
    expect(json.json.requests[0]!.expiresAt).toBe(iso(now - 20 * MINUTE + 30_000 + HOUR));
  });

  it("escapes control characters from senders in every human output", async () => {
    const stateDir = tempStateDir();
    const now = Date.now();
    const evil = "\u001b[2J\u001b]0;pwned\u0007x\u202e1";
    writeStore(stateDir, "telegram-pairing.json", {
      version: 1,
      requests: [stored(evil, "AAAA2345", now - MINUTE, { meta: { name: "a\nb\rc\u0000" } })],
    });
    writeStore(stateDir, "slack-allowFrom.json", { version: 1, allowFrom: [`U1${evil}`] });
    const [list, listAll, allow, created] = await Promise.all([
      runMoltbot(["pairing", "list", "telegram"], { stateDir }),
      runMoltbot(["pairing", "list"], { stateDir }),
      runMoltbot(["pairing", "allowlist", "slack"], { stateDir }),
      runMoltbot(["pairing", "request", "mattermost", "@eve\u202e:example.org"], { stateDir }),
    ]);
    const approve = await runMoltbot(["pairing", "approve", "telegram", "AAAA2345"], { stateDir });
    for (const result of [list, listAll, allow, created, approve]) {
      expect(result.code).toBe(0);
      expect(result.stdout + result.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/);
    }
    expect(list.stdout).toContain("\\e[2J\\e]0;pwned\\x07x\\u202e1");
    expect(list.stdout).toContain("name=a\\nb\\rc\\x00");
    expect(allow.stdout).toBe("U1\\e[2J\\e]0;pwned\\x07x\\u202e1\n");
    expect(created.stdout).toContain("Your Mattermost user id: @eve\\u202e:example.org\n");
    expect(approve.stdout).toContain("\\e[2J");
    // The raw id is kept as data: JSON output carries it unchanged.
    const json = await runJson<{ allowFrom: string[] }>(["pairing", "allowlist", "telegram"], { stateDir });
    expect(json.json.allowFrom).toEqual([evil]);
  });
});

describe("pairing allowlist and revoke", () => {
  it("allowlist prints one approved sender per line, and the list as JSON", async () => {
    const stateDir = tempStateDir();
    writeStore(stateDir, "telegram-allowFrom.json", { version: 1, allowFrom: ["111", "222"] });
    const [human, json] = await Promise.all([
      runMoltbot(["pairing", "allowlist", "telegram"], { stateDir }),
      runJson(["pairing", "allowlist", "telegram"], { stateDir }),
    ]);
    expect(human).toMatchObject({ code: 0, stdout: "111\n222\n" });
    expect(json.stdout).toBe(
      '{\n  "channel": "telegram",\n  "account": "default",\n  "allowFrom": [\n    "111",\n    "222"\n  ]\n}\n',
    );
  });

  it("revoke normalises like approve: revoke telegram tg:123 removes 123; a second revoke reports removed false", async () => {
    const stateDir = tempStateDir();
    const file = writeStore(stateDir, "telegram-allowFrom.json", {
      version: 1,
      allowFrom: ["123", "456"],
      policy: "pairing",
    });
    const human = await runMoltbot(["pairing", "revoke", "telegram", "tg:123"], { stateDir });
    expect(human).toMatchObject({ code: 0, stdout: "Removed 123 from the telegram allowlist.\n" });
    expect(fs.readFileSync(file, "utf8")).toBe(
      '{\n  "version": 1,\n  "allowFrom": [\n    "456"\n  ],\n  "policy": "pairing"\n}\n',
    );
    const again = await runJson(["pairing", "revoke", "telegram", "TELEGRAM:123"], { stateDir });
    expect(again.json).toEqual({ channel: "telegram", account: "default", id: "123", removed: false });
    const json = await runJson(["pairing", "revoke", "telegram", "456"], { stateDir });
    expect(json.json).toEqual({ channel: "telegram", account: "default", id: "456", removed: true });
    const humanAbsent = await runMoltbot(["pairing", "revoke", "telegram", "999"], { stateDir });
    expect(humanAbsent).toMatchObject({ code: 0, stdout: "999 was not on the telegram allowlist; nothing changed.\n" });
  });
});

describe("store problems exit 3 and change nothing", () => {
  it("a corrupt pending file: one line naming the file and doctor, or a JSON STORE_CORRUPT", async () => {
    const stateDir = tempStateDir();
    const file = writeStore(stateDir, "telegram-pairing.json", {});
    fs.writeFileSync(file, "{ half a file");
    const before = snapshot(stateDir);
    const [human, json, request, listAll] = await Promise.all([
      runMoltbot(["pairing", "list", "telegram"], { stateDir }),
      runJson(["pairing", "approve", "telegram", "ABCD2345"], { stateDir }),
      runJson(["pairing", "request", "telegram", "1"], { stateDir }),
      runJson(["pairing", "list"], { stateDir }),
    ]);
    expectHumanError(human, 3, file, "moltbot doctor");
    expect(expectJsonError(json, 3, "STORE_CORRUPT")).toContain(file);
    expectJsonError(request, 3, "STORE_CORRUPT");
    // Listing every channel reports the broken one and still lists the others (none here): exit 3.
    expect(listAll.code).toBe(3);
    expect(listAll.json).toEqual({
      channels: [],
      errors: [{ channel: "telegram", code: "STORE_CORRUPT", message: expect.stringContaining(file) }],
    });
    expect(snapshot(stateDir)).toEqual(before);
  });

  it("approve with an allowlist of the wrong shape or a directory in its place: exit 3, byte-for-byte unchanged", async () => {
    const wrongShape = tempStateDir();
    const directory = tempStateDir();
    for (const stateDir of [wrongShape, directory]) {
      writeStore(stateDir, "telegram-pairing.json", { version: 1, requests: [stored("1", "ABCD2345", Date.now())] });
    }
    writeStore(wrongShape, "telegram-allowFrom.json", { version: 1, allowFrom: "123" });
    fs.mkdirSync(credentials(directory, "telegram-allowFrom.json"));
    const before = [snapshot(wrongShape), snapshot(directory)];
    const [a, b] = await Promise.all([
      runJson(["pairing", "approve", "telegram", "ABCD2345"], { stateDir: wrongShape }),
      runMoltbot(["pairing", "approve", "telegram", "ABCD2345"], { stateDir: directory }),
    ]);
    expect(expectJsonError(a, 3, "STORE_CORRUPT")).toContain("telegram-allowFrom.json");
    expectHumanError(b, 3, "telegram-allowFrom.json");
    expect([snapshot(wrongShape), snapshot(directory)]).toEqual(before);
  });

  it.runIf(process.getuid?.() === 0)(
    "approve as the gateway's user with a root-owned allowlist (left by sudo): exit 3 permission, nothing changed",
    async () => {
      const root = tempDir();
      const stateDir = path.join(root, "state");
      writeStore(stateDir, "telegram-pairing.json", { version: 1, requests: [stored("1", "ABCD2345", Date.now())] });
      const allow = writeStore(stateDir, "telegram-allowFrom.json", { version: 1, allowFrom: ["9"] });
      const nobody = 65534;
      for (const entry of [root, stateDir, path.dirname(allow), credentials(stateDir, "telegram-pairing.json")])
        fs.chownSync(entry, nobody, nobody);
      const before = snapshot(root);
      const result = await collectOutput(
        spawn(process.execPath, [BIN, "pairing", "approve", "telegram", "ABCD2345", "--json"], {
          env: cliEnv(stateDir),
          cwd: ROOT,
          uid: nobody,
          gid: nobody,
          stdio: ["ignore", "pipe", "pipe"],
          timeout: 25_000,
        }),
      );
      expect(expectJsonError({ ...result, json: JSON.parse(result.stdout) }, 3, "STORE_PERMISSION")).toContain(allow);
      expect(snapshot(root)).toEqual(before);
    },
  );

  it("a process killed between the allowlist write and the pending rewrite never loses the approval", async () => {
    const stateDir = tempStateDir();
    // A pending file far larger than the allowlist: with a 64 KiB file-size limit the kernel kills
    // the process (SIGXFSZ) in the middle of rewriting it, after the allowlist was written.
    const pendingFile = writeStore(stateDir, "telegram-pairing.json", {
      version: 1,
      padding: "x".repeat(200_000),
      requests: [stored("tg:42", "ABCD2345", Date.now())],
    });
    const pendingBefore = fs.readFileSync(pendingFile, "utf8");
    const crashed = await runInShell("ulimit -f 64", ["pairing", "approve", "telegram", "ABCD2345"], stateDir);
    expect(crashed.code).not.toBe(0);
    expect(readJsonFile(credentials(stateDir, "telegram-allowFrom.json"))).toEqual({ version: 1, allowFrom: ["42"] });
    expect(fs.readFileSync(pendingFile, "utf8")).toBe(pendingBefore);
    // The sender is let in already; approving again finishes the job without a duplicate.
    expect((await request(stateDir, "telegram", "42")).status).toBe("allowed");
    const retry = await runMoltbot(["pairing", "approve", "telegram", "ABCD2345"], { stateDir });
    expect(retry.code).toBe(0);
    expect(readJsonFile(credentials(stateDir, "telegram-allowFrom.json"))).toEqual({ version: 1, allowFrom: ["42"] });
    const after = readJsonFile<{ padding: string; requests: unknown[] }>(pendingFile);
    expect(after.requests).toEqual([]);
    expect(after.padding).toHaveLength(200_000);
  });
});

describe("files on disk", () => {
  it("directories 0700 and files 0600 under umask 000, 2-space JSON with a trailing newline", async () => {
    const root = tempDir();
    const stateDir = path.join(root, "a", "state");
    const created = await runInShell("umask 000", ["pairing", "request", "whatsapp", "+49151", "--json"], stateDir);
    expect(created.code).toBe(0);
    const { code } = JSON.parse(created.stdout) as RequestJson;
    expect((await runInShell("umask 000", ["pairing", "approve", "whatsapp", code!], stateDir)).code).toBe(0);
    expect(fileMode(path.join(root, "a"))).toBe(0o700);
    expect(fileMode(stateDir)).toBe(0o700);
    expect(fileMode(path.join(stateDir, "credentials"))).toBe(0o700);
    expect(fileMode(credentials(stateDir, "whatsapp-pairing.json"))).toBe(0o600);
    expect(fileMode(credentials(stateDir, "whatsapp-allowFrom.json"))).toBe(0o600);
    expect(fs.readFileSync(credentials(stateDir, "whatsapp-allowFrom.json"), "utf8")).toBe(
      '{\n  "version": 1,\n  "allowFrom": [\n    "+49151"\n  ]\n}\n',
    );
    expect(fs.readFileSync(credentials(stateDir, "whatsapp-pairing.json"), "utf8")).toBe(
      '{\n  "version": 1,\n  "requests": []\n}\n',
    );
    expect(listTree(root)).toEqual([
      "a",
      "a/state",
      "a/state/credentials",
      "a/state/credentials/whatsapp-allowFrom.json",
      "a/state/credentials/whatsapp-pairing.json",
      "a/state/moltbot",
      "a/state/moltbot/decisions.head.json",
      "a/state/moltbot/decisions.jsonl",
      "a/state/moltbot/whatsapp-codes.json",
    ]);
    // moltbot's own records (decision log, code history) under the same rule.
    expect(fileMode(path.join(stateDir, "moltbot"))).toBe(0o700);
    for (const name of ["decisions.head.json", "decisions.jsonl", "whatsapp-codes.json"]) {
      expect(fileMode(path.join(stateDir, "moltbot", name)), name).toBe(0o600);
    }
  });

  it("fields a newer gateway added are kept, top-level and per request, across request and approve", async () => {
    const stateDir = tempStateDir();
    const now = Date.now();
    writeStore(stateDir, "telegram-pairing.json", {
      version: 1,
      gateway: { build: "2026.2" },
      requests: [
        stored("1", "AAAA2345", now - MINUTE, { agentId: "main", channelMeta: { chat: 5 } }),
        stored("2", "BBBB2345", now),
      ],
    });
    writeStore(stateDir, "telegram-allowFrom.json", { version: 1, allowFrom: [], updatedBy: "gateway" });
    expect((await runMoltbot(["pairing", "approve", "telegram", "BBBB2345"], { stateDir })).code).toBe(0);
    expect((await request(stateDir, "telegram", "1")).status).toBe("pending");
    const pending = readJsonFile<{ gateway: unknown; requests: StoredRequest[] }>(
      credentials(stateDir, "telegram-pairing.json"),
    );
    expect(pending.gateway).toEqual({ build: "2026.2" });
    expect(pending.requests).toHaveLength(1);
    expect(pending.requests[0]).toMatchObject({ id: "1", agentId: "main", channelMeta: { chat: 5 } });
    expect(readJsonFile(credentials(stateDir, "telegram-allowFrom.json"))).toEqual({
      version: 1,
      allowFrom: ["2"],
      updatedBy: "gateway",
    });
  });
});

describe("state directory resolution (spawned with a temporary HOME)", () => {
  const noStateEnv = (home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    HOME: home,
    MOLTBOT_STATE_DIR: undefined,
    ...extra,
  });
  const pendingIn = (dir: string) => fs.existsSync(path.join(dir, "credentials", "telegram-pairing.json"));

  it("--state-dir > MOLTBOT_STATE_DIR > CLAWDBOT_STATE_DIR > ~/.clawdbot", async () => {
    const home = tempDir();
    const [flag, molt, clawd] = ["flag", "molt", "clawd"].map((name) => path.join(home, name)) as [
      string,
      string,
      string,
    ];
    const env = noStateEnv(home, { MOLTBOT_STATE_DIR: molt, CLAWDBOT_STATE_DIR: clawd });
    await request(flag, "telegram", "1", ["--state-dir", flag], { env });
    expect([pendingIn(flag), pendingIn(molt), pendingIn(clawd)]).toEqual([true, false, false]);
    await request(flag, "telegram", "1", [], { env });
    expect([pendingIn(molt), pendingIn(clawd)]).toEqual([true, false]);
    await request(flag, "telegram", "1", [], { env: noStateEnv(home, { CLAWDBOT_STATE_DIR: clawd }) });
    expect(pendingIn(clawd)).toBe(true);
    expect(fs.existsSync(path.join(home, ".clawdbot"))).toBe(false);
    await request(flag, "telegram", "1", [], { env: noStateEnv(home) });
    expect(pendingIn(path.join(home, ".clawdbot"))).toBe(true);
  });

  it("uses ~/.moltbot when only it exists; with both, uses ~/.clawdbot and warns once on stderr", async () => {
    const onlyMolt = tempDir();
    fs.mkdirSync(path.join(onlyMolt, ".moltbot"));
    const first = await runJson(["pairing", "request", "telegram", "1"], {
      stateDir: "unused",
      env: noStateEnv(onlyMolt),
    });
    expect(first.stderr).toBe("");
    expect(pendingIn(path.join(onlyMolt, ".moltbot"))).toBe(true);
    expect(fs.existsSync(path.join(onlyMolt, ".clawdbot"))).toBe(false);

    const both = tempDir();
    fs.mkdirSync(path.join(both, ".moltbot"));
    fs.mkdirSync(path.join(both, ".clawdbot"));
    const [json, human] = await Promise.all([
      runJson(["pairing", "request", "telegram", "1"], { stateDir: "unused", env: noStateEnv(both) }),
      runMoltbot(["pairing", "list", "telegram"], { stateDir: "unused", env: noStateEnv(both) }),
    ]);
    expect(json.code).toBe(0);
    expect((json.json as RequestJson).channel).toBe("telegram");
    for (const result of [json, human]) {
      const warnings = result.stderr.split("\n").filter((line) => line.includes(".moltbot"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(path.join(both, ".clawdbot"));
    }
    expect(pendingIn(path.join(both, ".clawdbot"))).toBe(true);
    expect(listTree(path.join(both, ".moltbot"))).toEqual([]);
  });

  it("expands a leading ~ and resolves relative paths against the working directory", async () => {
    const home = tempDir();
    const cwd = tempDir();
    await request("unused", "telegram", "1", [], { env: noStateEnv(home, { MOLTBOT_STATE_DIR: "~/tilde-env" }) });
    await request("unused", "telegram", "1", ["--state-dir", "~/tilde-flag"], { env: noStateEnv(home) });
    await request("unused", "telegram", "1", ["--state-dir", "rel/state"], { env: noStateEnv(home), cwd });
    await request("unused", "telegram", "1", [], { env: noStateEnv(home, { CLAWDBOT_STATE_DIR: "./clawd" }), cwd });
    expect(pendingIn(path.join(home, "tilde-env"))).toBe(true);
    expect(pendingIn(path.join(home, "tilde-flag"))).toBe(true);
    expect(pendingIn(path.join(cwd, "rel", "state"))).toBe(true);
    expect(pendingIn(path.join(cwd, "clawd"))).toBe(true);
  });

  it("MOLTBOT_OAUTH_DIR > CLAWDBOT_OAUTH_DIR > <state>/credentials holds the DM files", async () => {
    const home = tempDir();
    const stateDir = path.join(home, "state");
    const oauth1 = path.join(home, "oauth1");
    await request(stateDir, "telegram", "1", [], {
      env: { HOME: home, MOLTBOT_OAUTH_DIR: oauth1, CLAWDBOT_OAUTH_DIR: path.join(home, "oauth2") },
    });
    await request(stateDir, "slack", "U1", [], { env: { HOME: home, CLAWDBOT_OAUTH_DIR: "~/oauth2" } });
    // moltbot's code history stays in the state dir, wherever the DM files are.
    expect(listTree(home)).toEqual([
      "oauth1",
      "oauth1/telegram-pairing.json",
      "oauth2",
      "oauth2/slack-pairing.json",
      "state",
      "state/moltbot",
      "state/moltbot/slack-codes.json",
      "state/moltbot/telegram-codes.json",
    ]);
    const listed = await runJson<{ channels: { channel: string }[] }>(["pairing", "list"], {
      stateDir,
      env: { HOME: home, MOLTBOT_OAUTH_DIR: oauth1 },
    });
    expect(listed.json.channels.map((c) => c.channel)).toEqual(["telegram"]);
  });
});
