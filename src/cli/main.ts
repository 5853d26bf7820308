import fs from "node:fs";
import { runCli } from "./program.js";
import { MoltbotError } from "../errors.js";
import { escapeControl, type CliIO } from "./output.js";

/*
 * Start-up matters here (README "Performance"): nothing below touches process.stdout, process.stderr,
 * process.stdin or readline unless a command really needs them. On a pipe, merely creating
 * process.stdout loads Node's stream and net modules, a few milliseconds of every start.
 */

/** Why stdout cannot take the output, as one line ("ENOSPC: no space left on device"). */
function outputFailure(error: unknown): MoltbotError {
  const reason = error instanceof Error ? error.message.replace(/, write$/, "") : String(error);
  return new MoltbotError("OUTPUT_FAILED", `Could not write to stdout (${reason}).`, { cause: error });
}

/** How a writer reports a failure other than a closed pipe; absent, failures are ignored (stderr). */
interface FailurePolicy {
  /** The error to throw from the write. */
  error: (cause: unknown) => MoltbotError;
  /** For a failure seen after the command returned (the stream path): report it and fail the run. */
  late: (failure: MoltbotError) => void;
}

/**
 * Write to a file descriptor directly. If the descriptor is non-blocking (EAGAIN), the rest of the
 * output goes through Node's stream, which waits for it, in order. A reader that went away (EPIPE,
 * e.g. `| head -1`) ends the output quietly. Any other failure (a full disk, `> /dev/full`) goes to
 * `policy`: stdout throws OUTPUT_FAILED, which the kit reports on stderr; stderr has nowhere left
 * to report to.
 */
function fdWriter(fd: number, stream: () => NodeJS.WriteStream, policy?: FailurePolicy): (text: string) => void {
  let viaStream = false;
  let closed = false;
  const toStream = (text: string | Buffer) => {
    if (!viaStream) {
      viaStream = true;
      stream().on("error", (error: NodeJS.ErrnoException) => {
        closed = true;
        if (error.code !== "EPIPE" && policy) policy.late(policy.error(error));
      });
    }
    stream().write(text);
  };
  return (text) => {
    if (closed) return;
    if (viaStream) return toStream(text);
    // Usually one write takes it all (blocking pipes, files, terminals), without copying the text.
    let rest: string | Buffer = text;
    while (rest.length > 0) {
      try {
        const written = typeof rest === "string" ? fs.writeSync(fd, rest) : fs.writeSync(fd, rest);
        if (typeof rest === "string" && written === Buffer.byteLength(rest)) return;
        rest = (typeof rest === "string" ? Buffer.from(rest, "utf8") : rest).subarray(written);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") return toStream(rest);
        if (code === "EPIPE" || !policy) closed = true;
        else throw policy.error(error);
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

/** A token is 43 characters; anything near this is not one (and is never read into memory whole). */
const DEFAULT_MAX_STDIN_BYTES = 8192;

export function processIO(): CliIO {
  const env = process.env;
  // no-color.org: only a non-empty NO_COLOR turns colour off.
  const colorAllowed = !env.NO_COLOR && env.TERM !== "dumb";
  const err = fdWriter(2, () => process.stderr);
  // Terminal facts are looked up only by the commands that print tables, colour or prompts.
  return {
    out: fdWriter(1, () => process.stdout, {
      error: outputFailure,
      late: (failure) => {
        process.exitCode = 1;
        err(`moltbot: ${escapeControl(failure.message)}\n`);
      },
    }),
    err,
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
    readStdin: async ({ prompt = "", maxBytes = DEFAULT_MAX_STDIN_BYTES } = {}) => {
      const terminal = await import("./terminal.js");
      return isTerminal(0, () => process.stdin)
        ? terminal.readHiddenLine(prompt, maxBytes)
        : terminal.readBoundedStdin(maxBytes);
    },
    confirm: async (question) => (await import("./terminal.js")).confirm(question),
  };
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  process.exitCode = await runCli(argv, processIO());
}
