import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createRunner, nextCommand, shellQuote, slot, withStateDirInHints } from "../../src/cli/kit.js";
import type { CliIO } from "../../src/cli/output.js";
import { buildProgram, nounsFor, runCli, scanArgv } from "../../src/cli/program.js";

describe("scanArgv: the one look at the command line before parsing", () => {
  it.each<[string[], { json: boolean; words: string[]; stateDir?: string; argv?: string[] }]>([
    [["pairing", "list"], { json: false, words: ["pairing", "list"] }],
    [["--json", "pairing", "list", "telegram"], { json: true, words: ["pairing", "list", "telegram"] }],
    [["--state-dir", "pairing", "devices", "list"], { json: false, words: ["devices", "list"], stateDir: "pairing" }],
    [["--state-dir=/x", "doctor", "--fix"], { json: false, words: ["doctor"], stateDir: "/x" }],
    [["pairing", "request", "telegram", "--", "--json"], { json: false, words: ["pairing", "request", "telegram"] }],
    [
      ["help", "pairing", "approve", "--json"],
      { json: true, words: ["pairing", "approve"], argv: ["pairing", "approve", "--json", "--help"] },
    ],
    [["--json", "help"], { json: true, words: [], argv: ["--json", "--help"] }],
    [["pairing", "help", "list"], { json: false, words: ["pairing", "help", "list"] }],
  ])("%j", (argv, expected) => {
    const scan = scanArgv(argv);
    expect(scan).toEqual({
      argv: expected.argv ?? argv,
      json: expected.json,
      words: expected.words,
      ...(expected.stateDir !== undefined ? { stateDir: expected.stateDir } : {}),
    });
  });

  it.each<[string[], string[]]>([
    [["pairing", "list"], ["pairing"]],
    [["--state-dir", "/tmp/devices", "pairing", "list"], ["pairing"]],
    [["devices", "list", "--json"], ["devices"]],
    [["help", "nodes"], ["nodes"]],
    [["completion", "bash"], ["completion"]],
    [["--help"], ["pairing", "devices", "nodes", "doctor", "log", "completion", "__complete"]],
    [
      ["pairng", "list"],
      ["pairing", "devices", "nodes", "doctor", "log", "completion", "__complete"],
    ],
  ])("%j loads only the nouns %j (start-up is budgeted)", (argv, nouns) => {
    expect(nounsFor(scanArgv(argv)).map((noun) => noun.name)).toEqual(nouns);
  });
});

describe("buildProgram: a noun builds only the verb named", () => {
  const io = { out: () => {}, err: () => {}, color: false, columns: 80, env: {} } as unknown as CliIO;
  const verbsOf = async (argv: string[], noun: string) => {
    const program = await buildProgram(
      io,
      createRunner(io, () => {}, argv),
      scanArgv(argv),
    );
    return program.commands.find((command) => command.name() === noun)!.commands.map((command) => command.name());
  };

  it.each<[string[], string, string[] | "all"]>([
    [["pairing", "list", "telegram"], "pairing", ["list"]],
    [["--json", "pairing", "approve", "telegram", "ABCD2345"], "pairing", ["approve"]],
    [["help", "devices", "rotate"], "devices", ["rotate"]],
    [["nodes", "rename", "n1", "Kitchen"], "nodes", ["rename"]],
    // The noun's help, an unknown verb (for its suggestion) and a noun alone get every verb.
    [["pairing", "--help"], "pairing", "all"],
    [["pairing", "aprove", "telegram"], "pairing", "all"],
    [["devices"], "devices", "all"],
    [["pairing", "constructor"], "pairing", "all"],
  ])("%j registers %s %j", async (argv, noun, expected) => {
    const all = (
      await buildProgram(
        io,
        createRunner(io, () => {}, []),
      )
    ).commands
      .find((command) => command.name() === noun)!
      .commands.map((command) => command.name());
    expect(all.length).toBeGreaterThan(4);
    expect(await verbsOf(argv, noun)).toEqual(expected === "all" ? all : expected);
  });

  it("an unknown verb is still answered with the nearest one", async () => {
    const errors: string[] = [];
    const code = await runCli(["pairing", "aprove", "telegram", "X"], {
      ...io,
      err: (text: string) => errors.push(text),
    });
    expect(code).toBe(2);
    expect(errors.join("")).toContain("(Did you mean approve?)");
  });
});

describe("nextCommand: the one way to print a command to run next", () => {
  it("names --state-dir only when the user gave one", () => {
    expect(nextCommand({}, "pairing", "list")).toBe("moltbot pairing list");
    expect(nextCommand({ stateDir: "/srv/bot" }, "pairing", "list")).toBe("moltbot --state-dir /srv/bot pairing list");
  });

  it("quotes what a shell would split or expand, and keeps placeholders bare", () => {
    expect(nextCommand({ stateDir: "~/bot dir" }, "pairing", "approve", "telegram", slot("CODE"))).toBe(
      "moltbot --state-dir '~/bot dir' pairing approve telegram <CODE>",
    );
    expect(nextCommand({ stateDir: "-odd" }, "doctor")).toBe("moltbot --state-dir=-odd doctor");
    expect(nextCommand({}, "devices", "remove", "--device", "")).toBe("moltbot devices remove --device ''");
  });

  it("escapes control characters after quoting, so a hostile id cannot reach the terminal", () => {
    expect(nextCommand({}, "devices", "approve", "a\u001b[2Jb")).toBe("moltbot devices approve 'a\\e[2Jb'");
  });

  it.each(["plain", "it's", "$HOME", "`id`", "a b", "~user", "x;rm -rf /", "tab\there", "*", "-n", "é"])(
    "shellQuote(%j) reads back as itself in sh",
    (value) => {
      const echoed = spawnSync("sh", ["-c", `printf %s ${shellQuote(value)}`], { encoding: "utf8" });
      expect(echoed.stdout).toBe(value);
    },
  );

  it("gives the store's own hints the state dir, but not pointers to help", () => {
    const message =
      'No pending request. Run "moltbot pairing list telegram" to see codes. Run "moltbot pairing --help".';
    expect(withStateDirInHints(message, "/a b")).toBe(
      'No pending request. Run "moltbot --state-dir \'/a b\' pairing list telegram" to see codes. Run "moltbot pairing --help".',
    );
    expect(withStateDirInHints(message, undefined)).toBe(message);
    expect(withStateDirInHints('Run "moltbot --state-dir /x doctor"', "/y")).toBe(
      'Run "moltbot --state-dir /x doctor"',
    );
  });
});
