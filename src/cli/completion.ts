import { Argument, type Command } from "commander";
import { completeWords, type Completion, type EngineOptions } from "./completion-engine.js";
import { withHelp, type Runner } from "./kit.js";

/*
 * `moltbot completion <shell>` prints a short script for the shell; on TAB the script runs the hidden
 * `moltbot __complete <shell> -- <what was typed>`, which answers from the program and the store
 * (completion-engine.ts). The reply is a header line, `values` or `dirs`, then one candidate per line.
 * Whatever a candidate holds (ids and codes come from the store, which an attacker may have written),
 * the scripts only ever add it to the shell's candidate list: nothing is expanded, evaluated or split.
 */

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

// --- the words before the cursor, as bash's readline sees them -------------------------------------

export interface LineWord {
  /** The word without its quotes and backslashes: what the command would receive. */
  value: string;
  /**
   * Where readline starts the text it replaces, as a length of `value`'s prefix that stays: after an
   * unquoted COMP_WORDBREAKS character (`--state-dir=`, `a:`) or after an opening quote left open.
   */
  kept: number;
  /** The quote left open at the cursor: readline inserts inside it and closes it itself. */
  quote?: "'" | '"';
}

const BLANK = new Set([" ", "\t", "\n"]);
// In double quotes a backslash escapes only these; before anything else it is itself.
const DOUBLE_QUOTED_ESCAPES = new Set(["$", "`", '"', "\\", "\n"]);

/**
 * Split a bash command line (up to the cursor) into words the way bash would before running it:
 * quotes and backslashes removed, nothing expanded. The last word is the one being completed ("" after
 * a blank). Assignments before the command (`FOO=1 moltbot …`) and the command itself are dropped.
 */
export function splitBashLine(line: string, wordBreaks: string): { words: string[]; current: LineWord } | undefined {
  const words: string[] = [];
  let value: string | undefined;
  let quote: "'" | '"' | undefined;
  let afterBreak = 0;
  let afterQuote = 0;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quote === undefined && BLANK.has(char)) {
      if (value !== undefined) words.push(value);
      value = undefined;
      afterBreak = 0;
      continue;
    }
    value ??= "";
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else value += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === "\\" && DOUBLE_QUOTED_ESCAPES.has(line[i + 1] ?? "")) value += line[++i];
      else value += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      afterQuote = value.length;
    } else if (char === "\\") {
      // A backslash at the very end escapes nothing yet.
      if (i + 1 < line.length) value += line[++i];
    } else {
      value += char;
      if (wordBreaks.includes(char)) afterBreak = value.length;
    }
  }
  const current: LineWord =
    value === undefined
      ? { value: "", kept: 0 }
      : { value, kept: quote ? afterQuote : afterBreak, ...(quote ? { quote } : {}) };
  let start = 0;
  while (start < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[start]!)) start++;
  // No command word before the cursor: the command name itself is being typed, not ours to complete.
  if (start >= words.length) return undefined;
  return { words: words.slice(start + 1), current };
}

// Characters that never need quoting on a bash command line (anywhere in a word).
const BARE = /^[A-Za-z0-9_./:@%+,=-]$/;

/**
 * `text` quoted for bash: bare, or inside a quote the user opened. In a quote, readline closes it after
 * a single match, but only when the character before the cursor is not that quote itself; so a text
 * that ends with one (`it'` becomes `it'\''`, which reopens the quote) gets its closing quote from us.
 * `!` is never left where history expansion would see it (`\!`, or `'!'` outside the double quotes).
 */
export function quoteForBash(text: string, quote: "'" | '"' | undefined): string {
  if (quote === undefined) {
    return [...text].map((char) => (BARE.test(char) || char.codePointAt(0)! > 0x7f ? char : `\\${char}`)).join("");
  }
  const quoted =
    quote === "'"
      ? text.replace(/'/g, `'\\''`)
      : text.replace(/[$`"\\]/g, (char) => `\\${char}`).replace(/!/g, `"'!'"`);
  return quoted.endsWith(quote) ? `${quoted}${quote}` : quoted;
}

/**
 * The replies for bash: readline inserts COMPREPLY entries as they are, in place of the text after
 * `kept`, so each entry is the rest of the candidate, quoted. A candidate that does not extend the
 * text kept in place (the part before `=` or `:`) cannot be inserted and is left out.
 */
function bashReply(completion: Completion, current: LineWord): string[] {
  const kept = current.value.slice(0, current.kept);
  if (completion.type === "dirs") return ["dirs", current.value.slice(current.kept)];
  return [
    "values",
    ...completion.candidates
      .filter((candidate) => candidate.value.startsWith(kept))
      .map((candidate) => quoteForBash(candidate.value.slice(kept.length), current.quote)),
  ];
}

/** zsh and fish insert and quote candidates themselves: `value<TAB>description`. */
function describedReply(completion: Completion): string[] {
  if (completion.type === "dirs") return ["dirs"];
  return ["values", ...completion.candidates.map((c) => (c.description ? `${c.value}\t${c.description}` : c.value))];
}

/**
 * The answer to `moltbot __complete <shell> -- <args>`: for bash, its COMP_WORDBREAKS and the line up to
 * the cursor; for zsh and fish, the words after the command name, the last one being completed. Never
 * throws: on any problem there is nothing to offer, and the shell shows nothing.
 */
export function completionReply(
  program: Command,
  shell: string,
  args: readonly string[],
  options: EngineOptions,
): string {
  try {
    let lines: string[];
    if (shell === "bash") {
      const split = splitBashLine(args[1] ?? "", args[0] ?? "");
      if (!split) return "";
      lines = bashReply(completeWords(program, [...split.words, split.current.value], options), split.current);
    } else if (shell === "zsh" || shell === "fish") {
      // fish hands over the word being typed as typed (quotes and all).
      const words = [...args];
      if (shell === "fish" && words.length > 0) words.push(splitBashLine(`_ ${words.pop()}`, "")?.current.value ?? "");
      lines = describedReply(completeWords(program, words.length > 0 ? words : [""], options));
    } else {
      return "";
    }
    return `${lines.join("\n")}\n`;
  } catch {
    return "";
  }
}

// --- the scripts -----------------------------------------------------------------------------------

const BASH = `# bash completion for moltbot (printed by \`moltbot completion bash\`).
# This shell only:  source <(moltbot completion bash)
# Every shell:      echo 'eval "$(moltbot completion bash)"' >> ~/.bashrc
# Candidates come from \`moltbot __complete\`, already quoted for the command line. Each line it prints
# becomes one COMPREPLY entry as it is: nothing it prints is expanded, split or evaluated.
_moltbot() {
  local line
  local -a reply=()
  COMPREPLY=()
  while IFS= read -r line; do reply+=("$line"); done < <(moltbot __complete bash -- "$COMP_WORDBREAKS" "\${COMP_LINE:0:COMP_POINT}" 2>/dev/null)
  case "\${reply[0]-}" in
    values) COMPREPLY=("\${reply[@]:1}") ;;
    dirs)
      compopt -o filenames 2>/dev/null
      while IFS= read -r line; do COMPREPLY+=("$line"); done < <(compgen -d -- "\${reply[1]-}")
      ;;
  esac
  return 0
}
complete -F _moltbot moltbot
`;

const ZSH = `#compdef moltbot
# zsh completion for moltbot (printed by \`moltbot completion zsh\`).
# Every shell:  echo 'eval "$(moltbot completion zsh)"' >> ~/.zshrc   (after compinit)
# Or:           moltbot completion zsh > "\${fpath[1]}/_moltbot"
# Candidates come from \`moltbot __complete\`, one per line; compadd offers each as a literal word and
# quotes it when inserting: nothing it prints is expanded or evaluated.
_moltbot() {
  local -a reply values shown
  local line value width=0
  reply=("\${(@f)$(moltbot __complete zsh -- "\${(@Q)words[2,CURRENT-1]}" "\${(Q)PREFIX}" 2>/dev/null)}")
  case "\${reply[1]}" in
    (dirs)
      [[ $PREFIX == -* ]] && compset -P '*='
      _files -/
      ;;
    (values)
      for line in "\${(@)reply[2,-1]}"; do
        value="\${line%%$'\\t'*}"
        values+=("$value")
        (( \${#value} > width )) && width=\${#value}
      done
      for line in "\${(@)reply[2,-1]}"; do
        if [[ $line == *$'\\t'* ]]; then
          shown+=("\${(r:width:)\${line%%$'\\t'*}}  -- \${line#*$'\\t'}")
        else
          shown+=("$line")
        fi
      done
      (( \${#values} )) && compadd -M 'm:{a-zA-Z}={A-Za-z}' -l -d shown -a values
      ;;
  esac
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _moltbot "$@"
else
  compdef _moltbot moltbot
fi
`;

const FISH = `# fish completion for moltbot (printed by \`moltbot completion fish\`).
# This shell only:  moltbot completion fish | source
# Every shell:      moltbot completion fish > ~/.config/fish/completions/moltbot.fish
# Candidates come from \`moltbot __complete\`, one per line (value<TAB>description); fish offers each
# as a literal word and escapes it when inserting: nothing it prints is expanded or evaluated.
function __moltbot_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l current (commandline -ct)
    set -l reply (moltbot __complete fish -- $words "$current" 2>/dev/null)
    switch "$reply[1]"
        case values
            set -e reply[1]
            printf '%s\\n' $reply
        case dirs
            set -l option (string match -r -- '^--[^=]*=' "$current")
            __fish_complete_directories (string replace -r -- '^--[^=]*=' '' "$current") | string replace -r -- '^' "$option"
    end
end
complete -c moltbot -f -a '(__moltbot_complete)'
`;

export const COMPLETION_SCRIPTS: Readonly<Record<Shell, string>> = { bash: BASH, zsh: ZSH, fish: FISH };

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

export function registerCompletion(program: Command, run: Runner): void {
  const completion = program
    .command("completion")
    .description("print the shell completion script for bash, zsh or fish")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .action(
      run<object, { shell: string; script: string }>({
        action: ({ args: [shell] }) => ({ shell: shell!, script: COMPLETION_SCRIPTS[shell as Shell] }),
        human: (result, show) => show.out(result.script),
      }),
    );
  withHelp(completion, {
    notes: [
      [
        "Completes commands, options, channel names, the pending codes of",
        "`pairing approve|reject <channel>` and the ids of `devices` and `nodes`",
        "(read from the state directory, or the --state-dir typed on the line).",
      ].join("\n"),
    ],
    examples: [
      "source <(moltbot completion bash)                          # this shell only",
      "echo 'eval \"$(moltbot completion bash)\"' >> ~/.bashrc      # every bash",
      "echo 'eval \"$(moltbot completion zsh)\"' >> ~/.zshrc        # every zsh (after compinit)",
      "moltbot completion fish > ~/.config/fish/completions/moltbot.fish",
    ],
  });
}

/**
 * The hidden engine entry the scripts call. A command of its own (not an option of `completion`), so
 * `completion <shell>` keeps a required argument, and the words after `--` are never parsed as options.
 */
export function registerCompletionEngine(program: Command, run: Runner): void {
  program
    .command("__complete", { hidden: true })
    // Nothing is required: a completion must never end in a usage error.
    .argument("[shell]")
    .argument("[words...]")
    .helpOption(false)
    .action(
      run<object, string>({
        action: ({ io, command }) => {
          const [shell = "", ...words] = command.args;
          return completionReply(rootOf(command), shell, words, { env: io.env, ...(io.now ? { now: io.now } : {}) });
        },
        human: (reply, show) => show.out(reply),
      }),
    );
}
