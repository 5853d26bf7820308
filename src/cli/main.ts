import { createInterface } from "node:readline";
import { runCli } from "./program.js";
import type { CliIO } from "./output.js";

function readAllStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk: string) => (data += chunk));
    process.stdin.on("end", () => resolve(data));
    process.stdin.on("error", reject);
  });
}

function confirm(question: string): Promise<boolean> {
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
  const columns = process.stdout.columns || Number(env.COLUMNS) || 100;
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    color: colorAllowed && process.stdout.isTTY === true,
    columns,
    interactive: process.stdin.isTTY === true && process.stderr.isTTY === true,
    env,
    readStdin: readAllStdin,
    confirm,
  };
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  process.exitCode = await runCli(argv, processIO());
}
