import type { Command } from "commander";
import { runDoctor, type DoctorReport } from "../store/doctor.js";
import { globalOptions, storeContextFor } from "./context.js";
import { colors, escapeControl, printJson, type CliIO } from "./output.js";
import type { Runner } from "./pairing.js";

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

function printHuman(io: CliIO, report: DoctorReport, fix: boolean, stateDir: string): void {
  const c = colors(io);
  const tags = { error: c.red("[error]"), warning: c.yellow("[warning]"), info: c.dim("[info]") };
  for (const finding of report.findings) {
    const tag = finding.fixed ? c.green("[fixed]") : tags[finding.severity];
    io.out(`${tag} ${escapeControl(finding.file)}: ${escapeControl(finding.problem)}\n`);
  }
  const problems = report.findings.filter((finding) => finding.severity !== "info");
  const fixed = problems.filter((finding) => finding.fixed).length;
  const where = escapeControl(stateDir);
  if (report.checked === 0 && problems.length === 0) {
    io.err(`No store under ${where} yet: nothing to check.\n`);
  } else if (problems.length === 0) {
    io.err(`No problems found (${report.checked} store files and directories checked under ${where}).\n`);
  } else if (report.ok) {
    io.err(`Fixed ${plural(fixed, "problem")}; the store under ${where} is healthy.\n`);
  } else if (fix) {
    io.err(
      `Fixed ${fixed} of ${plural(problems.length, "problem")}; the others need you (see above). Then run "moltbot doctor" again.\n`,
    );
  } else {
    io.err(
      `${plural(problems.length, "problem")} found. Run "moltbot doctor --fix" to repair what is safe to repair (it never deletes data).\n`,
    );
  }
}

async function doctorAction(io: CliIO, command: Command): Promise<number> {
  const options = globalOptions(command);
  const fix = command.opts<{ fix?: boolean }>().fix === true;
  const ctx = storeContextFor(io, options);
  const report = await runDoctor(ctx, { fix });
  if (options.json) {
    printJson(io, {
      ok: report.ok,
      findings: report.findings.map(({ file, problem, fixed, severity }) => ({ file, problem, fixed, severity })),
    });
  } else {
    printHuman(io, report, fix, ctx.paths.stateDir);
  }
  return report.ok ? 0 : 1;
}

export function registerDoctor(program: Command, run: Runner): void {
  program
    .command("doctor")
    .description(
      "check every store file (shape, modes, owners, locks, temp files, expired entries); --fix repairs what is safe",
    )
    .option(
      "--fix",
      "repair modes, owners (as root), stale locks, temp files and expired entries; move unreadable files aside",
    )
    .addHelpText(
      "after",
      "\nExit status: 0 when the store is healthy, 1 when a problem is left.\n\nExamples:\n  $ moltbot doctor\n  $ moltbot doctor --fix\n  $ moltbot doctor --json | jq '.findings[] | select(.fixed | not)'",
    )
    // Findings are the output, not an error: the action returns the exit status itself (runCli honours it).
    .action(run(doctorAction));
}
