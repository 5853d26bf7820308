import type { Command } from "commander";

/*
 * What an argument or a value-taking option completes to, declared where the command is registered.
 * This module is imported by every noun's registration module, which are on the start-up path of
 * every command: it must stay free of runtime imports (commander is only a type here).
 */

/**
 * - `channel`: the channel names;
 * - `dm-code`: the pending codes of the channel given on the line (as an argument or an option);
 * - `device-request`, `paired-device`, `node-request`, `paired-node`: ids read from the store;
 * - `state-dir`: a directory, and where the store is read from for the completions after it.
 * An argument or option without a kind completes to its commander `.choices()`, or to nothing.
 */
export type CompletionKind =
  "channel" | "dm-code" | "device-request" | "paired-device" | "node-request" | "paired-node" | "state-dir";

/** Kinds by argument name (`code`) or option long flag (`--channel`). */
export type CompletionKinds = Readonly<Record<string, CompletionKind>>;

const declared = new WeakMap<Command, CompletionKinds>();

/**
 * Declare what the arguments and options of `parent`'s subcommand `name` complete to (`name` ""
 * for `parent` itself), e.g. `completes(pairing, "approve", { channel: "channel", code: "dm-code" })`.
 * Call it right after registering the command. A declaration naming nothing that exists is a bug
 * that would silently turn a completion off, so it throws (any test of that noun then fails).
 */
export function completes(parent: Command, name: string, kinds: CompletionKinds): void {
  const command = name === "" ? parent : parent.commands.find((sub) => sub.name() === name);
  if (!command) throw new Error(`completes(): "${parent.name()}" has no subcommand "${name}"`);
  for (const key of Object.keys(kinds)) {
    const known = key.startsWith("-")
      ? command.options.some((option) => option.long === key)
      : command.registeredArguments.some((argument) => argument.name() === key);
    if (!known) throw new Error(`completes(): "${command.name()}" has no argument or option "${key}"`);
  }
  declared.set(command, { ...declared.get(command), ...kinds });
}

/** The kinds declared for `command` (for the completion engine and its tests). */
export function declaredKinds(command: Command): CompletionKinds {
  return declared.get(command) ?? {};
}
