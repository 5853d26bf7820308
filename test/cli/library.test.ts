import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, collectOutput, readJsonFile } from "../helpers.js";

/*
 * The library as the gateway meets it (issue 10.1): the packed tarball installed into a fresh ES
 * module project in a temporary directory, far from this repository's node_modules, used by a
 * long-lived process while CLI processes (the tarball's own bin) write the same files. And the
 * README's library example, extracted from README.md and run verbatim against that install.
 */

let work: string;
let consumer: string;

/** npm without the npm_* settings `npm test` passes down, with a private cache and no network. */
function npm(args: string[], cwd: string): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  return execFileSync(
    "npm",
    [...args, "--cache", path.join(work, "cache"), "--offline", "--no-audit", "--no-fund", "--loglevel", "error"],
    { cwd, env: { ...env, NODE_EXTRA_CA_CERTS: "" }, encoding: "utf8", timeout: 90_000 },
  );
}

/** A process environment that cannot reach this repository's modules or state. */
function consumerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: path.join(work, "home"), NO_COLOR: "1", ...extra };
  return env;
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "moltbot-library-"));
  // --ignore-scripts: pack the dist/ that `npm test` just built, without rebuilding under other tests.
  const [packed] = JSON.parse(npm(["pack", "--json", "--ignore-scripts", "--pack-destination", work], ROOT)) as {
    filename: string;
  }[];
  consumer = path.join(work, "consumer");
  fs.mkdirSync(consumer);
  fs.writeFileSync(
    path.join(consumer, "package.json"),
    `${JSON.stringify({ name: "gateway-like", private: true, type: "module" })}\n`,
  );
  npm(["install", path.join(work, packed!.filename)], consumer);
}, 180_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The first ```js block of the README's "## Library" section, exactly as written. */
function readmeLibraryExample(): string {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Library\n"));
  const match = /```js\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf("\n## ", 1)));
  expect(match, "README.md has a ```js example under ## Library").not.toBeNull();
  return match![1]!;
}

describe("the packed library in a consumer project", () => {
  it("is installed as the only package, with no dependencies and no way back to this repository", () => {
    expect(fs.readdirSync(path.join(consumer, "node_modules")).filter((name) => !name.startsWith("."))).toEqual([
      "moltbot-pairing",
    ]);
    expect(path.relative(ROOT, consumer).startsWith("..")).toBe(true);
  });

  it("runs the README's library example verbatim", () => {
    const example = readmeLibraryExample();
    expect(example).toContain('from "moltbot-pairing"');
    fs.writeFileSync(path.join(consumer, "readme-example.mjs"), example);
    const stateDir = path.join(work, "readme-state");
    const run = spawnSync(process.execPath, ["readme-example.mjs", stateDir], {
      cwd: consumer,
      env: consumerEnv(),
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("Your Telegram user id: 123456789");
    expect(run.stdout).toContain("123456789 may now talk to the bot");
    expect(readJsonFile(path.join(stateDir, "credentials", "telegram-allowFrom.json"))).toEqual({
      version: 1,
      allowFrom: ["123456789"],
    });
  });

  it("exports every store operation the README lists, and the newer ones work from the tarball (block list, decision log)", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const bullet = /- \*\*Store operations\*\*([\s\S]*?)\n- \*\*/.exec(readme)![1]!;
    const names = [...bullet.matchAll(/`([A-Za-z]+)`/g)].map((match) => match[1]!);
    expect(names.length).toBeGreaterThan(30);
    const script = `
      import * as lib from "moltbot-pairing";
      const names = ${JSON.stringify(names)}.filter((name) => name !== "account");
      const missing = names.filter((name) => typeof lib[name] !== "function");
      if (missing.length) throw new Error("missing: " + missing.join(", "));
      const ctx = lib.createStoreContext({ stateDir: process.argv[2] });
      await lib.requestDmPairing(ctx, { channel: "telegram", senderId: "666" });
      await lib.blockDmSender(ctx, { channel: "telegram", senderId: "666", reason: "spam" });
      const again = await lib.requestDmPairing(ctx, { channel: "telegram", senderId: "666" });
      const { entries, verification } = lib.readDecisionLog(ctx);
      console.log(JSON.stringify({ status: again.status, blocked: lib.listBlockedSenders(ctx).blocked.length,
        actions: entries.map((entry) => entry.action), ok: verification.ok }));
    `;
    fs.writeFileSync(path.join(consumer, "exports.mjs"), script);
    const run = spawnSync(process.execPath, ["exports.mjs", path.join(work, "exports-state")], {
      cwd: consumer,
      env: consumerEnv(),
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ status: "blocked", blocked: 1, actions: ["pairing.block"], ok: true });
  });

  it("a long-lived process doing hundreds of DM and device operations while CLI processes write the same files: every acknowledged write is there, files parse, no lock or temp file left", async () => {
    const stateDir = path.join(work, "shared-state");
    // Both sides request on one channel at once; the cap is not what this test is about.
    const env = consumerEnv({ MOLTBOT_PAIRING_MAX_PENDING: "50" });
    fs.copyFileSync(path.join(ROOT, "test", "fixtures", "library-consumer.mjs"), path.join(consumer, "consumer.mjs"));
    const library = spawn(process.execPath, ["consumer.mjs", stateDir, "40"], {
      cwd: consumer,
      env,
      stdio: ["pipe", "pipe", "pipe"],
      timeout: 150_000,
    });
    const libraryDone = collectOutput(library);

    // The tarball's own CLI, as an operator would run it beside the gateway.
    const bin = path.join(consumer, "node_modules", ".bin", "moltbot");
    const cli = async (args: string[]) => {
      const child = spawn(bin, ["--state-dir", stateDir, ...args, "--json"], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      const outcome = await collectOutput(child);
      return {
        ...outcome,
        json: outcome.code === 0 ? (JSON.parse(outcome.stdout) as Record<string, unknown>) : undefined,
      };
    };
    const cliApproved: string[] = [];
    const cliPaired: string[] = [];
    const cliErrors: string[] = [];
    const writer = async (w: number) => {
      for (let j = 0; j < 8; j++) {
        const sender = `cli-${w}-${j}`;
        const requested = await cli(["pairing", "request", "telegram", sender]);
        const code = requested.json?.code as string | undefined;
        if (code === undefined) {
          cliErrors.push(`request ${sender}: ${requested.stdout}${requested.stderr}`);
          continue;
        }
        const approved = await cli(["pairing", "approve", "telegram", code]);
        if (approved.code === 0) cliApproved.push(sender);
        else cliErrors.push(`approve ${sender}: ${approved.stdout}`);
        if (j % 2 === 0) {
          const deviceId = `cli-d${w}-${j}`;
          const device = await cli([
            "devices",
            "request",
            "--device",
            deviceId,
            "--public-key",
            `k${j}`,
            "--role",
            "node",
          ]);
          const approvedDevice = await cli(["devices", "approve", deviceId]);
          if (device.code === 0 && approvedDevice.code === 0) cliPaired.push(deviceId);
          else cliErrors.push(`device ${deviceId}: ${device.stdout}${approvedDevice.stdout}`);
        }
      }
    };
    await Promise.all([writer(0), writer(1)]);
    library.stdin.end();
    const outcome = await libraryDone;
    expect(outcome.stderr).toBe("");
    expect(outcome.code).toBe(0);
    const summary = JSON.parse(outcome.stdout) as {
      rounds: number;
      operations: number;
      approved: string[];
      rejected: string[];
      revoked: string[];
      paired: string[];
      errors: string[];
    };
    expect(summary.errors).toEqual([]);
    expect(cliErrors).toEqual([]);
    expect(summary.rounds).toBeGreaterThanOrEqual(40);
    expect(summary.operations).toBeGreaterThan(400);
    console.log(
      `library consumer figures: ${JSON.stringify({ rounds: summary.rounds, operations: summary.operations, cliApproved: cliApproved.length, cliPaired: cliPaired.length })}`,
    );

    // Every acknowledged write is there, and nothing that was taken back.
    const credentials = path.join(stateDir, "credentials");
    const allowFrom = readJsonFile<{ allowFrom: string[] }>(
      path.join(credentials, "telegram-allowFrom.json"),
    ).allowFrom;
    expect([...allowFrom].sort()).toEqual([...summary.approved, ...cliApproved].sort());
    for (const gone of [...summary.rejected, ...summary.revoked]) expect(allowFrom).not.toContain(gone);
    const pending = readJsonFile<{ requests: unknown[] }>(path.join(credentials, "telegram-pairing.json"));
    expect(pending.requests).toEqual([]);
    const paired = readJsonFile<Record<string, unknown>>(path.join(stateDir, "devices", "paired.json"));
    expect(Object.keys(paired).sort()).toEqual([...summary.paired, ...cliPaired].sort());
    expect(readJsonFile(path.join(stateDir, "devices", "pending.json"))).toEqual({});
    // Every file parses, and no lock or temp file is left behind.
    const names = fs.readdirSync(stateDir, { recursive: true }) as string[];
    for (const name of names.filter((entry) => entry.endsWith(".json"))) readJsonFile(path.join(stateDir, name));
    expect(names.filter((name) => /\.lock$|\.tmp$/.test(name))).toEqual([]);
  }, 180_000);
});
