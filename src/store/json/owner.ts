import fs from "node:fs";
import path from "node:path";
import { MoltbotError } from "../../errors.js";
import { DOCTOR_HINT, errnoOf, storeIoError } from "./errors.js";

/*
 * The ownership rule, after OpenSSH's StrictModes, enforced here and only here:
 *
 *   moltbot writes into a directory only if it is a real directory (a symbolic link is allowed only
 *   for the state dir itself, or an explicit credentials dir), belongs to the caller, and cannot be
 *   written by group or others. A privileged caller never writes into another user's state as root:
 *   it refuses, naming the user to run as.
 *
 * Why: whoever can write a directory of the store can plant links and files there. If root then
 * writes, chmods or chowns through them, that is a root compromise; if root merely writes a file
 * there, the gateway (running as the owner) can no longer read it and every approval is lost.
 */

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

const euid = (): number | undefined => process.geteuid?.();

/** The user name of `uid` from /etc/passwd, else `#<uid>` (which `sudo -u` accepts too). */
export function userName(uid: number): string {
  try {
    for (const line of fs.readFileSync("/etc/passwd", "utf8").split("\n")) {
      const fields = line.split(":");
      if (fields[2] === String(uid) && fields[0]) return fields[0];
    }
  } catch {
    // No passwd file to read: the numeric form works with sudo.
  }
  return `#${uid}`;
}

/** Why a store directory may not be written by this process, or undefined when it may. */
export function writeRefusal(dir: string, stat: fs.Stats, caller = euid()): MoltbotError | undefined {
  if (!stat.isDirectory()) {
    return new MoltbotError("STORE_CORRUPT", `${dir} is not a directory, so it cannot hold the store. ${DOCTOR_HINT}`);
  }
  if (caller === undefined) return undefined;
  if (stat.uid !== caller) {
    const owner = userName(stat.uid);
    if (caller === 0) {
      return new MoltbotError(
        "STORE_PERMISSION",
        `${dir} belongs to ${owner}, not root: moltbot does not write into another user's state as root (a file root wrote there would lock the gateway out, and links planted there could redirect the write). Run the command as ${owner}.`,
        { runAs: owner },
      );
    }
    return new MoltbotError(
      "STORE_PERMISSION",
      `${dir} belongs to uid ${stat.uid}, not to you (uid ${caller}): moltbot writes only into a state directory you own. Run the command as its owner (${owner}).`,
      { runAs: owner },
    );
  }
  if ((stat.mode & 0o022) !== 0) {
    return new MoltbotError(
      "STORE_PERMISSION",
      `${dir} can be written by ${(stat.mode & 0o002) !== 0 ? "every user" : "its group"} (mode 0${(stat.mode & 0o777).toString(8)}), so anyone could plant files in the store; nothing was written. Run "moltbot doctor --fix" to make it 0700.`,
    );
  }
  return undefined;
}

/**
 * A state dir that does not exist yet, made by root inside another user's directory (`sudo moltbot
 * --state-dir ~alice/.clawdbot …` on a fresh machine), would be a root-owned store in alice's home
 * that her gateway cannot write: the same leftover the rule prevents for files. Refused the same way.
 */
function creationRefusal(root: string, caller = euid()): MoltbotError | undefined {
  if (caller !== 0) return undefined;
  let missing = root;
  for (let at = root; ; at = path.dirname(at)) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(at);
    } catch (error) {
      if (errnoOf(error) !== "ENOENT" || path.dirname(at) === at) return undefined;
      missing = at;
      continue;
    }
    if (at === root || stat.uid === 0) return undefined;
    const owner = userName(stat.uid);
    return new MoltbotError(
      "STORE_PERMISSION",
      `${root} does not exist yet and ${missing} would be made inside ${at}, which belongs to ${owner}: moltbot does not create another user's state as root (${owner}'s gateway could not write a directory root made). Run the command as ${owner}.`,
      { runAs: owner },
    );
  }
}

/** Open a directory we are about to use without following a link, to set its mode on the descriptor. */
function chmodDirNoFollow(dir: string, mode: number): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  try {
    fs.fchmodSync(fd, mode);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Make sure `dir` exists and may be written: the store root (`root`, which may be a symbolic link
 * and is created with missing parents, 0700) and each directory from it down to `dir` (real
 * directories only, created 0700 whatever the umask). Throws the refusal of the ownership rule.
 */
export function ensureWritableDir(root: string, dir: string): void {
  const parentRefusal = creationRefusal(root);
  if (parentRefusal) throw parentRefusal;
  try {
    const first = fs.mkdirSync(root, { recursive: true, mode: DIR_MODE });
    // The directories just made: their mode, whatever the umask, set on each without following links.
    for (let made = first === undefined ? undefined : root; made !== undefined;) {
      chmodDirNoFollow(made, DIR_MODE);
      made = made === first || path.dirname(made) === made ? undefined : path.dirname(made);
    }
  } catch (error) {
    if (errnoOf(error) !== "EEXIST") throw creationError(error, root);
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch (error) {
    throw creationError(error, root);
  }
  let refusal = writeRefusal(root, stat);
  if (refusal) throw refusal;
  let current = root;
  for (const part of path.relative(root, dir).split(path.sep).filter(Boolean)) {
    current = path.join(current, part);
    try {
      stat = fs.lstatSync(current);
    } catch (error) {
      if (errnoOf(error) !== "ENOENT") throw creationError(error, current);
      try {
        fs.mkdirSync(current, { mode: DIR_MODE });
        // mkdir's mode passes through the umask; set it on the directory itself, not through a link.
        chmodDirNoFollow(current, DIR_MODE);
        stat = fs.lstatSync(current);
      } catch (created) {
        if (errnoOf(created) !== "EEXIST") throw creationError(created, current);
        stat = fs.lstatSync(current);
      }
    }
    if (stat.isSymbolicLink()) throw symlinkRefusal(current);
    refusal = writeRefusal(current, stat);
    if (refusal) throw refusal;
  }
}

export function symlinkRefusal(target: string): MoltbotError {
  return new MoltbotError(
    "STORE_CORRUPT",
    `${target} is a symbolic link: moltbot uses only real files and directories inside the state directory and never follows a link there. ${DOCTOR_HINT}`,
  );
}

/** A directory of the store must not be a link, for reads too; undefined when it is fine or absent. */
export function checkStoreDirForReading(root: string, dir: string): void {
  if (dir === root) return;
  let current = root;
  for (const part of path.relative(root, dir).split(path.sep).filter(Boolean)) {
    current = path.join(current, part);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(current);
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return;
      if (errnoOf(error) === "ENOTDIR") throw notADirectory(current);
      throw storeIoError(error, current, "reading");
    }
    if (stat.isSymbolicLink()) throw symlinkRefusal(current);
  }
}

/** The first ancestor of `target` that exists but is not a directory, as the error to report. */
export function notADirectory(target: string): MoltbotError {
  for (let dir = path.dirname(target); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      if (!fs.statSync(dir).isDirectory()) {
        return new MoltbotError(
          "STORE_CORRUPT",
          `${dir} is not a directory, so it cannot hold the store (check --state-dir or the state dir variables). ${DOCTOR_HINT}`,
        );
      }
    } catch {
      // Missing or unreadable: look further up.
    }
  }
  return new MoltbotError("STORE_CORRUPT", `${target} cannot be reached: a part of its path is not a directory.`);
}

function creationError(error: unknown, dir: string): MoltbotError {
  if (errnoOf(error) === "ENOTDIR" || errnoOf(error) === "EEXIST") return notADirectory(path.join(dir, "x"));
  return storeIoError(error, dir, "creating");
}
