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
    let rest = Buffer.from(text, "utf8");
    while (rest.length > 0) {
      try {
        rest = rest.subarray(fs.writeSync(fd, rest));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") {
          viaStream = true;
          stream().write(rest);
          return;
        }
        if (code === "EPIPE") {
          closed = true;
          return;
        }
        throw error;
      }
    }
  };
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
      return colorAllowed && process.stdout.isTTY === true;
    },
    get columns() {
      // A pipe has no width: tables are not cut, so a script sees whole ids.
      return process.stdout.columns || Number(env.COLUMNS) || (process.stdout.isTTY ? 80 : Number.POSITIVE_INFINITY);
    },
    get interactive() {
      return process.stdin.isTTY === true && process.stderr.isTTY === true;
    },
    env,
    readStdin: readAllStdin,
    confirm,
  };
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  process.exitCode = await runCli(argv, processIO());
}
