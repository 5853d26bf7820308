import type { ChalkInstance } from "chalk";
import type { Command } from "commander";
import { runAsCommand, shellQuote, withoutStateDir } from "../core/shell.js";
import { MoltbotError, isMoltbotError } from "../errors.js";
import { createStoreContext, type StoreContext } from "../store/context.js";
import { colors, escapeControl, printJson, type CliIO } from "./output.js";

/*
 * The verb kit. A verb is an action that takes typed input and RETURNS its result, plus how to show
 * that result to a person. Everything every verb needs is done here, once: the global options
 * (--json, --state-dir), the store context, printing the one JSON document, the exit status, and the
 * next-command hints (which keep the user's --state-dir). A new verb is one `Verb` in its noun's
 * module and one `.action(run(verb))` line.
 */

/** The options every command takes, wherever they appear on the line. */
export interface Globals {
  json: boolean;
  stateDir?: string;
}

/** A word of a command line to suggest: a value (quoted for the shell when needed) or a placeholder. */
export type Word = string | { slot: string };

/** A placeholder the operator fills in, printed as `<NAME>` and never quoted. */
export const slot = (name: string): Word => ({ slot: `<${name}>` });

export { shellQuote };

/**
 * The one way to print a command for the operator to run next: it names the state directory they
 * chose with --state-dir (or a hint would act on another store), quotes every value for the shell,
 * and escapes control characters so an id from the store cannot rewrite the terminal.
 */
export function nextCommand(globals: Pick<Globals, "stateDir">, ...words: Word[]): string {
  const line = words.map((word) => (typeof word === "string" ? shellQuote(word) : word.slot));
  if (globals.stateDir !== undefined) line.unshift(stateDirWords(globals.stateDir));
  return escapeControl(`moltbot ${line.join(" ")}`);
}

// `--state-dir=-x`: a value that starts with "-" must not be read as an option.
const stateDirWords = (dir: string): string =>
  dir.startsWith("-") ? `--state-dir=${shellQuote(dir)}` : `--state-dir ${shellQuote(dir)}`;

/**
 * Messages from the store and core name commands without the state directory (they do not know
 * it): give those the user's --state-dir too, so following an error's advice acts on the same store.
 */
export function withStateDirInHints(message: string, stateDir: string | undefined): string {
  if (stateDir === undefined || stateDir.trim() === "") return message;
  // Not in a pointer to help ("moltbot pairing --help"), which is the same in every state directory.
  return message.replace(/(["`])moltbot (?!--state-dir)(?![^"`]*--help["`])/g, `$1moltbot ${stateDirWords(stateDir)} `);
}

/** Everything an action gets: its own options, its positional arguments, and the store. */
export interface Run<O> {
  options: O;
  /** Positional arguments in the order the command declares them (undefined when optional and absent). */
  args: (string | undefined)[];
  globals: Globals;
  /** The store context, made on first use (a verb that fails validation never resolves paths). */
  store: () => StoreContext;
  /** `nextCommand` with this invocation's --state-dir. */
  next: (...words: Word[]) => string;
  io: CliIO;
  command: Command;
}

/** What a human-output renderer may use. Results go to `out` (stdout), hints and notes to `err`. */
export interface Show {
  out: (text: string) => void;
  err: (text: string) => void;
  c: ChalkInstance;
  columns: number;
  now: () => number;
  next: (...words: Word[]) => string;
}

export interface Verb<O, R> {
  /** Do the work and return the result; throw a MoltbotError to fail. */
  action: (run: Run<O>) => R | Promise<R>;
  /** Show the result to a person (not called with --json). May throw to turn a result into a failure. */
  human: (result: R, show: Show) => void;
  /** The --json document (default: the result itself). */
  json?: (result: R) => unknown;
  /** The exit status of a result (default 0): verify and doctor report a negative outcome as a result. */
  exit?: (result: R) => number;
  /** The action printed its results itself as they came (`pairing watch`): nothing is printed after it. */
  streamed?: true;
}

/** Registers a verb as a commander action. */
export type Runner = <O, R>(verb: Verb<O, R>) => (...args: unknown[]) => Promise<void>;

/** The global options as commander parsed them; an empty --state-dir is refused, never a fallback. */
function readGlobals(command: Command): Globals {
  const options = command.optsWithGlobals<{ json?: boolean; stateDir?: string }>();
  if (options.stateDir !== undefined && options.stateDir.trim() === "") {
    // An unset shell variable (`--state-dir "$DIR"`) must not silently mean the real ~/.clawdbot.
    throw new MoltbotError(
      "USAGE",
      "--state-dir is empty. Give the state directory (e.g. --state-dir ~/.clawdbot), or leave the option out to use $MOLTBOT_STATE_DIR or ~/.clawdbot.",
    );
  }
  return { json: options.json === true, ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}) };
}

/** The store context for a command, saying once on stderr when two state dirs compete. */
function storeContextFor(io: CliIO, globals: Globals): StoreContext {
  const ctx = createStoreContext({
    env: io.env,
    ...(globals.stateDir !== undefined ? { stateDir: globals.stateDir } : {}),
    ...(io.now !== undefined ? { now: io.now } : {}),
  });
  if (ctx.paths.warning) io.err(`moltbot: ${ctx.paths.warning}\n`);
  return ctx;
}

/** Commander's repeatable-option collector. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const isOutputFailure = (error: unknown): error is MoltbotError =>
  isMoltbotError(error) && error.code === "OUTPUT_FAILED";

/**
 * The exact command line for a refusal of the ownership rule (MoltbotError.runAs), by the error:
 * the store does not know the user's argv, the runner does. reportError prints it.
 */
const runAsLines = new WeakMap<MoltbotError, string>();

/**
 * The runner for one CLI invocation: `onExit` receives each verb's exit status; `argv` is the
 * command line as typed (for the `sudo -u <owner> …` line of a refusal). Output that cannot be
 * written after the action succeeded is reported as such (exit 1, OUTPUT_FAILED).
 */
export function createRunner(io: CliIO, onExit: (status: number) => void, argv: readonly string[] = []): Runner {
  return <O, R>(verb: Verb<O, R>) =>
    async (...args: unknown[]) => {
      // Commander calls an action with the declared arguments, then the options, then the command.
      const command = args[args.length - 1] as Command;
      const globals = readGlobals(command);
      let ctx: StoreContext | undefined;
      const next = (...words: Word[]) => nextCommand(globals, ...words);
      let result: R;
      try {
        result = await verb.action({
          options: command.opts() as O,
          args: args.slice(0, -2) as (string | undefined)[],
          globals,
          store: () => (ctx ??= storeContextFor(io, globals)),
          next,
          io,
          command,
        });
      } catch (error) {
        if (isMoltbotError(error) && error.runAs !== undefined && ctx !== undefined) {
          runAsLines.set(error, runAsCommand(error.runAs, ctx.paths, withoutStateDir(argv)));
        }
        throw error;
      }
      try {
        if (verb.streamed) {
          // Printed by the action already.
        } else if (globals.json) printJson(io, verb.json ? verb.json(result) : result);
        else
          verb.human(result, {
            out: io.out,
            err: io.err,
            c: await colors(io),
            columns: io.columns,
            now: io.now ?? Date.now,
            next,
          });
      } catch (error) {
        if (isOutputFailure(error)) {
          throw new MoltbotError(
            "OUTPUT_FAILED",
            `${error.message} The command itself completed; only its output was lost.`,
          );
        }
        throw error;
      }
      onExit(verb.exit?.(result) ?? 0);
    };
}

/**
 * Turn any failure into output and an exit code: one line on stderr, or with --json the error
 * document on stdout. A stack trace (with its causes) only with MOLTBOT_DEBUG=1. When stdout itself is broken, the
 * line goes to stderr whatever the mode; if it was an error's document that could not be written,
 * the line names that error and the exit code stays that error's.
 */
export function reportError(io: CliIO, error: unknown, globals: Globals): number {
  let code: string;
  let message: string;
  let exitCode: number;
  let runAs: { runAs: string; command: string } | undefined;
  if (isMoltbotError(error)) {
    code = error.code;
    message = withStateDirInHints(error.message, globals.stateDir);
    exitCode = error.exitCode;
    const command = runAsLines.get(error);
    if (error.runAs !== undefined && command !== undefined) {
      // The store's closing advice ("Run the command as nobody.") becomes the exact line to run.
      runAs = { runAs: error.runAs, command };
      message = `${message.replace(/\s*Run the command as .*$/, "")} Run it as ${error.runAs}: ${command}`;
    }
  } else {
    code = "INTERNAL";
    message = `Unexpected error: ${error instanceof Error ? error.message : String(error)}. Run again with MOLTBOT_DEBUG=1 for details.`;
    exitCode = 3;
  }
  let line = message;
  if (globals.json && code !== "OUTPUT_FAILED") {
    try {
      printJson(io, { error: { code, message, ...runAs } });
      line = "";
    } catch (failure) {
      if (!isOutputFailure(failure)) throw failure;
      line = `${failure.message} The command failed: ${message}`;
    }
  }
  if (line !== "") io.err(`moltbot: ${escapeControl(line)}\n`);
  if (io.env.MOLTBOT_DEBUG === "1") {
    // The whole chain: a store error's cause is the system or SQLite failure under it.
    for (let at: unknown = error, depth = 0; at instanceof Error && depth < 5; at = at.cause, depth++)
      io.err(`${depth > 0 ? "Caused by: " : ""}${at.stack ?? at.message}\n`);
  }
  return exitCode;
}

/** What a command's help shows beyond commander's own: notes (e.g. the valid channels) and examples. */
export interface HelpExtras {
  notes: string[];
  examples: string[];
}

const helpExtras = new WeakMap<Command, HelpExtras>();

/**
 * Register a noun's verbs, given as one function per verb in help order: only the verb the command
 * line names when it names one (building every verb's options and help is most of a noun's start-up,
 * ~1.5 ms for pairing's twelve), else all of them (the noun's help, an unknown verb's suggestions,
 * completion). `words` are the command line's words (scanArgv); absent, every verb is registered.
 */
export function registerVerbs(
  noun: Command,
  words: readonly string[] | undefined,
  verbs: Readonly<Record<string, () => void>>,
): void {
  const named = words?.[0] === noun.name() ? words[1] : undefined;
  const only = named !== undefined && Object.hasOwn(verbs, named) ? verbs[named] : undefined;
  if (only) only();
  else for (const register of Object.values(verbs)) register();
}

/** Add notes and examples (command lines without the `$ `) to a command's help, text and --json. */
export function withHelp(command: Command, extras: Partial<HelpExtras>): Command {
  const current = helpExtras.get(command) ?? { notes: [], examples: [] };
  helpExtras.set(command, {
    notes: [...current.notes, ...(extras.notes ?? [])],
    examples: [...current.examples, ...(extras.examples ?? [])],
  });
  return command;
}

export const extrasOf = (command: Command): HelpExtras => helpExtras.get(command) ?? { notes: [], examples: [] };
