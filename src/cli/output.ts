import type { ChalkInstance } from "chalk";
import { formatDuration } from "../core/text.js";

export { formatDuration };

/** Where a command writes, injected so a command runs in tests without spawning a process. */
export interface CliIO {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Colour on: stdout is a terminal, NO_COLOR unset or empty, TERM not "dumb". */
  color: boolean;
  /**
   * Terminal width for tables: stdout's columns, else $COLUMNS, else 80 on a terminal and Infinity
   * on a pipe (a script gets every character; nothing is cut).
   */
  columns: number;
  /** True when stdin and stderr are terminals, so a prompt (on stderr) can be answered. */
  interactive: boolean;
  env: NodeJS.ProcessEnv;
  /**
   * Read a secret. On a terminal: `prompt` on stderr, then one line typed without echo. Otherwise all
   * of stdin, refused (USAGE) beyond `maxBytes` without reading the rest.
   */
  readStdin: (request?: { prompt?: string; maxBytes?: number }) => Promise<string>;
  /** Ask a yes/no question on the terminal; resolves false on anything but y/yes, and on end of input. */
  confirm: (question: string) => Promise<boolean>;
  /** The clock for store operations and relative times; tests inject one (default: Date.now). */
  now?: () => number;
}

/** The styles for human output; chalk is loaded only here, so `--json` output never starts it (~1 ms). */
export async function colors(io: Pick<CliIO, "color">): Promise<ChalkInstance> {
  const { Chalk } = await import("chalk");
  return new Chalk({ level: io.color ? 1 : 0 });
}

/*
 * What is never printed as itself: every control and format character (C0, DEL, C1, bidi controls,
 * zero-width and joiner characters, soft hyphen, tag characters), line and paragraph separators, lone
 * surrogates, every default-ignorable code point (fillers such as U+3164 and U+115F, variation
 * selectors, U+034F, U+17B4/5, U+180E) and every space but the plain one. Each of these either
 * moves the cursor or shows as nothing (or as a space), so two different ids would look the same.
 */
let unsafe: RegExp | undefined;
// Built on first use: V8 builds a Unicode property class when the RegExp is made (~1.3 ms on start-up
// for this one), and almost every value printed is printable ASCII, which never needs it.
const UNSAFE = () => (unsafe ??= /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]|(?! )\p{Zs}/gu);
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\e" };
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Make a string from a sender, a device or a store file safe to print: invisible characters become visible escapes. */
export function escapeControl(value: string): string {
  // Almost every value (codes, ids, times) is printable ASCII: nothing to look for.
  if (PRINTABLE_ASCII.test(value)) return value;
  return value.replace(UNSAFE(), (char) => {
    const named = NAMED[char];
    if (named) return named;
    const code = char.codePointAt(0)!;
    if (code <= 0xff) return `\\x${code.toString(16).padStart(2, "0")}`;
    return code <= 0xffff ? `\\u${code.toString(16).padStart(4, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

// Combining marks and zero-width characters take no cell; East Asian wide characters and emoji take two.
let zeroWidth: RegExp | undefined;
const ZERO_WIDTH = () => (zeroWidth ??= /^(?:\p{Mn}|\p{Me}|[\u200b-\u200f\u2060])$/u);
const WIDE =
  /^[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]$/u;

function charWidth(char: string): number {
  const code = char.codePointAt(0)!;
  // Variation selectors (U+FE00–FE0F) pick a glyph style; they take no cell of their own.
  if (ZERO_WIDTH().test(char) || (code >= 0xfe00 && code <= 0xfe0f)) return 0;
  return WIDE.test(char) ? 2 : 1;
}

/** Terminal cells `text` occupies (uncoloured text). */
export function displayWidth(text: string): number {
  // Almost every cell (codes, ids, times) is printable ASCII: one cell per character.
  if (PRINTABLE_ASCII.test(text)) return text.length;
  let width = 0;
  for (const char of text) width += charWidth(char);
  return width;
}

/** Shorten to `max` terminal cells with an ellipsis. */
export function truncate(value: string, max: number): string {
  if (displayWidth(value) <= max) return value;
  if (max <= 0) return "";
  let out = "";
  let width = 0;
  for (const char of value) {
    const w = charWidth(char);
    if (width + w > max - 1) break;
    out += char;
    width += w;
  }
  return `${out}…`;
}

function padEnd(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - displayWidth(text)));
}

export interface Column {
  header: string;
  /** May be shortened (with "…") when the table is wider than the terminal. */
  shrink?: boolean;
  /** May be left out, rightmost first, when shrinking is not enough to fit the terminal. */
  optional?: boolean;
  /** Styling applied after padding, so colour codes never upset the alignment; `row` is the row's index. */
  style?: (text: string, row: number) => string;
}

const GAP = 2;
const MIN_SHRUNK = 8;

/** Column widths that fit `width` if possible: shrink the widest shrinkable column first, down to 8 cells. */
function fitWidths(columns: readonly Column[], rows: readonly (readonly string[])[], width: number): number[] {
  const widths = columns.map((column, index) =>
    Math.max(displayWidth(column.header), ...rows.map((row) => displayWidth(row[index] ?? ""))),
  );
  const total = () => widths.reduce((sum, w) => sum + w, 0) + GAP * (widths.length - 1);
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < columns.length; i++) {
      if (columns[i]!.shrink && widths[i]! > MIN_SHRUNK && (widest === -1 || widths[i]! > widths[widest]!)) widest = i;
    }
    if (widest === -1) break;
    widths[widest] = Math.max(MIN_SHRUNK, widths[widest]! - (total() - width));
  }
  return widths;
}

/**
 * An aligned table that fits `width` (terminal cells): shrinkable columns give up characters,
 * widest first, down to 8; if that is not enough, optional columns are left out, rightmost first.
 * Cells must already be escaped. `width` may be Infinity (output to a pipe: nothing is cut).
 */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  width: number,
  c: ChalkInstance,
): string {
  let shown = columns.map((_, index) => index);
  let widths = fitWidths(columns, rows, width);
  const tooWide = () => widths.reduce((sum, w) => sum + w, 0) + GAP * (widths.length - 1) > width;
  while (tooWide()) {
    const drop = [...shown].reverse().find((index) => columns[index]!.optional);
    if (drop === undefined) break;
    shown = shown.filter((index) => index !== drop);
    widths = fitWidths(
      shown.map((index) => columns[index]!),
      rows.map((row) => shown.map((index) => row[index] ?? "")),
      width,
    );
  }
  const line = (cells: readonly string[], header: boolean, rowIndex = -1) =>
    shown
      .map((columnIndex, i) => {
        const isLast = i === shown.length - 1;
        const text = truncate(cells[columnIndex] ?? "", widths[i]!);
        const padded = isLast ? text : padEnd(text, widths[i]!);
        if (header) return c.bold(padded);
        const style = columns[columnIndex]!.style;
        return style ? style(padded, rowIndex) : padded;
      })
      .join(" ".repeat(GAP))
      .trimEnd();
  return [
    line(
      columns.map((column) => column.header),
      true,
    ),
    ...rows.map((row, index) => line(row, false, index)),
  ].join("\n");
}

/** "3 min ago" for a past instant, "just now" within 5 s. */
export function formatAgo(at: number, now: number): string {
  const ms = now - at;
  if (ms < 5_000) return "just now";
  return `${formatDuration(ms)} ago`;
}

/** "in 42 min" for a future instant, "expired" once it has passed. */
export function formatIn(at: number, now: number): string {
  const ms = at - now;
  if (ms < 0) return "expired";
  if (ms < 1_000) return "in <1 s";
  return `in ${formatDuration(ms)}`;
}

export function printJson(io: CliIO, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}
