import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { escapeControl } from "../../src/cli/output.js";
import { runMoltbot, tempStateDir } from "../helpers.js";

/*
 * Everything a gateway wrote (ids, codes, meta, device names) is printed so that what the operator
 * sees is what is there: no character may move the cursor, vanish, or pass for a space, or two
 * different ids would look the same. Each character is written into the store files as a gateway
 * would, and read back through the built bin.
 */

// [name, character, how it is shown]
const INVISIBLE: [string, string, string][] = [
  ["NUL", "\u0000", "\\x00"],
  ["BEL", "\u0007", "\\x07"],
  ["ESC", "\u001b", "\\e"],
  ["newline", "\n", "\\n"],
  ["carriage return", "\r", "\\r"],
  ["tab", "\t", "\\t"],
  ["DEL", "\u007f", "\\x7f"],
  ["C1 NEL", "\u0085", "\\x85"],
  ["C1 CSI", "\u009b", "\\x9b"],
  ["no-break space", "\u00a0", "\\xa0"],
  ["soft hyphen", "\u00ad", "\\xad"],
  ["combining grapheme joiner", "\u034f", "\\u034f"],
  ["Arabic letter mark", "\u061c", "\\u061c"],
  ["Hangul choseong filler", "\u115f", "\\u115f"],
  ["Hangul jungseong filler", "\u1160", "\\u1160"],
  ["Khmer vowel inherent AQ", "\u17b4", "\\u17b4"],
  ["Khmer vowel inherent AA", "\u17b5", "\\u17b5"],
  ["Mongolian free variation selector", "\u180b", "\\u180b"],
  ["Mongolian vowel separator", "\u180e", "\\u180e"],
  ["en quad", "\u2000", "\\u2000"],
  ["zero width space", "\u200b", "\\u200b"],
  ["zero width non-joiner", "\u200c", "\\u200c"],
  ["zero width joiner", "\u200d", "\\u200d"],
  ["left-to-right mark", "\u200e", "\\u200e"],
  ["right-to-left mark", "\u200f", "\\u200f"],
  ["line separator", "\u2028", "\\u2028"],
  ["paragraph separator", "\u2029", "\\u2029"],
  ["left-to-right embedding", "\u202a", "\\u202a"],
  ["right-to-left embedding", "\u202b", "\\u202b"],
  ["pop directional formatting", "\u202c", "\\u202c"],
  ["left-to-right override", "\u202d", "\\u202d"],
  ["right-to-left override", "\u202e", "\\u202e"],
  ["narrow no-break space", "\u202f", "\\u202f"],
  ["word joiner", "\u2060", "\\u2060"],
  ["function application", "\u2061", "\\u2061"],
  ["invisible times", "\u2062", "\\u2062"],
  ["invisible separator", "\u2063", "\\u2063"],
  ["invisible plus", "\u2064", "\\u2064"],
  ["left-to-right isolate", "\u2066", "\\u2066"],
  ["right-to-left isolate", "\u2067", "\\u2067"],
  ["first strong isolate", "\u2068", "\\u2068"],
  ["pop directional isolate", "\u2069", "\\u2069"],
  ["ideographic space", "\u3000", "\\u3000"],
  ["Hangul filler", "\u3164", "\\u3164"],
  ["variation selector 1", "\ufe00", "\\ufe00"],
  ["variation selector 16", "\ufe0f", "\\ufe0f"],
  ["byte order mark", "\ufeff", "\\ufeff"],
  ["halfwidth Hangul filler", "\uffa0", "\\uffa0"],
  ["interlinear annotation anchor", "\ufff9", "\\ufff9"],
  ["musical symbol begin beam", "\u{1d173}", "\\u{1d173}"],
  ["language tag", "\u{e0001}", "\\u{e0001}"],
  ["tag latin small a", "\u{e0061}", "\\u{e0061}"],
  ["cancel tag", "\u{e007f}", "\\u{e007f}"],
  ["variation selector 17", "\u{e0100}", "\\u{e0100}"],
  ["lone high surrogate", "\ud800", "\\ud800"],
  ["lone low surrogate", "\udfff", "\\udfff"],
];

function write(file: string, data: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // JSON.stringify writes lone surrogates as \ud800 escapes: still a valid UTF-8 file, as a gateway's is.
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
}

describe("escaping what the store holds", () => {
  it.each(INVISIBLE)("%s is shown as a visible escape by escapeControl", (_name, char, shown) => {
    expect(escapeControl(`a${char}b`)).toBe(`a${shown}b`);
  });

  it("leaves visible text alone: letters, marks on letters, wide characters, emoji, the plain space", () => {
    for (const text of ["Zoë Ångström", "e\u0301", "日本語 ユーザー", "🙂 👍🏽", "a b", "Ada's iPhone"]) {
      expect(escapeControl(text)).toBe(text);
    }
  });

  it.each(INVISIBLE)(
    "%s in a sender id, a code and meta, and in a device id and name, never reaches the terminal",
    async (_name, char, shown) => {
      const stateDir = tempStateDir();
      const at = new Date().toISOString();
      write(path.join(stateDir, "credentials", "telegram-pairing.json"), {
        version: 1,
        requests: [
          { id: `id${char}1`, code: `AB${char}CD2345`, createdAt: at, lastSeenAt: at, meta: { user: `u${char}` } },
        ],
      });
      write(path.join(stateDir, "devices", "pending.json"), {
        [`r${char}1`]: {
          requestId: `r${char}1`,
          deviceId: `dev${char}1`,
          publicKey: "pk",
          displayName: `Ada${char}`,
          isRepair: false,
          ts: Date.now(),
        },
      });
      const env = { COLUMNS: "300" };
      const pairing = await runMoltbot(["pairing", "list", "telegram"], { stateDir, env });
      expect(pairing.code, pairing.stderr).toBe(0);
      const row = pairing.stdout.split("\n")[1]!;
      expect(row).toMatch(
        new RegExp(
          `^${escapeRegExp(`AB${shown}CD2345`)} +${escapeRegExp(`id${shown}1`)} +${escapeRegExp(`user=u${shown}`)} `,
        ),
      );
      const devices = await runMoltbot(["devices", "list"], { stateDir, env });
      expect(devices.code, devices.stderr).toBe(0);
      expect(devices.stdout.split("\n")[2]).toMatch(
        new RegExp(`^${escapeRegExp(`r${shown}1`)} +${escapeRegExp(`Ada${shown}`)} `),
      );
      // (A raw newline would already have split the rows matched above.) A lone surrogate cannot be
      // written as UTF-8 at all: had one been printed, it would show as U+FFFD.
      for (const output of [pairing.stdout + pairing.stderr, devices.stdout + devices.stderr]) {
        if (char !== "\n") expect(output.includes(char)).toBe(false);
        expect(output.includes("\ufffd")).toBe(false);
      }
    },
  );
});

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
