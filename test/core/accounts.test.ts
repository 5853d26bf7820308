import { describe, expect, it } from "vitest";
import { requestAccount, validateAccount } from "../../src/core/accounts.js";
import { resolveChannel } from "../../src/core/channels.js";
import {
  allowedSenders,
  approvalAccount,
  approveCode,
  emptyAllow,
  emptyPending,
  findRequestByCode,
  rejectCode,
  requestPairing,
  revokeSender,
  viewRequest,
  type AllowState,
  type PairingRequest,
  type PendingState,
} from "../../src/core/dm-pairing.js";
import { seededRandom } from "../helpers.js";

/*
 * The account rules of OpenClaw's JSON generation (GENERATIONS.md §2, checked against
 * openclaw@2026.5.6): requests name their account in meta.accountId (none: default); matching is by
 * (sender, account); the cap counts one account; codes are unique across the channel; the default
 * account reads its own allowlist and the January one.
 */

const telegram = resolveChannel("telegram");
const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const allowOf = (...allowFrom: string[]): AllowState => ({ version: 1, allowFrom });

function req(id: string, code: string, account?: string, at = T0): PairingRequest {
  return {
    id,
    code,
    createdAt: iso(at),
    lastSeenAt: iso(at),
    ...(account !== undefined ? { meta: { accountId: account } } : {}),
  };
}

const pendingOf = (...requests: PairingRequest[]): PendingState => ({ version: 1, requests });

function ask(pending: PendingState, senderId: string, account?: string, allow: AllowState[] = [emptyAllow()]) {
  return requestPairing(
    { pending, allow },
    { channel: telegram, senderId, ...(account !== undefined ? { account } : {}) },
    T0 + 1000,
    seededRandom(senderId.length + (account?.length ?? 0)),
  );
}

describe("account ids", () => {
  it.each([
    ["work", "work"],
    [" Work ", "work"],
    ["default", "default"],
    ["team-1.bot_2", "team-1.bot_2"],
  ])("%j is the account %j", (input, account) => {
    expect(validateAccount(input)).toBe(account);
  });

  it.each([[""], ["  "], ["../x"], ["a/b"], [".."], ["-x"], ["a".repeat(65)], ["a\nb"], ["a:b"]])(
    "%j is a usage error (it becomes part of a file name)",
    (input) => {
      expect(() => validateAccount(input)).toThrowError(expect.objectContaining({ code: "USAGE" }));
    },
  );

  it.each<[PairingRequest, string]>([
    [req("1", "AAAA2345"), "default"],
    [req("1", "AAAA2345", "Work"), "work"],
    [req("1", "AAAA2345", "  "), "default"],
    [{ ...req("1", "AAAA2345"), meta: { username: "x" } }, "default"],
  ])("a stored request belongs to the account its meta names, else default (%#)", (request, account) => {
    expect(requestAccount(request)).toBe(account);
  });
});

describe("requests per (sender, account)", () => {
  it("one sender on two accounts gets two codes, and each account's request is its own", () => {
    const first = ask(emptyPending(), "111", "default");
    const second = ask(first.pending!, "111", "work");
    expect(first.result).toMatchObject({ status: "created", account: "default" });
    expect(second.result).toMatchObject({ status: "created", account: "work" });
    expect(second.result.code).not.toBe(first.result.code);
    expect(second.pending!.requests.map((request) => request.meta?.accountId)).toEqual(["default", "work"]);
    const again = ask(second.pending!, "111", "work");
    expect(again.result).toMatchObject({ status: "pending", code: second.result.code });
  });

  it("a request made without an account names none (January files stay January files)", () => {
    const made = ask(emptyPending(), "111");
    expect(made.pending!.requests[0]).not.toHaveProperty("meta");
    expect(made.result.account).toBe("default");
    // ... and is the default account's: asking again for "default" finds it.
    expect(ask(made.pending!, "111", "default").result.status).toBe("pending");
  });

  it("the cap of 3 counts one account: a new account is admitted while another is full", () => {
    const full = pendingOf(req("1", "AAAA2345", "work"), req("2", "BBBB2345", "work"), req("3", "CCCC2345", "work"));
    expect(ask(full, "4", "work").result.status).toBe("capped");
    expect(ask(full, "4", "home").result.status).toBe("created");
    expect(ask(full, "4").result.status).toBe("created");
  });

  it("codes are unique across every account of the channel", () => {
    const taken = pendingOf(req("1", "AAAAAAAA", "work"));
    // A random source that always draws the taken code first.
    const outcome = requestPairing(
      { pending: taken, allow: [emptyAllow()] },
      { channel: telegram, senderId: "2", account: "home" },
      T0,
      (() => {
        let calls = 0;
        return (size: number) => new Uint8Array(size).fill(calls++ === 0 ? 0 : 1);
      })(),
    );
    expect(outcome.result.code).not.toBe("AAAAAAAA");
  });

  it("an allowed sender is allowed by the lists its account reads", () => {
    expect(ask(emptyPending(), "111", "work", [allowOf("111")]).result.status).toBe("allowed");
    expect(ask(emptyPending(), "tg:111", undefined, [emptyAllow(), allowOf("111")]).result.status).toBe("allowed");
  });

  it("list views carry the account and keep accountId out of the shown meta", () => {
    const view = viewRequest({ ...req("1", "AAAA2345", "work"), meta: { accountId: "work", username: "al" } });
    expect(view).toMatchObject({ account: "work", meta: { username: "al" } });
  });
});

describe("approve and reject with accounts", () => {
  const pending = pendingOf(req("111", "AAAA2345", "default"), req("111", "BBBB2345", "work"), req("222", "CCCC2345"));

  it.each([
    ["AAAA2345", undefined, "default", "default"],
    ["BBBB2345", undefined, "work", "work"],
    ["BBBB2345", "work", "work", "work"],
    ["CCCC2345", undefined, undefined, "default"],
    ["CCCC2345", "default", "default", "default"],
  ] as const)(
    "code %s with --account %s goes to the allowlist file of account %s (result account %s)",
    (code, given, file, resultAccount) => {
      const { request } = findRequestByCode(telegram, pending, { code, ...(given ? { account: given } : {}) }, T0);
      expect(approvalAccount(request, given)).toBe(file);
      const outcome = approveCode(
        { pending, allow: emptyAllow() },
        { channel: telegram, code, ...(given ? { account: given } : {}) },
        T0,
      );
      expect(outcome.result.account).toBe(resultAccount);
    },
  );

  it("with an account, a code of another account is not found", () => {
    expect(() =>
      approveCode({ pending, allow: emptyAllow() }, { channel: telegram, code: "BBBB2345", account: "home" }, T0),
    ).toThrowError(expect.objectContaining({ code: "NOT_FOUND", message: expect.stringContaining("(account home)") }));
    expect(() => rejectCode(pending, { channel: telegram, code: "AAAA2345", account: "work" }, T0)).toThrowError(
      expect.objectContaining({ code: "NOT_FOUND" }),
    );
  });

  it("approving removes only that account's request", () => {
    const outcome = approveCode({ pending, allow: emptyAllow() }, { channel: telegram, code: "BBBB2345" }, T0);
    expect(outcome.pending.requests.map((request) => request.code)).toEqual(["AAAA2345", "CCCC2345"]);
    expect(outcome.allow.allowFrom).toEqual(["111"]);
  });
});

describe("allowlists an account reads", () => {
  it("the default account reads its own file first, then the January file, each entry once", () => {
    expect(allowedSenders([allowOf("111", "222"), allowOf("999", "111")])).toEqual(["111", "222", "999"]);
  });

  it("revoking for the default account removes the sender from both files", () => {
    const outcome = revokeSender(
      { scoped: allowOf("111", "2"), legacy: allowOf("tg:111", "3") },
      { channel: telegram, senderId: "111" },
    );
    expect(outcome.scoped?.allowFrom).toEqual(["2"]);
    expect(outcome.legacy?.allowFrom).toEqual(["3"]);
    expect(outcome.result).toMatchObject({ account: "default", removed: true });
  });
});
