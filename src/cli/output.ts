import { Chalk, type ChalkInstance } from "chalk";
import { isMoltbotError, type ErrorCode } from "../errors.js";

/** Where a command writes, injected so a command runs in tests without spawning a process. */
export interface CliIO {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Colour on: stdout is a terminal, NO_COLOR unset, TERM not "dumb". */
  color: boolean;
  /** Terminal width for tables (stdout columns, else $COLUMNS, else 100). */
  columns: number;
  /** True when stdin and stdout are terminals, so a y/N prompt can be answered. */
  interactive: boolean;
  env: NodeJS.ProcessEnv;
  readStdin: () => Promise<string>;
  /** Ask a yes/no question on the terminal; resolves false on anything but y/yes. */
  confirm: (question: string) => Promise<boolean>;
}

export function colors(io: Pick<CliIO, "color">): ChalkInstance {
  return new Chalk({ level: io.color ? 1 : 0 });
}

// C0, DEL, C1, and the bidi/zero-width controls that can disguise text on a terminal.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\e" };

/** Make a sender- or device-supplied string safe to print: control characters become visible escapes. */
export function escapeControl(value: string): string {
  return value.replace(UNSAFE, (char) => {
    const named = NAMED[char];
    if (named) return named;
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Shorten to `max` characters with an ellipsis. */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  if (max <= 1) return value.slice(0, Math.max(0, max));
  return `${value.slice(0, max - 1)}…`;
}

export interface Column {
  header: string;
  /** May be shortened (with "…") when the table is wider than the terminal. */
  shrink?: boolean;
  /** Styling applied after padding, so colour codes never upset the alignment. */
  style?: (text: string) => string;
}

/**
 * An aligned table that fits `width`: shrinkable columns give up characters, widest first, down
 * to 8. Cells must already be escaped.
 */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], width: number, c: ChalkInstance): string {
  const gap = 2;
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...rows.map((row) => (row[index] ?? "").length)),
  );
  const total = () => widths.reduce((sum, w) => sum + w, 0) + gap * (widths.length - 1);
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < columns.length; i++) {
      if (columns[i]!.shrink && widths[i]! > 8 && (widest === -1 || widths[i]! > widths[widest]!)) widest = i;
    }
    if (widest === -1) break;
    widths[widest] = Math.max(8, widths[widest]! - (total() - width));
  }
  const line = (cells: readonly string[], header: boolean) =>
    cells
      .map((cell, i) => {
        const isLast = i === cells.length - 1;
        const text = truncate(cell, widths[i]!);
        const padded = isLast ? text : text.padEnd(widths[i]!);
        if (header) return c.bold(padded);
        const style = columns[i]!.style;
        return style ? style(padded) : padded;
      })
      .join(" ".repeat(gap))
      .trimEnd();
  return [line(columns.map((column) => column.header), true), ...rows.map((row) => line(row, false))].join("\n");
}

/** "42 min", "1 h 5 min", "2 d 3 h", "12 s". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(Math.abs(ms) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
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

/** Turn any failure into output and an exit code; a stack trace only with MOLTBOT_DEBUG=1. */
export function reportError(io: CliIO, error: unknown, json: boolean): number {
  let code: ErrorCode | "INTERNAL";
  let message: string;
  let exitCode: number;
  if (isMoltbotError(error)) {
    code = error.code;
    message = error.message;
    exitCode = error.exitCode;
  } else {
    code = "INTERNAL";
    message = `Unexpected error: ${error instanceof Error ? error.message : String(error)}. Run again with MOLTBOT_DEBUG=1 for details.`;
    exitCode = 3;
  }
  if (json) {
    printJson(io, { error: { code, message } });
  } else {
    io.err(`moltbot: ${escapeControl(message)}\n`);
  }
  if (io.env.MOLTBOT_DEBUG === "1" && error instanceof Error && error.stack) io.err(`${error.stack}\n`);
  return exitCode;
}
