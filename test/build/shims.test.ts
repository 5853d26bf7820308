import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  SHIMS,
  StaleShimError,
  buildWithShims,
  packageOf,
  shimTable,
  versionProblems,
} from "../../scripts/shims/index.mjs";
import { BIN, ROOT, cliEnv, readJsonFile, tempDir, tempStateDir } from "../helpers.js";

/*
 * The CLI bundle's start-up shims (scripts/shims/): each replaces an import inside another package,
 * so each is only right for the versions it was checked against. The build must refuse to run with
 * a shim whose package moved to another version, or one that no longer matches anything.
 */

const pkg = readJsonFile<{ devDependencies: Record<string, string> }>(path.join(ROOT, "package.json"));

/** A copy of the build's scripts beside node_modules links, where `fake` packages get other versions. */
function buildRootWith(fake: Record<string, string>): string {
  const root = tempDir("moltbot-build-");
  fs.cpSync(path.join(ROOT, "scripts"), path.join(root, "scripts"), { recursive: true });
  fs.copyFileSync(path.join(ROOT, "package.json"), path.join(root, "package.json"));
  fs.mkdirSync(path.join(root, "node_modules"));
  for (const name of fs.readdirSync(path.join(ROOT, "node_modules"))) {
    if (name in fake) continue;
    fs.symlinkSync(path.join(ROOT, "node_modules", name), path.join(root, "node_modules", name));
  }
  for (const [name, version] of Object.entries(fake)) {
    fs.mkdirSync(path.join(root, "node_modules", name));
    fs.writeFileSync(path.join(root, "node_modules", name, "package.json"), JSON.stringify({ name, version }));
  }
  return root;
}

describe("start-up shims", () => {
  it.each(SHIMS.map((shim) => [shim.name, shim] as const))(
    "%s is declared in its own file with every column of the table",
    (name, shim) => {
      expect(fs.existsSync(path.join(ROOT, "scripts", "shims", `${name}.mjs`))).toBe(true);
      for (const field of [shim.module, shim.importer, shim.replacement, shim.why])
        expect(field.length).toBeGreaterThan(3);
      if (shim.measuredMs !== undefined) expect(shim.measure).toBeDefined();
    },
  );

  it("pins every package a shim was verified with, exactly, at the verified version", () => {
    const verified = SHIMS.flatMap((shim) => Object.entries(shim.verified));
    expect(verified.length).toBeGreaterThanOrEqual(4);
    for (const [name, version] of verified) expect(pkg.devDependencies[name], name).toBe(version);
    expect(versionProblems(SHIMS, ROOT)).toEqual([]);
  });

  it("the build fails, building nothing, when a shimmed package is installed at another version", () => {
    const root = buildRootWith({ commander: "14.0.4" });
    const run = spawnSync(process.execPath, [path.join(root, "scripts", "build.mjs")], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      "shim commander-child-process: commander is 14.0.4, but the shim was verified with 14.0.3",
    );
    expect(fs.existsSync(path.join(root, "dist"))).toBe(false);
  });

  it("the shim checker names a package that is not installed at all", () => {
    const root = buildRootWith({});
    fs.rmSync(path.join(root, "node_modules", "signal-exit"));
    expect(versionProblems(SHIMS, root)).toEqual([
      expect.stringContaining(
        "shim lockfile-signal-exit: signal-exit is not installed, but the shim was verified with 4.1.0",
      ),
    ]);
  });

  it("a build fails when a shim matched nothing, naming each such shim", async () => {
    // Only chalk is bundled: every other shim finds nothing to replace.
    const building = buildWithShims(
      {
        stdin: { contents: 'import chalk from "chalk"; console.log(chalk.red("x"));', resolveDir: ROOT },
        bundle: true,
        platform: "node",
        format: "cjs",
        write: false,
        logLevel: "silent",
      },
      { root: ROOT },
    );
    const error = await building.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(StaleShimError);
    const unmatched = (error as StaleShimError).problems.map(
      (problem) => /^shim (\S+) matched nothing/.exec(problem)?.[1],
    );
    expect(unmatched.sort()).toEqual(
      SHIMS.map((shim) => shim.name)
        .filter((name) => name !== "chalk-supports-color")
        .sort(),
    );
  });

  /** The CLI bundle built in memory with `shims`. */
  const buildCli = (shims: typeof SHIMS = SHIMS) =>
    buildWithShims(
      {
        absWorkingDir: ROOT,
        entryPoints: ["src/cli/entry.ts"],
        bundle: true,
        platform: "node",
        format: "cjs",
        write: false,
        logLevel: "silent",
        define: { __MOLTBOT_VERSION__: '"0.0.0"' },
      },
      { root: ROOT, shims },
    );

  it("the CLI bundle's build applies every shim", async () => {
    const result = await buildCli();
    expect(result.errors).toEqual([]);
  });

  it("builtin-default-import: the CLI bundle uses node:fs and node:path as they are, not a copy per file", async () => {
    const cliBundle = async (shims: typeof SHIMS) =>
      Buffer.from((await buildCli(shims)).outputFiles![0]!.contents).toString("utf8");
    const copies = (code: string, builtin: string) => code.split(`__toESM(require("${builtin}")`).length - 1;
    const shimmed = await cliBundle(SHIMS);
    expect([copies(shimmed, "node:fs"), copies(shimmed, "node:path")]).toEqual([0, 0]);
    expect(shimmed).toMatch(/= require\("node:fs"\);/);
    const without = await cliBundle(SHIMS.filter((shim) => shim.name !== "builtin-default-import"));
    expect(copies(without, "node:fs")).toBeGreaterThan(10);
    expect(copies(without, "node:path")).toBeGreaterThan(5);
  });

  it.each([
    ["/p/node_modules/commander/lib/command.js", "commander"],
    ["/p/node_modules/proper-lockfile/node_modules/signal-exit/index.js", "signal-exit"],
    ["/p/node_modules/@scope/name/dist/x.js", "@scope/name"],
    ["/p/src/cli/main.ts", undefined],
  ])("the importer %s belongs to %s", (file, owner) => {
    expect(packageOf(file)).toBe(owner);
  });

  it("the README's shim table is the one the shim files declare", () => {
    expect(fs.readFileSync(path.join(ROOT, "README.md"), "utf8")).toContain(shimTable());
  });

  /** The built-in modules a command loaded, from a preload that reports them at exit. */
  function builtinsLoaded(args: string[], stateDir: string): string[] {
    const report = path.join(tempDir(), "modules.json");
    const preload = path.join(tempDir(), "report.cjs");
    fs.writeFileSync(
      preload,
      `process.on("exit",()=>require("fs").writeFileSync(${JSON.stringify(report)},JSON.stringify(process.moduleLoadList)));`,
    );
    const run = spawnSync(process.execPath, ["--require", preload, BIN, ...args], {
      env: cliEnv(stateDir),
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    return (JSON.parse(fs.readFileSync(report, "utf8")) as string[])
      .filter((entry) => entry.startsWith("NativeModule ") && !entry.includes("internal/"))
      .map((entry) => entry.slice("NativeModule ".length));
  }

  it("pairing list and approve load none of the modules the shims keep out of start-up", () => {
    const stateDir = tempStateDir();
    const request = spawnSync(process.execPath, [BIN, "pairing", "request", "telegram", "123456789", "--json"], {
      env: cliEnv(stateDir),
      encoding: "utf8",
    });
    const { code } = JSON.parse(request.stdout) as { code: string };
    const kept = ["child_process", "tty", "assert", "net", "readline"];
    const list = builtinsLoaded(["pairing", "list", "telegram", "--json"], stateDir);
    expect(list).toContain("fs");
    expect(list.filter((name) => kept.includes(name))).toEqual([]);
    const approve = builtinsLoaded(["pairing", "approve", "telegram", code], stateDir);
    expect(approve.filter((name) => kept.includes(name))).toEqual([]);
  });
});
