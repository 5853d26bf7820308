import { Help, type Command, type HelpConfiguration, type Option } from "commander";
import { extrasOf } from "./kit.js";

/*
 * Help, as text or (with --json) as one JSON document. Notes and examples are data on the command
 * (kit.withHelp), not text appended by commander's help events, so that the JSON form carries them
 * too and nothing else is ever written after the document.
 */

function optionJson(option: Option, global: boolean) {
  return {
    flags: option.flags,
    description: option.description,
    required: option.mandatory,
    ...(option.argChoices ? { choices: option.argChoices } : {}),
    ...(global ? { global: true } : {}),
  };
}

/** `{"command","usage","description","arguments","options","commands","notes","examples"}`. */
function helpDocument(command: Command, helper: Help): string {
  const extras = extrasOf(command);
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  const document = {
    command: names.join(" "),
    usage: helper.commandUsage(command),
    description: helper.commandDescription(command),
    arguments: command.registeredArguments.map((argument) => ({
      name: argument.name(),
      description: argument.description,
      required: argument.required,
    })),
    options: [
      ...helper.visibleOptions(command).map((option) => optionJson(option, false)),
      ...helper.visibleGlobalOptions(command).map((option) => optionJson(option, true)),
    ],
    commands: helper.visibleCommands(command).map((sub) => ({
      name: sub.name(),
      usage: helper.subcommandTerm(sub),
      description: helper.subcommandDescription(sub),
    })),
    notes: extras.notes,
    examples: extras.examples,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

function helpText(command: Command, helper: Help): string {
  const { notes, examples } = extrasOf(command);
  let text = Help.prototype.formatHelp.call(helper, command, helper);
  for (const note of notes) text += `\n${helper.boxWrap(note, helper.helpWidth ?? 80)}\n`;
  if (examples.length > 0) {
    text += `\n${examples.length === 1 ? "Example" : "Examples"}:\n${examples.map((line) => `  $ ${line}\n`).join("")}`;
  }
  return text;
}

/** Commander's help configuration: "(required)" on mandatory options, and text or JSON. */
export function helpConfiguration(json: boolean, width: () => number): HelpConfiguration {
  return {
    showGlobalOptions: true,
    // A getter: commander reads it only when it shows help, so other commands never ask the terminal.
    get helpWidth() {
      return width();
    },
    optionDescription(option: Option): string {
      const description = Help.prototype.optionDescription.call(this, option);
      return option.mandatory ? `${description} (required)` : description;
    },
    formatHelp: (command, helper) => (json ? helpDocument(command, helper) : helpText(command, helper)),
  };
}
