import { describe, expect, it } from "vitest";
import { listTree, runJson, runMoltbot, tempStateDir } from "../helpers.js";

/* `--account` on the DM commands, through the built bin (GENERATIONS.md §2). */

describe("--account", () => {
  it.each([
    ["pairing", "list", "telegram"],
    ["pairing", "request", "telegram", "111"],
    ["pairing", "approve", "telegram", "ABCD2345"],
    ["pairing", "reject", "telegram", "ABCD2345"],
    ["pairing", "allowlist", "telegram"],
    ["pairing", "revoke", "telegram", "111"],
  ])("a blank --account is a usage error for %s %s, and creates nothing", async (...args) => {
    const stateDir = tempStateDir();
    for (const blank of ["", "  "]) {
      const json = await runJson([...args, "--account", blank], { stateDir });
      expect(json.code).toBe(2);
      expect(json.json).toMatchObject({ error: { code: "USAGE", message: expect.stringContaining("--account") } });
    }
    expect(listTree(stateDir)).toEqual([]);
  });

  it("an operator with two Telegram bots lists, approves, rejects and revokes per account", async () => {
    const stateDir = tempStateDir();
    const work = await runJson<{ code: string }>(["pairing", "request", "telegram", "111", "--account", "work"], {
      stateDir,
    });
    const home = await runJson<{ code: string }>(["pairing", "request", "telegram", "111", "--account", "home"], {
      stateDir,
    });
    const third = await runJson<{ code: string }>(["pairing", "request", "telegram", "222", "--account", "home"], {
      stateDir,
    });
    expect(new Set([work.json.code, home.json.code, third.json.code]).size).toBe(3);

    const human = await runMoltbot(["pairing", "list", "telegram"], { stateDir });
    expect(human.stdout.split("\n")[0]).toMatch(/^CODE\s+ACCOUNT\s+telegramUserId\s+META\s+REQUESTED\s+EXPIRES$/);
    expect(human.stdout).toMatch(new RegExp(`${work.json.code}\\s+work\\s+111`));
    const homeOnly = await runMoltbot(["pairing", "list", "telegram", "--account", "home"], { stateDir });
    expect(homeOnly.stdout).not.toContain(work.json.code);

    const approved = await runMoltbot(["pairing", "approve", "telegram", work.json.code], { stateDir });
    expect(approved).toMatchObject({
      code: 0,
      stdout: `Approved telegram sender 111 (account work) (code ${work.json.code}).\n`,
    });
    expect(approved.stderr).toContain("moltbot pairing allowlist telegram --account work");
    const wrongAccount = await runJson(["pairing", "reject", "telegram", third.json.code, "--account", "work"], {
      stateDir,
    });
    expect(wrongAccount.code).toBe(1);
    expect((await runJson(["pairing", "reject", "telegram", third.json.code], { stateDir })).json).toMatchObject({
      account: "home",
      id: "222",
    });
    expect((await runJson(["pairing", "allowlist", "telegram", "--account", "work"], { stateDir })).json).toEqual({
      channel: "telegram",
      account: "work",
      allowFrom: ["111"],
    });
    // Sender 111 is allowed on the work bot only: asking the home bot again keeps their home code.
    expect(
      (await runJson(["pairing", "request", "telegram", "111", "--account", "home"], { stateDir })).json,
    ).toMatchObject({ status: "pending", code: home.json.code });
    const revoked = await runMoltbot(["pairing", "revoke", "telegram", "111", "--account", "work"], { stateDir });
    expect(revoked.stdout).toBe("Removed 111 from the telegram allowlist (account work).\n");
    // The gateway's files (moltbot's own records live apart, under moltbot/).
    expect(listTree(stateDir).filter((name) => !name.startsWith("moltbot"))).toEqual([
      "credentials",
      "credentials/telegram-pairing.json",
      "credentials/telegram-work-allowFrom.json",
    ]);
  });

  it("a state without accounts shows no ACCOUNT column and writes only the January files", async () => {
    const stateDir = tempStateDir();
    const made = await runJson<{ code: string }>(["pairing", "request", "telegram", "111"], { stateDir });
    const human = await runMoltbot(["pairing", "list", "telegram"], { stateDir });
    expect(human.stdout.split("\n")[0]).toMatch(/^CODE\s+telegramUserId\s+META\s+REQUESTED\s+EXPIRES$/);
    await runMoltbot(["pairing", "approve", "telegram", made.json.code], { stateDir });
    expect(listTree(stateDir).filter((name) => !name.startsWith("moltbot"))).toEqual([
      "credentials",
      "credentials/telegram-allowFrom.json",
      "credentials/telegram-pairing.json",
    ]);
  });
});
