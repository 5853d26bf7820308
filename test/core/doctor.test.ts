import { describe, expect, it } from "vitest";
import { corruptName, diagnose, isHealthy, type DoctorFacts, type FileFacts } from "../../src/core/doctor.js";

const NOW = Date.parse("2026-01-31T12:00:00.000Z");
const STALE = 30_000;
const DIR = "/s/credentials";
const PENDING = `${DIR}/telegram-pairing.json`;
const ALLOW = `${DIR}/telegram-allowFrom.json`;

function file(overrides: Partial<FileFacts> = {}): FileFacts {
  return {
    path: PENDING,
    kind: "dm-pending",
    channel: "telegram",
    mode: 0o600,
    uid: 1000,
    gid: 1000,
    isFile: true,
    content: { status: "ok" },
    temps: [],
    ...overrides,
  };
}

function facts(files: FileFacts[], overrides: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    now: NOW,
    store: { stateDir: "/s", credentialsDir: DIR },
    euid: 1000,
    staleMs: STALE,
    maxPending: 3,
    dirs: [
      { path: "/s", mode: 0o700, uid: 1000, gid: 1000 },
      { path: DIR, mode: 0o700, uid: 1000, gid: 1000 },
    ],
    unlistable: [],
    files,
    ...overrides,
  };
}

const REWRITE = { type: "rewrite", file: PENDING, kind: "dm-pending", channel: "telegram" };

describe("doctor diagnosis", () => {
  it("a healthy store has no finding", () => {
    expect(
      diagnose(facts([file(), file({ path: ALLOW, kind: "dm-allow", counts: { live: 0, expired: 0, future: 0 } })])),
    ).toEqual([]);
  });

  it("loose modes: files must be 0600 and directories 0700, and the fix says exactly that", () => {
    const found = diagnose(
      facts([file({ mode: 0o644 })], { dirs: [{ path: DIR, mode: 0o755, uid: 1000, gid: 1000 }] }),
    );
    expect(found).toEqual([
      expect.objectContaining({ file: DIR, severity: "error", fix: { type: "chmod", path: DIR, mode: 0o700 } }),
      expect.objectContaining({ file: PENDING, severity: "error", fix: { type: "chmod", path: PENDING, mode: 0o600 } }),
    ]);
    expect(found[1]!.problem).toContain("0644");
  });

  it("a lock untouched for longer than the stale time is stale (fixable); a fresher one is in use (info, left alone)", () => {
    const stale = diagnose(facts([file({ lock: { ageMs: STALE + 1, form: "directory", stale: true } })]));
    expect(stale).toEqual([
      expect.objectContaining({
        file: `${PENDING}.lock`,
        severity: "warning",
        fix: { type: "clear-stale-lock", file: PENDING },
      }),
    ]);
    const fresh = diagnose(facts([file({ lock: { ageMs: STALE, form: "directory", stale: false } })]));
    expect(fresh).toEqual([expect.objectContaining({ file: `${PENDING}.lock`, severity: "info" })]);
    expect(fresh[0]!.fix).toBeUndefined();
    expect(isHealthy(fresh.map((finding) => ({ ...finding, fixed: false })))).toBe(true);
  });

  it("temp files are removed only once older than the stale time and while no live lock is held", () => {
    const temp = { path: `${PENDING}.moltbot-${"a".repeat(32)}.tmp`, ageMs: STALE + 1 };
    expect(diagnose(facts([file({ temps: [temp] })]))[0]).toMatchObject({
      severity: "warning",
      fix: { type: "remove-temp", path: temp.path },
    });
    expect(diagnose(facts([file({ temps: [{ ...temp, ageMs: STALE }] })]))[0]).toMatchObject({ severity: "info" });
    const writing = diagnose(facts([file({ temps: [temp], lock: { ageMs: 100, form: "directory", stale: false } })]));
    expect(writing.every((finding) => finding.fix === undefined)).toBe(true);
  });

  it("expired and future-dated entries are a warning fixed by the locked rewrite", () => {
    const found = diagnose(facts([file({ counts: { live: 2, expired: 1, future: 0 } })]));
    expect(found).toEqual([
      expect.objectContaining({
        severity: "warning",
        problem: expect.stringContaining("1 expired entry"),
        fix: REWRITE,
      }),
    ]);
    const future = diagnose(facts([file({ counts: { live: 0, expired: 0, future: 2 } })]));
    expect(future[0]!.problem).toContain("2 entries dated in the future");
    expect(future[0]!.fix).toEqual(REWRITE);
    expect(diagnose(facts([file({ counts: { live: 3, expired: 0, future: 0 } })]))).toEqual([]);
  });

  it("more live DM requests than the cap of an account is reported (not fixed: they are live)", () => {
    const found = diagnose(facts([file({ overCap: [{ account: "work", live: 4 }] })]));
    expect(found).toEqual([
      expect.objectContaining({
        severity: "warning",
        problem: expect.stringContaining("4 live requests for account work, more than the cap of 3"),
      }),
    ]);
    expect(found[0]!.fix).toBeUndefined();
  });

  it("a code held by two live requests is reported: approving it is refused until one goes", () => {
    const found = diagnose(facts([file({ duplicateCodes: ["ABCD2345"] })]));
    expect(found).toEqual([
      expect.objectContaining({ problem: expect.stringContaining("code ABCD2345 is held by more than one") }),
    ]);
    expect(found[0]!.fix).toBeUndefined();
  });

  it("a byte-order mark is an error (the gateway reads the file as empty), fixed by rewriting without it", () => {
    const found = diagnose(facts([file({ path: ALLOW, kind: "dm-allow", bom: true })]));
    expect(found).toEqual([
      expect.objectContaining({
        severity: "error",
        problem: expect.stringContaining("nobody on it is let in"),
        fix: { type: "rewrite", file: ALLOW, kind: "dm-allow", channel: "telegram" },
      }),
    ]);
  });

  it("a file a rewrite would change (duplicate keys, invalid UTF-8) is an error no fix touches", () => {
    const found = diagnose(
      facts([
        file({ rewriteRisk: 'it has the key "version" twice', bom: true, counts: { live: 0, expired: 1, future: 0 } }),
      ]),
    );
    expect(found.map((finding) => finding.severity)).toEqual(["error", "error", "warning"]);
    expect(found[0]!.problem).toContain("cannot be rewritten faithfully");
    expect(found.every((finding) => finding.fix === undefined)).toBe(true);
  });

  it("a symbolic link in place of a store file or directory is an error, never followed and never fixed", () => {
    const found = diagnose(
      facts([file({ isSymlink: true, content: { status: "missing" } })], {
        dirs: [{ path: "/s/devices", mode: 0o777, uid: 0, gid: 0, isSymlink: true }],
      }),
    );
    expect(found).toEqual([
      expect.objectContaining({
        file: "/s/devices",
        severity: "error",
        problem: expect.stringContaining("symbolic link"),
      }),
      expect.objectContaining({ file: PENDING, severity: "error", problem: expect.stringContaining("symbolic link") }),
    ]);
    expect(found.every((finding) => finding.fix === undefined)).toBe(true);
  });

  it("a lock dated in the future is explained and taken over; a link at the lock's path is reported", () => {
    const future = diagnose(facts([file({ lock: { ageMs: -3_600_000, form: "directory", stale: true } })]));
    expect(future).toEqual([
      expect.objectContaining({
        problem: expect.stringContaining("dated 3600 s in the future"),
        fix: { type: "clear-stale-lock", file: PENDING },
      }),
    ]);
    const link = diagnose(facts([file({ lock: { ageMs: 1, form: "link", stale: false } })]));
    expect(link).toEqual([
      expect.objectContaining({ severity: "error", problem: expect.stringContaining("symbolic link") }),
    ]);
    const openclaw = diagnose(facts([file({ lock: { ageMs: 1, form: "file", stale: false } })]));
    expect(openclaw).toEqual([
      expect.objectContaining({ severity: "info", problem: expect.stringContaining("OpenClaw lock file") }),
    ]);
  });

  it("a store directory owned by another user is reported to a normal user (moltbot will not write there)", () => {
    const found = diagnose(facts([], { dirs: [{ path: DIR, mode: 0o700, uid: 2000, gid: 2000 }] }));
    expect(found).toEqual([expect.objectContaining({ problem: expect.stringContaining("not to you (uid 1000)") })]);
    expect(diagnose(facts([], { euid: 0, dirs: [{ path: DIR, mode: 0o700, uid: 2000, gid: 2000 }] }))).toEqual([]);
  });

  it("a corrupt file is moved aside; an unreadable one and a newer gateway's file are never moved", () => {
    expect(diagnose(facts([file({ content: { status: "corrupt", reason: "is empty, not JSON" } })]))).toEqual([
      expect.objectContaining({ file: PENDING, severity: "error", fix: { type: "move-aside", file: PENDING } }),
    ]);
    const unreadable = diagnose(
      facts([file({ uid: 0, content: { status: "unreadable", reason: "permission denied" } })]),
    );
    expect(unreadable[0]).toMatchObject({
      severity: "error",
      problem: expect.stringContaining("owned by uid 0, doctor runs as uid 1000"),
    });
    expect(unreadable.every((finding) => finding.fix === undefined)).toBe(true);
    const newer = diagnose(facts([file({ content: { status: "newer-version", version: 2 } })]));
    expect(newer).toEqual([expect.objectContaining({ problem: expect.stringContaining("upgrade moltbot") })]);
    expect(newer[0]!.fix).toBeUndefined();
  });

  it("a file owned by someone other than its directory's owner: root can give it back, anyone else gets the command", () => {
    const rootOwned = file({ path: ALLOW, kind: "dm-allow", uid: 0, gid: 0 });
    expect(diagnose(facts([rootOwned], { euid: 0 }))).toEqual([
      expect.objectContaining({ fix: { type: "chown", path: ALLOW, uid: 1000, gid: 1000, fromUid: 0 } }),
    ]);
    const asUser = diagnose(facts([rootOwned]));
    expect(asUser[0]!.problem).toContain(`sudo chown -h 1000:1000 ${ALLOW}`);
    expect(asUser[0]!.fix).toBeUndefined();
  });

  it("a store directory owned by someone other than the state dir's owner (root's credentials/): root gives it back before the files in it", () => {
    const dirs = [
      { path: "/s", mode: 0o700, uid: 1000, gid: 1000 },
      { path: DIR, mode: 0o700, uid: 0, gid: 0 },
    ];
    const rootOwned = file({ path: ALLOW, kind: "dm-allow", uid: 0, gid: 0 });
    const asRoot = diagnose(facts([rootOwned], { euid: 0, dirs }));
    expect(asRoot.map((finding) => finding.fix)).toEqual([
      { type: "chown", path: DIR, uid: 1000, gid: 1000, fromUid: 0 },
      { type: "chown", path: ALLOW, uid: 1000, gid: 1000, fromUid: 0 },
    ]);
    const asUser = diagnose(facts([rootOwned], { dirs }));
    expect(asUser.find((finding) => finding.file === DIR)!.problem).toContain(
      'run "sudo moltbot --state-dir /s doctor --fix"',
    );
    expect(asUser.every((finding) => finding.fix === undefined)).toBe(true);
  });

  it("an allowlist holding '*' or an empty entry is reported, never silently changed", () => {
    const found = diagnose(facts([file({ path: ALLOW, kind: "dm-allow", wildcards: 2 })]));
    expect(found).toEqual([
      expect.objectContaining({ severity: "warning", problem: expect.stringContaining('2 empty or "*" entries') }),
    ]);
    expect(found[0]!.fix).toBeUndefined();
  });

  it("a directory that cannot be listed is an error", () => {
    expect(diagnose(facts([], { unlistable: [{ path: DIR, reason: "permission denied" }] }))).toEqual([
      expect.objectContaining({ file: DIR, severity: "error", problem: expect.stringContaining("cannot be listed") }),
    ]);
  });

  it("the moved-aside name is sortable, has no colons, and never repeats", () => {
    expect(corruptName(PENDING, NOW)).toBe(`${PENDING}.corrupt-2026-01-31T12-00-00.000Z`);
    expect(corruptName(PENDING, NOW, 2)).toBe(`${PENDING}.corrupt-2026-01-31T12-00-00.000Z-2`);
  });

  it("healthy means every error and warning was fixed", () => {
    const finding = { file: PENDING, problem: "x", severity: "warning" as const };
    expect(isHealthy([{ ...finding, fixed: true }])).toBe(true);
    expect(isHealthy([{ ...finding, fixed: false }])).toBe(false);
    expect(isHealthy([])).toBe(true);
  });
});
