import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, cliEnv, tempDir, tempStateDir } from "../helpers.js";

/*
 * bin/moltbot.js starts the bundle from V8's code cache (dist/cli.cjs.cache) when one fits. The cache
 * only saves compile time: whatever it holds, a command's output must be the same, and a cache that
 * does not fit this very bundle must never be used. Each test runs a private copy of bin/ and dist/.
 */

function installCopy(): { bin: string; cache: string } {
  const root = tempDir("moltbot-launcher-");
  fs.cpSync(path.join(ROOT, "bin"), path.join(root, "bin"), { recursive: true });
  fs.mkdirSync(path.join(root, "dist"));
  fs.copyFileSync(path.join(ROOT, "dist", "cli.cjs"), path.join(root, "dist", "cli.cjs"));
  return { bin: path.join(root, "bin", "moltbot.js"), cache: path.join(root, "dist", "cli.cjs.cache") };
}

function run(bin: string, stateDir: string) {
  const result = spawnSync(process.execPath, [bin, "pairing", "list", "telegram", "--json"], {
    env: cliEnv(stateDir),
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Whether the copy's launcher would start from its cache now. Asked in a fresh process: within one
 * process V8 reuses the script it compiled before and never looks at the cache again.
 */
function usesCache(bin: string): boolean {
  const script = `process.stdout.write(String(require(${JSON.stringify(bin)}).loadCli().usedCache))`;
  const result = spawnSync(process.execPath, ["-e", script], { env: cliEnv(tempStateDir()), encoding: "utf8" });
  expect(result.stderr).toBe("");
  return result.stdout === "true";
}

function buildId(bin: string): string {
  const id = /\/\/moltbot-build:([0-9a-f]{16})\n$/.exec(
    fs.readFileSync(path.join(path.dirname(bin), "..", "dist", "cli.cjs"), "utf8"),
  );
  expect(id).not.toBeNull();
  return id![1]!;
}

describe("the launcher's code cache", () => {
  it("a copy without a cache writes one on its first run and starts from it on the next, with the same output", () => {
    const { bin, cache } = installCopy();
    const stateDir = tempStateDir();
    expect(fs.existsSync(cache)).toBe(false);
    const first = run(bin, stateDir);
    expect(first).toEqual({ status: 0, stdout: '{\n  "channel": "telegram",\n  "requests": []\n}\n', stderr: "" });
    expect(fs.readFileSync(cache).toString("latin1", 0, 16)).toBe(buildId(bin));
    expect(usesCache(bin)).toBe(true);
    expect(run(bin, stateDir)).toEqual(first);
    expect(fs.existsSync(stateDir)).toBe(false);
  });

  it("ignores a cache made for another build, or one that is not V8's, runs the same, and leaves a good one", () => {
    const { bin, cache } = installCopy();
    const stateDir = tempStateDir();
    const expected = run(bin, stateDir);
    const real = fs.readFileSync(cache);
    const variants: Record<string, Buffer> = {
      "another build's id": Buffer.concat([Buffer.from("0123456789abcdef", "latin1"), real.subarray(16)]),
      "this build's id, random bytes": Buffer.concat([real.subarray(0, 16), Buffer.alloc(4096, 7)]),
      "this build's id, truncated": real.subarray(0, real.length >> 1),
      empty: Buffer.alloc(0),
    };
    for (const [name, bytes] of Object.entries(variants)) {
      fs.writeFileSync(cache, bytes);
      expect(usesCache(bin), name).toBe(false);
      expect(run(bin, stateDir), name).toEqual(expected);
      expect(usesCache(bin), `after a run with ${name}`).toBe(true);
    }
  });

  it("the build's own cache fits the bundle it built", () => {
    expect(usesCache(path.join(ROOT, "bin", "moltbot.js"))).toBe(true);
  });
});
