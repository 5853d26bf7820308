import { describe, expect, it } from "vitest";
import {
  CHANNEL_NAMES,
  EXTENSION_CHANNELS,
  editDistance,
  normalizeAllowEntry,
  resolveChannel,
  suggestChannel,
} from "../../src/core/channels.js";

const CORE = ["telegram", "whatsapp", "signal", "imessage", "discord", "slack"];
const EXTENSIONS = [
  "matrix",
  "msteams",
  "mattermost",
  "bluebubbles",
  "nextcloud-talk",
  "zalo",
  "zalouser",
  "nostr",
  "googlechat",
  "line",
];

function unknownChannelError(input: string): { code: string; message: string } {
  try {
    resolveChannel(input);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error(`"${input}" was accepted as a channel`);
}

describe("channel names", () => {
  it("accepts exactly the six core channels and the gateway's ten extension channels, core first", () => {
    expect(CHANNEL_NAMES).toEqual([...CORE, ...EXTENSIONS]);
    for (const name of CHANNEL_NAMES) expect(resolveChannel(name).name).toBe(name);
  });

  it("are case-insensitive and ignore surrounding blanks", () => {
    expect(resolveChannel("TeleGram").name).toBe("telegram");
    expect(resolveChannel("  SLACK ").name).toBe("slack");
    expect(resolveChannel("Nextcloud-Talk").name).toBe("nextcloud-talk");
    expect(resolveChannel("MsTeams").name).toBe("msteams");
  });

  it("accept imsg (any case) as an alias of imessage", () => {
    expect(resolveChannel("imsg").name).toBe("imessage");
    expect(resolveChannel("IMSG").name).toBe("imessage");
  });

  it("reject anything else with UNKNOWN_CHANNEL, listing every valid name", () => {
    for (const bad of ["irc", "", "telegram2", "tele gram", "sms"]) {
      const error = unknownChannelError(bad);
      expect(error.code).toBe("UNKNOWN_CHANNEL");
      expect(error.message).toContain(`Valid channels: ${CHANNEL_NAMES.join(", ")}.`);
    }
  });

  it("reject path-like names instead of sanitising them", () => {
    for (const bad of [
      "../telegram",
      "telegram/../slack",
      "telegram/",
      "/etc/passwd",
      "telegram\u0000",
      "..",
      ".",
      "~",
    ]) {
      expect(unknownChannelError(bad).code).toBe("UNKNOWN_CHANNEL");
    }
  });

  it("suggest the nearest name for a typo (did you mean)", () => {
    expect(unknownChannelError("telegarm").message).toContain('Did you mean "telegram"?');
    expect(unknownChannelError("Whatsap").message).toContain('Did you mean "whatsapp"?');
    expect(unknownChannelError("slakc").message).toContain('Did you mean "slack"?');
    expect(unknownChannelError("imgs").message).toContain('Did you mean "imsg"?');
    expect(unknownChannelError("mattermsot").message).toContain('Did you mean "mattermost"?');
    expect(suggestChannel("discrod")).toBe("discord");
  });

  it("make no suggestion when nothing is close", () => {
    expect(suggestChannel("xyzzyplugh")).toBeUndefined();
    expect(unknownChannelError("qqqqqqqqqqqq").message).not.toContain("Did you mean");
  });

  it("keep the error message short for absurdly long input", () => {
    const error = unknownChannelError("x".repeat(5000));
    expect(error.message.length).toBeLessThan(400);
  });

  it("count a transposition as one edit", () => {
    expect(editDistance("telegarm", "telegram")).toBe(1);
    expect(editDistance("abc", "abc")).toBe(0);
    expect(editDistance("", "abc")).toBe(3);
  });
});

describe("sender id labels and reply id lines (the gateway's channel adapters)", () => {
  const table: [string, string, string, string | undefined][] = [
    ["telegram", "telegramUserId", "123", "Your Telegram user id: 123"],
    ["whatsapp", "whatsappSenderId", "+4915112345678", "Your WhatsApp phone number: +4915112345678"],
    ["signal", "signalNumber", "+4915112345678", "Your Signal number: +4915112345678"],
    ["signal", "signalNumber", "uuid:6f1c-42", "Your Signal sender id: uuid:6f1c-42"],
    ["imessage", "imessageSenderId", "alice@example.com", "Your iMessage sender id: alice@example.com"],
    ["discord", "discordUserId", "80351110224678912", "Your Discord user id: 80351110224678912"],
    ["slack", "slackUserId", "U024BE7LH", "Your Slack user id: U024BE7LH"],
    ["matrix", "matrixUserId", "@alice:example.org", undefined],
    ["msteams", "msteamsUserId", "29:1abc", "Your MSTeams user id: 29:1abc"],
    ["mattermost", "mattermostUserId", "alice", "Your Mattermost user id: alice"],
    ["bluebubbles", "bluebubblesSenderId", "+15551234567", "Your BlueBubbles sender id: +15551234567"],
    ["nextcloud-talk", "nextcloudUserId", "bob", "Your Nextcloud user id: bob"],
    ["zalo", "zaloUserId", "42", "Your Zalo user id: 42"],
    ["zalouser", "zalouserUserId", "42", "Your Zalo user id: 42"],
    ["nostr", "nostrPubkey", "abc", "Your Nostr public key: abc"],
    ["googlechat", "googlechatUserId", "users/1", "Your Google Chat user id: users/1"],
    ["line", "lineUserId", "U1", "Your lineUserId: U1"],
  ];
  it.each(table)("%s labels ids %s and tells %s: %s", (name, label, id, line) => {
    const channel = resolveChannel(name);
    expect(channel.idLabel).toBe(label);
    expect(channel.replyIdLine?.(id)).toBe(line);
  });

  it("every extension channel is in the registry after the core ones", () => {
    expect(EXTENSION_CHANNELS.map((channel) => channel.name)).toEqual(EXTENSIONS);
  });
});

describe("allowlist normalisation", () => {
  const cases: [string, string, string][] = [
    ["telegram", "tg:123", "123"],
    ["telegram", "TG:123", "123"],
    ["telegram", "telegram:123", "123"],
    ["telegram", "Telegram: 123 ", "123"],
    ["telegram", "  123  ", "123"],
    ["telegram", "user:123", "user:123"],
    ["whatsapp", "+4915112345678", "+4915112345678"],
    ["whatsapp", "whatsapp:+49151", "whatsapp:+49151"],
    ["signal", "signal:+49151", "+49151"],
    ["signal", "SIGNAL:uuid:abc", "uuid:abc"],
    ["signal", "uuid:abc", "uuid:abc"],
    ["imessage", "imessage:alice@example.com", "imessage:alice@example.com"],
    ["discord", "discord:803", "803"],
    ["discord", "User:803", "803"],
    ["discord", "slack:803", "slack:803"],
    ["slack", "slack:U024", "U024"],
    ["slack", "USER:U024", "U024"],
    ["slack", "discord:U024", "discord:U024"],
    ["matrix", "matrix:@alice:example.org", "@alice:example.org"],
    ["matrix", "MATRIX:@alice:example.org", "@alice:example.org"],
    ["msteams", "msteams:29:1abc", "29:1abc"],
    ["msteams", "user:29:1abc", "29:1abc"],
    ["nextcloud-talk", "Nextcloud-Talk:Bob", "bob"],
    ["nextcloud-talk", "nc:Bob", "bob"],
    ["nextcloud-talk", "nc-talk:@Alice", "@alice"],
    ["zalouser", "zalo:42", "zalo:42"],
    ["zalouser", "zlu:42", "42"],
    ["zalo", "zalo:42", "42"],
    ["zalo", "ZL:42", "42"],
    // The gateway's adapters (clawdbot@2026.1.24-3), checked against its own store:
    ["mattermost", "@Alice", "alice"],
    ["mattermost", " mattermost:@Bob ", "bob"],
    ["mattermost", "mattermost:User:@ABC", "user:@abc"],
    ["bluebubbles", "+1 555 123 4567", "+15551234567"],
    ["bluebubbles", "bluebubbles:imessage:SMS:+1 555", "+1555"],
    ["bluebubbles", "Alice@Example.COM", "alice@example.com"],
    ["nostr", `nostr:${"AB".repeat(32)}`, "ab".repeat(32)],
    ["nostr", "nostr:npub1xyz", "nostr:npub1xyz"],
    ["googlechat", "gchat:users/Alice", "alice"],
    ["line", "line:user:U1", "U1"],
    ["slack", "slack:user:U1", "user:U1"],
    ["telegram", "telegram:tg:5", "tg:5"],
  ];
  it.each(cases)("%s: %j becomes %j", (name, input, expected) => {
    expect(normalizeAllowEntry(resolveChannel(name), input)).toBe(expected);
  });

  it("strips only one prefix", () => {
    expect(normalizeAllowEntry(resolveChannel("telegram"), "tg:tg:5")).toBe("tg:5");
  });

  it("never yields an empty or * entry", () => {
    for (const name of CHANNEL_NAMES) {
      const channel = resolveChannel(name);
      for (const value of ["", "   ", "*", " * ", "\t*\t"]) expect(normalizeAllowEntry(channel, value)).toBeUndefined();
      const prefix = `${channel.name}:`;
      if (channel.normalize(prefix) !== prefix) {
        expect(normalizeAllowEntry(channel, prefix)).toBeUndefined();
        expect(normalizeAllowEntry(channel, `${prefix.toUpperCase()} * `)).toBeUndefined();
      }
    }
  });
});
