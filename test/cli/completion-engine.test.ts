import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Command } from "commander";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completes, declaredKinds } from "../../src/cli/completion-kinds.js";
import { completeWords, type Completion } from "../../src/cli/completion-engine.js";
import { completionReply, quoteForBash, splitBashLine } from "../../src/cli/completion.js";
import type { Runner } from "../../src/cli/pairing.js";
import { buildProgram } from "../../src/cli/program.js";
import { CHANNEL_NAMES } from "../../src/core/channels.js";
import { listTree, tempDir, tempStateDir } from "../helpers.js";
import { HOSTILE, NODE_REQUEST, NOW, QUOTEY, WAITING_REQUEST, completionStore } from "./completion-fixture.js";

const noop: Runner = () => async () => {};
const io = {
  out: () => {},
  err: () => {},
  color: false,
  columns: 80,
  interactive: false,
  env: {},
  readStdin: async () => "",
  confirm: async () => false,
};

let program: Command;
let stateDir: string;
let otherStateDir: string;
// Shared by the whole file (read only), so not one of the per-test temporary directories.
const shared = fs.mkdtempSync(path.join(os.tmpdir(), "moltbot-completion-"));
beforeAll(async () => {
  program = await buildProgram(io, noop);
  stateDir = completionStore({ stateDir: path.join(shared, "state") });
  otherStateDir = completionStore({
    stateDir: path.join(shared, "other"),
    telegramCodes: ["OTHR2345"],
    pairedDevices: ["other-phone"],
  });
});
afterAll(() => fs.rmSync(shared, { recursive: true, force: true }));

function complete(words: readonly string[], env: NodeJS.ProcessEnv = { MOLTBOT_STATE_DIR: stateDir }): Completion {
  return completeWords(program, words, { env, now: () => NOW });
}

/** The words offered (no descriptions); "<dirs>" when the shell is asked to complete a directory. */
function offered(words: readonly string[], env?: NodeJS.ProcessEnv): string[] {
  const completion = complete(words, env);
  return completion.type === "dirs" ? ["<dirs>"] : completion.candidates.map((candidate) => candidate.value);
}

const CODES = ["ABCD2345", "EFGH6789", ...HOSTILE];
const PAIRED = ["phone-1", ...HOSTILE, QUOTEY];
const sorted = (values: readonly string[]) => [...values].sort();

describe("completion engine: commands and options, from the program", () => {
  it.each([
    { words: [""], expected: ["pairing", "devices", "nodes", "doctor", "log", "completion", "help"] },
    { words: ["pa"], expected: ["pairing"] },
    { words: ["zz"], expected: [] },
    {
      words: ["pairing", ""],
      expected: [
        "list",
        "request",
        "approve",
        "reject",
        "allowlist",
        "revoke",
        "block",
        "unblock",
        "blocked",
        "wait",
        "watch",
        "help",
      ],
    },
    { words: ["pairing", "re"], expected: ["request", "reject", "revoke"] },
    {
      words: ["devices", ""],
      expected: [
        "list",
        "request",
        "approve",
        "reject",
        "rotate",
        "revoke",
        "remove",
        "rename",
        "clear",
        "verify",
        "help",
      ],
    },
    { words: ["nodes", ""], expected: ["pending", "approve", "reject", "remove", "rename", "help"] },
    { words: ["--json", "pa"], expected: ["pairing"] },
    { words: ["--state-dir", "/x", "de"], expected: ["devices"] },
    { words: ["--"], expected: ["--version", "--json", "--state-dir", "--help"] },
    {
      words: ["pairing", "approve", "--"],
      expected: ["--channel", "--account", "--notify", "--expect-id", "--reason", "--help", "--json", "--state-dir"],
    },
    {
      words: ["pairing", "approve", "-"],
      expected: [
        "--channel",
        "--account",
        "--notify",
        "--expect-id",
        "--reason",
        "-h",
        "--help",
        "--json",
        "--state-dir",
      ],
    },
    { words: ["pairing", "request", "--m"], expected: ["--meta"] },
    {
      words: ["devices", "approve", "-"],
      expected: [
        "--latest",
        "-y",
        "--yes",
        "--expect-fingerprint",
        "--reason",
        "-h",
        "--help",
        "--json",
        "--state-dir",
      ],
    },
    { words: ["doctor", "--"], expected: ["--fix", "--help", "--json", "--state-dir"] },
    { words: ["completion", ""], expected: ["bash", "zsh", "fish"] },
    { words: ["completion", "z"], expected: ["zsh"] },
    { words: ["completion", "bash", ""], expected: [] },
    // The hidden engine entry is never offered.
    { words: ["__"], expected: [] },
  ])("$words → $expected", ({ words, expected }) => {
    expect(offered(words)).toEqual(expected);
  });

  it("describes commands and options in one line each (zsh and fish show it)", () => {
    const completion = complete(["pairing", ""]);
    expect(completion).toMatchObject({
      type: "values",
      candidates: expect.arrayContaining([
        { value: "approve", description: "approve a pending code: the sender joins the channel's allowlist" },
      ]),
    });
    const options = complete(["pairing", "list", "--j"]);
    expect(options).toEqual({
      type: "values",
      candidates: [
        { value: "--json", description: "print one JSON document on stdout (errors, help and --version too)" },
      ],
    });
  });
});

describe("completion engine: values, by the kind declared where each argument is registered", () => {
  it.each([
    { words: ["pairing", "list", ""], expected: [...CHANNEL_NAMES] },
    { words: ["pairing", "approve", "TEL"], expected: ["telegram"] },
    { words: ["pairing", "allowlist", "sl"], expected: ["slack"] },
    { words: ["pairing", "revoke", "ma"], expected: ["matrix", "mattermost"] },
    { words: ["pairing", "request", "n"], expected: ["nextcloud-talk", "nostr"] },
    { words: ["pairing", "reject", "--channel", "wh"], expected: ["whatsapp"] },
    { words: ["pairing", "approve", "--channel=tel"], expected: ["--channel=telegram"] },
    { words: ["pairing", "list", "--json", "sig"], expected: ["signal"] },
    // A sender id is the sender's: nothing to offer.
    { words: ["pairing", "request", "telegram", ""], expected: [] },
    { words: ["pairing", "revoke", "telegram", ""], expected: [] },
    { words: ["devices", "request", "--device-id", ""], expected: [] },
    { words: ["devices", "rotate", "--role", ""], expected: [] },
    { words: ["completion", "--state-dir", "x", "f"], expected: ["fish"] },
  ])("$words → $expected", ({ words, expected }) => {
    expect(offered(words)).toEqual(expected);
  });

  it.each([
    { words: ["pairing", "approve", "telegram", ""], expected: CODES },
    { words: ["pairing", "reject", "telegram", ""], expected: CODES },
    { words: ["pairing", "approve", "TeleGram", ""], expected: CODES },
    { words: ["pairing", "approve", "telegram", "ab"], expected: ["ABCD2345"] },
    { words: ["pairing", "approve", "telegram", "$("], expected: [HOSTILE[0]] },
    { words: ["pairing", "approve", "--channel", "telegram", ""], expected: CODES },
    { words: ["pairing", "approve", "--channel=telegram", ""], expected: CODES },
    { words: ["pairing", "approve", "--channel", "telegram", "--json", "E"], expected: ["EFGH6789"] },
    { words: ["pairing", "approve", "signal", ""], expected: ["SIGN2345"] },
    { words: ["pairing", "approve", "slack", ""], expected: [] },
    { words: ["pairing", "approve", "telegarm", ""], expected: [] },
    { words: ["pairing", "approve", "../../etc", ""], expected: [] },
    // approve takes two arguments: nothing after the code.
    { words: ["pairing", "approve", "telegram", "ABCD2345", ""], expected: [] },
    { words: ["pairing", "approve", "--channel", "telegram", "ABCD2345", ""], expected: [] },
  ])("pending codes: $words → $expected", ({ words, expected }) => {
    expect(sorted(offered(words))).toEqual(sorted(expected));
  });

  it.each([
    { words: ["devices", "approve", ""], expected: [WAITING_REQUEST] },
    { words: ["devices", "reject", "6f"], expected: [WAITING_REQUEST] },
    { words: ["devices", "approve", "--latest", ""], expected: [WAITING_REQUEST] },
    { words: ["devices", "remove", ""], expected: PAIRED },
    { words: ["devices", "remove", "ph"], expected: ["phone-1"] },
    { words: ["devices", "rotate", "--device", ""], expected: PAIRED },
    { words: ["devices", "rotate", "--role", "node", "--device", "ph"], expected: ["phone-1"] },
    { words: ["devices", "revoke", "--device=ph"], expected: ["--device=phone-1"] },
    { words: ["devices", "verify", "--device", "`"], expected: [HOSTILE[1]] },
    { words: ["nodes", "approve", ""], expected: [NODE_REQUEST] },
    { words: ["nodes", "reject", ""], expected: [NODE_REQUEST] },
    { words: ["nodes", "approve", NODE_REQUEST, ""], expected: [] },
  ])("device and node ids: $words → $expected", ({ words, expected }) => {
    expect(sorted(offered(words))).toEqual(sorted(expected));
  });

  it("describes each code by its sender, and each id by what the device says it is", () => {
    const codes = complete(["pairing", "approve", "telegram", "A"]);
    expect(codes).toEqual({ type: "values", candidates: [{ value: "ABCD2345", description: "111 (alice)" }] });
    expect(complete(["devices", "approve", ""])).toEqual({
      type: "values",
      candidates: [{ value: WAITING_REQUEST, description: "Work Mac node" }],
    });
    expect(complete(["devices", "remove", "p"])).toEqual({
      type: "values",
      candidates: [{ value: "phone-1", description: "Alice's phone ios node" }],
    });
    expect(complete(["nodes", "approve", ""])).toEqual({
      type: "values",
      candidates: [{ value: NODE_REQUEST, description: "Pi linux" }],
    });
  });

  it("leaves out expired entries and words with control, bidi or zero-width characters", () => {
    const codes = offered(["pairing", "approve", "telegram", ""]);
    expect(codes).not.toContain("OLDC2345");
    expect(codes.some((code) => code.includes("\n"))).toBe(false);
    expect(offered(["devices", "approve", "exp"])).toEqual([]);
    const ids = offered(["devices", "remove", ""]);
    expect(ids.filter((id) => /[\t\u202e]/.test(id))).toEqual([]);
  });

  it.each([
    { words: ["--state-dir", ""] },
    { words: ["--state-dir", "/tm"] },
    { words: ["--state-dir=/tm"] },
    { words: ["pairing", "list", "--state-dir", ""] },
    { words: ["devices", "remove", "--state-dir=~/"] },
  ])("--state-dir: $words → the shell completes a directory", ({ words }) => {
    expect(complete(words)).toEqual({ type: "dirs" });
  });
});

describe("completion engine: which store it reads", () => {
  it.each([
    { words: ["--state-dir", "OTHER", "pairing", "approve", "telegram", ""] },
    { words: ["--state-dir=OTHER", "pairing", "approve", "telegram", ""] },
    { words: ["pairing", "approve", "--state-dir", "OTHER", "telegram", ""] },
    { words: ["pairing", "approve", "telegram", "--state-dir", "OTHER", ""] },
  ])("a --state-dir typed on the line wins over the environment: $words", ({ words }) => {
    const typed = words.map((word) => word.replace("OTHER", otherStateDir));
    expect(offered(typed)).toEqual(["OTHR2345"]);
    expect(offered(["--state-dir", otherStateDir, "devices", "remove", ""])).toEqual(["other-phone"]);
  });

  it("reads the state dir from the environment as every command does ($MOLTBOT_STATE_DIR, $CLAWDBOT_STATE_DIR)", () => {
    expect(offered(["pairing", "approve", "telegram", ""], { MOLTBOT_STATE_DIR: otherStateDir })).toEqual(["OTHR2345"]);
    expect(offered(["pairing", "approve", "telegram", ""], { CLAWDBOT_STATE_DIR: otherStateDir })).toEqual([
      "OTHR2345",
    ]);
    expect(offered(["pairing", "approve", "telegram", ""], { HOME: tempDir() })).toEqual([]);
  });

  it("an empty --state-dir offers nothing rather than the default store (the command refuses it)", () => {
    expect(offered(["--state-dir", "", "pairing", "approve", "telegram", ""])).toEqual([]);
    expect(offered(["--state-dir=  ", "devices", "remove", ""])).toEqual([]);
  });

  it("reads without a lock and creates nothing: the store stays byte-identical, an absent one absent", () => {
    const snapshot = () =>
      listTree(stateDir).map((file) => {
        const at = path.join(stateDir, file);
        return [file, fs.statSync(at).isFile() ? fs.readFileSync(at, "utf8") : "<dir>", fs.statSync(at).mtimeMs];
      });
    // A lock held by someone else (proper-lockfile's lock directory) does not make completion wait.
    const lock = path.join(stateDir, "credentials", "telegram-pairing.json.lock");
    fs.mkdirSync(lock);
    const before = snapshot();
    const started = Date.now();
    expect(sorted(offered(["pairing", "approve", "telegram", ""]))).toEqual(sorted(CODES));
    expect(Date.now() - started).toBeLessThan(1000);
    offered(["devices", "remove", ""]);
    offered(["devices", "approve", ""]);
    offered(["nodes", "approve", ""]);
    expect(snapshot()).toEqual(before);
    fs.rmdirSync(lock);
    const absent = tempStateDir();
    expect(offered(["--state-dir", absent, "pairing", "approve", "telegram", ""])).toEqual([]);
    expect(offered(["--state-dir", absent, "devices", "remove", ""])).toEqual([]);
    expect(offered(["--state-dir", absent, "nodes", "approve", ""])).toEqual([]);
    expect(fs.existsSync(absent)).toBe(false);
  });

  it.each([
    { what: "not JSON", file: "credentials/telegram-pairing.json", text: "{not json" },
    { what: "the wrong shape", file: "credentials/telegram-pairing.json", text: '{"version":1,"requests":"x"}\n' },
    { what: "not JSON", file: "devices/paired.json", text: "\u0000\u0001" },
    { what: "the wrong shape", file: "nodes/pending.json", text: "[1,2]\n" },
  ])("a store file that is $what offers nothing and never throws ($file)", ({ file, text }) => {
    const broken = completionStore();
    fs.writeFileSync(path.join(broken, file), text);
    const env = { MOLTBOT_STATE_DIR: broken };
    const words = file.startsWith("credentials")
      ? ["pairing", "approve", "telegram", ""]
      : file.startsWith("devices")
        ? ["devices", "remove", ""]
        : ["nodes", "approve", ""];
    expect(offered(words, env)).toEqual([]);
    // The rest of the store still completes.
    expect(offered(["pairing", "approve", "signal", ""], env)).toEqual(["SIGN2345"]);
  });

  it("a FIFO or a directory in place of a store file offers nothing, without hanging", () => {
    const odd = completionStore();
    const pending = path.join(odd, "credentials", "telegram-pairing.json");
    fs.rmSync(pending);
    expect(spawnSync("mkfifo", [pending]).status).toBe(0);
    fs.rmSync(path.join(odd, "devices", "paired.json"));
    fs.mkdirSync(path.join(odd, "devices", "paired.json"));
    const env = { MOLTBOT_STATE_DIR: odd };
    expect(offered(["pairing", "approve", "telegram", ""], env)).toEqual([]);
    expect(offered(["devices", "remove", ""], env)).toEqual([]);
  });
});

describe("completion kinds are declared where arguments are registered", () => {
  const commandAt = (path: string): Command =>
    path.split(" ").reduce((command, name) => command.commands.find((sub) => sub.name() === name)!, program);

  it.each([
    { path: "pairing approve", kinds: { channel: "channel", code: "dm-code", "--channel": "channel" } },
    { path: "pairing reject", kinds: { channel: "channel", code: "dm-code", "--channel": "channel" } },
    { path: "pairing list", kinds: { channel: "channel", "--channel": "channel" } },
    { path: "devices approve", kinds: { id: "device-request" } },
    { path: "devices remove", kinds: { deviceId: "paired-device", "--device": "paired-device" } },
    { path: "devices rotate", kinds: { "--device": "paired-device" } },
    { path: "nodes reject", kinds: { requestId: "node-request" } },
    // A new device's id is its own to choose: no kind, even though the option is named like the others.
    { path: "devices request", kinds: {} },
  ])("$path: $kinds", ({ path, kinds }) => {
    expect(declaredKinds(commandAt(path))).toEqual(kinds);
  });

  it("a declaration naming an argument, option or command that does not exist throws at registration", () => {
    const parent = new Command("widgets");
    parent.command("frob <channel>").option("--hard <x>");
    expect(() => completes(parent, "frob", { channel: "channel", "--hard": "state-dir" })).not.toThrow();
    expect(() => completes(parent, "frob", { chanel: "channel" })).toThrow(/"frob" has no argument or option "chanel"/);
    expect(() => completes(parent, "frob", { "--soft": "channel" })).toThrow(/no argument or option "--soft"/);
    expect(() => completes(parent, "frobnicate", {})).toThrow(/"widgets" has no subcommand "frobnicate"/);
  });

  it("an argument's kind follows its declaration, not its name", () => {
    const toy = new Command("toy").option("--state-dir <dir>");
    completes(toy, "", { "--state-dir": "state-dir" });
    toy.command("pick <channel> <thing>");
    toy.command("chat <where>");
    completes(toy, "chat", { where: "channel" });
    const env = { MOLTBOT_STATE_DIR: stateDir };
    expect(completeWords(toy, ["pick", "tel"], { env })).toEqual({ type: "values", candidates: [] });
    expect(completeWords(toy, ["chat", "tel"], { env })).toEqual({
      type: "values",
      candidates: [{ value: "telegram" }],
    });
    expect(completeWords(toy, ["--state-dir", ""], { env })).toEqual({ type: "dirs" });
  });
});

describe("bash: the line before the cursor, split as bash would", () => {
  const BREAKS = ` \t\n"'><=;|&(:`;
  it.each([
    { line: "moltbot pairing approve ", words: ["pairing", "approve"], current: { value: "", kept: 0 } },
    { line: "moltbot pairing appr", words: ["pairing"], current: { value: "appr", kept: 0 } },
    { line: "FOO=1 moltbot pa", words: [], current: { value: "pa", kept: 0 } },
    { line: "moltbot --state-dir=/tm", words: [], current: { value: "--state-dir=/tm", kept: 12 } },
    { line: "moltbot x tg:12", words: ["x"], current: { value: "tg:12", kept: 3 } },
    { line: "moltbot x 'tg:12'", words: ["x"], current: { value: "tg:12", kept: 0 } },
    { line: "moltbot x 'a b", words: ["x"], current: { value: "a b", kept: 0, quote: "'" } },
    { line: "moltbot x ab'c d", words: ["x"], current: { value: "abc d", kept: 2, quote: "'" } },
    { line: 'moltbot x "a\\"b\\$c\\d', words: ["x"], current: { value: 'a"b$c\\d', kept: 0, quote: '"' } },
    { line: "moltbot --x='a", words: [], current: { value: "--x=a", kept: 4, quote: "'" } },
    { line: "moltbot a\\ b\\'c d", words: ["a b'c"], current: { value: "d", kept: 0 } },
    { line: "moltbot x \\$\\(to", words: ["x"], current: { value: "$(to", kept: 0 } },
    {
      line: "moltbot  --state-dir  '/my dir'  devices remove p",
      words: ["--state-dir", "/my dir", "devices", "remove"],
      current: { value: "p", kept: 0 },
    },
  ])("$line", ({ line, words, current }) => {
    expect(splitBashLine(line, BREAKS)).toEqual({ words, current });
  });

  it.each(["", "moltbot", "FOO=1 molt", "A=1 B=2"])("%j: the command name itself is being typed: nothing", (line) => {
    expect(splitBashLine(line, BREAKS)).toBeUndefined();
  });

  it("honours the user's COMP_WORDBREAKS (without ':' an id with a colon is one word)", () => {
    expect(splitBashLine("moltbot x tg:12", ` \t\n"'><=;|&(`)?.current).toEqual({ value: "tg:12", kept: 0 });
  });
});

describe("bash: every candidate is quoted for the command line", () => {
  const NASTY = [
    ...HOSTILE,
    "a b",
    "it's",
    'say "hi"',
    "!!",
    "~root",
    "back\\slash",
    "*?[x]",
    "a#b",
    "{a,b}",
    "x=y:z",
    "é ü",
    "-rf",
    "ends'",
    'ends"',
    "ends!",
    QUOTEY,
  ];

  it.each([
    { text: "ABCD2345", quote: undefined, expected: "ABCD2345" },
    { text: "phone-1", quote: undefined, expected: "phone-1" },
    { text: HOSTILE[0], quote: undefined, expected: "\\$\\(touch\\$\\{IFS\\}pwned\\)" },
    { text: HOSTILE[2], quote: undefined, expected: "\\;touch\\ pwned" },
    { text: "it's", quote: "'" as const, expected: "it'\\''s" },
    { text: "it'", quote: "'" as const, expected: "it'\\'''" },
    { text: 'a "b"', quote: '"' as const, expected: 'a \\"b\\""' },
    { text: "a!!", quote: '"' as const, expected: `a"'!'""'!'""` },
    { text: "$x`y`", quote: '"' as const, expected: "\\$x\\`y\\`" },
  ])("$text inside $quote → $expected", ({ text, quote, expected }) => {
    expect(quoteForBash(text, quote)).toBe(expected);
  });

  it.each(NASTY)("bash itself reads %j back, literally, in each quoting context, and runs nothing", (text) => {
    const cwd = tempDir();
    for (const quote of [undefined, "'", '"'] as const) {
      const inserted = quoteForBash(text, quote);
      // What readline does after inserting a single match inside a quote the user opened.
      const closing = quote === undefined || inserted.endsWith(quote) ? "" : quote;
      const script = `printf '%s\\0' ${quote ?? ""}${inserted}${closing}`;
      const run = spawnSync("bash", ["--norc", "--noprofile", "-c", script], { cwd, encoding: "utf8" });
      expect(run.stderr, `quote ${quote}`).toBe("");
      expect(run.stdout, `quote ${quote}`).toBe(`${text}\0`);
    }
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});

describe("completionReply: what each shell script reads", () => {
  const BREAKS = ` \t\n"'><=;|&(:`;
  const reply = (shell: string, args: string[]) =>
    completionReply(program, shell, args, { env: { MOLTBOT_STATE_DIR: stateDir }, now: () => NOW });

  it.each([
    { line: "moltbot pairing approve tel", expected: "values\ntelegram\n" },
    { line: "moltbot pairing approve --channel=tel", expected: "values\ntelegram\n" },
    { line: "moltbot pairing approve 'tel", expected: "values\ntelegram\n" },
    { line: "moltbot devices remove ph", expected: "values\nphone-1\n" },
    { line: "moltbot devices remove \\$", expected: "values\n\\$\\(touch\\$\\{IFS\\}pwned\\)\n" },
    { line: "moltbot devices remove '$", expected: "values\n$(touch${IFS}pwned)\n" },
    { line: 'moltbot devices remove "$', expected: "values\n\\$(touch\\${IFS}pwned)\n" },
    { line: "moltbot --state-dir=/t", expected: "dirs\n/t\n" },
    { line: "moltbot --state-dir '/my d", expected: "dirs\n/my d\n" },
    { line: "moltbot", expected: "" },
  ])("bash $line → $expected", ({ line, expected }) => {
    expect(reply("bash", [BREAKS, line])).toBe(expected);
  });

  it("zsh and fish get value<TAB>description lines, unquoted (they quote when inserting)", () => {
    expect(reply("zsh", ["pairing", "approve", "telegram", "A"])).toBe("values\nABCD2345\t111 (alice)\n");
    expect(reply("fish", ["devices", "remove", "\\$"])).toBe(`values\n${HOSTILE[0]}\n`);
    expect(reply("fish", ["devices", "remove", "'`"])).toBe(`values\n${HOSTILE[1]}\n`);
    expect(reply("zsh", ["--state-dir=/t"])).toBe("dirs\n");
    expect(reply("zsh", [])).toBe(reply("zsh", [""]));
  });

  it("an unknown shell, or anything unexpected, is an empty reply", () => {
    expect(reply("tcsh", ["pairing", ""])).toBe("");
    expect(reply("bash", [])).toBe("");
  });
});
