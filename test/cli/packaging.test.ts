import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, cliEnv, readJsonFile, tempStateDir } from "../helpers.js";

/*
 * What a user gets from the tarball: `npm pack`, then `npm install -g` into a temporary prefix,
 * offline (the package has no dependencies: everything is bundled into dist/). Uses the dist/ that
 * `npm test` just built; --ignore-scripts so packing does not rebuild under other tests' feet.
 */

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

const pkg = readJsonFile<{ name: string; version: string; dependencies?: object; bin: Record<string, string> }>(
  path.join(ROOT, "package.json"),
);
// 150 KiB before pairing approve --notify (its code, json5 and dotenv are in both bundles); OpenClaw's
// SQLite backend (issue 13) and issue 16's features (decision log, wait/watch, guarded approvals,
// dead-code answers, block list, device verbs) add ~14 KiB and ~40 KiB, in both bundles and the
// README: 266 KiB measured with all of them (`npm pack --dry-run --json`). The bound catches what
// should never ship (sources, tests, maps), not a few more lines.
const MAX_TARBALL_BYTES = 280 * 1024;

/** npm with no inherited npm_* settings (npm test sets many), a private cache, and no network. */
function npm(args: string[], cwd: string, cache: string): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  return execFileSync(
    "npm",
    [...args, "--cache", cache, "--offline", "--no-audit", "--no-fund", "--loglevel", "error"],
    {
      cwd,
      env: { ...env, NODE_EXTRA_CA_CERTS: "" },
      encoding: "utf8",
      timeout: 60_000,
    },
  );
}

let pack: PackResult;
let tarball: string;
let prefix: string;
let installed: string;

let work: string;

beforeAll(() => {
  // Shared by every test of the file, so not a tempDir() (those go after each test).
  work = fs.mkdtempSync(path.join(os.tmpdir(), "moltbot-pack-"));
  const cache = path.join(work, "cache");
  pack = (
    JSON.parse(npm(["pack", "--json", "--ignore-scripts", "--pack-destination", work], ROOT, cache)) as PackResult[]
  )[0]!;
  tarball = path.join(work, pack.filename);
  prefix = path.join(work, "prefix");
  npm(["install", "--global", "--prefix", prefix, tarball], work, cache);
  installed = path.join(prefix, "lib", "node_modules", pkg.name);
}, 120_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function moltbot(args: string[], stateDir: string) {
  return spawnSync(path.join(prefix, "bin", "moltbot"), args, {
    env: cliEnv(stateDir),
    encoding: "utf8",
    timeout: 20_000,
  });
}

describe("npm pack", () => {
  it("produces a small tarball named after the package", () => {
    expect(pack.filename).toBe(`${pkg.name}-${pkg.version}.tgz`);
    expect(pack.filename).toMatch(/^moltbot-.*\.tgz$/);
    expect(fs.statSync(tarball).size).toBeLessThan(MAX_TARBALL_BYTES);
  });

  it("contains only what runs: the launcher, the bundles, the types, the README", () => {
    const files = pack.files.map((file) => file.path).sort();
    expect(files).toEqual(
      expect.arrayContaining([
        "README.md",
        "bin/moltbot.js",
        "bin/package.json",
        "dist/cli.cjs",
        "dist/index.js",
        "dist/core.js",
        "dist/types/index.d.ts",
        "package.json",
      ]),
    );
    // Not the V8 code cache (dist/cli.cjs.cache): it fits only the Node binary that built it.
    expect(files).not.toContain("dist/cli.cjs.cache");
    for (const file of files) {
      expect(file, file).toMatch(
        /^(README\.md|LICENSE|package\.json|bin\/moltbot\.js|bin\/package\.json|dist\/cli\.cjs|dist\/index\.js|dist\/core\.js|dist\/types\/.+\.d\.ts)$/,
      );
    }
  });

  it("declares no runtime dependencies: everything is bundled", () => {
    expect(pkg.dependencies ?? {}).toEqual({});
  });
});

describe("npm install -g of the tarball", () => {
  it("installs the moltbot command and nothing else", () => {
    expect(fs.existsSync(path.join(prefix, "bin", "moltbot"))).toBe(true);
    expect(fs.existsSync(path.join(installed, "node_modules"))).toBe(false);
  });

  it("moltbot --version prints the package version", () => {
    const run = moltbot(["--version"], tempStateDir());
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it("pairing list works on a fresh state dir, and after a request shows it", () => {
    const stateDir = tempStateDir();
    const empty = moltbot(["pairing", "list"], stateDir);
    expect(empty.status).toBe(0);
    expect(empty.stdout).toBe("");
    expect(empty.stderr).toContain("nobody is waiting");
    expect(fs.existsSync(stateDir)).toBe(false);

    const request = moltbot(["pairing", "request", "telegram", "123456789", "--json"], stateDir);
    expect(request.status).toBe(0);
    const { code } = JSON.parse(request.stdout) as { code: string };
    const list = moltbot(["pairing", "list", "telegram", "--json"], stateDir);
    expect(list.status).toBe(0);
    expect((JSON.parse(list.stdout) as { requests: { code: string }[] }).requests.map((r) => r.code)).toEqual([code]);
  });

  it("prints completion scripts from the installed copy", () => {
    const run = moltbot(["completion", "bash"], tempStateDir());
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("complete -F _moltbot moltbot");
  });

  it("the library entry point imports and runs without any dependency installed", () => {
    const stateDir = tempStateDir();
    const script = `import { createStoreContext, listDmRequests } from ${JSON.stringify(path.join(installed, "dist", "index.js"))};
const ctx = createStoreContext({ stateDir: ${JSON.stringify(stateDir)} });
console.log(JSON.stringify(listDmRequests(ctx, "telegram")));`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      cwd: prefix,
      timeout: 20_000,
    });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ channel: "telegram", requests: [] });
  });

  it("the library's type declarations type-check in a strict consumer without zod (skipLibCheck off)", () => {
    const consumer = fs.mkdtempSync(path.join(os.tmpdir(), "moltbot-consumer-"));
    try {
      fs.mkdirSync(path.join(consumer, "node_modules"));
      fs.symlinkSync(installed, path.join(consumer, "node_modules", pkg.name));
      fs.writeFileSync(
        path.join(consumer, "main.ts"),
        `import { createStoreContext, requestDmPairing, type RequestResult } from "${pkg.name}";
import { emptyAllow, emptyPending, requestPairing, resolveChannel } from "${pkg.name}/core";
const result: Promise<RequestResult> = requestDmPairing(createStoreContext(), { channel: "telegram", senderId: "1" });
const pure = requestPairing(
  { pending: emptyPending(), allow: [emptyAllow()] },
  { channel: resolveChannel("telegram"), senderId: "1" },
  0,
  (n) => new Uint8Array(n),
);
void result;
void pure.result.status;
`,
      );
      const tsconfig = {
        compilerOptions: {
          strict: true,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
          typeRoots: [path.join(ROOT, "node_modules", "@types")],
        },
        files: ["main.ts"],
      };
      fs.writeFileSync(path.join(consumer, "tsconfig.json"), JSON.stringify(tsconfig));
      const tsc = spawnSync(
        process.execPath,
        [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", consumer],
        {
          encoding: "utf8",
          timeout: 60_000,
        },
      );
      expect(tsc.stdout + tsc.stderr).toBe("");
      expect(tsc.status).toBe(0);
    } finally {
      fs.rmSync(consumer, { recursive: true, force: true });
    }
  });
});
