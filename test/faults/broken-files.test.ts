import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  expectJsonError,
  expectOneCleanErrorLine,
  faultDir,
  fingerprint,
  inBatches,
  moltbot,
  seededFloat,
} from "./fault-helpers.js";

/*
 * Broken store files (SPEC §5): a file that is not valid JSON or not the expected shape is never
 * overwritten or treated as empty. Every command that reads it exits 3 with one line naming the
 * file and pointing to `moltbot doctor`, and the file is byte-identical afterwards. Doctor reports
 * it (exit 1) and `--fix` moves it aside with its bytes intact, after which the store works again.
 */

type Breakage = string | Buffer | { directory: true } | { megabytes: number };

interface Target {
  name: string;
  relPath: string;
  /** Prepares the rest of the store (before the file is broken); returns values for the commands. */
  setup: (stateDir: string) => Promise<Record<string, string>>;
  /** Every command that reads the file (with what it reads on stdin, if anything). */
  commands: (values: Record<string, string>) => (string[] | { args: string[]; input: string })[];
  /** A command that must work again once doctor --fix has moved the file aside. */
  afterFix: string[];
  broken: Record<string, Breakage>;
}

async function requestCode(stateDir: string, sender: string): Promise<string> {
  const created = await moltbot(["pairing", "request", "telegram", sender, "--json"], { stateDir });
  expect(created.code, created.stderr).toBe(0);
  return (JSON.parse(created.stdout) as { code: string }).code;
}

/** d2 paired (with a node token), d1 waiting: the store every device command can act on. */
async function deviceStore(stateDir: string): Promise<Record<string, string>> {
  const json = async (args: string[]) => {
    const outcome = await moltbot([...args, "--json"], { stateDir });
    expect(outcome.code, outcome.stderr + outcome.stdout).toBe(0);
    return JSON.parse(outcome.stdout) as { request: { requestId: string }; token: string };
  };
  const paired = await json(["devices", "request", "--device-id", "d2", "--public-key", "k2", "--role", "node"]);
  await json(["devices", "approve", paired.request.requestId]);
  const { token } = await json(["devices", "rotate", "--device", "d2", "--role", "node"]);
  const waiting = await json(["devices", "request", "--device-id", "d1", "--public-key", "k1", "--role", "node"]);
  return { requestId: waiting.request.requestId, token };
}

/** A live legacy node request (nodes are only ever requested by the gateway itself). */
async function nodeStore(stateDir: string): Promise<Record<string, string>> {
  const dir = path.join(stateDir, "nodes");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pending = { "n-r1": { requestId: "n-r1", nodeId: "n1", isRepair: false, ts: Date.now() } };
  fs.writeFileSync(path.join(dir, "pending.json"), `${JSON.stringify(pending, null, 2)}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, "paired.json"), "{}\n", { mode: 0o600 });
  return { requestId: "n-r1" };
}

const garbage = (() => {
  const random = seededFloat(7);
  return Buffer.from(Array.from({ length: 4096 }, () => Math.floor(random() * 256)));
})();

const BIG = 50;

/** Device and node files are objects keyed by id, without a version. */
const keyedBreakages = (entryMissingFields: string): Record<string, Breakage> => ({
  "truncated JSON": '{"r1":{"requestId":"r1","deviceId":"d',
  "empty file": "",
  "wrong types": "[1,2,3]\n",
  "an entry missing fields": entryMissingFields,
  "binary garbage": garbage,
  "a directory where the file should be": { directory: true },
  [`a ${BIG} MB file`]: { megabytes: BIG },
});

const TARGETS: Target[] = [
  {
    name: "DM pending requests",
    relPath: "credentials/telegram-pairing.json",
    setup: async () => ({}),
    commands: () => [
      ["pairing", "list", "telegram"],
      ["pairing", "list"],
      ["pairing", "request", "telegram", "222"],
      ["pairing", "approve", "telegram", "ABCD2345"],
      ["pairing", "reject", "telegram", "ABCD2345"],
    ],
    afterFix: ["pairing", "request", "telegram", "222"],
    broken: {
      "truncated JSON": '{"version":1,"requests":[{"id":"111","code":"ABCD2',
      "empty file": "",
      "wrong version (0)": '{"version":0,"requests":[]}\n',
      "newer version (2)": '{"version":2,"requests":[]}\n',
      "wrong types": '{"version":1,"requests":{"111":"ABCD2345"}}\n',
      "an entry missing fields": '{"version":1,"requests":[{"id":"111","code":"ABCD2345"}]}\n',
      "binary garbage": garbage,
      "a directory where the file should be": { directory: true },
      [`a ${BIG} MB file`]: { megabytes: BIG },
    },
  },
  {
    name: "DM allowlist",
    relPath: "credentials/telegram-allowFrom.json",
    setup: async (stateDir) => ({ code: await requestCode(stateDir, "333") }),
    commands: ({ code }) => [
      ["pairing", "allowlist", "telegram"],
      ["pairing", "revoke", "telegram", "111"],
      ["pairing", "request", "telegram", "222"],
      ["pairing", "approve", "telegram", code!],
    ],
    afterFix: ["pairing", "allowlist", "telegram"],
    broken: {
      "truncated JSON": '{"version":1,"allowFrom":["111","22',
      "empty file": "",
      "wrong version (0)": '{"version":0,"allowFrom":["111"]}\n',
      "newer version (2)": '{"version":2,"allowFrom":["111"]}\n',
      "wrong types": '{"version":1,"allowFrom":[111,222]}\n',
      "an entry missing fields": '{"version":1}\n',
      "binary garbage": garbage,
      "a directory where the file should be": { directory: true },
      [`a ${BIG} MB file`]: { megabytes: BIG },
    },
  },
  {
    name: "device requests",
    relPath: "devices/pending.json",
    setup: deviceStore,
    commands: ({ requestId }) => [
      ["devices", "list"],
      ["devices", "request", "--device-id", "d3", "--public-key", "k3"],
      ["devices", "approve", requestId!],
      ["devices", "approve", "d1"],
      ["devices", "approve", "--latest", "--yes"],
      ["devices", "reject", requestId!],
      ["devices", "remove", "d2"],
    ],
    afterFix: ["devices", "list"],
    broken: keyedBreakages('{"r1":{"requestId":"r1","deviceId":"d1"}}\n'),
  },
  {
    name: "paired devices",
    relPath: "devices/paired.json",
    setup: deviceStore,
    commands: ({ requestId, token }) => [
      ["devices", "list"],
      ["devices", "request", "--device-id", "d3", "--public-key", "k3"],
      ["devices", "approve", requestId!],
      ["devices", "approve", "--latest", "--yes"],
      ["devices", "rotate", "--device", "d2", "--role", "node"],
      ["devices", "revoke", "--device", "d2", "--role", "node"],
      ["devices", "remove", "d2"],
      { args: ["devices", "verify", "--device", "d2", "--role", "node"], input: token! },
    ],
    afterFix: ["devices", "list"],
    broken: keyedBreakages('{"d2":{"deviceId":"d2","publicKey":"k2"}}\n'),
  },
  {
    name: "node requests",
    relPath: "nodes/pending.json",
    setup: nodeStore,
    commands: ({ requestId }) => [
      ["nodes", "pending"],
      ["nodes", "approve", requestId!],
      ["nodes", "reject", requestId!],
    ],
    afterFix: ["nodes", "pending"],
    broken: keyedBreakages('{"n-r1":{"requestId":"n-r1"}}\n'),
  },
  {
    name: "paired nodes",
    relPath: "nodes/paired.json",
    setup: nodeStore,
    commands: ({ requestId }) => [["nodes", "approve", requestId!]],
    afterFix: ["nodes", "approve", "n-r1"],
    broken: keyedBreakages('{"n1":{"nodeId":"n1"}}\n'),
  },
];

function breakFile(file: string, breakage: Breakage): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  if (typeof breakage === "string" || Buffer.isBuffer(breakage)) {
    fs.writeFileSync(file, breakage, { mode: 0o600 });
  } else if ("directory" in breakage) {
    fs.rmSync(file, { force: true });
    fs.mkdirSync(file, { mode: 0o700 });
    fs.writeFileSync(path.join(file, "keep.txt"), "not a store file\n", { mode: 0o600 });
  } else {
    // Valid JSON, but far larger than any store file: refused before it is parsed.
    const fd = fs.openSync(file, "w", 0o600);
    fs.writeSync(fd, '{"version":1,"allowFrom":["');
    const chunk = Buffer.alloc(1024 * 1024, "9");
    for (let i = 0; i < breakage.megabytes; i++) fs.writeSync(fd, chunk);
    fs.writeSync(fd, '"]}\n');
    fs.closeSync(fd);
  }
}

const cases = TARGETS.flatMap((target) =>
  Object.entries(target.broken).map(([kind, breakage]) => ({ target, kind, breakage })),
);
let commandsRun = 0;

describe("broken store files", () => {
  it.concurrent.each(cases)(
    "$target.name, $kind: every command exits 3 naming the file, which stays byte-identical; doctor --fix moves it aside",
    async ({ target, kind, breakage }) => {
      const stateDir = path.join(faultDir(), "state");
      const values = await target.setup(stateDir);
      const file = path.join(stateDir, target.relPath);
      breakFile(file, breakage);
      // Every other store file, to prove a failed command wrote none of them either.
      const others = ["credentials", "devices", "nodes"]
        .flatMap((dir) =>
          fs.existsSync(path.join(stateDir, dir))
            ? fs.readdirSync(path.join(stateDir, dir)).map((name) => path.join(stateDir, dir, name))
            : [],
        )
        .filter((other) => other !== file);
      const before = fingerprint(file);
      const othersBefore = others.map(fingerprint);

      const commands = target.commands(values);
      const outcomes = await inBatches(commands, 2, (command) =>
        Array.isArray(command)
          ? moltbot(command, { stateDir })
          : moltbot(command.args, { stateDir, input: command.input }),
      );
      outcomes.forEach((outcome) => {
        expectOneCleanErrorLine(outcome, [3]);
        expect(outcome.stderr).toContain(file);
        expect(outcome.stderr).toContain("moltbot doctor");
      });
      const json = expectJsonError(await moltbot([...(commands[0] as string[]), "--json"], { stateDir }), [3]);
      expect(json.code).toBe("STORE_CORRUPT");
      expect(json.message).toContain(file);
      commandsRun += commands.length + 1;

      expect(fingerprint(file)).toBe(before);
      expect(others.map(fingerprint)).toEqual(othersBefore);
      expect(fs.existsSync(`${file}.lock`)).toBe(false);

      const diagnosis = await moltbot(["doctor", "--json"], { stateDir });
      expect(diagnosis.code).toBe(1);
      const report = JSON.parse(diagnosis.stdout) as {
        ok: boolean;
        findings: { file: string; problem: string; fixed: boolean; severity: string }[];
      };
      expect(report.ok).toBe(false);
      expect(report.findings).toEqual([expect.objectContaining({ file, fixed: false, severity: "error" })]);
      expect(fingerprint(file)).toBe(before);

      const fixed = await moltbot(["doctor", "--fix", "--json"], { stateDir });
      const fixReport = JSON.parse(fixed.stdout) as typeof report;
      const asideName = fs
        .readdirSync(path.dirname(file))
        .find((name) => name.startsWith(`${path.basename(file)}.corrupt-`));
      if (kind.startsWith("newer version")) {
        // A newer gateway's data is valid, just not ours: left in place, the operator is told to upgrade.
        expect(fixed.code).toBe(1);
        expect(fixReport.findings[0]!.problem).toContain("upgrade moltbot");
        expect(asideName).toBeUndefined();
        expect(fingerprint(file)).toBe(before);
        return;
      }
      expect(fixed.code, fixed.stdout).toBe(0);
      expect(fixReport.findings).toEqual([expect.objectContaining({ file, fixed: true })]);
      expect(asideName).toMatch(/\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z$/);
      expect(fs.existsSync(file)).toBe(false);
      expect(fingerprint(path.join(path.dirname(file), asideName!))).toBe(before);
      expect(others.map(fingerprint)).toEqual(othersBefore);

      const again = await moltbot(target.afterFix, { stateDir });
      expect(again.code, again.stderr).toBe(0);
      expect((await moltbot(["doctor"], { stateDir })).code).toBe(0);
    },
  );

  it("covered every breakage of every store file", () => {
    // Nine breakages of each DM file; seven of each device and node file (they carry no version).
    expect(cases.length).toBe(2 * 9 + 4 * 7);
    console.log(
      `broken-file figures: ${JSON.stringify({ files: TARGETS.length, breakages: cases.length, commandsRun })}`,
    );
  });
});
