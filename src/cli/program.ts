import { Command, CommanderError, Option } from "commander";
import { MoltbotError } from "../errors.js";
import { completes } from "./completion-kinds.js";
import { helpConfiguration } from "./help.js";
import { createRunner, reportError, withHelp, type Runner } from "./kit.js";
import { escapeControl, printJson, type CliIO } from "./output.js";

declare const __MOLTBOT_VERSION__: string | undefined;
const VERSION = typeof __MOLTBOT_VERSION__ === "string" ? __MOLTBOT_VERSION__ : "0.0.0-dev";

/**
 * Registers one noun's commands; each noun lives in its own module. `words` (the command line's,
 * absent for the whole program) lets it build only the verb named (kit.ts, registerVerbs).
 */
export type NounRegistrar = (program: Command, run: Runner, words?: readonly string[]) => void;

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
 * TO ADD A VERB, see kit.ts.
 */
const NOUNS: Noun[] = [
  { name: "pairing", load: async () => (await import("./pairing.js")).registerPairing },
  { name: "devices", load: async () => (await import("./devices.js")).registerDevices },
  { name: "nodes", load: async () => (await import("./nodes.js")).registerNodes },
  { name: "doctor", load: async () => (await import("./doctor.js")).registerDoctor },
  { name: "log", load: async () => (await import("./log.js")).registerLog },
  { name: "completion", load: async () => (await import("./completion.js")).registerCompletion },
  // The hidden entry shell completion calls on TAB: it answers from the whole program.
  {
    name: "__complete",
    load: async () => (await import("./completion.js")).registerCompletionEngine,
    needsAllNouns: true,
  },
];

/** What the command line asks for, read once before parsing (so even a usage error can be JSON). */
export interface ArgvScan {
  /** The arguments to parse: `help <command…>` becomes `<command…> --help`. */
  argv: string[];
  json: boolean;
  /** The words that are neither options nor the value of --state-dir, before any `--`. */
  words: string[];
  /** The --state-dir given, so that hints in error messages keep it. */
  stateDir?: string;
}

export function scanArgv(argv: readonly string[]): ArgvScan {
  let json = false;
  let stateDir: string | undefined;
  const words: string[] = [];
  let helpAt = -1;
  let end = argv.length;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      end = i;
      break;
    }
    if (arg === "--json") json = true;
    else if (arg === "--state-dir") stateDir = argv[++i];
    else if (arg.startsWith("--state-dir=")) stateDir = arg.slice("--state-dir=".length);
    else if (!arg.startsWith("-")) {
      if (words.length === 0 && arg === "help") helpAt = i;
      words.push(arg);
    }
  }
  const scan = { json, ...(stateDir !== undefined ? { stateDir } : {}) };
  if (helpAt === -1) return { argv: [...argv], words, ...scan };
  // Commander's own `help a b` shows the help of `a` only; `a b --help` shows that of `a b`.
  const rewritten = [...argv.slice(0, helpAt), ...argv.slice(helpAt + 1, end), "--help", ...argv.slice(end)];
  return { argv: rewritten, words: words.slice(1), ...scan };
}

/** The nouns a command line needs: only the one it names, else all of them. */
export function nounsFor(scan: Pick<ArgvScan, "words">): Noun[] {
  const noun = NOUNS.find((candidate) => candidate.name === scan.words[0]);
  return noun && !noun.needsAllNouns ? [noun] : NOUNS;
}

/** The program with the nouns the command line needs (all of them when no scan is given). */
export async function buildProgram(io: CliIO, run: Runner, scan?: ArgvScan): Promise<Command> {
  const registrars = await Promise.all((scan === undefined ? NOUNS : nounsFor(scan)).map((noun) => noun.load()));
  const json = scan?.json ?? false;
  const program = new Command("moltbot")
    .description(
      "Approve who may talk to your Moltbot (DM pairing) and which devices may join its gateway (device pairing).",
    )
    .addOption(new Option("-V, --version", "print the version"))
    .option("--json", "print one JSON document on stdout (errors, help and --version too)")
    .option("--state-dir <dir>", "state directory (default: $MOLTBOT_STATE_DIR, $CLAWDBOT_STATE_DIR, ~/.clawdbot)")
    .configureHelp(helpConfiguration(json, () => Math.min(io.columns, 100)))
    .configureOutput({
      writeOut: (text) => io.out(text),
      // Commander's own error lines are replaced by ours (one line, with a hint, or JSON).
      writeErr: () => {},
      outputError: () => {},
    })
    .showSuggestionAfterError(true)
    .exitOverride();
  program.on("option:version", () => {
    if (json) printJson(io, { version: VERSION });
    else io.out(`${VERSION}\n`);
    throw new CommanderError(0, "commander.version", VERSION);
  });
  withHelp(program, {
    examples: ["moltbot pairing list", "moltbot pairing approve telegram ABCD2345", "moltbot devices list"],
  });
  completes(program, "", { "--state-dir": "state-dir" });
  for (const register of registrars) register(program, run, scan?.words);
  return program;
}

function usageMessage(error: CommanderError, words: readonly string[]): string {
  const text = error.message
    .replace(/^error: /, "")
    .replace(/\n/g, " ")
    .trim();
  // Point at the help of the noun and verb typed; for an unknown command, at the one that exists.
  const command = words.slice(0, 2);
  if (error.code === "commander.unknownCommand") command.pop();
  const help = command.length > 0 ? `moltbot ${command.join(" ")} --help` : "moltbot --help";
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.?]$/.test(text) ? "" : "."} Run "${escapeControl(help)}" for usage.`;
}

/** Run the CLI on `argv` (without node and script) and return the exit code. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const scan = scanArgv(argv);
  let exitCode = 0;
  const run = createRunner(io, (status) => (exitCode = status), argv);
  try {
    const program = await buildProgram(io, run, scan);
    await program.parseAsync(scan.argv, { from: "user" });
  } catch (error) {
    let failure = error;
    if (error instanceof CommanderError) {
      // Help and --version end with a CommanderError of exit code 0: they are done.
      if (error.exitCode === 0) return 0;
      // `moltbot pairing` without a verb: commander's help-on-error is muted, so say what is missing (exit 2).
      const reported = error.code === "commander.help" ? new CommanderError(2, error.code, "missing command") : error;
      failure = new MoltbotError("USAGE", usageMessage(reported, scan.words));
    }
    exitCode = reportError(io, failure, scan);
  }
  return exitCode;
}
