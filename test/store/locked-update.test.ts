import fs from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { updateStore } from "../../src/store/locked-update.js";
import { allowFileSchema } from "../../src/store/schemas.js";
import { tempDir } from "../helpers.js";

// Play the rare race proper-lockfile's stale takeover allows: while our write is under way,
// another process removes our lock directory and makes its own in its place.
const thief = vi.hoisted(() => ({ file: undefined as string | undefined }));
vi.mock("write-file-atomic", async (importOriginal) => {
  const real = await importOriginal<{ default: (file: string, data: string, options: object) => Promise<void> }>();
  return {
    default: async (file: string, data: string, options: object) => {
      if (file === thief.file) {
        fs.rmdirSync(`${file}.lock`);
        fs.mkdirSync(`${file}.lock`);
      }
      return real.default(file, data, options);
    },
  };
});

describe("updateStore", () => {
  it("does not acknowledge a change whose lock another process took over while it was being written", async () => {
    const file = path.join(tempDir(), "telegram-allowFrom.json");
    fs.writeFileSync(file, '{"version":1,"allowFrom":["111"]}\n', { mode: 0o600 });
    const storeFile = {
      path: file,
      label: "a telegram allowlist",
      schema: allowFileSchema,
      empty: () => ({ version: 1 as const, allowFrom: [] }),
    };
    thief.file = file;
    try {
      const update = updateStore([storeFile] as const, ([allow]) => ({
        states: [{ ...allow, allowFrom: [...allow.allowFrom, "222"] }],
        result: "written",
      }));
      await expect(update).rejects.toMatchObject({
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
    await expect(
      updateStore([storeFile] as const, ([allow]) => ({
        states: [{ ...allow, allowFrom: [...allow.allowFrom, "333"] }],
        result: "written",
      })),
    ).resolves.toBe("written");
    expect(JSON.parse(fs.readFileSync(file, "utf8")).allowFrom).toContain("333");
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });
});
