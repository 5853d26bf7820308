import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import type { Runner } from "../../src/cli/kit.js";
import { buildProgram } from "../../src/cli/program.js";
import { CHANNEL_NAMES } from "../../src/core/channels.js";
import { ERROR_EXIT_CODES } from "../../src/errors.js";
import { ROOT } from "../helpers.js";

/** The README is the manual: it must not fall behind the program. */
const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? sourceFiles(path.join(dir, entry.name))
        : entry.name.endsWith(".ts")
          ? [path.join(dir, entry.name)]
          : [],
    );
}

describe("README", () => {
  const noop: Runner = () => async () => {};
  const io = {
    out: () => {},
    err: () => {},
    color: false,
    columns: 80,
    interactive: false,
    env: {},
    readStdin: async () => "",
    confirm: async () => false,
  };

  it("documents every command and every long option of the program", async () => {
    // Every visible command (hidden ones, like the completion engine's entry, are not for people).
    const visit = (command: Command, path: string): void => {
      const help = command.createHelp();
      if (path !== "") {
        expect(readme, `moltbot ${path}`).toContain(`moltbot ${path}`);
        for (const option of help.visibleOptions(command)) {
          if (option.long) expect(readme, `${path} ${option.long}`).toContain(option.long);
        }
      }
      for (const sub of help.visibleCommands(command)) {
        if (command.commands.includes(sub)) visit(sub, path === "" ? sub.name() : `${path} ${sub.name()}`);
      }
    };
    visit(await buildProgram(io, noop), "");
  });

  it("lists every channel, every error code and every environment variable the code reads", () => {
    for (const channel of CHANNEL_NAMES) expect(readme, channel).toContain(`\`${channel}\``);
    for (const code of Object.keys(ERROR_EXIT_CODES)) expect(readme, code).toContain(`\`${code}\``);
    const variables = new Set(
      sourceFiles(path.join(ROOT, "src")).flatMap((file) =>
        [...fs.readFileSync(file, "utf8").matchAll(/env\.((?:MOLTBOT|CLAWDBOT)_[A-Z_]+)/g)].map((m) => m[1]!),
      ),
    );
    expect(variables.size).toBeGreaterThan(3);
    for (const variable of variables) expect(readme, variable).toContain(`\`${variable}`);
  });

  it("keeps the two set-up commands and the install commands", () => {
    expect(readme).toContain("npm ci && node bin/moltbot.js pairing list");
    expect(readme).toContain("npm install -g ./moltbot-pairing-*.tgz");
    expect(readme).not.toMatch(/<!-- owner: packaging\/docs -->/);
  });
});
