import type { Argument, Command, Option } from "commander";
import { CHANNEL_NAMES } from "../core/channels.js";
import { createStoreContext, type StoreContext } from "../store/context.js";
import { listDevices } from "../store/device-store.js";
import { listDmRequests } from "../store/dm-store.js";
import { listNodeRequests, listPairedNodes } from "../store/node-store.js";
import { declaredKinds, type CompletionKind } from "./completion-kinds.js";
import { escapeControl } from "./output.js";

/*
 * The completion engine: given the words of a command line, what may come next. It answers from the
 * commander program (commands, options, arguments and the kinds declared where they are registered,
 * see completion-kinds.ts) and from the store (codes and ids), read the way `list` reads it: no
 * lock, nothing created. The shell scripts only ask it and show its answer (completion.ts).
 */

export interface Candidate {
  /** The whole word, exactly as the command must receive it (a shell script quotes it when inserting). */
  value: string;
  /** One line of context shown beside it by zsh and fish; control characters already escaped. */
  description?: string;
}

/** Either words to offer, or "the current word is a directory": shells complete those natively. */
export type Completion = { type: "values"; candidates: Candidate[] } | { type: "dirs" };

export interface EngineOptions {
  env: NodeJS.ProcessEnv;
  now?: () => number;
}

/** What a value position completes to: a declared kind, commander's `.choices()`, or nothing. */
type ValueKind = CompletionKind | { choices: readonly string[] } | undefined;

interface Walk {
  command: Command;
  positionals: string[];
  /** Values typed so far, by kind: the channel a code belongs to, the state dir to read. */
  given: Map<CompletionKind, string>;
  /** Kinds given by options of the command itself: such an option stands in for an argument of that kind. */
  givenByOption: Set<CompletionKind>;
  /** A value-taking option whose value has not been typed yet. */
  pending?: { option: Option; owner: Command } | undefined;
  afterDashes: boolean;
}

const MAX_DESCRIPTION = 80;

function oneLine(text: string): string {
  const line = escapeControl(text.split("\n")[0]!.trim());
  return line.length > MAX_DESCRIPTION ? `${line.slice(0, MAX_DESCRIPTION - 1)}…` : line;
}

/** The option `flag` names on `command` or an ancestor (commander accepts program options anywhere). */
function findOption(command: Command, flag: string): { option: Option; owner: Command } | undefined {
  for (let owner: Command | null = command; owner; owner = owner.parent) {
    const option = owner.options.find((candidate) => candidate.long === flag || candidate.short === flag);
    if (option) return { option, owner };
  }
  return undefined;
}

const takesValue = (option: Option): boolean => option.required || option.optional;

function optionKind(owner: Command, option: Option): ValueKind {
  const declared = option.long !== undefined ? declaredKinds(owner)[option.long] : undefined;
  return declared ?? (option.argChoices ? { choices: option.argChoices } : undefined);
}

function argumentKind(command: Command, argument: Argument): ValueKind {
  return (
    declaredKinds(command)[argument.name()] ?? (argument.argChoices ? { choices: argument.argChoices } : undefined)
  );
}

function recordValue(walk: Walk, owner: Command, option: Option, value: string): void {
  const kind = optionKind(owner, option);
  if (typeof kind !== "string") return;
  walk.given.set(kind, value);
  if (owner === walk.command) walk.givenByOption.add(kind);
}

/** Follow the words before the cursor the way commander would parse them. */
function walkWords(program: Command, words: readonly string[]): Walk {
  const walk: Walk = {
    command: program,
    positionals: [],
    given: new Map(),
    givenByOption: new Set(),
    afterDashes: false,
  };
  for (const word of words) {
    const pending = walk.pending;
    // An optional value (`[x]`) is not taken from a word that looks like an option, as in commander.
    if (pending && !(pending.option.optional && word.startsWith("-"))) {
      recordValue(walk, pending.owner, pending.option, word);
      walk.pending = undefined;
      continue;
    }
    walk.pending = undefined;
    if (!walk.afterDashes && word === "--") {
      walk.afterDashes = true;
      continue;
    }
    if (!walk.afterDashes && word.startsWith("-") && word !== "-") {
      const equals = word.startsWith("--") ? word.indexOf("=") : -1;
      const found = findOption(walk.command, equals > 0 ? word.slice(0, equals) : word);
      if (found && takesValue(found.option)) {
        if (equals > 0) recordValue(walk, found.owner, found.option, word.slice(equals + 1));
        else walk.pending = found;
      }
      continue;
    }
    const sub =
      walk.positionals.length === 0 && !walk.afterDashes
        ? walk.command.commands.find((child) => child.name() === word || child.aliases().includes(word))
        : undefined;
    if (sub) {
      walk.command = sub;
      walk.givenByOption.clear();
      continue;
    }
    walk.positionals.push(word);
  }
  return walk;
}

/** The argument the next positional word fills, skipping those an option already gave (`approve --channel x`). */
function nextArgument(walk: Walk): ValueKind {
  const slots = walk.command.registeredArguments.filter((argument) => {
    const kind = argumentKind(walk.command, argument);
    return !(typeof kind === "string" && walk.givenByOption.has(kind));
  });
  slots.forEach((argument, index) => {
    const kind = argumentKind(walk.command, argument);
    const value = walk.positionals[index];
    if (typeof kind === "string" && value !== undefined) walk.given.set(kind, value);
  });
  const index = walk.positionals.length;
  const argument = slots[index] ?? (slots.at(-1)?.variadic ? slots.at(-1) : undefined);
  return argument ? argumentKind(walk.command, argument) : undefined;
}

/** The store the line points at: `--state-dir` typed on it, else the environment (as the command would). */
function storeFor(walk: Walk, options: EngineOptions): StoreContext | undefined {
  const stateDir = walk.given.get("state-dir");
  // An empty --state-dir is a usage error for the command: never read the default store instead.
  if (stateDir !== undefined && stateDir.trim() === "") return undefined;
  return createStoreContext({
    env: options.env,
    ...(stateDir !== undefined ? { stateDir } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}

const describe = (...parts: (string | undefined)[]): string =>
  oneLine(parts.filter((part) => part !== undefined && part !== "").join(" "));

/** Values of a store-backed kind. A store that cannot be read offers nothing: completion never reports errors. */
function storeValues(kind: CompletionKind, walk: Walk, options: EngineOptions): Candidate[] {
  try {
    const store = storeFor(walk, options);
    if (!store) return [];
    switch (kind) {
      case "dm-code": {
        const channel = walk.given.get("channel");
        if (channel === undefined) return [];
        return listDmRequests(store, channel).requests.map((request) => {
          const username = request.meta?.username;
          return {
            value: request.code,
            description: describe(username !== undefined ? `${request.id} (${username})` : request.id),
          };
        });
      }
      case "device-request":
        return listDevices(store).pending.map((request) => ({
          value: request.requestId,
          description: describe(request.displayName ?? request.deviceId, request.role, request.remoteIp),
        }));
      case "paired-device":
        return listDevices(store).paired.map((device) => ({
          value: device.deviceId,
          description: describe(device.operatorLabel ?? device.displayName, device.platform, device.role),
        }));
      case "node-request":
        return listNodeRequests(store).pending.map((request) => ({
          value: request.requestId,
          description: describe(request.displayName ?? request.nodeId, request.platform),
        }));
      case "paired-node":
        return listPairedNodes(store).paired.map((node) => ({
          value: node.nodeId,
          description: describe(node.displayName, node.platform),
        }));
      default:
        return [];
    }
  } catch {
    return [];
  }
}

/** Channel names and codes are matched case-insensitively: the commands accept any case. */
const CASELESS: ReadonlySet<ValueKind> = new Set<ValueKind>(["channel", "dm-code"]);

function values(kind: ValueKind, walk: Walk, typed: string, prefix: string, options: EngineOptions): Completion {
  if (kind === undefined) return { type: "values", candidates: [] };
  if (kind === "state-dir") return { type: "dirs" };
  const found =
    typeof kind === "object"
      ? kind.choices.map((choice) => ({ value: choice }))
      : kind === "channel"
        ? CHANNEL_NAMES.map((name) => ({ value: name }))
        : storeValues(kind, walk, options);
  const matches = CASELESS.has(kind)
    ? (value: string) => value.toLowerCase().startsWith(typed.toLowerCase())
    : (value: string) => value.startsWith(typed);
  return {
    type: "values",
    candidates: found
      .filter((candidate) => matches(candidate.value))
      .map((candidate) => ({ ...candidate, value: prefix + candidate.value })),
  };
}

function optionCandidates(command: Command, typed: string): Candidate[] {
  const help = command.createHelp();
  const own = help.visibleOptions(command);
  let root = command;
  while (root.parent) root = root.parent;
  // Program options (--json, --state-dir) work on every command; its --help and --version only on it.
  const globals =
    root === command
      ? []
      : help
          .visibleOptions(root)
          .filter((option) => option.long !== "--help" && option.long !== "--version")
          .filter((option) => !own.some((mine) => mine.long === option.long));
  return [...own, ...globals].flatMap((option) =>
    [option.short, option.long]
      .filter((flag): flag is string => flag !== undefined && flag.startsWith(typed))
      .map((flag) => ({ value: flag, description: oneLine(option.description) })),
  );
}

function subcommandCandidates(command: Command, typed: string): Candidate[] {
  return command
    .createHelp()
    .visibleCommands(command)
    .filter((sub) => sub.name().startsWith(typed))
    .map((sub) => ({ value: sub.name(), description: oneLine(sub.description()) }));
}

/**
 * A word offered must be typeable and showable as it is: one with a control, bidi or zero-width
 * character (anything the CLI would escape when printing it) is left out.
 */
const typeable = (candidate: Candidate): boolean =>
  candidate.value !== "" && escapeControl(candidate.value) === candidate.value;

/**
 * Complete the last of `words` (the words after the program name, unquoted, as the shell split
 * them; the last one is the word being typed, "" for a new one).
 */
export function completeWords(program: Command, words: readonly string[], options: EngineOptions): Completion {
  const current = words.at(-1) ?? "";
  const walk = walkWords(program, words.slice(0, -1));
  // Also records the values typed for the arguments so far (the channel whose codes to offer).
  const next = nextArgument(walk);
  const result = ((): Completion => {
    if (walk.pending) return values(optionKind(walk.pending.owner, walk.pending.option), walk, current, "", options);
    if (!walk.afterDashes && current.startsWith("-")) {
      const equals = current.startsWith("--") ? current.indexOf("=") : -1;
      if (equals > 0) {
        const found = findOption(walk.command, current.slice(0, equals));
        if (!found || !takesValue(found.option)) return { type: "values", candidates: [] };
        const prefix = current.slice(0, equals + 1);
        return values(optionKind(found.owner, found.option), walk, current.slice(equals + 1), prefix, options);
      }
      return { type: "values", candidates: optionCandidates(walk.command, current) };
    }
    if (walk.positionals.length === 0 && !walk.afterDashes && walk.command.commands.length > 0) {
      return { type: "values", candidates: subcommandCandidates(walk.command, current) };
    }
    return values(next, walk, current, "", options);
  })();
  if (result.type === "dirs") return result;
  const seen = new Set<string>();
  return {
    type: "values",
    candidates: result.candidates.filter((c) => typeable(c) && !seen.has(c.value) && Boolean(seen.add(c.value))),
  };
}
