import fs from "node:fs";
import { runCli } from "./program.js";
import type { CliIO } from "./output.js";

/*
 * Start-up matters here (README "Performance"): nothing below touches process.stdout, process.stderr,
 * process.stdin or readline unless a command really needs them. On a pipe, merely creating
 * process.stdout loads Node's stream and net modules, a few milliseconds of every start.
 */

/**
 * Write to a file descriptor directly. If the descriptor is non-blocking (EAGAIN), the rest of the
 * output goes through Node's stream, which waits for it, in order. A reader that went away (EPIPE,
 * e.g. `| head -1`) ends the output quietly.
 */
function fdWriter(fd: number, stream: () => NodeJS.WriteStream): (text: string) => void {
  let viaStream = false;
  let closed = false;
  return (text) => {
    if (closed) return;
    if (viaStream) {
      stream().write(text);
      return;
    }
    // Usually one write takes it all (blocking pipes, files, terminals), without copying the text.
    let rest: string | Buffer = text;
    while (rest.length > 0) {
      try {
        const written = typeof rest === "string" ? fs.writeSync(fd, rest) : fs.writeSync(fd, rest);
        if (typeof rest === "string" && written === Buffer.byteLength(rest)) return;
        rest = (typeof rest === "string" ? Buffer.from(rest, "utf8") : rest).subarray(written);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EPIPE") {
          closed = true;
          return;
        }
        if (code !== "EAGAIN") throw error;
        viaStream = true;
        stream().write(rest);
        return;
      }
    }
  };
}

/**
 * Whether `fd` is a terminal. Only a character device can be one, and fstat tells that without
 * loading Node's tty and net modules; so pipes and files (scripts) get their answer for free.
 */
function isTerminal(fd: number, stream: () => { isTTY?: boolean }): boolean {
  try {
    if (!fs.fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return stream().isTTY === true;
}

function readAllStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk: string) => (data += chunk));
    process.stdin.on("end", () => resolve(data));
    process.stdin.on("error", reject);
  });
}

async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => {
    rl.question(`${question} [y/N] `, (answer) => {
      rl.close();
      resolve(/^y(es)?$/i.test(answer.trim()));
    });
    rl.on("close", () => resolve(false));
  });
}

export function processIO(): CliIO {
  const env = process.env;
  const colorAllowed = !("NO_COLOR" in env) && env.TERM !== "dumb";
  // Terminal facts are looked up only by the commands that print tables, colour or prompts.
  return {
    out: fdWriter(1, () => process.stdout),
    err: fdWriter(2, () => process.stderr),
    get color() {
      return colorAllowed && isTerminal(1, () => process.stdout);
    },
    get columns() {
      // A pipe has no width: tables are not cut, so a script sees whole ids.
      if (!isTerminal(1, () => process.stdout)) return Number(env.COLUMNS) || Number.POSITIVE_INFINITY;
      return process.stdout.columns || Number(env.COLUMNS) || 80;
    },
    get interactive() {
      return isTerminal(0, () => process.stdin) && isTerminal(2, () => process.stderr);
    },
    env,
    readStdin: readAllStdin,
    confirm,
  };
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  process.exitCode = await runCli(argv, processIO());
}
