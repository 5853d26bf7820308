import { Argument, Option, type Command } from "commander";
import { CHANNEL_NAMES } from "../core/channels.js";
import { listDevices } from "../store/device-store.js";
import { listDmRequests } from "../store/dm-store.js";
import { listNodeRequests } from "../store/node-store.js";
import { createStoreContext } from "../store/context.js";
import { MoltbotError } from "../errors.js";
import { withHelp, type Runner } from "./kit.js";
import { escapeControl, type CliIO } from "./output.js";

/**
 * `moltbot completion bash|zsh|fish`. The scripts are generated from the commander program itself
 * (every visible command, option and argument), so they cannot drift from the CLI. The one dynamic
 * part, the pending codes of `pairing approve|reject <channel>`, comes from the hidden
 * `moltbot completion --codes <channel>`, which reads the store without a lock and never fails;
 * likewise device and node ids come from `moltbot completion --ids <kind>`.
 */

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** Ids read from the store when completing: pending device requests, paired devices, pending node requests. */
export const ID_KINDS = ["device-request", "device", "node-request"] as const;
export type IdKind = (typeof ID_KINDS)[number];

/** What a value position completes to. */
export type ValueKind = "channel" | "code" | "dir" | "any" | IdKind | `choices:${string}`;

export interface CompletionEntry {
  name: string;
  description: string;
}

export interface CompletionNode {
  /** Space-separated command path: "" for the program, "pairing approve" for a verb. */
  path: string;
  subcommands: CompletionEntry[];
  /** Every flag spelling (short and long) as its own entry. */
  options: CompletionEntry[];
  /** Options that take a value, by flag, and what the value completes to. */
  valueOptions: Record<string, ValueKind>;
  /** One kind per positional argument, in order. */
  args: ValueKind[];
}

function firstLine(text: string): string {
  const line = text.split("\n")[0]!.trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

function argumentKind(path: string, argument: Argument): ValueKind {
  const name = argument.name();
  if (name === "channel") return "channel";
  if (name === "code") return "code";
  const noun = path.split(" ")[0];
  if (noun === "devices" && (name === "id" || name === "requestId")) return "device-request";
  if (noun === "devices" && name === "deviceId") return "device";
  if (noun === "nodes" && name === "requestId") return "node-request";
  if (argument.argChoices) return `choices:${argument.argChoices.join(",")}`;
  return "any";
}

function optionKind(option: Option): ValueKind {
  if (option.argChoices) return `choices:${option.argChoices.join(",")}`;
  if (option.attributeName() === "channel") return "channel";
  // `--device <id>` names a paired device (`devices request --device-id` names a new one).
  if (option.attributeName() === "device") return "device";
  if (option.attributeName() === "stateDir") return "dir";
  return "any";
}

/** Walk the program: one node per command, global options (--json, --state-dir) offered everywhere. */
export function completionModel(program: Command): CompletionNode[] {
  const help = program.createHelp();
  const globals = help
    .visibleOptions(program)
    .filter((option) => option.long !== "--help" && option.long !== "--version");
  const nodes: CompletionNode[] = [];
  const visit = (command: Command, path: string): void => {
    const own = help.visibleOptions(command);
    const options =
      path === "" ? own : [...own, ...globals.filter((global) => !own.some((o) => o.long === global.long))];
    const node: CompletionNode = { path, subcommands: [], options: [], valueOptions: {}, args: [] };
    for (const option of options) {
      for (const flag of [option.short, option.long]) {
        if (!flag) continue;
        node.options.push({ name: flag, description: firstLine(option.description) });
        if (option.required || option.optional) node.valueOptions[flag] = optionKind(option);
      }
    }
    node.args = command.registeredArguments.map((argument) => argumentKind(path, argument));
    const children: Command[] = [];
    for (const sub of help.visibleCommands(command)) {
      node.subcommands.push({ name: sub.name(), description: firstLine(sub.description()) });
      // The implicit `help` command is listed but is not a real child.
      if (command.commands.includes(sub)) children.push(sub);
    }
    nodes.push(node);
    for (const child of children) visit(child, path === "" ? child.name() : `${path} ${child.name()}`);
  };
  visit(program, "");
  return nodes;
}

// --- quoting -------------------------------------------------------------------------------------

/** POSIX single quotes (bash and zsh). */
const sq = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
/** fish single quotes: only \ and ' are special inside. */
const fq = (text: string): string => `'${text.replace(/[\\']/g, (char) => `\\${char}`)}'`;
/** zsh _describe entry "name:description" (a colon in the name must be escaped). */
const describeEntry = (entry: CompletionEntry): string => sq(`${entry.name.replace(/:/g, "\\:")}:${entry.description}`);

const HEADER_NOTE = "Generated by `moltbot completion`, from the CLI itself; regenerate after upgrading moltbot.";

// --- bash ----------------------------------------------------------------------------------------

function bashScript(nodes: readonly CompletionNode[]): string {
  const cases = nodes
    .map((node) => {
      const valueOptions = Object.entries(node.valueOptions).map(([flag, kind]) => `${flag}=${kind}`);
      return [
        `    ${sq(node.path)})`,
        `      __moltbot_subs=${sq(node.subcommands.map((s) => s.name).join(" "))}`,
        `      __moltbot_opts=${sq(node.options.map((o) => o.name).join(" "))}`,
        `      __moltbot_valopts=${sq(valueOptions.join(" "))}`,
        `      __moltbot_args=${sq(node.args.join(" "))}`,
        "      ;;",
      ].join("\n");
    })
    .join("\n");
  return `# bash completion for moltbot. ${HEADER_NOTE}
# Now:          source <(moltbot completion bash)
# Every shell:  echo 'eval "$(moltbot completion bash)"' >> ~/.bashrc
# Works with bash 3.2 and later; needs nothing else.

# Set the subcommands, options, value-taking options and argument kinds of one command path.
__moltbot_node() {
  __moltbot_subs='' __moltbot_opts='' __moltbot_valopts='' __moltbot_args=''
  case "$1" in
${cases}
  esac
}

# Set __moltbot_kind to what the option $1 takes as a value (empty for a plain flag).
__moltbot_value_kind() {
  local entry
  __moltbot_kind=''
  for entry in $__moltbot_valopts; do
    if [[ "\${entry%%=*}" == "$1" ]]; then __moltbot_kind="\${entry#*=}"; return; fi
  done
}

__moltbot_upper() { printf '%s' "$1" | tr '[:lower:]' '[:upper:]'; }
__moltbot_lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

# Fill COMPREPLY with the values of kind $1 that start with $cur.
__moltbot_values() {
  local code rest
  local -a codes
  case "$1" in
    channel) COMPREPLY=($(compgen -W ${sq(CHANNEL_NAMES.join(" "))} -- "$(__moltbot_lower "$cur")")) ;;
    dir)
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -d -- "$cur"))
      ;;
    code)
      [[ -n "$channel" ]] || return 0
      # The pending codes of that channel, read from the store by moltbot itself.
      while read -r code rest; do
        [[ -n "$code" ]] && codes+=("$code")
      done < <(moltbot completion --codes "$channel" \${state_dir:+--state-dir "$state_dir"} 2>/dev/null)
      COMPREPLY=($(compgen -W "\${codes[*]}" -- "$(__moltbot_upper "$cur")"))
      ;;
    ${ID_KINDS.join("|")})
      while read -r code rest; do
        [[ -n "$code" ]] && codes+=("$code")
      done < <(moltbot completion --ids "$1" \${state_dir:+--state-dir "$state_dir"} 2>/dev/null)
      COMPREPLY=($(compgen -W "\${codes[*]}" -- "$cur"))
      ;;
    choices:*)
      rest="\${1#choices:}"
      COMPREPLY=($(compgen -W "\${rest//,/ }" -- "$cur"))
      ;;
  esac
}

_moltbot() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmd_path='' word expect='' state_dir='' channel_opt='' channel='' i
  local -a positionals=() kinds=()
  COMPREPLY=()
  __moltbot_node ''
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ -n "$expect" ]]; then
      # bash splits --opt=value at "=" (COMP_WORDBREAKS): skip the "=" itself.
      [[ "$word" == "=" ]] && continue
      case "$expect" in
        --state-dir) state_dir="$word" ;;
        --channel) channel_opt="$word" ;;
      esac
      expect=''
      continue
    fi
    case "$word" in
      --state-dir=*) state_dir="\${word#*=}"; continue ;;
      --channel=*) channel_opt="\${word#*=}"; continue ;;
      -*)
        __moltbot_value_kind "$word"
        [[ -n "$__moltbot_kind" ]] && expect="$word"
        continue
        ;;
    esac
    if [[ \${#positionals[@]} -eq 0 && " $__moltbot_subs " == *" $word "* ]]; then
      cmd_path="\${cmd_path:+$cmd_path }$word"
      __moltbot_node "$cmd_path"
      continue
    fi
    positionals+=("$word")
  done

  if [[ -n "$expect" ]]; then
    [[ "$cur" == "=" ]] && cur=''
    __moltbot_value_kind "$expect"
    __moltbot_values "$__moltbot_kind"
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$__moltbot_opts" -- "$cur"))
    return 0
  fi
  if [[ \${#positionals[@]} -eq 0 && -n "$__moltbot_subs" ]]; then
    COMPREPLY=($(compgen -W "$__moltbot_subs" -- "$cur"))
    return 0
  fi
  kinds=($__moltbot_args)
  # "approve --channel telegram <code>": the option stands in for the channel argument.
  if [[ -n "$channel_opt" && "\${kinds[0]}" == channel ]]; then
    positionals=("$channel_opt" "\${positionals[@]}")
  fi
  for ((i = 0; i < \${#kinds[@]}; i++)); do
    [[ "\${kinds[i]}" == channel ]] && channel="\${positionals[i]}"
  done
  __moltbot_values "\${kinds[\${#positionals[@]}]}"
  return 0
}

complete -F _moltbot moltbot
`;
}

// --- zsh -----------------------------------------------------------------------------------------

function zshScript(nodes: readonly CompletionNode[]): string {
  const cases = nodes
    .map((node) => {
      const valueOptions = Object.entries(node.valueOptions).flatMap(([flag, kind]) => [sq(flag), sq(kind)]);
      return [
        `    (${sq(node.path)})`,
        `      subs=(${node.subcommands.map(describeEntry).join(" ")})`,
        `      opts=(${node.options.map(describeEntry).join(" ")})`,
        `      valopts=(${valueOptions.join(" ")})`,
        `      kinds=(${node.args.map(sq).join(" ")})`,
        "      ;;",
      ].join("\n");
    })
    .join("\n");
  return `#compdef moltbot
# zsh completion for moltbot. ${HEADER_NOTE}
# Now:          source <(moltbot completion zsh)
# Every shell:  echo 'eval "$(moltbot completion zsh)"' >> ~/.zshrc   (after compinit)
# Or:           moltbot completion zsh > "\${fpath[1]}/_moltbot"

# Set subs, opts, valopts and kinds (declared by the caller) for one command path.
__moltbot_node() {
  subs=() opts=() valopts=() kinds=()
  case "$1" in
${cases}
  esac
}

# Offer the values of kind $1.
__moltbot_values() {
  local -a codes
  case "$1" in
    (channel) compadd -M 'm:{A-Z}={a-z}' -- ${CHANNEL_NAMES.join(" ")} ;;
    (dir) _files -/ ;;
    (code)
      [[ -n "$channel" ]] || return 0
      # "CODE<TAB>sender" lines from the store, read by moltbot itself.
      codes=(\${\${(f)"$(moltbot completion --codes "$channel" \${state_dir:+--state-dir} \${state_dir:+"$state_dir"} 2>/dev/null)"}/$'\\t'/:})
      (( \${#codes} )) && _describe -t codes 'pending code' codes -M 'm:{a-z}={A-Z}'
      ;;
    (${ID_KINDS.join("|")})
      codes=(\${\${(f)"$(moltbot completion --ids "$1" \${state_dir:+--state-dir} \${state_dir:+"$state_dir"} 2>/dev/null)"}/$'\\t'/:})
      (( \${#codes} )) && _describe -t ids 'id' codes
      ;;
    (choices:*) compadd -- \${(s:,:)\${1#choices:}} ;;
  esac
}

_moltbot() {
  local -a subs opts kinds positionals
  local -A valopts
  local cmd_path='' word='' expect='' state_dir='' channel_opt='' channel='' kind=''
  local -i i
  __moltbot_node ''
  for (( i = 2; i < CURRENT; i++ )); do
    word="\${words[i]}"
    if [[ -n "$expect" ]]; then
      case "$expect" in
        (--state-dir) state_dir="$word" ;;
        (--channel) channel_opt="$word" ;;
      esac
      expect=''
      continue
    fi
    case "$word" in
      (--state-dir=*) state_dir="\${word#*=}"; continue ;;
      (--channel=*) channel_opt="\${word#*=}"; continue ;;
      (-*)
        [[ -n "\${valopts[$word]}" ]] && expect="$word"
        continue
        ;;
    esac
    if (( \${#positionals} == 0 )) && (( \${subs[(I)$word:*]} )); then
      cmd_path="\${cmd_path:+$cmd_path }$word"
      __moltbot_node "$cmd_path"
      continue
    fi
    positionals+=("$word")
  done

  if [[ -n "$expect" ]]; then
    __moltbot_values "\${valopts[$expect]}"
    return
  fi
  if [[ "\${words[CURRENT]}" == -* ]]; then
    _describe -t options 'option' opts
    return
  fi
  if (( \${#positionals} == 0 && \${#subs} )); then
    _describe -t commands 'moltbot command' subs
    return
  fi
  # "approve --channel telegram <code>": the option stands in for the channel argument.
  if [[ -n "$channel_opt" && "\${kinds[1]}" == channel ]]; then
    positionals=("$channel_opt" "\${positionals[@]}")
  fi
  for (( i = 1; i <= \${#kinds}; i++ )); do
    [[ "\${kinds[i]}" == channel ]] && channel="\${positionals[i]}"
  done
  kind="\${kinds[\${#positionals} + 1]}"
  [[ -n "$kind" ]] && __moltbot_values "$kind"
}

if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _moltbot "$@"
else
  compdef _moltbot moltbot
fi
`;
}

// --- fish ----------------------------------------------------------------------------------------

function fishScript(nodes: readonly CompletionNode[]): string {
  const entry = (e: CompletionEntry) => `${fq(e.name)}\\t${fq(e.description)}`;
  const cases = nodes
    .map((node) => {
      const valueOptions = Object.entries(node.valueOptions).map(([flag, kind]) => fq(`${flag}=${kind}`));
      return [
        `        case ${fq(node.path)}`,
        `            set -g __moltbot_subs ${node.subcommands.map(entry).join(" ")}`,
        `            set -g __moltbot_opts ${node.options.map(entry).join(" ")}`,
        `            set -g __moltbot_valopts ${valueOptions.join(" ")}`,
        `            set -g __moltbot_args ${node.args.map(fq).join(" ")}`,
      ].join("\n");
    })
    .join("\n");
  return `# fish completion for moltbot. ${HEADER_NOTE}
# Now:          moltbot completion fish | source
# Every shell:  moltbot completion fish > ~/.config/fish/completions/moltbot.fish

# Set the subcommands, options ("name<TAB>description"), value options and argument kinds of a path.
function __moltbot_node --argument-names cmd_path
    set -g __moltbot_subs
    set -g __moltbot_opts
    set -g __moltbot_valopts
    set -g __moltbot_args
    switch "$cmd_path"
${cases}
    end
end

# What the option $argv[1] takes as a value (nothing for a plain flag).
function __moltbot_value_kind --argument-names flag
    for entry in $__moltbot_valopts
        set -l parts (string split -m 1 = -- $entry)
        if test "$parts[1]" = "$flag"
            echo $parts[2]
            return
        end
    end
end

# Print the values of kind $argv[1].
function __moltbot_values --argument-names kind channel state_dir
    switch "$kind"
        case channel
            printf '%s\\n' ${CHANNEL_NAMES.join(" ")}
        case dir
            __fish_complete_directories (commandline -ct)
        case code
            test -n "$channel"; or return
            if test -n "$state_dir"
                moltbot completion --codes "$channel" --state-dir "$state_dir" 2>/dev/null
            else
                moltbot completion --codes "$channel" 2>/dev/null
            end
        case ${ID_KINDS.join(" ")}
            if test -n "$state_dir"
                moltbot completion --ids $kind --state-dir "$state_dir" 2>/dev/null
            else
                moltbot completion --ids $kind 2>/dev/null
            end
        case 'choices:*'
            string split , -- (string replace 'choices:' '' -- $kind)
    end
end

function __moltbot_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l cmd_path ''
    set -l expect ''
    set -l state_dir ''
    set -l channel_opt ''
    set -l channel ''
    set -l positionals
    __moltbot_node ''
    for word in $tokens[2..-1]
        if test -n "$expect"
            switch $expect
                case --state-dir
                    set state_dir $word
                case --channel
                    set channel_opt $word
            end
            set expect ''
            continue
        end
        switch $word
            case '--state-dir=*'
                set state_dir (string replace -- '--state-dir=' '' $word)
                continue
            case '--channel=*'
                set channel_opt (string replace -- '--channel=' '' $word)
                continue
            case '-*'
                set -l value_kind (__moltbot_value_kind $word)
                if test -n "$value_kind"
                    set expect $word
                end
                continue
        end
        set -l names (string replace -r '\\t.*' '' -- $__moltbot_subs)
        if test (count $positionals) -eq 0; and contains -- $word $names
            set cmd_path (string trim -- "$cmd_path $word")
            __moltbot_node "$cmd_path"
            continue
        end
        set -a positionals $word
    end

    if test -n "$expect"
        __moltbot_values (__moltbot_value_kind $expect) '' "$state_dir"
        return
    end
    if string match -q -- '-*' "$cur"
        printf '%s\\n' $__moltbot_opts
        return
    end
    if test (count $positionals) -eq 0; and test (count $__moltbot_subs) -gt 0
        printf '%s\\n' $__moltbot_subs
        return
    end
    set -l kinds $__moltbot_args
    # "approve --channel telegram <code>": the option stands in for the channel argument.
    if test -n "$channel_opt"; and test "$kinds[1]" = channel
        set positionals $channel_opt $positionals
    end
    for i in (seq (count $kinds))
        if test "$kinds[$i]" = channel; and set -q positionals[$i]
            set channel $positionals[$i]
        end
    end
    set -l next (math (count $positionals) + 1)
    if set -q kinds[$next]
        __moltbot_values $kinds[$next] "$channel" "$state_dir"
    end
end

complete -c moltbot -f -a '(__moltbot_complete)'
`;
}

export function completionScript(shell: Shell, program: Command): string {
  const nodes = completionModel(program);
  switch (shell) {
    case "bash":
      return bashScript(nodes);
    case "zsh":
      return zshScript(nodes);
    case "fish":
      return fishScript(nodes);
  }
}

/**
 * `CODE<TAB>sender` for each live request of the channel, for the completion scripts. Silent on
 * any problem (unknown channel, unreadable file): a completion must never print an error into the
 * operator's command line.
 */
function printPendingCodes(io: CliIO, channel: string, stateDir: string | undefined): void {
  try {
    const ctx = createStoreContext({
      env: io.env,
      ...(stateDir !== undefined ? { stateDir } : {}),
      ...(io.now ? { now: io.now } : {}),
    });
    for (const request of listDmRequests(ctx, channel).requests) {
      const username = request.meta?.username;
      const who = username !== undefined ? `${request.id} (${username})` : request.id;
      io.out(`${request.code}\t${escapeControl(who)}\n`);
    }
  } catch {
    // Nothing to offer.
  }
}

/** `ID<TAB>what it is` for the ids of one kind, newest first; silent on any problem, like the codes. */
function printIds(io: CliIO, kind: string, stateDir: string | undefined): void {
  try {
    const ctx = createStoreContext({
      env: io.env,
      ...(stateDir !== undefined ? { stateDir } : {}),
      ...(io.now ? { now: io.now } : {}),
    });
    const describe = (...parts: (string | undefined)[]) =>
      escapeControl(parts.filter((part) => part !== undefined && part !== "").join(" "));
    let lines: [string, string][] = [];
    if (kind === "device-request") {
      lines = listDevices(ctx).pending.map((r) => [
        r.requestId,
        describe(r.displayName ?? r.deviceId, r.role, r.remoteIp),
      ]);
    } else if (kind === "device") {
      lines = listDevices(ctx).paired.map((d) => [d.deviceId, describe(d.displayName, d.platform, d.role)]);
    } else if (kind === "node-request") {
      lines = listNodeRequests(ctx).pending.map((r) => [r.requestId, describe(r.displayName ?? r.nodeId, r.platform)]);
    }
    // An id is a word to type: one with whitespace or control characters is not offered.
    for (const [id, what] of lines) if (/^[\x21-\x7e]+$/.test(id)) io.out(`${id}\t${what}\n`);
  } catch {
    // Nothing to offer.
  }
}

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

export function registerCompletion(program: Command, run: Runner): void {
  const completion = program
    .command("completion")
    .description("print a shell completion script for bash, zsh or fish")
    .usage("[options] <shell>")
    .addArgument(new Argument("[shell]", "bash, zsh or fish").choices(SHELLS))
    .addOption(new Option("--codes <channel>", "print the pending codes of a channel (used by the scripts)").hideHelp())
    .addOption(
      new Option("--ids <kind>", "print device or node ids (used by the scripts)").choices(ID_KINDS).hideHelp(),
    )
    .action(
      run<{ codes?: string; ids?: string }, { shell: string; script: string } | undefined>({
        action: ({ io, options, args: [shell], globals, command }) => {
          // The scripts' own lookups print their lines themselves and never fail.
          if (options.codes !== undefined) return void printPendingCodes(io, options.codes, globals.stateDir);
          if (options.ids !== undefined) return void printIds(io, options.ids, globals.stateDir);
          if (shell === undefined) {
            throw new MoltbotError(
              "USAGE",
              `Which shell? Run "moltbot completion bash", "moltbot completion zsh" or "moltbot completion fish".`,
            );
          }
          return { shell, script: completionScript(shell as Shell, rootOf(command)) };
        },
        json: (result) => result ?? {},
        human: (result, show) => {
          if (result) show.out(result.script);
        },
      }),
    );
  withHelp(completion, {
    notes: [
      [
        "Completes commands, options, channel names, the pending codes of",
        "`pairing approve|reject <channel>` and the ids of `devices` and `nodes`",
        "(read from the state directory).",
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
