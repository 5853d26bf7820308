import { describe, expect, it } from "vitest";
import { resolveChannel } from "../../src/core/channels.js";
import { CODE_HISTORY_TTL_MS, emptyCodeHistory, type CodeHistoryState } from "../../src/core/code-history.js";
import { codeDigest } from "../../src/core/decision-chain.js";
import { explainDeadCode, recordCodeFates } from "../../src/core/dead-codes.js";
import type { PairingRequest, PendingState } from "../../src/core/dm-pairing.js";

const telegram = resolveChannel("telegram");
const T0 = Date.UTC(2026, 1, 1, 12, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;

const request = (id: string, code: string, at: number, account?: string): PairingRequest => ({
  id,
  code,
  createdAt: new Date(at).toISOString(),
  lastSeenAt: new Date(at).toISOString(),
  ...(account !== undefined ? { meta: { accountId: account } } : {}),
});
const pending = (...requests: PairingRequest[]): PendingState => ({ version: 1, requests });

/** The history after the request was seen, then went with `fate` at `at`. */
function historyOf(
  req: PairingRequest,
  fate: "approved" | "rejected" | "blocked" | undefined,
  at: number,
): CodeHistoryState {
  const seen = recordCodeFates(emptyCodeHistory(), pending(), pending(req), T0)!;
  if (fate === undefined) return seen;
  return recordCodeFates(seen, pending(req), pending(), at, { fate, codes: [req.code] })!;
}

const explain = (history: CodeHistoryState, now: number, file = pending(), code = "ABCD2345", account?: string) =>
  explainDeadCode(telegram, history, file, { code, ...(account !== undefined ? { account } : {}) }, now);

describe("the code history (moltbot/<channel>-codes.json)", () => {
  it("remembers each code seen as a digest with its sender, account and creation time, never the code", () => {
    const next = recordCodeFates(emptyCodeHistory(), pending(), pending(request("123", "ABCD2345", T0, "work")), T0)!;
    expect(next.codes).toEqual([
      { hash: codeDigest("ABCD2345"), id: "123", account: "work", createdAt: new Date(T0).toISOString() },
    ]);
    expect(JSON.stringify(next)).not.toContain("ABCD2345");
  });

  it("has no news (undefined) when nothing changed, so the file is not rewritten", () => {
    const req = request("123", "ABCD2345", T0);
    const seen = recordCodeFates(emptyCodeHistory(), pending(), pending(req), T0)!;
    expect(recordCodeFates(seen, pending(req), pending(req), T0 + MIN)).toBeUndefined();
  });

  it("marks a code that left expired at the end of its hour when nobody decided it", () => {
    const req = request("123", "ABCD2345", T0);
    const seen = recordCodeFates(emptyCodeHistory(), pending(), pending(req), T0)!;
    const next = recordCodeFates(seen, pending(req), pending(), T0 + 2 * HOUR)!;
    expect(next.codes[0]).toMatchObject({ fate: "expired", at: new Date(T0 + HOUR).toISOString() });
  });

  it("forgets a record a day after its fate", () => {
    const history = historyOf(request("123", "ABCD2345", T0), "approved", T0 + MIN);
    const other = request("9", "WXYZ6789", T0 + MIN + CODE_HISTORY_TTL_MS);
    const later = recordCodeFates(history, pending(), pending(other), T0 + MIN + CODE_HISTORY_TTL_MS + 1)!;
    expect(later.codes.map((record) => record.id)).toEqual(["9"]);
  });
});

describe("why a code is not pending", () => {
  it.each<[string, () => ReturnType<typeof explain>, string | undefined, RegExp | undefined]>([
    [
      "approved 5 min ago",
      () => explain(historyOf(request("123", "ABCD2345", T0), "approved", T0 + MIN), T0 + 6 * MIN),
      "ALREADY_APPROVED",
      /^Code ABCD2345 was already approved 5 min ago, at 2026-02-01T12:01:00\.000Z: telegram sender 123 was let in then/,
    ],
    [
      "rejected",
      () => explain(historyOf(request("123", "ABCD2345", T0), "rejected", T0 + MIN), T0 + 2 * MIN),
      "ALREADY_REJECTED",
      /^Code ABCD2345 was rejected 1 min ago/,
    ],
    [
      "dropped by a block",
      () => explain(historyOf(request("123", "ABCD2345", T0), "blocked", T0 + MIN), T0 + 2 * MIN),
      "BLOCKED",
      /was dropped 1 min ago, at .*, when telegram sender 123 was blocked/,
    ],
    [
      "expired, seen while live (the gateway pruned it since)",
      () => explain(historyOf(request("123", "ABCD2345", T0), undefined, T0), T0 + HOUR + 12 * MIN),
      "EXPIRED",
      /^Code ABCD2345 expired 12 min ago, at 2026-02-01T13:00:00\.000Z \(codes last 1 hour; telegram sender 123\)/,
    ],
    [
      "expired and still in the pending file (never seen before)",
      () => explain(emptyCodeHistory(), T0 + HOUR + 3 * MIN, pending(request("7", "abcd2345", T0))),
      "EXPIRED",
      /expired 3 min ago/,
    ],
    [
      "replaced: expired, and the sender has asked again since",
      () =>
        explain(
          historyOf(request("123", "ABCD2345", T0), undefined, T0),
          T0 + 2 * HOUR,
          pending(request("tg:123", "NEWC0DE2", T0 + 90 * MIN)),
        ),
      "REPLACED",
      /^Code ABCD2345 was replaced by a newer code: it expired 1 h ago, .*and telegram sender 123 has asked again since/,
    ],
    ["unknown: no answer, the caller keeps NOT_FOUND", () => explain(emptyCodeHistory(), T0), undefined, undefined],
    [
      "seen, still within its hour, gone without a known fate: no answer",
      () => explain(historyOf(request("123", "ABCD2345", T0), undefined, T0), T0 + 10 * MIN),
      undefined,
      undefined,
    ],
    [
      "another account's code, when an account is given: no answer",
      () =>
        explain(
          historyOf(request("123", "ABCD2345", T0, "work"), "approved", T0),
          T0 + MIN,
          pending(),
          "ABCD2345",
          "home",
        ),
      undefined,
      undefined,
    ],
  ])("%s", (_name, run, code, message) => {
    const error = run();
    expect(error?.code).toBe(code);
    if (message) expect(error?.message).toMatch(message);
  });

  it("a code drawn again later is explained by its newest holder", () => {
    const first = historyOf(request("1", "ABCD2345", T0), "rejected", T0 + MIN);
    const second = recordCodeFates(first, pending(), pending(request("2", "ABCD2345", T0 + 3 * HOUR)), T0 + 3 * HOUR)!;
    const approved = recordCodeFates(
      second,
      pending(request("2", "ABCD2345", T0 + 3 * HOUR)),
      pending(),
      T0 + 3 * HOUR + MIN,
      {
        fate: "approved",
        codes: ["ABCD2345"],
      },
    )!;
    expect(explain(approved, T0 + 3 * HOUR + 2 * MIN)?.message).toMatch(/telegram sender 2 was let in/);
  });
});
