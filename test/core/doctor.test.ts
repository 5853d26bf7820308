import { describe, expect, it } from "vitest";
import {
  corruptName,
  diagnose,
  isHealthy,
  pruneExpired,
  type DoctorFacts,
  type FileFacts,
  type LivenessRules,
} from "../../src/core/doctor.js";
import { DM_REQUEST_TTL_MS, isRequestLive } from "../../src/core/dm-pairing.js";

const NOW = Date.parse("2026-01-31T12:00:00.000Z");
const STALE = 10_000;
const TTL_5_MIN = 5 * 60 * 1000;
const RULES: LivenessRules = {
  dmRequest: isRequestLive,
  deviceRequest: (entry, now) => now - entry.ts <= TTL_5_MIN,
  nodeRequest: (entry, now) => now - entry.ts <= TTL_5_MIN,
};
const DIR = "/s/credentials";
const PENDING = `${DIR}/telegram-pairing.json`;
const ALLOW = `${DIR}/telegram-allowFrom.json`;

const request = (id: string, ageMs: number) => {
  const at = new Date(NOW - ageMs).toISOString();
  return { id, code: `CODE${id}`.padEnd(8, "A"), createdAt: at, lastSeenAt: at };
};

function file(overrides: Partial<FileFacts> = {}): FileFacts {
  return {
    path: PENDING,
    kind: "dm-pending",
    channel: "telegram",
    mode: 0o600,
    uid: 1000,
    gid: 1000,
    isFile: true,
    content: { status: "ok", state: { version: 1, requests: [] } },
    temps: [],
    ...overrides,
  };
}

function facts(files: FileFacts[], overrides: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    now: NOW,
    euid: 1000,
    staleMs: STALE,
    maxPending: 3,
    dirs: [
      { path: "/s", mode: 0o700, uid: 1000, gid: 1000 },
      { path: DIR, mode: 0o700, uid: 1000, gid: 1000 },
    ],
    unlistable: [],
    files,
    isLive: RULES,
    ...overrides,
  };
}

describe("doctor diagnosis", () => {
  it("a healthy store has no finding", () => {
    expect(
      diagnose(
        facts([
          file(),
          file({ path: ALLOW, kind: "dm-allow", content: { status: "ok", state: { version: 1, allowFrom: ["1"] } } }),
        ]),
      ),
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
    const stale = diagnose(facts([file({ lock: { ageMs: STALE + 1 } })]));
    expect(stale).toEqual([
      expect.objectContaining({
        file: `${PENDING}.lock`,
        severity: "warning",
        fix: { type: "clear-stale-lock", file: PENDING },
      }),
    ]);
    const fresh = diagnose(facts([file({ lock: { ageMs: STALE } })]));
    expect(fresh).toEqual([expect.objectContaining({ file: `${PENDING}.lock`, severity: "info" })]);
    expect(fresh[0]!.fix).toBeUndefined();
    expect(isHealthy(fresh.map((finding) => ({ ...finding, fixed: false })))).toBe(true);
  });

  it("temp files are removed only once older than the stale time and while no live lock is held", () => {
    const temp = { path: `${PENDING}.123456`, ageMs: STALE + 1 };
    expect(diagnose(facts([file({ temps: [temp] })]))[0]).toMatchObject({
      severity: "warning",
      fix: { type: "remove-temp", path: temp.path },
    });
    expect(diagnose(facts([file({ temps: [{ ...temp, ageMs: STALE }] })]))[0]).toMatchObject({ severity: "info" });
    const writing = diagnose(facts([file({ temps: [temp], lock: { ageMs: 100 } })]));
    expect(writing.every((finding) => finding.fix === undefined)).toBe(true);
  });

  it("expired DM requests are counted at the exact boundary: 1:00:00.000 old is live, 1:00:00.001 is not", () => {
    const state = {
      version: 1,
      requests: [request("1", DM_REQUEST_TTL_MS), request("2", DM_REQUEST_TTL_MS + 1), request("3", 0)],
    };
    const found = diagnose(facts([file({ content: { status: "ok", state } })]));
    expect(found).toEqual([
      expect.objectContaining({
        severity: "warning",
        problem: expect.stringContaining("1 expired entry"),
        fix: { type: "prune-expired", file: PENDING, kind: "dm-pending" },
      }),
    ]);
    expect(pruneExpired("dm-pending", state, NOW, RULES)).toEqual({
      version: 1,
      requests: [state.requests[0], state.requests[2]],
    });
    expect(pruneExpired("dm-pending", { version: 1, requests: [request("3", 0)] }, NOW, RULES)).toBeUndefined();
  });

  it("expired device and node requests use the 5-minute rule, unknown fields kept", () => {
    const state = {
      a: { requestId: "a", ts: NOW - TTL_5_MIN, extra: true },
      b: { requestId: "b", ts: NOW - TTL_5_MIN - 1 },
    };
    for (const kind of ["device-pending", "node-pending"] as const) {
      const found = diagnose(facts([file({ path: `/s/x/${kind}.json`, kind, content: { status: "ok", state } })]));
      expect(found).toEqual([
        expect.objectContaining({ fix: { type: "prune-expired", file: `/s/x/${kind}.json`, kind } }),
      ]);
      expect(pruneExpired(kind, state, NOW, RULES)).toEqual({ a: state.a });
    }
  });

  it("more live DM requests than the cap is reported (not fixed: they are live)", () => {
    const state = { version: 1, requests: ["1", "2", "3", "4"].map((id) => request(id, 1000)) };
    const found = diagnose(facts([file({ content: { status: "ok", state } })]));
    expect(found).toEqual([
      expect.objectContaining({
        severity: "warning",
        problem: expect.stringContaining("4 live requests, more than the cap of 3"),
      }),
    ]);
    expect(found[0]!.fix).toBeUndefined();
    expect(diagnose(facts([file({ content: { status: "ok", state } })], { maxPending: 4 }))).toEqual([]);
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
    const rootOwned = file({
      path: ALLOW,
      kind: "dm-allow",
      uid: 0,
      gid: 0,
      content: { status: "ok", state: { version: 1, allowFrom: [] } },
    });
    expect(diagnose(facts([rootOwned], { euid: 0 }))).toEqual([
      expect.objectContaining({ fix: { type: "chown", path: ALLOW, uid: 1000, gid: 1000 } }),
    ]);
    const asUser = diagnose(facts([rootOwned]));
    expect(asUser[0]!.problem).toContain(`sudo chown 1000:1000 ${ALLOW}`);
    expect(asUser[0]!.fix).toBeUndefined();
  });

  it("an allowlist holding '*' or an empty entry is reported, never silently changed", () => {
    const found = diagnose(
      facts([
        file({
          path: ALLOW,
          kind: "dm-allow",
          content: { status: "ok", state: { version: 1, allowFrom: ["1", "*", " "] } },
        }),
      ]),
    );
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
