/*
 * Command lines moltbot prints for the operator to paste into a POSIX shell. Pure, so the store
 * (doctor's findings) and the CLI (hints, refusals) write them the same way.
 */

/** Quote an argument for a POSIX shell only when it needs it (a leading `~` or `#` would be expanded or end the line). */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+,-][A-Za-z0-9_./:=@%+,~-]*$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Where a command acts: the state dir, and the credentials dir when it is not `<state>/credentials`. */
export interface CommandStore {
  stateDir: string;
  credentialsDir: string;
}

/**
 * The exact line that runs `moltbot <args>` as `user` on the same store: `sudo -u <user>`, then the
 * state dir as an absolute `--state-dir` (sudo resets the environment, so $MOLTBOT_STATE_DIR would
 * not reach the command, and `~` would be the other user's home), and a credentials dir set by a
 * variable carried over with `env`. `user` may be `#<uid>`, which sudo accepts (quoted: `#` starts a comment).
 */
export function runAsCommand(user: string, store: CommandStore, args: readonly string[]): string {
  return storeCommand(user === "root" ? ["sudo"] : ["sudo", "-u", user], store, args);
}

/** The same as root: `sudo moltbot --state-dir <dir> <args>`. */
export function sudoCommand(store: CommandStore, args: readonly string[]): string {
  return storeCommand(["sudo"], store, args);
}

function storeCommand(sudo: readonly string[], store: CommandStore, args: readonly string[]): string {
  const words = [...sudo];
  if (store.credentialsDir !== `${store.stateDir}/credentials`) {
    words.push("env", `MOLTBOT_OAUTH_DIR=${store.credentialsDir}`);
  }
  words.push("moltbot", "--state-dir", store.stateDir, ...args);
  return words.map(shellQuote).join(" ");
}

/** The user's own arguments without any `--state-dir` (before `--`): a run-as line names the store itself. */
export function withoutStateDir(argv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      kept.push(...argv.slice(i));
      break;
    }
    if (arg === "--state-dir") i++;
    else if (!arg.startsWith("--state-dir=")) kept.push(arg);
  }
  return kept;
}
