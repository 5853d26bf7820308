import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BIN } from "../helpers.js";

/*
 * A real interactive shell on a pseudo-terminal (util-linux `script`), with moltbot's completion
 * enabled exactly as the README says. A test types keys (TAB included) and then Enter; the command the
 * shell then runs is a recorder standing in for moltbot, which keeps the argv it receives. So a test
 * sees what pressing TAB put on the command line, as the shell itself parsed it.
 * `moltbot completion …` and `moltbot __complete …` go to the built CLI.
 */

export type InteractiveShell = "bash" | "zsh" | "fish";

const PROMPT = "moltbot-ready> ";
const shq = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

export interface ShellSession {
  /** The directory the shell runs in: where an injected `touch pwned` would land. */
  cwd: string;
  /** Type `keys` (use \t for TAB), press Enter, and return the argv moltbot received. */
  run(keys: string): Promise<string[]>;
  close(): Promise<void>;
}

function recorder(binDir: string, records: string): void {
  fs.writeFileSync(
    path.join(binDir, "moltbot"),
    `#!/bin/sh
case "$1" in completion|__complete) exec ${shq(process.execPath)} ${shq(BIN)} "$@" ;; esac
n=$(ls ${shq(records)} | wc -l)
printf '%s\\0' "$@" > ${shq(`${records}/.tmp`)} && mv ${shq(`${records}/.tmp`)} ${shq(records)}/$n
`,
    { mode: 0o755 },
  );
}

function shellCommand(shell: InteractiveShell, home: string, binDir: string, cwd: string): string {
  const path = `${binDir}:${process.env.PATH ?? ""}`;
  switch (shell) {
    case "bash":
      fs.writeFileSync(
        `${home}/.bashrc`,
        `PS1=${shq(PROMPT)}; unset HISTFILE; stty cols 200 rows 50
PATH=${shq(path)}
eval "$(moltbot completion bash)"
cd ${shq(cwd)}
`,
      );
      return `bash --noprofile --rcfile ${shq(`${home}/.bashrc`)} -i`;
    case "zsh":
      fs.writeFileSync(
        `${home}/.zshrc`,
        `PS1=${shq(PROMPT)}; stty cols 200 rows 50
PATH=${shq(path)}
autoload -Uz compinit && compinit -u -D
eval "$(moltbot completion zsh)"
cd ${shq(cwd)}
`,
      );
      // -d: no system-wide start-up files, only the .zshrc above (ZDOTDIR is the temporary home).
      return "zsh -d -i";
    case "fish":
      return `fish --no-config --private -i -C ${shq(
        [
          `function fish_prompt; printf %s ${shq(PROMPT)}; end`,
          "set -g fish_greeting",
          "stty cols 200 rows 50",
          `set -gx PATH ${path.split(":").map(shq).join(" ")}`,
          "moltbot completion fish | source",
          `cd ${shq(cwd)}`,
        ].join("; "),
      )}`;
  }
}

async function waitFor(what: string, check: () => boolean, child: ChildProcess, screen: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`no ${what} from the shell; the terminal showed:\n${screen().slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function startShell(shell: InteractiveShell, env: NodeJS.ProcessEnv): Promise<ShellSession> {
  // Lives as long as the session (a test's temporary directories go after each test).
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `moltbot-${shell}-session-`));
  const [home, binDir, records, cwd] = ["home", "bin", "argv", "cwd"].map((name) => {
    fs.mkdirSync(path.join(root, name));
    return path.join(root, name);
  }) as [string, string, string, string];
  recorder(binDir, records);
  const child = spawn("script", ["-qfec", shellCommand(shell, home, binDir, cwd), "/dev/null"], {
    env: { ...env, HOME: home, ZDOTDIR: home, TERM: "xterm", SHELL: shell },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let screen = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (screen += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (screen += chunk));
  await waitFor(
    "prompt",
    () => screen.includes(PROMPT),
    child,
    () => screen,
  );
  let count = 0;
  return {
    cwd,
    async run(keys) {
      const file = path.join(records, String(count++));
      child.stdin.write(`${keys}\r`);
      await waitFor(
        `command for ${JSON.stringify(keys)}`,
        () => fs.existsSync(file),
        child,
        () => screen,
      );
      return fs.readFileSync(file, "utf8").split("\0").slice(0, -1);
    },
    async close() {
      const exited = new Promise((resolve) => child.once("close", resolve));
      child.stdin.write("exit\r");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
