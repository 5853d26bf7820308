import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { emptyAllow, emptyPending, type AllowState, type PendingState } from "../../src/core/dm-pairing.js";
import {
  MAX_STORE_FILE_BYTES,
  ensureDir,
  parseStoreText,
  readStoreFile,
  serializeStore,
  storeIoError,
  type StoreFile,
} from "../../src/store/file-store.js";
import { allowFileSchema, pendingFileSchema } from "../../src/store/schemas.js";
import { fileMode, listTree, tempDir } from "../helpers.js";

function pendingFile(file: string): StoreFile<PendingState> {
  return {
    path: file,
    label: "telegram pairing requests",
    schema: pendingFileSchema as StoreFile<PendingState>["schema"],
    empty: emptyPending,
  };
}

function allowFile(file: string): StoreFile<AllowState> {
  return {
    path: file,
    label: "a telegram allowlist",
    schema: allowFileSchema,
    empty: emptyAllow,
  };
}

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error("expected an error");
}

const originalUmask = process.umask();
afterEach(() => {
  process.umask(originalUmask);
});

describe("readStoreFile", () => {
  it("returns the empty store for a missing file and creates nothing, not even the directory", () => {
    const root = tempDir();
    const file = path.join(root, "state", "credentials", "telegram-pairing.json");
    expect(readStoreFile(pendingFile(file))).toEqual({ version: 1, requests: [] });
    expect(readStoreFile(allowFile(file.replace("pairing", "allowFrom")))).toEqual({ version: 1, allowFrom: [] });
    expect(listTree(root)).toEqual([]);
  });

  it("returns the file's data including fields it does not know", () => {
    const file = path.join(tempDir(), "p.json");
    const data = {
      version: 1,
      newer: { x: 1 },
      requests: [
        {
          id: "1",
          code: "ABCD2345",
          createdAt: "2026-01-01T00:00:00.000Z",
          lastSeenAt: "2026-01-01T00:00:00.000Z",
          agent: "main",
        },
      ],
    };
    fs.writeFileSync(file, JSON.stringify(data));
    expect(readStoreFile(pendingFile(file))).toEqual(data);
  });

  const corrupt: [string, string, RegExp][] = [
    ["invalid JSON", "{ not json", /is not valid JSON; it was left untouched/],
    ["an empty file", "", /is not valid JSON \(the file is empty\)/],
    [
      "a wrong version",
      '{"version":2,"requests":[]}',
      /does not have the shape of telegram pairing requests \(version: expected 1\)/,
    ],
    ["requests not an array", '{"version":1,"requests":{}}', /requests: expected array/],
    [
      "a request without a code",
      '{"version":1,"requests":[{"id":"1","createdAt":"x","lastSeenAt":"x"}]}',
      /requests\[0\]\.code: expected string/,
    ],
    [
      "non-string meta",
      '{"version":1,"requests":[{"id":"1","code":"A","createdAt":"x","lastSeenAt":"x","meta":{"n":1}}]}',
      /requests\[0\]\.meta\.n/,
    ],
    ["a JSON array", "[]", /does not have the shape/],
    ["JSON null", "null", /does not have the shape/],
  ];
  it.each(corrupt)(
    "refuses %s with STORE_CORRUPT naming the file and doctor, leaving it untouched",
    (_, text, pattern) => {
      const file = path.join(tempDir(), "telegram-pairing.json");
      fs.writeFileSync(file, text, { mode: 0o600 });
      const error = errorOf(() => readStoreFile(pendingFile(file)));
      expect(error.code).toBe("STORE_CORRUPT");
      expect(error.message).toContain(file);
      expect(error.message).toMatch(pattern);
      expect(error.message).toContain("moltbot doctor");
      expect(fs.readFileSync(file, "utf8")).toBe(text);
    },
  );

  it("refuses an allowlist whose entries are not strings", () => {
    const file = path.join(tempDir(), "telegram-allowFrom.json");
    fs.writeFileSync(file, '{"version":1,"allowFrom":[123]}');
    expect(errorOf(() => readStoreFile(allowFile(file))).message).toMatch(/allowFrom\[0\]: expected string/);
  });

  it("refuses a directory in place of the file", () => {
    const file = path.join(tempDir(), "telegram-allowFrom.json");
    fs.mkdirSync(file);
    const error = errorOf(() => readStoreFile(allowFile(file)));
    expect(error.code).toBe("STORE_CORRUPT");
    expect(error.message).toContain("not a regular file");
  });

  it("refuses a FIFO in place of the file at once instead of blocking on it", () => {
    const file = path.join(tempDir(), "telegram-pairing.json");
    expect(spawnSync("mkfifo", [file]).status).toBe(0);
    const error = errorOf(() => readStoreFile(pendingFile(file)));
    expect(error.code).toBe("STORE_CORRUPT");
    expect(error.message).toContain("not a regular file");
  });

  it("refuses a file larger than the size cap before reading it", () => {
    const file = path.join(tempDir(), "telegram-pairing.json");
    fs.writeFileSync(file, "");
    fs.truncateSync(file, MAX_STORE_FILE_BYTES + 1); // sparse: costs no disk
    const error = errorOf(() => readStoreFile(pendingFile(file)));
    expect(error.code).toBe("STORE_CORRUPT");
    expect(error.message).toContain("larger than any store file can be");
  });

  it("reports a path through a regular file as a store problem", () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, "credentials"), "");
    const error = errorOf(() => readStoreFile(pendingFile(path.join(root, "credentials", "telegram-pairing.json"))));
    expect(error.code).toBe("STORE_CORRUPT");
  });
});

describe("parseStoreText and serializeStore", () => {
  it("serialises as 2-space JSON with one trailing newline", () => {
    expect(serializeStore({ version: 1, allowFrom: ["1"] })).toBe(
      '{\n  "version": 1,\n  "allowFrom": [\n    "1"\n  ]\n}\n',
    );
  });

  it("round-trips what it writes, unknown fields included", () => {
    const state = { version: 1 as const, allowFrom: ["a", "b"], gateway: { since: 3 } };
    expect(parseStoreText(allowFile("/x"), serializeStore(state))).toEqual(state);
  });
});

describe("storeIoError", () => {
  it("maps permission errors to STORE_PERMISSION with an owner hint", () => {
    for (const code of ["EACCES", "EPERM", "EROFS"]) {
      const error = storeIoError(Object.assign(new Error("x"), { code }), "/s/f.json", "reading");
      expect(error.code).toBe("STORE_PERMISSION");
      expect(error.exitCode).toBe(3);
      expect(error.message).toContain("/s/f.json");
      expect(error.message).toContain("sudo");
    }
  });

  it("maps other errors to exit 3 too", () => {
    expect(storeIoError(Object.assign(new Error("x"), { code: "EISDIR" }), "/f", "reading").exitCode).toBe(3);
    expect(storeIoError(Object.assign(new Error("x"), { code: "ENOSPC" }), "/f", "writing").code).toBe("STORE_IO");
  });
});

describe("ensureDir", () => {
  it("creates every missing directory 0700 even under umask 000", () => {
    process.umask(0o000);
    const root = tempDir();
    const dir = path.join(root, "a", "b", "c");
    ensureDir(dir);
    for (const created of ["a", "a/b", "a/b/c"]) expect(fileMode(path.join(root, created)), created).toBe(0o700);
  });

  it("creates 0700 under a loose umask like 022 as well", () => {
    process.umask(0o022);
    const dir = path.join(tempDir(), "x");
    ensureDir(dir);
    expect(fileMode(dir)).toBe(0o700);
  });

  it("leaves the mode of directories that already exist alone", () => {
    const root = tempDir();
    const shared = path.join(root, "shared");
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o755);
    ensureDir(path.join(shared, "credentials"));
    expect(fileMode(shared)).toBe(0o755);
    expect(fileMode(path.join(shared, "credentials"))).toBe(0o700);
    ensureDir(shared);
    expect(fileMode(shared)).toBe(0o755);
  });
});
