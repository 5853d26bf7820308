import { runCli } from "../../src/cli/program.js";
import type { CliIO } from "../../src/cli/output.js";

export interface FakeRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface FakeIOOptions {
  stateDir: string;
  columns?: number;
  color?: boolean;
  /** The injected clock (epoch ms). */
  now?: () => number;
  env?: NodeJS.ProcessEnv;
}

/** Run the CLI in-process, the way `gh` tests its commands: injected streams, width, colour and clock. */
export async function runInProcess(argv: readonly string[], options: FakeIOOptions): Promise<FakeRun> {
  let stdout = "";
  let stderr = "";
  const io: CliIO = {
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    color: options.color ?? false,
    columns: options.columns ?? 80,
    interactive: false,
    env: { MOLTBOT_STATE_DIR: options.stateDir, ...options.env },
    readStdin: async () => "",
    confirm: async () => false,
    ...(options.now !== undefined ? { now: options.now } : {}),
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

const ANSI = /\u001b\[[0-9;]*m/g;

export const stripAnsi = (text: string): string => text.replace(ANSI, "");
