import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveChannel } from "../../src/core/channels.js";
import { DM_ALLOW, DM_PENDING, singleRecord } from "../../src/store/catalogue.js";
import { createStoreContext } from "../../src/store/context.js";
import { storeIoError } from "../../src/store/json/errors.js";
import {
  MAX_STORE_FILE_BYTES,
  OUR_TEMP,
  keptEveryKey,
  rewriteRisk,
  scanJson,
  serializeStore,
  writeFileAtomic,
} from "../../src/store/json/files.js";
import { ensureWritableDir } from "../../src/store/json/owner.js";
import { runTransaction } from "../../src/store/transaction.js";
import { BIN, cliEnv, fileMode, listTree, tempDir, tempStateDir } from "../helpers.js";

const telegram = { channel: resolveChannel("telegram") };

function setup() {
  const stateDir = tempStateDir();
  const credentials = path.join(stateDir, "credentials");
  fs.mkdirSync(credentials, { recursive: true, mode: 0o700 });
  return {
    stateDir,
    ctx: createStoreContext({ stateDir, env: {} }),
    pending: path.join(credentials, "telegram-pairing.json"),
    allow: path.join(credentials, "telegram-allowFrom.json"),
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

describe("reading a JSON record", () => {
  it("a missing file is the empty record, and reading creates nothing, not even the directory", () => {
    const stateDir = tempStateDir();
    const { backend } = createStoreContext({ stateDir, env: {} });
    expect(backend.read(DM_PENDING, telegram)).toEqual({ state: { version: 1, requests: [] }, exists: false });
    expect(backend.read(DM_ALLOW, telegram).state).toEqual({ version: 1, allowFrom: [] });
    expect(fs.existsSync(stateDir)).toBe(false);
  });

  it("reads what is there each time: a file read, removed, replaced by a link, then written again", () => {
    // readRaw opens a file it last found present without an lstat first: the open still decides.
    const { ctx, allow } = setup();
    const read = () => ctx.backend.read(DM_ALLOW, telegram);
    fs.writeFileSync(allow, '{"version":1,"allowFrom":["1"]}', { mode: 0o600 });
    expect(read().state.allowFrom).toEqual(["1"]);
    fs.rmSync(allow);
    expect(read()).toEqual({ state: { version: 1, allowFrom: [] }, exists: false });
    fs.writeFileSync(`${allow}.elsewhere`, '{"version":1,"allowFrom":["2"]}', { mode: 0o600 });
    fs.symlinkSync(`${allow}.elsewhere`, allow);
    expect(errorOf(read).message).toMatch(/symbolic link/);
    fs.rmSync(allow);
    fs.writeFileSync(allow, '{"version":1,"allowFrom":["3"]}', { mode: 0o600 });
    expect(read().state.allowFrom).toEqual(["3"]);
    fs.rmSync(allow);
    fs.mkdirSync(allow);
    expect(errorOf(read).message).toMatch(/is a directory/);
  });

  it("what a read hands out cannot be changed: the kept parse is frozen all the way down", () => {
    // A library caller that mutated a state would otherwise change what the next read of the same
    // bytes returns (the parse is kept and reused), and what the next write writes.
    const { ctx, pending, allow } = setup();
    fs.writeFileSync(allow, '{"version":1,"allowFrom":["1","2"],"newer":{"list":[{"x":1}]}}', { mode: 0o600 });
    const request = { id: "1", code: "ABCD2345", createdAt: "x", lastSeenAt: "x", meta: { username: "u" } };
    fs.writeFileSync(pending, JSON.stringify({ version: 1, requests: [request] }), { mode: 0o600 });
    const allowState = ctx.backend.read(DM_ALLOW, telegram).state as unknown as { allowFrom: string[]; newer: unknown };
    const pendingState = ctx.backend.read(DM_PENDING, telegram).state;
    expect(() => allowState.allowFrom.push("3")).toThrow(TypeError);
    expect(() => ((allowState.newer as { list: { x: number }[] }).list[0]!.x = 2)).toThrow(TypeError);
    expect(() => (pendingState.requests[0]!.meta!.username = "v")).toThrow(TypeError);
    expect(ctx.backend.read(DM_ALLOW, telegram).state).toEqual({
      version: 1,
      allowFrom: ["1", "2"],
      newer: { list: [{ x: 1 }] },
    });
    expect(ctx.backend.read(DM_PENDING, telegram).state.requests).toEqual([request]);
  });

  it("returns the file's data including fields it does not know", () => {
    const { ctx, pending } = setup();
    const data = {
      version: 1,
      newer: { x: 1 },
      requests: [{ id: "1", code: "ABCD2345", createdAt: "2026-01-01T00:00:00.000Z", lastSeenAt: "x", agent: "main" }],
    };
    fs.writeFileSync(pending, JSON.stringify(data));
    expect(ctx.backend.read(DM_PENDING, telegram).state).toEqual(data);
  });

  const corrupt: [string, string, RegExp][] = [
    ["invalid JSON", "{ not json", /is not valid JSON; it was left untouched/],
    ["an empty file", "", /is not valid JSON \(the file is empty\)/],
    ["a wrong version", '{"version":2,"requests":[]}', /shape of telegram pairing requests \(version: expected 1\)/],
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
    ["a __proto__ key", '{"version":1,"requests":[],"__proto__":{"x":1}}', /"__proto__" key/],
    [
      "a nested __proto__ key",
      '{"version":1,"requests":[{"__proto__":1,"id":"1"}]}',
      /"__proto__" key \(requests\.__proto__\)|"__proto__" key/,
    ],
  ];
  it.each(corrupt)(
    "refuses %s with STORE_CORRUPT naming the file and doctor, leaving it untouched",
    (_, text, pattern) => {
      const { ctx, pending } = setup();
      fs.writeFileSync(pending, text, { mode: 0o600 });
      const error = errorOf(() => ctx.backend.read(DM_PENDING, telegram));
      expect(error.code).toBe("STORE_CORRUPT");
      expect(error.message).toContain(pending);
      expect(error.message).toMatch(pattern);
      expect(error.message).toContain("moltbot doctor");
      expect(fs.readFileSync(pending, "utf8")).toBe(text);
    },
  );

  it("a __proto__ that is only a value is data like any other", () => {
    const { ctx, allow } = setup();
    fs.writeFileSync(allow, '{"version":1,"allowFrom":["__proto__"]}');
    expect(ctx.backend.read(DM_ALLOW, telegram).state.allowFrom).toEqual(["__proto__"]);
  });

  it("refuses an allowlist whose entries are not strings", () => {
    const { ctx, allow } = setup();
    fs.writeFileSync(allow, '{"version":1,"allowFrom":[123]}');
    expect(errorOf(() => ctx.backend.read(DM_ALLOW, telegram)).message).toMatch(/allowFrom\[0\]: expected string/);
  });

  it.each([
    ["a directory", (file: string) => fs.mkdirSync(file), "is a directory"],
    [
      "a FIFO (at once, instead of blocking on it)",
      (file: string) => spawnSync("mkfifo", [file]),
      "not a regular file",
    ],
    [
      "a symbolic link, even to a valid file",
      (file: string) => {
        const elsewhere = path.join(tempDir(), "real.json");
        fs.writeFileSync(elsewhere, '{"version":1,"requests":[]}');
        fs.symlinkSync(elsewhere, file);
      },
      "symbolic link",
    ],
  ])("refuses %s in place of the file", (_, make, text) => {
    const { ctx, pending } = setup();
    make(pending);
    const error = errorOf(() => ctx.backend.read(DM_PENDING, telegram));
    expect(error.code).toBe("STORE_CORRUPT");
    expect(error.message).toContain(text);
  });

  it("refuses a store directory that is a symbolic link (for reads too): nothing below the state dir is followed", () => {
    const stateDir = tempStateDir();
    const elsewhere = tempDir();
    fs.mkdirSync(stateDir, { mode: 0o700 });
    fs.writeFileSync(path.join(elsewhere, "telegram-pairing.json"), '{"version":1,"requests":[]}');
    fs.symlinkSync(elsewhere, path.join(stateDir, "credentials"));
    const error = errorOf(() => createStoreContext({ stateDir, env: {} }).backend.read(DM_PENDING, telegram));
    expect(error).toMatchObject({ code: "STORE_CORRUPT", message: expect.stringContaining("symbolic link") });
  });

  it("accepts a state dir that is itself a symbolic link (OpenClaw leaves ~/.clawdbot -> ~/.openclaw)", async () => {
    const real = tempStateDir();
    const link = path.join(tempDir(), ".clawdbot");
    fs.mkdirSync(real, { mode: 0o700 });
    fs.symlinkSync(real, link);
    const ctx = createStoreContext({ stateDir: link, env: {} });
    await runTransaction(ctx, singleRecord(DM_ALLOW), { state: telegram }, ({ state }) => ({
      state: { ...state, allowFrom: ["1"] },
      result: undefined,
    }));
    expect(fs.readFileSync(path.join(real, "credentials", "telegram-allowFrom.json"), "utf8")).toContain('"1"');
  });

  it("refuses a file larger than the size cap before reading it", () => {
    const { ctx, pending } = setup();
    fs.writeFileSync(pending, "");
    fs.truncateSync(pending, MAX_STORE_FILE_BYTES + 1); // sparse: costs no disk
    expect(errorOf(() => ctx.backend.read(DM_PENDING, telegram)).message).toContain(
      "larger than any store file can be",
    );
  });

  it("reports a state dir that is a regular file as such, not as a missing file", () => {
    const stateDir = path.join(tempDir(), "state");
    fs.writeFileSync(stateDir, "");
    const error = errorOf(() => createStoreContext({ stateDir, env: {} }).backend.read(DM_PENDING, telegram));
    expect(error.code).toBe("STORE_CORRUPT");
    expect(error.message).toContain(`${stateDir} is not a directory`);
  });

  it("tolerates a UTF-8 byte-order mark on read, and drops it on the next write", async () => {
    const { ctx, allow } = setup();
    fs.writeFileSync(allow, `\ufeff${serializeStore({ version: 1, allowFrom: ["111"] })}`);
    expect(ctx.backend.read(DM_ALLOW, telegram).state.allowFrom).toEqual(["111"]);
    await runTransaction(ctx, singleRecord(DM_ALLOW), { state: telegram }, ({ state }) => ({
      state: { ...state, allowFrom: [...state.allowFrom, "222"] },
      result: undefined,
    }));
    expect(fs.readFileSync(allow, "utf8")).toBe(serializeStore({ version: 1, allowFrom: ["111", "222"] }));
  });
});

describe("a rewrite never silently changes data it did not mean to change", () => {
  const add = (ctx: ReturnType<typeof setup>["ctx"]) =>
    runTransaction(ctx, singleRecord(DM_ALLOW), { state: telegram }, ({ state }) => ({
      state: { ...state, allowFrom: [...state.allowFrom, "999"] },
      result: undefined,
    }));

  it.each([
    ["duplicate keys", '{"version":1,"allowFrom":["111"],"allowFrom":["222"]}', /key "allowFrom" twice/],
    ["duplicate nested keys", '{"version":1,"allowFrom":[],"policy":{"a":1,"a":2}}', /key "policy\.a" twice/],
  ])("%s: refused with exit 3, the file byte-identical", async (_, text, pattern) => {
    const { ctx, allow } = setup();
    fs.writeFileSync(allow, text, { mode: 0o600 });
    await expect(add(ctx)).rejects.toMatchObject({ code: "STORE_CORRUPT", message: expect.stringMatching(pattern) });
    expect(fs.readFileSync(allow, "utf8")).toBe(text);
  });

  it("invalid UTF-8: refused with exit 3, the bytes identical", async () => {
    const { ctx, allow } = setup();
    const bytes = Buffer.concat([
      Buffer.from('{"version":1,"allowFrom":["a'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"]}'),
    ]);
    fs.writeFileSync(allow, bytes, { mode: 0o600 });
    await expect(add(ctx)).rejects.toMatchObject({
      code: "STORE_CORRUPT",
      message: expect.stringContaining("not valid UTF-8"),
    });
    expect(fs.readFileSync(allow).equals(bytes)).toBe(true);
  });

  it("a file in another layout (one line, 4 spaces) is rewritten: only its formatting changes", async () => {
    const { ctx, allow } = setup();
    fs.writeFileSync(allow, '{"version":1,    "allowFrom":["111"]}');
    await add(ctx);
    expect(fs.readFileSync(allow, "utf8")).toBe(serializeStore({ version: 1, allowFrom: ["111", "999"] }));
  });

  it("scanJson finds the first duplicate and __proto__ key, ignoring strings that only look like keys", () => {
    expect(scanJson('{"a":"\\"b\\":1","b":{"c":1},"c":[{"d":1,"d":2}]}')).toEqual({ duplicateKeyAt: '"c.d"' });
    expect(scanJson('{"a":1,"b":{"a":1}}')).toEqual({});
    expect(scanJson('{"x":{"__proto__":1}}')).toEqual({ protoKeyAt: "x.__proto__" });
    expect(rewriteRisk(Buffer.from('{"a":1}'), { a: 1 })).toBeUndefined();
  });

  // keptEveryKey vouches for a parse by counting ':' bytes; every case is checked against the slow
  // way (the duplicate-key scanner) so the count can never say "kept" where a key was dropped.
  it.each([
    ["no strings with ':'", '{"version":1,"allowFrom":["1","2"]}', true],
    ["':' inside values and keys", '{"a:b":"c:d","e":[{"f":"::"}],"g":{"h":"x:"}}', true],
    ["a duplicate at the top", '{"a":1,"a":2}', false],
    ["a duplicate nested in an array", '{"a":[{"b":1},{"c":1,"c":2}]}', false],
    ["a dropped value that held ':' and objects", '{"a":{"x":"1:2","y":{"z":1}},"a":{"x":"3"}}', false],
    ["a '{' and ':' only in strings", '{"a":"{:{","b":"}"}', true],
    ["a \\u escape (could spell ':'): not vouched for", '{"a":"\\u003a","b":1}', false],
    ["__proto__ as a key", '{"__proto__":{"a":1},"b":2}', true],
    ["a duplicate __proto__", '{"__proto__":1,"__proto__":2}', false],
    ["an array at the top", '[{"a":1},{"a":1,"b":"c:"}]', true],
  ])("keptEveryKey: %s", (_, text, kept) => {
    const parsed: unknown = JSON.parse(text);
    expect(keptEveryKey(Buffer.from(text), parsed)).toBe(kept);
    // Never "kept" when the scanner finds a duplicate.
    if (scanJson(text).duplicateKeyAt !== undefined) expect(kept).toBe(false);
    // And rewriteRisk agrees with the scanner whichever way it answered.
    expect(rewriteRisk(Buffer.from(text), parsed) === undefined).toBe(scanJson(text).duplicateKeyAt === undefined);
  });

  it("keptEveryKey on a 100 000-sender allowlist, and on the same with one key doubled at the end", () => {
    const allowFrom = Array.from({ length: 100_000 }, (_, i) => `sender:${i}`);
    const text = JSON.stringify({ version: 1, allowFrom }, null, 2);
    expect(keptEveryKey(Buffer.from(text), JSON.parse(text))).toBe(true);
    const doubled = `${text.slice(0, -2)},\n  "version": 1\n}`;
    expect(keptEveryKey(Buffer.from(doubled), JSON.parse(doubled))).toBe(false);
    expect(rewriteRisk(Buffer.from(doubled), JSON.parse(doubled))).toMatch(/key "version" twice/);
  });
});

describe("writeFileAtomic", () => {
  it("writes 2-space JSON 0600 whatever the umask, through an exclusive temp file of its own name shape", () => {
    process.umask(0o000);
    const dir = tempDir();
    const file = path.join(dir, "telegram-allowFrom.json");
    const seen: string[] = [];
    const watcher = fs.watch(dir, (_event, name) => name && seen.push(name));
    writeFileAtomic(file, serializeStore({ version: 1, allowFrom: ["1"] }));
    watcher.close();
    expect(fs.readFileSync(file, "utf8")).toBe('{\n  "version": 1,\n  "allowFrom": [\n    "1"\n  ]\n}\n');
    expect(fileMode(file)).toBe(0o600);
    expect(listTree(dir)).toEqual(["telegram-allowFrom.json"]);
  });

  it("never writes through a link planted at a temp-file name: names are unpredictable and opened O_EXCL|O_NOFOLLOW", () => {
    const dir = tempDir();
    const file = path.join(dir, "telegram-allowFrom.json");
    const victim = path.join(tempDir(), "victim");
    fs.writeFileSync(victim, "precious");
    // An attacker cannot know the name; even one planted at every name of the old scheme does nothing.
    for (let i = 0; i < 50; i++) fs.symlinkSync(victim, `${file}.${i}`);
    writeFileAtomic(file, "{}\n");
    expect(fs.readFileSync(victim, "utf8")).toBe("precious");
    const temps = fs.readdirSync(dir).filter((name) => OUR_TEMP.test(name.slice("telegram-allowFrom.json".length)));
    expect(temps).toEqual([]);
  });

  it("names temp files from the kernel's random device, never from a /dev/urandom that is a planted regular file", async () => {
    const stateDir = tempStateDir();
    const credentials = path.join(stateDir, "credentials");
    fs.mkdirSync(credentials, { recursive: true, mode: 0o700 });
    const zeros = path.join(tempDir(), "urandom");
    fs.writeFileSync(zeros, Buffer.alloc(4096));
    const request = (senderId: string, urandom?: string) => {
      // A mount namespace of its own, where /dev/urandom may be a regular file of zeros.
      const script = `${urandom ? 'mount --bind "$1" /dev/urandom && ' : ""}exec "$2" "$3" pairing request telegram "$4"`;
      const run = spawnSync(
        "unshare",
        ["-m", "sh", "-c", script, "sh", urandom ?? "", process.execPath, BIN, senderId],
        {
          env: cliEnv(stateDir),
          encoding: "utf8",
        },
      );
      expect(run.status, run.stderr).toBe(0);
    };
    const seen = new Set<string>();
    const watcher = fs.watch(credentials, (_event, name) => {
      if (name && OUR_TEMP.test(name.slice("telegram-pairing.json".length))) seen.add(name);
    });
    try {
      request("41");
      request("42", zeros);
      request("43");
      // inotify events arrive asynchronously: wait for all three writes' temp names.
      for (let waited = 0; seen.size < 3 && waited < 2_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    } finally {
      watcher.close();
    }
    expect(seen.size).toBe(3);
    expect([...seen].filter((name) => name.includes("0".repeat(32)))).toEqual([]);
  });

  it("a failed write leaves the old file and no temp file behind", () => {
    const dir = tempDir();
    const file = path.join(dir, "f.json");
    fs.writeFileSync(file, "old");
    fs.chmodSync(dir, 0o500);
    try {
      if (process.geteuid?.() === 0) {
        // Root ignores directory modes: make the rename fail instead (a directory in the file's place).
        fs.chmodSync(dir, 0o700);
        fs.rmSync(file);
        fs.mkdirSync(file);
        fs.writeFileSync(path.join(file, "x"), "");
      }
      expect(() => writeFileAtomic(file, "new")).toThrow();
    } finally {
      fs.chmodSync(dir, 0o700);
    }
    expect(fs.readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });
});

describe("ensureWritableDir", () => {
  it("creates every missing directory 0700 even under umask 000 (or 022)", () => {
    for (const mask of [0o000, 0o022]) {
      process.umask(mask);
      const root = path.join(tempDir(), "state");
      ensureWritableDir(root, path.join(root, "credentials"));
      expect(fileMode(root)).toBe(0o700);
      expect(fileMode(path.join(root, "credentials"))).toBe(0o700);
    }
  });

  it("refuses a directory others can write (anyone could plant files), and a link below the root", () => {
    const root = path.join(tempDir(), "state");
    fs.mkdirSync(root, { mode: 0o700 });
    fs.mkdirSync(path.join(root, "credentials"));
    fs.chmodSync(path.join(root, "credentials"), 0o777);
    expect(errorOf(() => ensureWritableDir(root, path.join(root, "credentials")))).toMatchObject({
      code: "STORE_PERMISSION",
      message: expect.stringContaining("can be written by every user"),
    });
    fs.symlinkSync(tempDir(), path.join(root, "devices"));
    expect(errorOf(() => ensureWritableDir(root, path.join(root, "devices")))).toMatchObject({
      code: "STORE_CORRUPT",
      message: expect.stringContaining("symbolic link"),
    });
  });
});

describe("storeIoError", () => {
  it.each([
    ["EACCES", "STORE_PERMISSION", "Check its owner and mode"],
    ["EPERM", "STORE_PERMISSION", "Check its owner and mode"],
    ["EROFS", "STORE_PERMISSION", "read-only"],
    ["ENOSPC", "STORE_IO", "no space left"],
    ["EISDIR", "STORE_CORRUPT", "is a directory"],
  ])("%s is %s and says so (%s)", (errno, code, text) => {
    const error = storeIoError(Object.assign(new Error("x"), { code: errno }), "/s/f.json", "writing");
    expect(error.code).toBe(code);
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain("/s/f.json");
    expect(error.message).toContain(text);
  });

  it("a full disk or a read-only file system does not send the operator to doctor, which could not help", () => {
    for (const errno of ["ENOSPC", "EROFS"]) {
      const error = storeIoError(Object.assign(new Error("x"), { code: errno }), "/f", "writing");
      expect(error.message).not.toContain("doctor");
      expect(error.message).not.toContain("sudo");
    }
  });
});
