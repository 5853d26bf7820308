import { spawnSync } from "node:child_process";
import path from "node:path";
import { BIN, ROOT, cliEnv } from "../helpers.js";

/** What a person does at the terminal, in order (see test/fixtures/pty-run.py). */
export type Step = { expect: string } | { line: string } | { type: string } | "eof" | "interrupt";

export interface PtyRun {
  /** Everything the terminal showed (stdout and stderr), with the terminal's \r\n line ends. */
  output: string;
  status: number | null;
  signal: number | null;
  timedOut: boolean;
  /** The --expect text that never appeared, if any. */
  missing: string | null;
}

const DRIVER = path.join(ROOT, "test", "fixtures", "pty-run.py");

/**
 * Run the built `moltbot` on a real pseudo-terminal (stdin, stdout and stderr all the terminal,
 * which is also its controlling tty), typing `steps`. `env` entries set to undefined are removed.
 */
export function runInPty(
  args: readonly string[],
  options: {
    stateDir: string;
    steps: readonly Step[];
    env?: NodeJS.ProcessEnv;
    timeoutS?: number;
    /** Send stdout to this file instead (as `> file` in a shell); stdin and stderr stay the terminal. */
    stdoutFile?: string;
  },
): PtyRun {
  const flags = options.steps.flatMap((step): string[] => {
    if (step === "eof") return ["--eof"];
    if (step === "interrupt") return ["--interrupt"];
    if ("expect" in step) return ["--expect", step.expect];
    if ("line" in step) return ["--line", step.line];
    return ["--type", step.type];
  });
  const env = cliEnv(options.stateDir, options.env);
  for (const [key, value] of Object.entries(options.env ?? {})) if (value === undefined) delete env[key];
  const command = [process.execPath, BIN, ...args];
  if (options.stdoutFile !== undefined) {
    command.unshift("sh", "-c", 'out="$1"; shift; exec "$@" > "$out"', "sh", options.stdoutFile);
  }
  const result = spawnSync(
    "python3",
    [DRIVER, "--timeout", String(options.timeoutS ?? 15), ...flags, "--", ...command],
    { env, cwd: ROOT, encoding: "utf8", timeout: 30_000 },
  );
  if (result.status !== 0) throw new Error(`pty-run failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout) as PtyRun;
}

/** The terminal's text as lines, without its \r and colour codes. */
export const screenText = (output: string): string => output.replace(/\r/g, "").replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");
