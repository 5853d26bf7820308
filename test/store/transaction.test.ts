import fs from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { resolveChannel } from "../../src/core/channels.js";
import { DM_ALLOW, defineTransaction, singleRecord, DM_PENDING } from "../../src/store/catalogue.js";
import { createStoreContext } from "../../src/store/context.js";
import { runTransaction } from "../../src/store/transaction.js";
import { listTree, tempStateDir } from "../helpers.js";

// Play the rare race proper-lockfile's stale takeover allows: while our write is under way,
// another process removes our lock directory and makes its own in its place.
const thief = vi.hoisted(() => ({ file: undefined as string | undefined }));
vi.mock("../../src/store/json/files.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/store/json/files.js")>();
  return {
    ...real,
    writeFileAtomic: (file: string, text: string) => {
      if (file === thief.file) {
        fs.rmdirSync(`${file}.lock`);
        fs.mkdirSync(`${file}.lock`);
      }
      real.writeFileAtomic(file, text);
    },
  };
});

const telegram = resolveChannel("telegram");
const ALLOW = singleRecord(DM_ALLOW);

describe("runTransaction", () => {
  it("does not acknowledge a change whose lock another process took over while it was being written", async () => {
    const stateDir = tempStateDir();
    const file = path.join(stateDir, "credentials", "telegram-allowFrom.json");
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, '{"version":1,"allowFrom":["111"]}\n', { mode: 0o600 });
    const ctx = createStoreContext({ stateDir, env: {} });
    const add = (id: string) =>
      runTransaction(ctx, ALLOW, { state: { channel: telegram } }, ({ state }) => ({
        state: { ...state, allowFrom: [...state.allowFrom, id] },
        result: "written",
      }));
    thief.file = file;
    try {
      await expect(add("222")).rejects.toMatchObject({
        code: "STORE_LOCKED",
        message: expect.stringContaining("may not have been saved"),
      });
    } finally {
      thief.file = undefined;
    }
    // The thief's lock is still there: releasing never removes a lock that is not ours.
    expect(fs.statSync(`${file}.lock`).isDirectory()).toBe(true);
    fs.rmdirSync(`${file}.lock`);

    // Without a thief the same change is acknowledged and on disk.
    await expect(add("333")).resolves.toBe("written");
    expect(JSON.parse(fs.readFileSync(file, "utf8")).allowFrom).toContain("333");
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  it("a decision that writes nothing takes no lock and creates nothing, not even the state dir", async () => {
    const stateDir = tempStateDir();
    const ctx = createStoreContext({ stateDir, env: {} });
    const result = await runTransaction(ctx, ALLOW, { state: { channel: telegram } }, () => ({ result: "nothing" }));
    expect(result).toBe("nothing");
    await expect(
      runTransaction(ctx, ALLOW, { state: { channel: telegram } }, () => {
        throw new Error("a miss");
      }),
    ).rejects.toThrow("a miss");
    expect(fs.existsSync(stateDir)).toBe(false);
  });

  it("the decision that is written runs under the lock, with the real randomness, once", async () => {
    const stateDir = tempStateDir();
    let draws = 0;
    const ctx = createStoreContext({
      stateDir,
      env: {},
      random: (size) => {
        draws++;
        return new Uint8Array(size).fill(7);
      },
    });
    const seen: boolean[] = [];
    await runTransaction(ctx, ALLOW, { state: { channel: telegram } }, ({ state }, _now, random) => {
      seen.push(fs.existsSync(path.join(stateDir, "credentials", "telegram-allowFrom.json.lock")));
      random(1);
      return { state: { ...state, allowFrom: ["1"] }, result: undefined };
    });
    expect(seen).toEqual([false, true]);
    expect(draws).toBe(1);
    expect(listTree(stateDir)).toEqual(["credentials", "credentials/telegram-allowFrom.json"]);
  });

  it("declared orders are checked: pending locked before approved, approved written before pending", () => {
    const records = { pending: DM_PENDING, allow: DM_ALLOW };
    expect(() =>
      defineTransaction("BAD_LOCK", records, { lock: ["allow", "pending"], write: ["allow", "pending"] }),
    ).toThrow(/pending before approved/);
    expect(() =>
      defineTransaction("BAD_WRITE", records, { lock: ["pending", "allow"], write: ["pending", "allow"] }),
    ).toThrow(/approved records must be written before pending/);
    expect(() => defineTransaction("MISSING", records, { lock: ["pending"], write: ["pending"] })).toThrow(
      /locked \(or only read\) once/,
    );
  });
});
