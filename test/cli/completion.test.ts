import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPLETION_SCRIPTS, SHELLS, type Shell } from "../../src/cli/completion.js";
import { nounsFor } from "../../src/cli/program.js";
import { BIN, ROOT, cliEnv, runMoltbot, tempDir, tempStateDir } from "../helpers.js";
import { HOSTILE, NODE_REQUEST, QUOTEY, WAITING_REQUEST, completionStore } from "./completion-fixture.js";
import { startShell, type ShellSession } from "./completion-terminal.js";

/*
 * Completion through the real thing: the built CLI, and bash, zsh and fish running the scripts it
 * prints. zsh and fish are required (.ci/run installs them): without them these tests fail.
 */

const shq = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** The scripts as the built CLI prints them (what a user sources). */
const scripts = {} as Record<Shell, string>;
beforeAll(async () => {
  for (const shell of SHELLS) {
    const run = await runMoltbot(["completion", shell], { stateDir: tempStateDir() });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    scripts[shell] = run.stdout;
  }
});

describe("moltbot completion <shell>", () => {
  it("prints the script for each shell", () => {
    for (const shell of SHELLS) expect(scripts[shell]).toBe(COMPLETION_SCRIPTS[shell]);
    expect(scripts.bash).toContain("complete -F _moltbot moltbot");
    expect(scripts.zsh).toMatch(/^#compdef moltbot\n/);
    expect(scripts.fish).toContain("complete -c moltbot -f -a '(__moltbot_complete)'");
  });

  it("says how to install it, in the script and in the help", async () => {
    expect(scripts.bash).toContain("source <(moltbot completion bash)");
    expect(scripts.zsh).toContain(`eval "$(moltbot completion zsh)"`);
    expect(scripts.fish).toContain("moltbot completion fish > ~/.config/fish/completions/moltbot.fish");
    const help = await runMoltbot(["completion", "--help"], { stateDir: tempStateDir() });
    expect(help.stdout).toMatch(/^Usage: moltbot completion \[options\] <shell>\n/);
    expect(help.stdout).toContain("source <(moltbot completion bash)");
    const top = await runMoltbot(["--help"], { stateDir: tempStateDir() });
    expect(top.stdout).toMatch(/\n {2}completion <shell> +print the shell completion script/);
    expect(top.stdout).not.toContain("__complete");
  });

  it("without a shell, or with an unknown one, is a usage error (exit 2)", async () => {
    const none = await runMoltbot(["completion"], { stateDir: tempStateDir() });
    expect(none).toMatchObject({ code: 2, stdout: "" });
    expect(none.stderr).toBe(
      `moltbot: Missing required argument 'shell'. Run "moltbot completion --help" for usage.\n`,
    );
    const tcsh = await runMoltbot(["completion", "tcsh"], { stateDir: tempStateDir() });
    expect(tcsh).toMatchObject({ code: 2, stdout: "" });
    expect(tcsh.stderr).toContain("Allowed choices are bash, zsh, fish.");
    const json = await runMoltbot(["completion", "--json"], { stateDir: tempStateDir() });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: "USAGE" } });
  });

  it("--json wraps the script in one document", async () => {
    const run = await runMoltbot(["completion", "fish", "--json"], { stateDir: tempStateDir() });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ shell: "fish", script: scripts.fish });
  });
});

describe("the scripts", () => {
  it.each([
    { shell: "bash", check: ["bash", "-n"] },
    { shell: "zsh", check: ["zsh", "-n"] },
    { shell: "fish", check: ["fish", "--no-execute"] },
  ] as const)("$shell accepts its script ($check)", ({ shell, check }) => {
    const file = path.join(tempDir(), `moltbot.${shell}`);
    fs.writeFileSync(file, scripts[shell]);
    const run = spawnSync(check[0], [check[1], file], { encoding: "utf8" });
    expect(run.error).toBeUndefined();
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    // And the check can fail: a broken copy is refused.
    fs.writeFileSync(file, `${scripts[shell]}\n${shell === "fish" ? "end" : "fi"}\n`);
    expect(spawnSync(check[0], [check[1], file]).status).not.toBe(0);
  });

  it.each(SHELLS)("the %s script is a short shim that evaluates nothing", (shell) => {
    const code = scripts[shell]
      .split("\n")
      .filter((line) => !/^\s*#/.test(line))
      .join("\n");
    expect(code.split("\n").length).toBeLessThan(40);
    expect(code).not.toMatch(/\beval\b/);
    expect(code).not.toContain("compgen -W");
    expect(code).toContain("moltbot __complete");
  });
});

describe("moltbot __complete (what the scripts call)", () => {
  it("answers from the store of the environment, in a real process", async () => {
    const stateDir = completionStore({ now: Date.now() });
    const run = await runMoltbot(["__complete", "zsh", "--", "pairing", "approve", "telegram", "a"], { stateDir });
    expect(run).toEqual({ code: 0, signal: null, stdout: "values\nABCD2345\t111 (alice)\n", stderr: "" });
  });

  it.each([
    { what: "no shell", args: ["__complete"] },
    { what: "an unknown shell", args: ["__complete", "tcsh", "--", "pairing", ""] },
    { what: "bash without a line", args: ["__complete", "bash"] },
    { what: "--json among the words", args: ["__complete", "zsh", "--", "--json", "--bogus", "x", ""] },
  ])("$what: exit 0, nothing on stderr", async ({ args }) => {
    const run = await runMoltbot(args, { stateDir: tempStateDir() });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout === "" || run.stdout === "values\n").toBe(true);
  });

  it("a broken store gives no candidates, exit 0, nothing on stderr, and is left as it was", async () => {
    const stateDir = tempStateDir();
    fs.mkdirSync(path.join(stateDir, "credentials"), { recursive: true });
    const file = path.join(stateDir, "credentials", "telegram-pairing.json");
    fs.writeFileSync(file, "{not json");
    const run = await runMoltbot(["__complete", "zsh", "--", "pairing", "approve", "telegram", ""], { stateDir });
    expect(run).toEqual({ code: 0, signal: null, stdout: "values\n", stderr: "" });
    expect(fs.readFileSync(file, "utf8")).toBe("{not json");
    expect(fs.readdirSync(path.dirname(file))).toEqual(["telegram-pairing.json"]);
  });
});

describe("start-up: commands other than completion never load it", () => {
  it("each noun loads alone; only the engine entry loads every noun", () => {
    expect(nounsFor({ words: ["pairing", "list"] }).map((noun) => noun.name)).toEqual(["pairing"]);
    expect(nounsFor({ words: ["completion", "bash"] }).map((noun) => noun.name)).toEqual(["completion"]);
    expect(nounsFor({ words: ["__complete", "bash", "--", "x"] }).map((noun) => noun.name)).toEqual([
      "pairing",
      "devices",
      "nodes",
      "doctor",
      "log",
      "completion",
      "__complete",
    ]);
  });

  /** Modules `file` imports statically (not `import()`), transitively, within src/. */
  function staticImports(file: string, seen = new Set<string>()): Set<string> {
    for (const match of fs.readFileSync(file, "utf8").matchAll(/^import (?!type )[^;]*?from "(\.[^"]+)";/gms)) {
      const target = path.resolve(path.dirname(file), match[1]!.replace(/\.js$/, ".ts"));
      if (!seen.has(target)) {
        seen.add(target);
        staticImports(target, seen);
      }
    }
    return seen;
  }

  it.each(["program.ts", "pairing.ts", "devices.ts", "nodes.ts", "doctor.ts"])(
    "src/cli/%s does not import the completion engine (completion-kinds.ts is all it needs)",
    (module) => {
      const reached = [...staticImports(path.join(ROOT, "src", "cli", module))].map((file) => path.basename(file));
      expect(reached).not.toContain("completion.ts");
      expect(reached).not.toContain("completion-engine.ts");
    },
  );

  it("completion-kinds.ts, on every command's start-up path, imports nothing at run time", () => {
    const source = fs.readFileSync(path.join(ROOT, "src", "cli", "completion-kinds.ts"), "utf8");
    expect(source.match(/^import .*$/gm)).toEqual(['import type { Command } from "commander";']);
  });
});

/*
 * Round trips through each shell's own completion machinery. The store holds, among ordinary codes
 * and ids, words that run `touch pwned` if a shell ever evaluates them.
 */
let stateDir: string;
let otherStateDir: string;
let env: NodeJS.ProcessEnv;
let dirs: string;
// Shared by the round trips below (read only), so not one of the per-test temporary directories.
const shared = fs.mkdtempSync(path.join(os.tmpdir(), "moltbot-completion-shells-"));
beforeAll(() => {
  stateDir = completionStore({ now: Date.now(), stateDir: path.join(shared, "state") });
  otherStateDir = completionStore({
    now: Date.now(),
    // A space in its path: the shells must hand over the typed --state-dir without its quotes.
    stateDir: path.join(shared, "other store"),
    telegramCodes: ["OTHR2345"],
    pairedDevices: ["other-phone"],
  });
  dirs = path.join(shared, "dirs");
  fs.mkdirSync(path.join(dirs, "only-dir-xyz"), { recursive: true });
  fs.writeFileSync(path.join(dirs, "only-file-xyz"), "");
  const bin = path.join(shared, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "moltbot"), `#!/bin/sh\nexec ${shq(process.execPath)} ${shq(BIN)} "$@"\n`, {
    mode: 0o755,
  });
  fs.writeFileSync(path.join(shared, "moltbot.bash"), scripts.bash);
  env = cliEnv(stateDir, { PATH: `${bin}:${process.env.PATH ?? ""}` });
});
afterAll(() => fs.rmSync(shared, { recursive: true, force: true }));

describe("bash: the script's completion function, called as readline calls it", () => {
  /** Source the script, set COMP_* for `line` (cursor at its end), call _moltbot, print COMPREPLY. */
  function bashComplete(line: string, cwd?: string): string[] {
    const words = line.split(" ");
    const program = `source ${shq(path.join(shared, "moltbot.bash"))}
COMP_LINE=${shq(line)}; COMP_POINT=\${#COMP_LINE}
COMP_WORDS=(${words.map(shq).join(" ")}); COMP_CWORD=${words.length - 1}
_moltbot; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const run = spawnSync("bash", ["--norc", "--noprofile", "-c", program], {
      env,
      encoding: "utf8",
      timeout: 20_000,
      ...(cwd ? { cwd } : {}),
    });
    expect(run.stderr).toBe("");
    return run.stdout.split("\n").filter((entry) => entry !== "");
  }

  it.each([
    { line: "moltbot pa", expected: ["pairing"] },
    {
      line: "moltbot pairing ",
      expected: [
        ...["list", "request", "approve", "reject", "allowlist", "revoke"],
        ...["block", "unblock", "blocked", "wait", "watch", "help"],
      ],
    },
    {
      line: "moltbot pairing approve --",
      expected: ["--account", "--channel", "--expect-id", "--help", "--json", "--notify", "--reason", "--state-dir"],
    },
    { line: "moltbot completion ", expected: ["bash", "zsh", "fish"] },
    { line: "moltbot pairing approve TEL", expected: ["telegram"] },
    { line: "moltbot pairing reject --channel wh", expected: ["whatsapp"] },
    { line: "moltbot pairing approve --channel=tel", expected: ["telegram"] },
    { line: "moltbot pairing approve telegram ab", expected: ["ABCD2345"] },
    { line: "moltbot pairing approve telegram ABCD2345 ", expected: [] },
    { line: "moltbot pairing approve signal ", expected: ["SIGN2345"] },
    { line: "moltbot devices approve ", expected: [WAITING_REQUEST] },
    { line: "moltbot devices remove ph", expected: ["phone-1"] },
    { line: "moltbot devices rotate --role node --device ph", expected: ["phone-1"] },
    { line: "moltbot nodes reject ", expected: [NODE_REQUEST] },
    { line: "moltbot devices request --device-id ", expected: [] },
    // Quoted for the command line, never expanded: what readline inserts.
    { line: "moltbot devices remove \\$", expected: ["\\$\\(touch\\$\\{IFS\\}pwned\\)"] },
    { line: "moltbot devices remove '`", expected: ["`touch pwned`"] },
    { line: "moltbot pairing approve telegram \\;", expected: ["\\;touch\\ pwned"] },
    { line: "moltbot devices remove spa", expected: [`spaced\\ \\'single\\'\\ \\"double\\"\\ \\!\\!`] },
  ])("$line → $expected", ({ line, expected }) => {
    expect(bashComplete(line).sort()).toEqual([...expected].sort());
  });

  it("reads the store named by a --state-dir typed earlier on the line (either spelling)", () => {
    const other = shq(otherStateDir);
    expect(bashComplete(`moltbot --state-dir ${other} pairing approve telegram `)).toEqual(["OTHR2345"]);
    expect(bashComplete(`moltbot --state-dir=${other} devices remove `)).toEqual(["other-phone"]);
    expect(bashComplete(`moltbot pairing approve --state-dir ${other} telegram O`)).toEqual(["OTHR2345"]);
    expect(bashComplete(`moltbot --state-dir ${otherStateDir.replace(/ /g, "\\ ")} devices remove o`)).toEqual([
      "other-phone",
    ]);
  });

  it("completes directories for --state-dir (bash's own directory completion)", () => {
    expect(bashComplete(`moltbot --state-dir ${dirs}/only-`)).toEqual([`${dirs}/only-dir-xyz`]);
    expect(bashComplete(`moltbot pairing list --state-dir=${dirs}/only-`)).toEqual([`${dirs}/only-dir-xyz`]);
  });

  it("runs nothing from the store while completing", () => {
    const cwd = tempDir();
    for (const line of ["moltbot devices remove ", "moltbot pairing approve telegram "]) {
      expect(bashComplete(line, cwd).length).toBeGreaterThan(2);
    }
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});

describe("fish: its own completion of a command line (complete -C)", () => {
  function fishComplete(line: string, cwd?: string): string[] {
    const run = spawnSync(
      "fish",
      ["--no-config", "--private", "-c", `moltbot completion fish | source; complete -C ${shq(line)}`],
      { env, encoding: "utf8", timeout: 20_000, ...(cwd ? { cwd } : {}) },
    );
    expect(run.error).toBeUndefined();
    expect(run.stderr).toBe("");
    return run.stdout
      .split("\n")
      .filter((entry) => entry !== "")
      .map((entry) => entry.split("\t")[0]!);
  }

  it.each([
    {
      line: "moltbot pairing ",
      expected: [
        ...["allowlist", "approve", "block", "blocked", "help", "list", "reject", "request", "revoke"],
        ...["unblock", "wait", "watch"],
      ],
    },
    { line: "moltbot pairing approve tele", expected: ["telegram"] },
    { line: "moltbot pairing list --js", expected: ["--json"] },
    { line: "moltbot pairing approve --channel=tel", expected: ["--channel=telegram"] },
    { line: "moltbot pairing approve telegram AB", expected: ["ABCD2345"] },
    { line: "moltbot pairing approve --channel telegram E", expected: ["EFGH6789"] },
    { line: "moltbot devices approve ", expected: [WAITING_REQUEST] },
    { line: "moltbot nodes approve ", expected: [NODE_REQUEST] },
    { line: "moltbot devices remove \\$", expected: [HOSTILE[0]] },
    { line: "moltbot devices remove '`", expected: [HOSTILE[1]] },
    { line: "moltbot devices remove \\;", expected: [HOSTILE[2]] },
    { line: "moltbot devices remove spa", expected: [QUOTEY] },
  ])("$line → $expected", ({ line, expected }) => {
    expect(fishComplete(line).sort()).toEqual([...expected].sort());
  });

  it("reads the store of a --state-dir typed earlier, and completes directories for it", () => {
    expect(fishComplete(`moltbot --state-dir ${shq(otherStateDir)} pairing approve telegram `)).toEqual(["OTHR2345"]);
    expect(fishComplete(`moltbot --state-dir ${dirs}/only-`)).toEqual([`${dirs}/only-dir-xyz/`]);
    expect(fishComplete(`moltbot --state-dir=${dirs}/only-`)).toEqual([`--state-dir=${dirs}/only-dir-xyz/`]);
  });

  it("runs nothing from the store while completing", () => {
    const cwd = tempDir();
    expect(fishComplete("moltbot devices remove ", cwd).length).toBeGreaterThan(3);
    expect(fishComplete("moltbot pairing approve telegram ", cwd).length).toBeGreaterThan(3);
    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});

/*
 * A person at a real terminal: each shell started as the README says, keys typed with TAB, then
 * Enter; the argv the command then receives is what the completion put on the line.
 */
const TYPED = (): { keys: string; argv: string[] }[] => [
  { keys: "pair\tappr\ttel\tAB\t", argv: ["pairing", "approve", "telegram", "ABCD2345"] },
  { keys: "pairing approve TEL\tab\t", argv: ["pairing", "approve", "telegram", "ABCD2345"] },
  { keys: "pairing reject --channel telegram EF\t", argv: ["pairing", "reject", "--channel", "telegram", "EFGH6789"] },
  { keys: "pairing approve --channel=tel\t", argv: ["pairing", "approve", "--channel=telegram"] },
  { keys: "pairing list --js\t", argv: ["pairing", "list", "--json"] },
  { keys: "doctor --f\t", argv: ["doctor", "--fix"] },
  {
    keys: `--state-dir ${shq(otherStateDir)} pairing approve telegram \t`,
    argv: ["--state-dir", otherStateDir, "pairing", "approve", "telegram", "OTHR2345"],
  },
  { keys: `--state-dir ${dirs}/only-\t`, argv: ["--state-dir", `${dirs}/only-dir-xyz/`] },
  { keys: `pairing list --state-dir=${dirs}/only-\t`, argv: ["pairing", "list", `--state-dir=${dirs}/only-dir-xyz/`] },
  { keys: "devices approve 6f\t", argv: ["devices", "approve", WAITING_REQUEST] },
  {
    keys: "devices rotate --role node --device ph\t",
    argv: ["devices", "rotate", "--role", "node", "--device", "phone-1"],
  },
  { keys: "nodes approve \t", argv: ["nodes", "approve", NODE_REQUEST] },
  // The attacker's ids and codes arrive as one literal argument each, and nothing runs.
  { keys: "devices remove \\$\t", argv: ["devices", "remove", HOSTILE[0]] },
  { keys: "devices remove \\`\t", argv: ["devices", "remove", HOSTILE[1]] },
  { keys: "devices remove \\;\t", argv: ["devices", "remove", HOSTILE[2]] },
  { keys: "devices remove spa\t", argv: ["devices", "remove", QUOTEY] },
  // Inside a quote the user opened: completed within it, closed by the shell.
  { keys: "devices remove 'spa\t", argv: ["devices", "remove", QUOTEY] },
  { keys: 'devices remove "spa\t', argv: ["devices", "remove", QUOTEY] },
  { keys: 'devices remove "\\$\t', argv: ["devices", "remove", HOSTILE[0]] },
  { keys: "pairing approve telegram \\$\t", argv: ["pairing", "approve", "telegram", HOSTILE[0]] },
  { keys: "pairing approve telegram \\`\t", argv: ["pairing", "approve", "telegram", HOSTILE[1]] },
  { keys: "pairing approve telegram \\;\t", argv: ["pairing", "approve", "telegram", HOSTILE[2]] },
];

describe.each(SHELLS)("%s at a real terminal: TAB, then Enter", (shell) => {
  let session: ShellSession;
  beforeAll(async () => {
    session = await startShell(shell, env);
  }, 30_000);
  afterAll(async () => {
    await session.close();
  });

  it("puts the expected words on the line, the attacker's literally, and no file appears", async () => {
    // zsh drops the slash it added after a directory when Enter follows (AUTO_REMOVE_SLASH).
    const slashless = (words: string[]) => words.map((word) => word.replace(/(.)\/$/, "$1"));
    for (const { keys, argv } of TYPED()) {
      const received = await session.run(`moltbot ${keys}`);
      expect(fs.readdirSync(session.cwd), `after ${keys}`).toEqual([]);
      expect(slashless(received), keys).toEqual(slashless(argv));
    }
  }, 60_000);
});
