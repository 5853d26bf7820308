import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  approveCodeUnlessBlocked,
  blockSender,
  emptyBlockList,
  findBlock,
  listBlocked,
  requestPairingUnlessBlocked,
  unblockSender,
  type BlockListState,
} from "../../src/core/block-list.js";
import { resolveChannel } from "../../src/core/channels.js";
import { emptyAllow, emptyPending, type PendingState } from "../../src/core/dm-pairing.js";
import { normalizeFingerprint, publicKeyFingerprint } from "../../src/core/fingerprint.js";
import { seededRandom } from "../helpers.js";

const telegram = resolveChannel("telegram");
const T0 = Date.UTC(2026, 1, 1, 12);

function blocked(senderId: string, account?: string): BlockListState {
  return blockSender(
    { pending: emptyPending(), blocked: emptyBlockList() },
    { channel: telegram, senderId, ...(account !== undefined ? { account } : {}) },
    T0,
  ).blocked!;
}

const request = (state: { pending: PendingState; blocked: BlockListState }, senderId: string, account?: string) =>
  requestPairingUnlessBlocked(
    { pending: state.pending, allow: [emptyAllow()], blocked: state.blocked },
    { channel: telegram, senderId, maxPending: 1, ...(account !== undefined ? { account } : {}) },
    T0,
    seededRandom(3),
  );

describe("the block list", () => {
  it("a blocked sender's request is `blocked`: no code, no message, nothing written", () => {
    const out = request({ pending: emptyPending(), blocked: blocked("123") }, "tg:123");
    expect(out).toEqual({ result: { channel: "telegram", account: "default", id: "tg:123", status: "blocked" } });
  });

  it("takes no cap slot: with a cap of 1, the next stranger still gets a code", () => {
    const list = blocked("123");
    expect(request({ pending: emptyPending(), blocked: list }, "123").result.status).toBe("blocked");
    expect(request({ pending: emptyPending(), blocked: list }, "456").result.status).toBe("created");
  });

  it.each([
    ["every account (no --account)", undefined, "work", "blocked"],
    ["the same account", "work", "work", "blocked"],
    ["another account", "work", "home", "created"],
  ])("a block on %s: a request on account %s → %s", (_name, blockedOn, requestOn, status) => {
    const out = request({ pending: emptyPending(), blocked: blocked("123", blockedOn) }, "123", requestOn);
    expect(out.result.status).toBe(status);
  });

  it("blocking drops the sender's pending requests (every spelling) and keeps everyone else's", () => {
    const at = new Date(T0).toISOString();
    const pending: PendingState = {
      version: 1,
      requests: [
        { id: "tg:123", code: "ABCD2345", createdAt: at, lastSeenAt: at },
        { id: "456", code: "WXYZ6789", createdAt: at, lastSeenAt: at },
      ],
    };
    const out = blockSender(
      { pending, blocked: emptyBlockList() },
      { channel: telegram, senderId: "123", reason: "spam" },
      T0,
    );
    expect(out.pending!.requests.map((r) => r.id)).toEqual(["456"]);
    expect(out.result).toEqual({ channel: "telegram", account: "*", id: "123", added: true, dropped: 1 });
    expect(out.blocked!.blocked).toEqual([{ channel: "telegram", id: "123", at, reason: "spam" }]);
    // Blocking again changes nothing.
    const again = blockSender(
      { pending: out.pending!, blocked: out.blocked! },
      { channel: telegram, senderId: "tg:123" },
      T0,
    );
    expect(again).toEqual({ result: { channel: "telegram", account: "*", id: "123", added: false, dropped: 0 } });
  });

  it("an approval of a blocked sender's code (a request the gateway stored anyway) is refused", () => {
    const at = new Date(T0).toISOString();
    const pending: PendingState = {
      version: 1,
      requests: [{ id: "123", code: "ABCD2345", createdAt: at, lastSeenAt: at }],
    };
    expect(() =>
      approveCodeUnlessBlocked(
        { pending, allow: emptyAllow(), blocked: blocked("tg:123") },
        { channel: telegram, code: "ABCD2345" },
        T0,
      ),
    ).toThrow(
      expect.objectContaining({
        code: "BLOCKED",
        message: expect.stringMatching(/moltbot pairing unblock telegram 123/),
      }),
    );
  });

  it("unblock without an account lifts every block of the sender on the channel; with one, only that one", () => {
    let list = blocked("123", "work");
    list = blockSender({ pending: emptyPending(), blocked: list }, { channel: telegram, senderId: "123" }, T0).blocked!;
    expect(listBlocked(list).map((entry) => entry.account)).toEqual(["work", "*"]);
    const one = unblockSender(list, { channel: telegram, senderId: "123", account: "work" });
    expect(one.result.removed).toBe(true);
    expect(findBlock(one.blocked!, telegram, "work", "123")?.account).toBeUndefined();
    const all = unblockSender(list, { channel: telegram, senderId: "tg:123" });
    expect(all.blocked!.blocked).toEqual([]);
    expect(unblockSender(all.blocked!, { channel: telegram, senderId: "123" })).toEqual({
      result: { channel: "telegram", account: "*", id: "123", removed: false },
    });
  });
});

describe("public key fingerprints", () => {
  it.each(["q8Vf2m0T1xvY8o0kLr3sJvW1rY5eQ6dZ7uC9bN4aH2E", "pk-dev-1", "clé-publique"])(
    "%s: the first 80 bits of SHA-256, as `printf %%s KEY | sha256sum | cut -c1-20` computes them",
    (key) => {
      const shell = spawnSync("sh", ["-c", 'printf %s "$1" | sha256sum | cut -c1-20', "sh", key], { encoding: "utf8" });
      expect(publicKeyFingerprint(key).replace(/-/g, "")).toBe(shell.stdout.trim());
      expect(publicKeyFingerprint(key)).toMatch(/^([0-9a-f]{4}-){4}[0-9a-f]{4}$/);
    },
  );

  it.each([
    "3FA9-1C2E-8B0D-77A1-C4E2",
    "3fa91c2e8b0d77a1c4e2",
    "3fa9 1c2e 8b0d 77a1 c4e2",
    "3f:a9:1c:2e:8b:0d:77:a1:c4:e2",
  ])("%s is read as 3fa9-1c2e-8b0d-77a1-c4e2", (typed) =>
    expect(normalizeFingerprint(typed)).toBe("3fa9-1c2e-8b0d-77a1-c4e2"),
  );

  it.each(["3fa9-1c2e", "3fa9-1c2e-8b0d-77a1-c4e2-0000", "zzzz-1c2e-8b0d-77a1-c4e2", ""])(
    "%j is a usage error",
    (typed) => {
      expect(() => normalizeFingerprint(typed)).toThrow(expect.objectContaining({ code: "USAGE" }));
    },
  );
});
