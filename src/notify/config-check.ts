/**
 * Doctor's look at the gateway config (and `<state>/.env`): they hold bot tokens, so a copy other users can read is a
 * finding (`--fix`: chmod 600), and so is one they can change or that belongs to someone else
 * (--notify refuses those). Kept apart from store/doctor.ts, which calls it once (see
 * `gatewayConfigFindings` there), so it can be re-homed when doctor is reorganised.
 */
import fs from "node:fs";
import path from "node:path";
import { writeRefusal } from "../store/json/owner.js";
import type { StoreContext } from "../store/context.js";
import type { DoctorFinding } from "../store/doctor.js";
import { CONFIG_FILE_NAMES, locateGatewayConfig } from "./config-file.js";

const octal = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, "0")}`;

/** The files a gateway may take tokens from here: the config it would use, every known config name and `.env` in the state dir. */
function configFiles(ctx: StoreContext): string[] {
  const files = [
    locateGatewayConfig(ctx.paths.stateDir, ctx.env).path,
    ...CONFIG_FILE_NAMES.map((name) => path.join(ctx.paths.stateDir, name)),
    path.join(ctx.paths.stateDir, ".env"),
  ];
  return [...new Set(files)];
}

export function gatewayConfigFindings(ctx: StoreContext, options: { fix: boolean }): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  const uid = process.getuid?.();
  for (const file of configFiles(ctx)) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      continue; // absent (or unreadable: --notify says so when it is used)
    }
    if (!stat.isFile()) continue;
    const what = path.basename(file) === ".env" ? "gateway .env file" : "gateway config";
    if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) {
      findings.push({
        file,
        problem: `${what} belongs to uid ${stat.uid}, not to you (uid ${uid}); pairing approve --notify will not use it`,
        fixed: false,
        severity: "warning",
      });
    }
    if ((stat.mode & 0o077) === 0) continue;
    const who = (stat.mode & 0o022) !== 0 ? "change and read" : "read";
    const finding: DoctorFinding = {
      file,
      problem: `${what} holds bot tokens and other users can ${who} it (mode ${octal(stat.mode)}); it should be 0600`,
      fixed: false,
      severity: "error",
    };
    // Only a file of the state dir itself is repaired: a config elsewhere (named by a variable, or
    // behind a symlink, as Nix installs it) is outside what moltbot may change.
    const inStateDir = path.dirname(file) === ctx.paths.stateDir && !fs.lstatSync(file).isSymbolicLink();
    if (!inStateDir) finding.problem += `; run: chmod 600 ${fs.realpathSync(file)}`;
    else if (options.fix && writeRefusal(ctx.paths.stateDir, fs.statSync(ctx.paths.stateDir))) {
      finding.problem +=
        "; not fixed: moltbot does not change another user's state dir (run doctor --fix as its owner)";
    } else if (options.fix) {
      try {
        // On the descriptor of what lstat showed, never through a link planted meanwhile.
        const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
        try {
          fs.fchmodSync(fd, 0o600);
        } finally {
          fs.closeSync(fd);
        }
        finding.fixed = true;
      } catch (error) {
        finding.problem += `; could not fix: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
      }
    }
    findings.push(finding);
  }
  return findings;
}
