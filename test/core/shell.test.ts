import { describe, expect, it } from "vitest";
import { runAsCommand, sudoCommand, withoutStateDir } from "../../src/core/shell.js";

const STORE = { stateDir: "/srv/bot state", credentialsDir: "/srv/bot state/credentials" };

describe("run-as command lines", () => {
  it.each<[string, readonly string[], string]>([
    [
      "nobody",
      ["pairing", "approve", "telegram", "ABCD2345"],
      "sudo -u nobody moltbot --state-dir '/srv/bot state' pairing approve telegram ABCD2345",
    ],
    ["#1234", ["doctor", "--fix"], "sudo -u '#1234' moltbot --state-dir '/srv/bot state' doctor --fix"],
    ["root", ["doctor"], "sudo moltbot --state-dir '/srv/bot state' doctor"],
    [
      "alice",
      ["pairing", "revoke", "telegram", "$(id)"],
      "sudo -u alice moltbot --state-dir '/srv/bot state' pairing revoke telegram '$(id)'",
    ],
  ])("as %s: %j", (user, args, line) => {
    expect(runAsCommand(user, STORE, args)).toBe(line);
  });

  it("carries a credentials dir set by a variable, which sudo would drop", () => {
    expect(sudoCommand({ stateDir: "/s", credentialsDir: "/oauth" }, ["doctor"])).toBe(
      "sudo env MOLTBOT_OAUTH_DIR=/oauth moltbot --state-dir /s doctor",
    );
  });

  it.each<[string[], string[]]>([
    [
      ["--state-dir", "/x", "pairing", "list"],
      ["pairing", "list"],
    ],
    [
      ["pairing", "--state-dir=/x", "list", "--json"],
      ["pairing", "list", "--json"],
    ],
    [
      ["pairing", "request", "telegram", "--", "--state-dir"],
      ["pairing", "request", "telegram", "--", "--state-dir"],
    ],
  ])("withoutStateDir(%j) = %j", (argv, kept) => {
    expect(withoutStateDir(argv)).toEqual(kept);
  });
});
