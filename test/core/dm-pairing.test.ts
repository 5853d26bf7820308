import { describe, expect, it } from "vitest";
import { resolveChannel } from "../../src/core/channels.js";
import {
  APPROVED_MESSAGE,
  DEFAULT_MAX_PENDING,
  DM_REQUEST_TTL_MS,
  approveCode,
  emptyAllow,
  emptyPending,
  isRequestLive,
  liveRequests,
  pairingReplyText,
  parseMaxPending,
  rejectCode,
  requestPairing,
  revokeSender,
  validateMeta,
  viewRequest,
  type AllowState,
  type PairingRequest,
  type PendingState,
} from "../../src/core/dm-pairing.js";
import { fixedRandom, seededRandom } from "../helpers.js";

const telegram = resolveChannel("telegram");
const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const HOUR = DM_REQUEST_TTL_MS;
const iso = (ms: number) => new Date(ms).toISOString();

function req(id: string, code: string, createdAt: number, extra: Partial<PairingRequest> = {}): PairingRequest {
  return { id, code, createdAt: iso(createdAt), lastSeenAt: iso(createdAt), ...extra };
}

function pendingOf(...requests: PairingRequest[]): PendingState {
  return { version: 1, requests };
}

function allowOf(...allowFrom: string[]): AllowState {
  return { version: 1, allowFrom };
}

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error("expected an error");
}

/** Feed one request into a state, the way the store does (write only when the core says so). */
function send(
  state: { pending: PendingState; allow: AllowState },
  senderId: string,
  now: number,
  options: {
    meta?: Record<string, string>;
    maxPending?: number;
    random?: (n: number) => Uint8Array;
    channel?: string;
  } = {},
) {
  const outcome = requestPairing(
    { pending: state.pending, allow: [state.allow] },
    {
      channel: resolveChannel(options.channel ?? "telegram"),
      senderId,
      ...(options.meta !== undefined ? { meta: options.meta } : {}),
      ...(options.maxPending !== undefined ? { maxPending: options.maxPending } : {}),
    },
    now,
    options.random ?? seededRandom(now),
  );
  return { outcome, state: { pending: outcome.pending ?? state.pending, allow: state.allow } };
}

describe("request: a new sender", () => {
  it("gets a fresh code, a stored request and the exact reply to send", () => {
    const { outcome } = send({ pending: emptyPending(), allow: emptyAllow() }, "123456789", T0, {
      random: fixedRandom([0, 1, 2, 3, 4, 5, 6, 7]),
      meta: { username: "alice" },
    });
    expect(outcome.result).toEqual({
      channel: "telegram",
      account: "default",
      id: "123456789",
      status: "created",
      code: "ABCDEFGH",
      expiresAt: "2026-03-01T11:00:00.000Z",
      message: [
        "Moltbot: access not configured.",
        "",
        "Your Telegram user id: 123456789",
        "",
        "Pairing code: ABCDEFGH",
        "",
        "Ask the bot owner to approve with:",
        "moltbot pairing approve telegram ABCDEFGH",
      ].join("\n"),
    });
    expect(outcome.pending).toEqual({
      version: 1,
      requests: [
        {
          id: "123456789",
          code: "ABCDEFGH",
          createdAt: "2026-03-01T10:00:00.000Z",
          lastSeenAt: "2026-03-01T10:00:00.000Z",
          meta: { username: "alice" },
        },
      ],
    });
  });

  it("trims the sender id and stores no meta when none (or an empty one) is given", () => {
    const a = send({ pending: emptyPending(), allow: emptyAllow() }, "  42  ", T0).outcome;
    expect(a.result.id).toBe("42");
    expect(a.pending!.requests[0]).not.toHaveProperty("meta");
    const b = send({ pending: emptyPending(), allow: emptyAllow() }, "43", T0, { meta: {} }).outcome;
    expect(b.pending!.requests[0]).not.toHaveProperty("meta");
  });

  it("tells each channel's sender their id with that channel's reply line", () => {
    const reply = (channel: string, id: string) =>
      pairingReplyText(resolveChannel(channel), id, "ABCD2345").split("\n")[2];
    expect(reply("whatsapp", "+49151")).toBe("Your WhatsApp phone number: +49151");
    expect(reply("signal", "+49151")).toBe("Your Signal number: +49151");
    expect(reply("signal", "uuid:0b5e")).toBe("Your Signal sender id: uuid:0b5e");
    expect(reply("imsg", "a@b.c")).toBe("Your iMessage sender id: a@b.c");
    expect(reply("discord", "803")).toBe("Your Discord user id: 803");
    expect(reply("slack", "U024")).toBe("Your Slack user id: U024");
    // Matrix's adapter sends no id line: the reply goes straight to the code.
    expect(reply("matrix", "@a:b")).toBe("Pairing code: ABCD2345");
    expect(pairingReplyText(resolveChannel("IMSG"), "x", "ABCD2345").split("\n")[7]).toBe(
      "moltbot pairing approve imessage ABCD2345",
    );
  });

  it("rejects empty, over-long and control-character sender ids as usage errors", () => {
    const state = { pending: emptyPending(), allow: emptyAllow() };
    for (const bad of ["", "   ", "x".repeat(257), "12\n3", "a\u001b[2Jb", "a\u0085b", "a\u007fb"]) {
      expect(errorOf(() => send(state, bad, T0)).code, JSON.stringify(bad)).toBe("USAGE");
    }
    expect(send(state, "x".repeat(256), T0).outcome.result.status).toBe("created");
  });

  it("refuses sender ids that normalise to nothing, so no unapprovable request takes a slot", () => {
    const state = { pending: emptyPending(), allow: emptyAllow() };
    for (const bad of ["*", " * ", "tg:", "TG: *", "telegram:"]) {
      expect(errorOf(() => send(state, bad, T0)).code, bad).toBe("USAGE");
    }
  });

  it("validates meta: at most 16 entries, plain keys, values up to 512 characters", () => {
    const state = { pending: emptyPending(), allow: emptyAllow() };
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]));
    expect(errorOf(() => send(state, "1", T0, { meta: many })).code).toBe("USAGE");
    expect(errorOf(() => send(state, "1", T0, { meta: { "bad key": "v" } })).code).toBe("USAGE");
    expect(errorOf(() => send(state, "1", T0, { meta: { "": "v" } })).code).toBe("USAGE");
    expect(errorOf(() => send(state, "1", T0, { meta: { k: "v".repeat(513) } })).code).toBe("USAGE");
    expect(validateMeta({ "user.name_1-x": "v".repeat(512) })).toEqual({ "user.name_1-x": "v".repeat(512) });
    expect(errorOf(() => validateMeta({ username: "\u001b[2Jalice" })).code).toBe("USAGE");
    expect(errorOf(() => validateMeta({ username: "ali\nce" })).code).toBe("USAGE");
    expect(errorOf(() => validateMeta(Object.fromEntries([["__proto__", "x"]]))).code).toBe("USAGE");
    expect(validateMeta({ username: "Zoë 🦞" })).toEqual({ username: "Zoë 🦞" });
  });
});

describe("request: a repeat sender", () => {
  const first = () =>
    send({ pending: emptyPending(), allow: emptyAllow() }, "123", T0, { meta: { username: "alice" } });

  it("gets status pending with the same code, no message, and the original expiry", () => {
    const created = first();
    const again = send(created.state, "123", T0 + 30 * 60_000).outcome;
    expect(again.result).toEqual({
      channel: "telegram",
      account: "default",
      id: "123",
      status: "pending",
      code: created.outcome.result.code,
      expiresAt: created.outcome.result.expiresAt,
    });
  });

  it("updates lastSeenAt but never createdAt (messages do not extend the hour)", () => {
    const created = first();
    const later = T0 + 59 * 60_000;
    const stored = send(created.state, "123", later).outcome.pending!.requests;
    expect(stored).toHaveLength(1);
    expect(stored[0]!.createdAt).toBe(iso(T0));
    expect(stored[0]!.lastSeenAt).toBe(iso(later));
    expect(isRequestLive(stored[0]!, T0 + HOUR + 1)).toBe(false);
  });

  it("replaces meta when given and keeps it when not", () => {
    const created = first();
    const replaced = send(created.state, "123", T0 + 1, { meta: { username: "bob" } }).outcome.pending!.requests[0]!;
    expect(replaced.meta).toEqual({ username: "bob" });
    const kept = send(created.state, "123", T0 + 1).outcome.pending!.requests[0]!;
    expect(kept.meta).toEqual({ username: "alice" });
  });

  it("with replaceMeta (OpenClaw's SQLite rule) a repeat without meta clears it, keeping only the account", () => {
    const created = first();
    const channel = resolveChannel("telegram");
    const cleared = requestPairing(
      { pending: created.state.pending, allow: [emptyAllow()] },
      { channel, senderId: "123" },
      T0 + 1,
      seededRandom(1),
      { replaceMeta: true },
    ).pending!.requests[0]!;
    expect(cleared).not.toHaveProperty("meta");
    const scoped = requestPairing(
      { pending: emptyPending(), allow: [emptyAllow()] },
      { channel, senderId: "7", account: "work", meta: { username: "a" } },
      T0,
      seededRandom(1),
    ).pending!;
    const again = requestPairing(
      { pending: scoped, allow: [emptyAllow()] },
      { channel, senderId: "7", account: "work" },
      T0 + 1,
      seededRandom(1),
      {
        replaceMeta: true,
      },
    ).pending!.requests[0]!;
    expect(again.meta).toEqual({ accountId: "work" });
  });

  it("is recognised through the channel's prefixes (tg:123 is 123)", () => {
    const created = first();
    const again = send(created.state, "TG:123", T0 + 1).outcome;
    expect(again.result.status).toBe("pending");
    expect(again.result.code).toBe(created.outcome.result.code);
    expect(again.pending!.requests).toHaveLength(1);
  });

  it("is still answered with its code when the channel is at its cap", () => {
    let state = { pending: emptyPending(), allow: emptyAllow() };
    for (const id of ["1", "2", "3"]) state = send(state, id, T0).state;
    const again = send(state, "2", T0 + 5).outcome;
    expect(again.result.status).toBe("pending");
    expect(again.result.code).toBe(state.pending.requests[1]!.code);
  });

  it("whose request expired starts over with a new request and a new code", () => {
    const created = first();
    const later = T0 + HOUR + 1;
    const again = send(created.state, "123", later, { random: fixedRandom([9]) }).outcome;
    expect(again.result.status).toBe("created");
    expect(again.result.code).toBe("KKKKKKKK");
    expect(again.pending!.requests).toEqual([req("123", "KKKKKKKK", later)]);
  });
});

describe("request: an approved sender", () => {
  it("gets status allowed, no code, and nothing is written", () => {
    const outcome = send({ pending: emptyPending(), allow: allowOf("123") }, "123", T0).outcome;
    expect(outcome.result).toEqual({ channel: "telegram", account: "default", id: "123", status: "allowed" });
    expect(outcome.pending).toBeUndefined();
  });

  it("is recognised through the channel's prefixes", () => {
    expect(send({ pending: emptyPending(), allow: allowOf("123") }, "telegram:123", T0).outcome.result.status).toBe(
      "allowed",
    );
    expect(
      send({ pending: emptyPending(), allow: allowOf("U1") }, "user:U1", T0, { channel: "slack" }).outcome.result
        .status,
    ).toBe("allowed");
  });
});

describe("request: allowlist entries the gateway normalises", () => {
  it("a frozen list (a parsed file, shared between decisions) is read by each channel's own rules", () => {
    const allow = allowOf("1", "telegram:123", "user:U1");
    Object.freeze(allow.allowFrom);
    const status = (senderId: string, channel: string) =>
      send({ pending: emptyPending(), allow }, senderId, T0, { channel }).outcome.result.status;
    expect(status("123", "telegram")).toBe("allowed");
    expect(status("U1", "slack")).toBe("allowed");
    // Asked again (the remembered forms), and on the other channel: still each channel's rules.
    expect(status("123", "telegram")).toBe("allowed");
    expect(status("U1", "telegram")).toBe("created");
    expect(status("123", "slack")).toBe("created");
  });

  it("a list that is not frozen is read afresh each time (a caller may change it in between)", () => {
    const allow = allowOf("1", "telegram:5");
    expect(send({ pending: emptyPending(), allow }, "123", T0).outcome.result.status).toBe("created");
    allow.allowFrom.push("tg:123");
    expect(send({ pending: emptyPending(), allow }, "123", T0).outcome.result.status).toBe("allowed");
  });
});

describe("codes another writer stored", () => {
  const pending = () =>
    pendingOf(req("1", "abcd2345", T0), req("2", "EFGH6789", T0 + 1), req("3", " efgh6789 ", T0 + 2));

  it("a lower-case code in the file is approved by any spelling of it", () => {
    const { result, allow } = approveCode(
      { pending: pending(), allow: emptyAllow() },
      { channel: telegram, code: "ABCD2345" },
      T0,
    );
    expect(result.id).toBe("1");
    expect(allow.allowFrom).toEqual(["1"]);
  });

  it("a code held twice is never approved (AMBIGUOUS, naming both senders); reject drops both", () => {
    const ambiguous = errorOf(() =>
      approveCode({ pending: pending(), allow: emptyAllow() }, { channel: telegram, code: "efgh6789" }, T0),
    );
    expect(ambiguous.code).toBe("AMBIGUOUS");
    expect(ambiguous.message).toContain("senders 2, 3");
    const rejected = rejectCode(pending(), { channel: telegram, code: "EFGH6789" }, T0);
    expect(rejected.result).toEqual({
      channel: "telegram",
      account: "default",
      code: "EFGH6789",
      id: "2",
      ids: ["2", "3"],
    });
    expect(rejected.pending.requests.map((request) => request.id)).toEqual(["1"]);
  });
});

describe("liveRequests", () => {
  it("returns the live requests oldest first, equal times in file order, whatever the file's order", () => {
    const pending = pendingOf(
      req("late", "AAAA2345", T0 + 3000),
      req("expired", "BBBB2345", T0 - 2 * HOUR),
      req("tie-1", "CCCC2345", T0 + 1000),
      req("early", "DDDD2345", T0),
      req("tie-2", "EEEE2345", T0 + 1000),
      req("unreadable", "FFFF2345", T0, { createdAt: "not a date" }),
    );
    expect(liveRequests(pending, T0 + 5000).map((request) => request.id)).toEqual(["early", "tie-1", "tie-2", "late"]);
    const inOrder = pendingOf(req("a", "AAAA2345", T0), req("b", "BBBB2345", T0), req("c", "CCCC2345", T0 + 1));
    expect(liveRequests(inOrder, T0 + 5000).map((request) => request.id)).toEqual(["a", "b", "c"]);
  });
});

describe("expiry boundary (1 hour after createdAt)", () => {
  const state = () => ({ pending: pendingOf(req("123", "ABCD2345", T0)), allow: emptyAllow() });

  it("a request 59:59.999 old is live everywhere", () => {
    const now = T0 + HOUR - 1;
    expect(liveRequests(state().pending, now)).toHaveLength(1);
    expect(send(state(), "123", now).outcome.result.status).toBe("pending");
    expect(approveCode(state(), { channel: telegram, code: "ABCD2345" }, now).result.id).toBe("123");
    expect(rejectCode(state().pending, { channel: telegram, code: "ABCD2345" }, now).result.id).toBe("123");
  });

  it("a request exactly 1:00:00.000 old is still live (the boundary is inclusive)", () => {
    const now = T0 + HOUR;
    expect(isRequestLive(state().pending.requests[0]!, now)).toBe(true);
    expect(send(state(), "123", now).outcome.result.status).toBe("pending");
    expect(approveCode(state(), { channel: telegram, code: "ABCD2345" }, now).result.id).toBe("123");
  });

  it("a request 1:00:00.001 old is invisible: not listed, not approvable, not rejectable, not a repeat", () => {
    const now = T0 + HOUR + 1;
    expect(liveRequests(state().pending, now)).toEqual([]);
    const unknown = errorOf(() => approveCode(state(), { channel: telegram, code: "ZZZZ2345" }, now));
    const expired = errorOf(() => approveCode(state(), { channel: telegram, code: "ABCD2345" }, now));
    expect(expired.code).toBe("NOT_FOUND");
    expect(expired.message).toBe(unknown.message.replace("ZZZZ2345", "ABCD2345"));
    expect(errorOf(() => rejectCode(state().pending, { channel: telegram, code: "abcd2345" }, now)).code).toBe(
      "NOT_FOUND",
    );
    expect(send(state(), "123", now).outcome.result.status).toBe("created");
  });

  it("treats a request with an unreadable createdAt as expired", () => {
    const broken = { ...req("9", "ABCD2345", T0), createdAt: "yesterday-ish" };
    expect(isRequestLive(broken, T0)).toBe(false);
  });

  it("reports expiresAt as createdAt + 1 h in the list view", () => {
    expect(viewRequest(req("1", "ABCD2345", T0))).toEqual({
      id: "1",
      account: "default",
      code: "ABCD2345",
      createdAt: iso(T0),
      lastSeenAt: iso(T0),
      expiresAt: iso(T0 + HOUR),
    });
    expect(viewRequest(req("1", "ABCD2345", T0, { meta: { username: "a" }, extra: 1 }))).toEqual({
      id: "1",
      account: "default",
      code: "ABCD2345",
      createdAt: iso(T0),
      lastSeenAt: iso(T0),
      expiresAt: iso(T0 + HOUR),
      meta: { username: "a" },
    });
  });

  it("drops expired requests on the next write, whichever command writes", () => {
    const mixed = () => pendingOf(req("old", "OLDD2345", T0 - HOUR - 1), req("123", "ABCD2345", T0));
    const viaRequest = send({ pending: mixed(), allow: emptyAllow() }, "new", T0).outcome.pending!;
    expect(viaRequest.requests.map((r) => r.id)).toEqual(["123", "new"]);
    const viaRepeat = send({ pending: mixed(), allow: emptyAllow() }, "123", T0).outcome.pending!;
    expect(viaRepeat.requests.map((r) => r.id)).toEqual(["123"]);
    expect(
      approveCode({ pending: mixed(), allow: emptyAllow() }, { channel: telegram, code: "ABCD2345" }, T0).pending
        .requests,
    ).toEqual([]);
    expect(rejectCode(mixed(), { channel: telegram, code: "ABCD2345" }, T0).pending.requests).toEqual([]);
  });
});

describe("cap on live requests per channel", () => {
  it("defaults to 3: the fourth new sender is capped and nothing is written", () => {
    expect(DEFAULT_MAX_PENDING).toBe(3);
    let state = { pending: emptyPending(), allow: emptyAllow() };
    for (const id of ["1", "2", "3"]) {
      const step = send(state, id, T0);
      expect(step.outcome.result.status).toBe("created");
      state = step.state;
    }
    const fourth = send(state, "4", T0).outcome;
    expect(fourth.result).toEqual({ channel: "telegram", account: "default", id: "4", status: "capped" });
    expect(fourth.pending).toBeUndefined();
  });

  it("frees a slot when a request expires, is approved or is rejected", () => {
    const full = (firstAt: number) => ({
      pending: pendingOf(req("1", "AAAA2345", firstAt), req("2", "BBBB2345", T0), req("3", "CCCC2345", T0)),
      allow: emptyAllow(),
    });
    expect(send(full(T0), "4", T0 + 10).outcome.result.status).toBe("capped");
    expect(send(full(T0 - HOUR), "4", T0).outcome.result.status).toBe("capped");
    expect(send(full(T0 - HOUR - 1), "4", T0).outcome.result.status).toBe("created");
    const approved = approveCode(full(T0), { channel: telegram, code: "AAAA2345" }, T0);
    expect(send({ pending: approved.pending, allow: approved.allow }, "4", T0).outcome.result.status).toBe("created");
    const rejected = rejectCode(full(T0).pending, { channel: telegram, code: "BBBB2345" }, T0);
    expect(send({ pending: rejected.pending, allow: emptyAllow() }, "4", T0).outcome.result.status).toBe("created");
  });

  it("follows maxPending from 1 to 100", () => {
    let state = { pending: emptyPending(), allow: emptyAllow() };
    expect(send(state, "a", T0, { maxPending: 1 }).outcome.result.status).toBe("created");
    state = send(state, "a", T0, { maxPending: 1 }).state;
    expect(send(state, "b", T0, { maxPending: 1 }).outcome.result.status).toBe("capped");

    state = { pending: emptyPending(), allow: emptyAllow() };
    const random = seededRandom(3);
    for (let i = 0; i < 100; i++) state = send(state, `s${i}`, T0, { maxPending: 100, random }).state;
    expect(state.pending.requests).toHaveLength(100);
    expect(new Set(state.pending.requests.map((r) => r.code)).size).toBe(100);
    expect(send(state, "s100", T0, { maxPending: 100 }).outcome.result.status).toBe("capped");
  });

  it("MOLTBOT_PAIRING_MAX_PENDING accepts whole numbers 1-100 and rejects anything else", () => {
    expect(parseMaxPending(undefined)).toBe(3);
    expect(parseMaxPending("")).toBe(3);
    expect(parseMaxPending("  ")).toBe(3);
    expect(parseMaxPending("1")).toBe(1);
    expect(parseMaxPending(" 7 ")).toBe(7);
    expect(parseMaxPending("100")).toBe(100);
    for (const bad of ["0", "101", "-1", "2.5", "abc", "1e1", "0x10", "3.0", "+3", "Infinity", "NaN"]) {
      const error = errorOf(() => parseMaxPending(bad));
      expect(error.code, bad).toBe("USAGE");
      expect(error.message).toContain("MOLTBOT_PAIRING_MAX_PENDING");
    }
  });
});

describe("code collisions", () => {
  it("a new code never repeats a live code of the channel", () => {
    const state = { pending: pendingOf(req("1", "AAAAAAAA", T0)), allow: emptyAllow() };
    const random = fixedRandom([...Array(8).fill(0), ...Array(8).fill(1)]);
    const outcome = send(state, "2", T0, { random }).outcome;
    expect(outcome.result.code).toBe("BBBBBBBB");
  });

  it("an expired request's code may be drawn again (it is dropped in the same write)", () => {
    const state = { pending: pendingOf(req("1", "AAAAAAAA", T0 - HOUR - 1)), allow: emptyAllow() };
    const outcome = send(state, "2", T0, { random: fixedRandom([0]) }).outcome;
    expect(outcome.result.code).toBe("AAAAAAAA");
    expect(outcome.pending!.requests.map((r) => r.id)).toEqual(["2"]);
  });
});

describe("approve", () => {
  const state = () => ({
    pending: {
      version: 1 as const,
      gatewayHint: { keep: true },
      requests: [
        req("tg:777", "ABCD2345", T0, { meta: { username: "a" }, agent: "main" }),
        req("888", "EFGH2345", T0 + 1, { future: [1] }),
      ],
    },
    allow: { version: 1 as const, allowFrom: ["111"], note: "kept" },
  });

  it("trims and upper-cases the code, allowlists the normalised id, removes only that request", () => {
    const outcome = approveCode(state(), { channel: telegram, code: "  abcd2345 " }, T0 + 5);
    expect(outcome.result).toEqual({
      channel: "telegram",
      account: "default",
      code: "ABCD2345",
      id: "tg:777",
      message: APPROVED_MESSAGE,
    });
    expect(APPROVED_MESSAGE).toBe("Moltbot access approved. Send a message to start chatting.");
    expect(outcome.allow).toEqual({ version: 1, allowFrom: ["111", "777"], note: "kept" });
    expect(outcome.pending).toEqual({
      version: 1,
      gatewayHint: { keep: true },
      requests: [req("888", "EFGH2345", T0 + 1, { future: [1] })],
    });
  });

  it("never adds a duplicate to the allowlist", () => {
    const current = state();
    current.allow.allowFrom.push("777");
    const outcome = approveCode(current, { channel: telegram, code: "ABCD2345" }, T0);
    expect(outcome.allow.allowFrom).toEqual(["111", "777"]);
    expect(outcome.pending.requests).toHaveLength(1);
  });

  it("unknown and expired codes give the same NOT_FOUND error naming the list command", () => {
    const unknown = errorOf(() => approveCode(state(), { channel: telegram, code: "WXYZ2345" }, T0));
    expect(unknown.code).toBe("NOT_FOUND");
    expect(unknown.message).toBe(
      'No pending telegram request with code WXYZ2345. Run "moltbot pairing list telegram" to see pending codes.',
    );
    const expired = errorOf(() => approveCode(state(), { channel: telegram, code: "ABCD2345" }, T0 + HOUR + 1));
    expect(expired).toEqual(
      expect.objectContaining({ code: "NOT_FOUND", message: unknown.message.replace("WXYZ2345", "ABCD2345") }),
    );
  });

  it("refuses to allowlist a stored request whose id normalises to * or nothing", () => {
    for (const id of ["*", "tg: *", "telegram:"]) {
      const current = { pending: pendingOf(req(id, "ABCD2345", T0)), allow: allowOf("111") };
      expect(errorOf(() => approveCode(current, { channel: telegram, code: "ABCD2345" }, T0)).code, id).toBe("USAGE");
    }
  });

  it("a malformed code is a usage error, not a missing request", () => {
    expect(errorOf(() => approveCode(state(), { channel: telegram, code: "ABC" }, T0)).code).toBe("INVALID_CODE");
  });
});

describe("reject", () => {
  it("removes the request without touching the allowlist, keeping unknown fields", () => {
    const pending = { version: 1 as const, extra: "x", requests: [req("1", "ABCD2345", T0), req("2", "EFGH2345", T0)] };
    const outcome = rejectCode(pending, { channel: telegram, code: "efgh2345" }, T0);
    expect(outcome.result).toEqual({ channel: "telegram", account: "default", code: "EFGH2345", id: "2" });
    expect(outcome.pending).toEqual({ version: 1, extra: "x", requests: [req("1", "ABCD2345", T0)] });
    expect(outcome).not.toHaveProperty("allow");
  });
});

describe("revoke", () => {
  it("normalises like approve: revoke telegram tg:123 removes 123", () => {
    const outcome = revokeSender(
      { scoped: emptyAllow(), legacy: { version: 1, allowFrom: ["123", "456"], extra: true } },
      { channel: telegram, senderId: "tg:123" },
    );
    expect(outcome.result).toEqual({ channel: "telegram", account: "default", id: "123", removed: true });
    expect(outcome.legacy).toEqual({ version: 1, allowFrom: ["456"], extra: true });
    expect(outcome.scoped).toBeUndefined();
  });

  it.each([["tg:123"], [" 123 "], ["telegram:123"], ["TG:123"], ["123"]])(
    "removes every spelling the gateway reads as the sender: %j in the file",
    (stored) => {
      const outcome = revokeSender(
        { scoped: allowOf(stored, "7"), legacy: allowOf("123", stored) },
        { channel: telegram, senderId: "123" },
      );
      expect(outcome.result.removed).toBe(true);
      expect(outcome.scoped?.allowFrom).toEqual(["7"]);
      expect(outcome.legacy?.allowFrom).toEqual([]);
    },
  );

  it("reports removed false and writes nothing for an absent sender or *", () => {
    for (const senderId of ["999", "*", "tg:*"]) {
      const outcome = revokeSender({ scoped: allowOf("123"), legacy: emptyAllow() }, { channel: telegram, senderId });
      expect(outcome.result.removed).toBe(false);
      expect(outcome.scoped).toBeUndefined();
      expect(outcome.legacy).toBeUndefined();
    }
  });
});

describe("listing order", () => {
  it("lists live requests oldest first whatever the file order", () => {
    const pending = pendingOf(
      req("c", "CCCC2345", T0 + 2000),
      req("a", "AAAA2345", T0),
      req("x", "XXXX2345", T0 - HOUR - 1),
      req("b", "BBBB2345", T0 + 1),
    );
    expect(liveRequests(pending, T0 + 5000).map((r) => r.id)).toEqual(["a", "b", "c"]);
  });
});
