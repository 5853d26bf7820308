import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createStoreContext } from "../../src/store/context.js";
import {
  approveDmCode,
  listAllDmRequests,
  listDmRequests,
  readDmAllowlist,
  rejectDmCode,
  requestDmPairing,
  revokeDmSender,
} from "../../src/store/dm-store.js";
import { listTree, readJsonFile, seededRandom, tempStateDir } from "../helpers.js";

/* Accounts on disk: which files each rule reads and writes (GENERATIONS.md §2). */

function setup() {
  const stateDir = tempStateDir();
  const ctx = createStoreContext({ stateDir, env: {}, random: seededRandom(7) });
  const file = (name: string) => path.join(stateDir, "credentials", name);
  const write = (name: string, value: unknown) => {
    fs.mkdirSync(path.dirname(file(name)), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file(name), `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  };
  return { stateDir, ctx, file, write };
}

describe("accounts on disk", () => {
  it("requests for two accounts share <channel>-pairing.json, each naming its account", async () => {
    const { ctx, file } = setup();
    const home = await requestDmPairing(ctx, { channel: "telegram", senderId: "111", account: "home" });
    const work = await requestDmPairing(ctx, { channel: "telegram", senderId: "111", account: "Work" });
    expect(home.code).not.toBe(work.code);
    const stored = readJsonFile<{ requests: { id: string; meta?: Record<string, string> }[] }>(
      file("telegram-pairing.json"),
    );
    expect(stored.requests.map((request) => [request.id, request.meta?.accountId])).toEqual([
      ["111", "home"],
      ["111", "work"],
    ]);
    expect(listDmRequests(ctx, "telegram", { account: "work" }).requests.map((request) => request.code)).toEqual([
      work.code,
    ]);
    expect(listAllDmRequests(ctx).channels[0]!.requests.map((request) => request.account)).toEqual(["home", "work"]);
  });

  it("approving a code writes to the request's account file; a January request goes to the January file", async () => {
    const { ctx, file, stateDir } = setup();
    const work = await requestDmPairing(ctx, { channel: "telegram", senderId: "111", account: "work" });
    const plain = await requestDmPairing(ctx, { channel: "telegram", senderId: "222" });
    const byDefault = await requestDmPairing(ctx, { channel: "telegram", senderId: "333", account: "default" });
    // No --account: the code is looked up in every account.
    expect(await approveDmCode(ctx, { channel: "telegram", code: work.code! })).toMatchObject({ account: "work" });
    expect(await approveDmCode(ctx, { channel: "telegram", code: plain.code! })).toMatchObject({ account: "default" });
    expect(await approveDmCode(ctx, { channel: "telegram", code: byDefault.code! })).toMatchObject({
      account: "default",
    });
    expect(readJsonFile(file("telegram-work-allowFrom.json"))).toEqual({ version: 1, allowFrom: ["111"] });
    expect(readJsonFile(file("telegram-allowFrom.json"))).toEqual({ version: 1, allowFrom: ["222"] });
    expect(readJsonFile(file("telegram-default-allowFrom.json"))).toEqual({ version: 1, allowFrom: ["333"] });
    // The gateway's files (moltbot's own records live apart, under moltbot/).
    expect(listTree(stateDir).filter((name) => name.startsWith("credentials/"))).toEqual([
      "credentials/telegram-allowFrom.json",
      "credentials/telegram-default-allowFrom.json",
      "credentials/telegram-pairing.json",
      "credentials/telegram-work-allowFrom.json",
    ]);
  });

  it("the default account reads its own file and the January one; any other account only its own", async () => {
    const { ctx, write } = setup();
    write("telegram-default-allowFrom.json", { version: 1, allowFrom: ["111", "222"] });
    write("telegram-allowFrom.json", { version: 1, allowFrom: ["999", "111"] });
    write("telegram-work-allowFrom.json", { version: 1, allowFrom: ["555"] });
    expect(readDmAllowlist(ctx, "telegram").allowFrom).toEqual(["111", "222", "999"]);
    expect(readDmAllowlist(ctx, "telegram", { account: "default" }).allowFrom).toEqual(["111", "222", "999"]);
    expect(readDmAllowlist(ctx, "telegram", { account: "work" })).toEqual({
      channel: "telegram",
      account: "work",
      allowFrom: ["555"],
    });
    // "Already allowed" reads the same lists.
    expect((await requestDmPairing(ctx, { channel: "telegram", senderId: "999" })).status).toBe("allowed");
    expect((await requestDmPairing(ctx, { channel: "telegram", senderId: "999", account: "work" })).status).toBe(
      "created",
    );
    expect((await requestDmPairing(ctx, { channel: "telegram", senderId: "555", account: "work" })).status).toBe(
      "allowed",
    );
  });

  it("revoke for the default account clears both files it reads; for an account only its own", async () => {
    const { ctx, write, file } = setup();
    write("telegram-default-allowFrom.json", { version: 1, allowFrom: ["111", "2"] });
    write("telegram-allowFrom.json", { version: 1, allowFrom: ["tg:111", "3"] });
    write("telegram-work-allowFrom.json", { version: 1, allowFrom: ["111"] });
    expect(await revokeDmSender(ctx, { channel: "telegram", senderId: "111" })).toMatchObject({ removed: true });
    expect(readJsonFile(file("telegram-default-allowFrom.json"))).toEqual({ version: 1, allowFrom: ["2"] });
    expect(readJsonFile(file("telegram-allowFrom.json"))).toEqual({ version: 1, allowFrom: ["3"] });
    expect(readJsonFile(file("telegram-work-allowFrom.json"))).toEqual({ version: 1, allowFrom: ["111"] });
    expect(await revokeDmSender(ctx, { channel: "telegram", senderId: "111", account: "work" })).toMatchObject({
      account: "work",
      removed: true,
    });
    expect(readJsonFile(file("telegram-work-allowFrom.json"))).toEqual({ version: 1, allowFrom: [] });
  });

  it("reject with an account finds only that account's code; a miss creates nothing", async () => {
    const { ctx, stateDir } = setup();
    const work = await requestDmPairing(ctx, { channel: "telegram", senderId: "111", account: "work" });
    const before = listTree(stateDir);
    await expect(rejectDmCode(ctx, { channel: "telegram", code: work.code!, account: "home" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    expect(listTree(stateDir)).toEqual(before);
    expect(await rejectDmCode(ctx, { channel: "telegram", code: work.code!, account: "work" })).toMatchObject({
      account: "work",
      id: "111",
    });
  });

  it("a state that names no account anywhere reads and writes exactly the January files", async () => {
    const { ctx, stateDir, file } = setup();
    const made = await requestDmPairing(ctx, { channel: "telegram", senderId: "111", meta: { username: "al" } });
    await approveDmCode(ctx, { channel: "telegram", code: made.code! });
    expect(listTree(stateDir).filter((name) => !name.startsWith("moltbot"))).toEqual([
      "credentials",
      "credentials/telegram-allowFrom.json",
      "credentials/telegram-pairing.json",
    ]);
    expect(fs.readFileSync(file("telegram-allowFrom.json"), "utf8")).toBe(
      '{\n  "version": 1,\n  "allowFrom": [\n    "111"\n  ]\n}\n',
    );
  });
});
