import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import { completionModel, completionScript, type Shell } from "../../src/cli/completion.js";
import { buildProgram } from "../../src/cli/program.js";
import type { Runner } from "../../src/cli/pairing.js";
import { CHANNEL_NAMES } from "../../src/core/channels.js";
import { createStoreContext } from "../../src/store/context.js";
import { requestNode } from "../../src/store/node-store.js";
import { BIN, cliEnv, runMoltbot, tempDir, tempStateDir } from "../helpers.js";
import { runInProcess } from "./fake-io.js";

const has = (shell: string) => spawnSync(shell, ["-c", "exit 0"]).status === 0;
const HAS_ZSH = has("zsh");
const HAS_FISH = has("fish");
const skipped = (shell: string, present: boolean) =>
  present ? "" : ` (skipped: ${shell} is not installed; .ci/run installs it)`;

/** The scripts as the built CLI prints them (what a user sources). */
const scripts = {} as Record<Shell, string>;
beforeAll(async () => {
  for (const shell of ["bash", "zsh", "fish"] as const) {
    const run = await runMoltbot(["completion", shell], { stateDir: tempStateDir() });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    scripts[shell] = run.stdout;
  }
});

/** A state dir with two pending telegram requests, and a PATH on which `moltbot` is the built CLI. */
async function fixture() {
  const stateDir = tempStateDir();
  const codes: string[] = [];
  for (const [id, name] of [
    ["111", "alice"],
    ["222", "bob"],
  ]) {
    const run = await runInProcess(["pairing", "request", "telegram", id!, "--meta", `username=${name}`, "--json"], {
      stateDir,
    });
    codes.push((JSON.parse(run.stdout) as { code: string }).code);
  }
  const binDir = tempDir("moltbot-bin-");
  fs.writeFileSync(path.join(binDir, "moltbot"), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, {
    mode: 0o755,
  });
  const dir = tempDir("moltbot-completion-");
  const files = {} as Record<Shell, string>;
  for (const shell of ["bash", "zsh", "fish"] as const) {
    files[shell] = path.join(dir, `moltbot.${shell}`);
    fs.writeFileSync(files[shell], scripts[shell]);
  }
  const env = cliEnv(stateDir, { PATH: `${binDir}:${process.env.PATH ?? ""}` });
  return { stateDir, codes, env, files };
}
type Fixture = Awaited<ReturnType<typeof fixture>>;

const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** Source the bash script, fill COMP_WORDS (the last word is the one being completed), call _moltbot. */
function bashComplete(f: Fixture, words: string[]): string[] {
  const program = `source ${shellQuote(f.files.bash)}
COMP_WORDS=(${words.map(shellQuote).join(" ")}); COMP_CWORD=${words.length - 1}
_moltbot; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const run = spawnSync("bash", ["--norc", "--noprofile", "-c", program], {
    env: f.env,
    encoding: "utf8",
    timeout: 20_000,
  });
  expect(run.stderr).toBe("");
  return run.stdout.split("\n").filter((line) => line !== "");
}

/** zsh has no completion system outside an interactive line editor: stub its builtins to print candidates. */
function zshComplete(f: Fixture, words: string[]): string[] {
  const program = `compdef() { :; }
_describe() { [[ $1 == -t ]] && shift 2; local -a names; names=("\${(@P)2}"); print -rl -- "\${names[@]%%:*}"; }
compadd() { while [[ $1 == -* ]]; do if [[ $1 == -- ]]; then shift; break; fi; [[ $1 == -M ]] && shift; shift; done; print -rl -- "$@"; }
_files() { print -r -- '<directories>'; }
source ${shellQuote(f.files.zsh)}
words=(${words.map(shellQuote).join(" ")}); CURRENT=${words.length}
_moltbot`;
  const run = spawnSync("zsh", ["-f", "-c", program], { env: f.env, encoding: "utf8", timeout: 20_000 });
  expect(run.stderr).toBe("");
  return run.stdout.split("\n").filter((line) => line !== "");
}

/** fish completes a command line for real with `complete -C`; keep the candidates, drop descriptions. */
function fishComplete(f: Fixture, line: string): string[] {
  const run = spawnSync(
    "fish",
    ["--no-config", "-c", `source ${shellQuote(f.files.fish)}; complete -C ${shellQuote(line)}`],
    {
      env: f.env,
      encoding: "utf8",
      timeout: 20_000,
    },
  );
  expect(run.stderr).toBe("");
  return run.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split("\t")[0]!);
}

describe("completion model", () => {
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

  it("has a node for every visible command of the program, with its own and the global options", async () => {
    const program = await buildProgram(io, noop);
    const nodes = completionModel(program);
    const paths = nodes.map((node) => node.path);
    const walk = (command: Command, prefix: string): string[] =>
      command.commands.flatMap((sub) => {
        const at = prefix ? `${prefix} ${sub.name()}` : sub.name();
        return [at, ...walk(sub, at)];
      });
    expect(paths).toEqual(["", ...walk(program, "")]);
    const approve = nodes.find((node) => node.path === "pairing approve")!;
    expect(approve.args).toEqual(["channel", "code"]);
    expect(approve.options.map((o) => o.name)).toEqual(
      expect.arrayContaining(["--channel", "--json", "--state-dir", "--help"]),
    );
    expect(approve.valueOptions).toEqual({ "--channel": "channel", "--state-dir": "dir" });
    expect(nodes.find((node) => node.path === "completion")!.args).toEqual(["choices:bash,zsh,fish"]);
    // The hidden helper the scripts call is not offered to the operator.
    expect(nodes.flatMap((node) => node.options.map((o) => o.name))).not.toContain("--codes");
  });

  it("follows the program: a command added to it appears in every script, with no list to update", () => {
    const program = new Command("moltbot").option("--json", "json");
    program
      .command("widgets")
      .description("manage widgets")
      .command("frobnicate <channel>")
      .option("--hard", "frob hard");
    for (const shell of ["bash", "zsh", "fish"] as const) {
      const script = completionScript(shell, program);
      expect(script, shell).toContain("widgets frobnicate");
      expect(script, shell).toContain("--hard");
    }
  });
});

describe("completion scripts", () => {
  it("bash -n accepts the bash script", () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "moltbot.bash"), scripts.bash);
    const run = spawnSync("bash", ["-n", path.join(dir, "moltbot.bash")], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it(`zsh -n accepts the zsh script${skipped("zsh", HAS_ZSH)}`, { skip: !HAS_ZSH }, () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "_moltbot"), scripts.zsh);
    const run = spawnSync("zsh", ["-n", path.join(dir, "_moltbot")], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it(`fish -n accepts the fish script${skipped("fish", HAS_FISH)}`, { skip: !HAS_FISH }, () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "moltbot.fish"), scripts.fish);
    const run = spawnSync("fish", ["--no-execute", path.join(dir, "moltbot.fish")], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it("a syntax error would be caught: bash -n rejects a broken copy", () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "broken.bash"), scripts.bash.replace("esac\n}", "}"));
    expect(spawnSync("bash", ["-n", path.join(dir, "broken.bash")]).status).not.toBe(0);
  });

  it("each script says how to install it", () => {
    expect(scripts.bash).toContain("source <(moltbot completion bash)");
    expect(scripts.zsh).toMatch(/^#compdef moltbot\n/);
    expect(scripts.fish).toContain("~/.config/fish/completions/moltbot.fish");
  });
});

describe("bash completion round trip", () => {
  it("completes commands, subcommands, options and the shell names", async () => {
    const f = await fixture();
    expect(bashComplete(f, ["moltbot", ""])).toEqual(expect.arrayContaining(["pairing", "completion", "help"]));
    expect(bashComplete(f, ["moltbot", "pa"])).toEqual(["pairing"]);
    expect(bashComplete(f, ["moltbot", "pairing", ""])).toEqual([
      "list",
      "request",
      "approve",
      "reject",
      "allowlist",
      "revoke",
      "help",
    ]);
    expect(bashComplete(f, ["moltbot", "pairing", "approve", "--"])).toEqual([
      "--channel",
      "--notify",
      "--help",
      "--json",
      "--state-dir",
    ]);
    expect(bashComplete(f, ["moltbot", "completion", ""])).toEqual(["bash", "zsh", "fish"]);
  });

  it("completes channel names, case-insensitively, for arguments and --channel", async () => {
    const f = await fixture();
    expect(bashComplete(f, ["moltbot", "pairing", "list", ""])).toEqual([...CHANNEL_NAMES]);
    expect(bashComplete(f, ["moltbot", "pairing", "approve", "TEL"])).toEqual(["telegram"]);
    expect(bashComplete(f, ["moltbot", "pairing", "reject", "--channel", "wh"])).toEqual(["whatsapp"]);
  });

  it("completes the pending codes of pairing approve <channel>, read from the store", async () => {
    const f = await fixture();
    expect(bashComplete(f, ["moltbot", "pairing", "approve", "telegram", ""]).sort()).toEqual([...f.codes].sort());
    // A lower-case start still finds the code (approve upper-cases it anyway).
    const first = f.codes[0]!;
    expect(bashComplete(f, ["moltbot", "pairing", "approve", "telegram", first.slice(0, 3).toLowerCase()])).toContain(
      first,
    );
    expect(bashComplete(f, ["moltbot", "pairing", "approve", "--channel", "telegram", ""]).sort()).toEqual(
      [...f.codes].sort(),
    );
    expect(bashComplete(f, ["moltbot", "pairing", "approve", "signal", ""])).toEqual([]);
    // Nothing after the code: approve takes two arguments.
    expect(bashComplete(f, ["moltbot", "pairing", "approve", "telegram", first, ""])).toEqual([]);
  });

  it("reads codes from the --state-dir typed on the command line", async () => {
    const f = await fixture();
    const env = { ...f.env, MOLTBOT_STATE_DIR: tempStateDir() };
    const other = { ...f, env };
    expect(bashComplete(other, ["moltbot", "pairing", "approve", "telegram", ""])).toEqual([]);
    expect(
      bashComplete(other, ["moltbot", "--state-dir", f.stateDir, "pairing", "approve", "telegram", ""]).sort(),
    ).toEqual([...f.codes].sort());
    // bash splits --state-dir=<dir> at "=" into three words.
    expect(
      bashComplete(other, ["moltbot", "--state-dir", "=", f.stateDir, "pairing", "approve", "telegram", ""]).sort(),
    ).toEqual([...f.codes].sort());
  });
});

/** One device waiting, one paired, one legacy node waiting. */
async function withDevices(f: Fixture) {
  const ask = async (deviceId: string, name: string) => {
    const run = await runInProcess(
      [
        "devices",
        "request",
        "--device-id",
        deviceId,
        "--public-key",
        `key-${deviceId}`,
        "--name",
        name,
        "--role",
        "node",
        "--json",
      ],
      { stateDir: f.stateDir },
    );
    expect(run.code, run.stderr).toBe(0);
    return (JSON.parse(run.stdout) as { request: { requestId: string } }).request.requestId;
  };
  const pairedRequest = await ask("phone-1", "Alice's phone");
  expect((await runInProcess(["devices", "approve", pairedRequest], { stateDir: f.stateDir })).code).toBe(0);
  const waiting = await ask("mac-2", "Work Mac");
  const node = await requestNode(createStoreContext({ stateDir: f.stateDir, env: {} }), {
    nodeId: "node-7",
    displayName: "Pi",
  });
  return { waiting, nodeRequest: node.request.requestId };
}

describe("device and node ids", () => {
  it("--ids prints ids with what they are, for the scripts", async () => {
    const f = await fixture();
    const { waiting, nodeRequest } = await withDevices(f);
    const ids = (kind: string) => runInProcess(["completion", "--ids", kind], { stateDir: f.stateDir });
    expect(await ids("device-request")).toEqual({ code: 0, stdout: `${waiting}\tWork Mac node\n`, stderr: "" });
    expect(await ids("device")).toEqual({ code: 0, stdout: "phone-1\tAlice's phone node\n", stderr: "" });
    expect(await ids("node-request")).toEqual({ code: 0, stdout: `${nodeRequest}\tPi\n`, stderr: "" });
    expect(await runInProcess(["completion", "--ids", "device"], { stateDir: tempStateDir() })).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
  });

  it("bash completes pending request ids, paired device ids and node request ids where each belongs", async () => {
    const f = await fixture();
    const { waiting, nodeRequest } = await withDevices(f);
    expect(bashComplete(f, ["moltbot", "devices", "approve", ""])).toEqual([waiting]);
    expect(bashComplete(f, ["moltbot", "devices", "reject", ""])).toEqual([waiting]);
    expect(bashComplete(f, ["moltbot", "devices", "remove", ""])).toEqual(["phone-1"]);
    expect(bashComplete(f, ["moltbot", "devices", "rotate", "--role", "node", "--device", "ph"])).toEqual(["phone-1"]);
    expect(bashComplete(f, ["moltbot", "nodes", "approve", ""])).toEqual([nodeRequest]);
    // A new device's id is the device's to choose: nothing to offer.
    expect(bashComplete(f, ["moltbot", "devices", "request", "--device-id", ""])).toEqual([]);
  });
});

describe("zsh and fish completion round trips", () => {
  it(`zsh offers commands, channels and pending codes${skipped("zsh", HAS_ZSH)}`, { skip: !HAS_ZSH }, async () => {
    const f = await fixture();
    expect(zshComplete(f, ["moltbot", "pairing", ""])).toEqual([
      "list",
      "request",
      "approve",
      "reject",
      "allowlist",
      "revoke",
      "help",
    ]);
    expect(zshComplete(f, ["moltbot", "pairing", "approve", ""])).toEqual([...CHANNEL_NAMES]);
    expect(zshComplete(f, ["moltbot", "pairing", "approve", "telegram", ""]).sort()).toEqual([...f.codes].sort());
    expect(
      zshComplete(f, ["moltbot", `--state-dir=${f.stateDir}`, "pairing", "reject", "--channel", "telegram", ""]).sort(),
    ).toEqual([...f.codes].sort());
    await withDevices(f);
    expect(zshComplete(f, ["moltbot", "devices", "remove", ""])).toEqual(["phone-1"]);
  });

  it(`fish offers commands, channels and pending codes${skipped("fish", HAS_FISH)}`, { skip: !HAS_FISH }, async () => {
    const f = await fixture();
    expect(fishComplete(f, "moltbot pairing ").sort()).toEqual([
      "allowlist",
      "approve",
      "help",
      "list",
      "reject",
      "request",
      "revoke",
    ]);
    expect(fishComplete(f, "moltbot pairing approve tele")).toEqual(["telegram"]);
    expect(fishComplete(f, "moltbot pairing approve telegram ").sort()).toEqual([...f.codes].sort());
    expect(fishComplete(f, "moltbot pairing list --js")).toEqual(["--json"]);
    const { waiting } = await withDevices(f);
    expect(fishComplete(f, "moltbot devices approve ")).toEqual([waiting]);
  });
});

describe("moltbot completion (command)", () => {
  it("--codes prints CODE<TAB>sender lines for the scripts", async () => {
    const f = await fixture();
    const run = await runInProcess(["completion", "--codes", "telegram"], { stateDir: f.stateDir });
    expect(run).toEqual({ code: 0, stdout: `${f.codes[0]}\t111 (alice)\n${f.codes[1]}\t222 (bob)\n`, stderr: "" });
  });

  it("--codes is silent and succeeds on an unknown channel or an unreadable store", async () => {
    const stateDir = tempStateDir();
    expect(await runInProcess(["completion", "--codes", "telegarm"], { stateDir })).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    fs.mkdirSync(path.join(stateDir, "credentials"), { recursive: true });
    fs.writeFileSync(path.join(stateDir, "credentials", "telegram-pairing.json"), "{not json");
    expect(await runInProcess(["completion", "--codes", "telegram"], { stateDir })).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
  });

  it("without a shell, or with an unknown one, is a usage error (exit 2)", async () => {
    const none = await runInProcess(["completion"], { stateDir: tempStateDir() });
    expect(none.code).toBe(2);
    expect(none.stdout).toBe("");
    expect(none.stderr).toMatch(/^moltbot: Which shell\? Run "moltbot completion bash"/);
    const tcsh = await runInProcess(["completion", "tcsh"], { stateDir: tempStateDir() });
    expect(tcsh.code).toBe(2);
    expect(tcsh.stderr).toContain("bash, zsh, fish");
  });

  it("--json wraps the script in one document", async () => {
    const run = await runInProcess(["completion", "fish", "--json"], { stateDir: tempStateDir() });
    expect(run.code).toBe(0);
    const parsed = JSON.parse(run.stdout) as { shell: string; script: string };
    expect(parsed.shell).toBe("fish");
    expect(parsed.script).toContain("complete -c moltbot");
  });
});
