import type { Command } from "commander";
import { runDoctor, type DoctorReport } from "../store/doctor.js";
import { GENERATION_NAMES } from "../store/generation.js";
import { withHelp, type Runner, type Show, type Verb } from "./kit.js";
import { escapeControl } from "./output.js";

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

interface Checked {
  report: DoctorReport;
  fix: boolean;
  stateDir: string;
}

function printHuman({ report, fix, stateDir }: Checked, show: Show): void {
  const { c } = show;
  const { store } = report;
  // Which store this is, and which gateway generation wrote it: the first thing to get right.
  show.err(`${escapeControl(store.stateDir)} (${store.source}): ${GENERATION_NAMES[store.generation]}.\n`);
  const tags = { error: c.red("[error]"), warning: c.yellow("[warning]"), info: c.dim("[info]") };
  for (const finding of report.findings) {
    const tag = finding.fixed ? c.green("[fixed]") : tags[finding.severity];
    show.out(`${tag} ${escapeControl(finding.file)}: ${escapeControl(finding.problem)}\n`);
  }
  const problems = report.findings.filter((finding) => finding.severity !== "info");
  const fixed = problems.filter((finding) => finding.fixed).length;
  const where = escapeControl(stateDir);
  if (report.checked === 0 && problems.length === 0) {
    show.err(`No store under ${where} yet: nothing to check.\n`);
  } else if (problems.length === 0) {
    show.err(`No problems found (${report.checked} store files and directories checked under ${where}).\n`);
  } else if (report.ok) {
    show.err(`Fixed ${plural(fixed, "problem")}; the store under ${where} is healthy.\n`);
  } else if (fix) {
    show.err(
      `Fixed ${fixed} of ${plural(problems.length, "problem")}; the others need you (see above). Then run "${show.next("doctor")}" again.\n`,
    );
  } else {
    show.err(
      `${plural(problems.length, "problem")} found. Run "${show.next("doctor", "--fix")}" to repair what is safe to repair (it never deletes data).\n`,
    );
  }
}

// Findings are the output, not an error: a problem left is exit 1 with the report as the result.
const doctor: Verb<{ fix?: boolean }, Checked> = {
  action: async ({ options, store }) => {
    const ctx = store();
    const fix = options.fix === true;
    return { report: await runDoctor(ctx, { fix }), fix, stateDir: ctx.paths.stateDir };
  },
  json: ({ report }) => ({
    ok: report.ok,
    findings: report.findings.map(({ file, problem, fixed, severity }) => ({ file, problem, fixed, severity })),
    store: report.store,
  }),
  exit: ({ report }) => (report.ok ? 0 : 1),
  human: printHuman,
};

export function registerDoctor(program: Command, run: Runner): void {
  withHelp(
    program
      .command("doctor")
      .description(
        "check every store file (shape, modes, owners, locks, temp files, expired entries); --fix repairs what is safe",
      )
      .option(
        "--fix",
        "repair modes, owners (as root), stale locks, temp files and expired entries; move unreadable files aside",
      )
      .action(run(doctor)),
    {
      notes: ["Exit status: 0 when the store is healthy, 1 when a problem is left."],
      examples: [
        "moltbot doctor",
        "moltbot doctor --fix",
        "moltbot doctor --json | jq '.findings[] | select(.fixed | not)'",
      ],
    },
  );
}
