import { Command, CommanderError } from "commander";
import { MoltbotError } from "../errors.js";
import { completes } from "./completion-kinds.js";
import { escapeControl, reportError, type CliIO } from "./output.js";
import type { Runner } from "./pairing.js";

declare const __MOLTBOT_VERSION__: string | undefined;
const VERSION = typeof __MOLTBOT_VERSION__ === "string" ? __MOLTBOT_VERSION__ : "0.0.0-dev";

/** Registers one noun's commands; each noun lives in its own module. */
export type NounRegistrar = (program: Command, run: Runner) => void;

export interface Noun {
  /** The first word of the command line, e.g. "devices". */
  name: string;
  load: () => Promise<NounRegistrar>;
  /** Set when running this noun needs every other noun registered too (e.g. shell completion). */
  needsAllNouns?: true;
}

/*
 * TO ADD A NOUN, add ONE line here, loaded with import() — never a static import at the top of this
 * file: a command loads (evaluates) only its own noun's module, so `moltbot pairing list` never pays
 * for devices, nodes or doctor (start-up time is budgeted, see README "Performance" / `npm run bench`):
 *   { name: "devices", load: async () => (await import("./devices.js")).registerDevices },
 * Help, --version and unknown words load every noun, so they behave as if all were registered.
 */
const NOUNS: Noun[] = [
  { name: "pairing", load: async () => (await import("./pairing.js")).registerPairing },
  { name: "devices", load: async () => (await import("./devices.js")).registerDevices },
  { name: "nodes", load: async () => (await import("./nodes.js")).registerNodes },
  { name: "doctor", load: async () => (await import("./doctor.js")).registerDoctor },
  { name: "completion", load: async () => (await import("./completion.js")).registerCompletion },
  // The hidden entry shell completion calls on TAB: it answers from the whole program.
  {
    name: "__complete",
    load: async () => (await import("./completion.js")).registerCompletionEngine,
    needsAllNouns: true,
  },
];

/** The nouns `argv` needs: only the one it names (skipping global options), else all of them. */
export function nounsFor(argv: readonly string[]): Noun[] {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--state-dir") {
      i++;
      continue;
    }
    if (arg === "--json" || arg.startsWith("--state-dir=")) continue;
    const noun = arg.startsWith("-") ? undefined : NOUNS.find((candidate) => candidate.name === arg);
    return noun && !noun.needsAllNouns ? [noun] : NOUNS;
  }
  return NOUNS;
}

/** Whether the user asked for JSON, looked up before parsing so even usage errors come out as JSON. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

/** The program with the nouns `argv` needs (all of them when `argv` is not given). */
export async function buildProgram(io: CliIO, run: Runner, argv?: readonly string[]): Promise<Command> {
  const registrars = await Promise.all((argv === undefined ? NOUNS : nounsFor(argv)).map((noun) => noun.load()));
  const program = new Command("moltbot")
    .description(
      "Approve who may talk to your Moltbot (DM pairing) and which devices may join its gateway (device pairing).",
    )
    .version(VERSION, "-V, --version", "print the version")
    .option("--json", "print one JSON document on stdout (errors too)")
    .option("--state-dir <dir>", "state directory (default: $MOLTBOT_STATE_DIR, $CLAWDBOT_STATE_DIR, ~/.clawdbot)")
    .configureHelp({
      showGlobalOptions: true,
      // A getter: commander reads it only when it shows help, so other commands never ask the terminal.
      get helpWidth() {
        return Math.min(io.columns, 100);
      },
    })
    .configureOutput({
      writeOut: (text) => io.out(text),
      // Commander's own error lines are replaced by ours (one line, with a hint, or JSON).
      writeErr: () => {},
      outputError: () => {},
    })
    .showSuggestionAfterError(true)
    .exitOverride()
    .addHelpText(
      "after",
      "\nExamples:\n  $ moltbot pairing list\n  $ moltbot pairing approve telegram ABCD2345\n  $ moltbot devices list",
    );
  completes(program, "", { "--state-dir": "state-dir" });
  for (const register of registrars) register(program, run);
  return program;
}

function usageMessage(error: CommanderError, argv: readonly string[]): string {
  const text = error.message
    .replace(/^error: /, "")
    .replace(/\n/g, " ")
    .trim();
  // The noun and verb: the first two words that are neither options nor the value of --state-dir.
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    if (argv[i] === "--state-dir") i++;
    else if (!argv[i]!.startsWith("-")) words.push(argv[i]!);
  }
  // For an unknown command, point at the help of the command that does exist.
  if (error.code === "commander.unknownCommand") words.pop();
  const command = words.join(" ");
  const help = command ? `moltbot ${command} --help` : "moltbot --help";
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.?]$/.test(text) ? "" : "."} Run "${escapeControl(help)}" for usage.`;
}

/** Run the CLI on `argv` (without node and script) and return the exit code. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const json = wantsJson(argv);
  let exitCode = 0;
  const run: Runner =
    (action) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const positional = args.slice(0, -2) as string[];
      const status: unknown = await action(io, command, positional);
      // An action may return its exit status when it has reported the outcome itself (doctor: 1 = problems left).
      if (typeof status === "number") exitCode = status;
    };
  try {
    const program = await buildProgram(io, run, argv);
    await program.parseAsync([...argv], { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.exitCode === 0) {
        return 0;
      }
      if (error.code === "commander.executeSubCommandAsync") return error.exitCode;
      // `moltbot pairing` without a verb: commander's help-on-error is muted, so say what is missing (exit 2).
      const reported = error.code === "commander.help" ? new CommanderError(2, error.code, "missing command") : error;
      exitCode = reportError(io, new MoltbotError("USAGE", usageMessage(reported, argv)), json);
    } else {
      exitCode = reportError(io, error, json);
    }
  }
  return exitCode;
}
