import { Chalk } from "chalk";
import { describe, expect, it } from "vitest";
import {
  displayWidth,
  escapeControl,
  formatAgo,
  formatDuration,
  formatIn,
  renderTable,
  truncate,
  type Column,
} from "../../src/cli/output.js";
import { stripAnsi } from "./fake-io.js";

const plain = new Chalk({ level: 0 });
const coloured = new Chalk({ level: 1 });
const NOW = Date.parse("2026-01-15T12:00:00.000Z");
const MIN = 60_000;

describe("relative times", () => {
  it("formatAgo says just now under 5 s, then seconds, minutes, hours and days", () => {
    expect(formatAgo(NOW - 4_999, NOW)).toBe("just now");
    expect(formatAgo(NOW - 5_000, NOW)).toBe("5 s ago");
    expect(formatAgo(NOW - 3 * MIN, NOW)).toBe("3 min ago");
    expect(formatAgo(NOW - 65 * MIN, NOW)).toBe("1 h 5 min ago");
    expect(formatAgo(NOW - 120 * MIN, NOW)).toBe("2 h ago");
    expect(formatAgo(NOW - (2 * 24 + 3) * 60 * MIN, NOW)).toBe("2 d 3 h ago");
  });

  it("formatAgo treats a time slightly in the future (clock skew) as just now", () => {
    expect(formatAgo(NOW + 30_000, NOW)).toBe("just now");
  });

  it("formatIn counts down to expiry and says expired once it has passed", () => {
    expect(formatIn(NOW + 42 * MIN, NOW)).toBe("in 42 min");
    expect(formatIn(NOW + 42 * MIN + 30_000, NOW)).toBe("in 42 min");
    expect(formatIn(NOW + 59_000, NOW)).toBe("in 59 s");
    expect(formatIn(NOW + 999, NOW)).toBe("in <1 s");
    expect(formatIn(NOW, NOW)).toBe("in <1 s");
    expect(formatIn(NOW - 1, NOW)).toBe("expired");
  });

  it("formatDuration uses whole units and drops a zero remainder", () => {
    expect(formatDuration(0)).toBe("0 s");
    expect(formatDuration(60 * MIN)).toBe("1 h");
    expect(formatDuration(24 * 60 * MIN)).toBe("1 d");
    expect(formatDuration(-90_000)).toBe("1 min");
  });
});

describe("escapeControl and display width", () => {
  it("makes terminal escapes, newlines and bidi controls visible", () => {
    expect(escapeControl("a\u001b[2Jb\nc\td\u0007")).toBe("a\\e[2Jb\\nc\\td\\x07");
    expect(escapeControl("evil\u202egnp.exe")).toBe("evil\\u202egnp.exe");
    expect(escapeControl("Zoë 日本")).toBe("Zoë 日本");
  });

  it("counts wide characters as two cells and combining marks as none", () => {
    expect(displayWidth("abc")).toBe(3);
    expect(displayWidth("日本語")).toBe(6);
    expect(displayWidth("e\u0301")).toBe(1);
    expect(displayWidth("🙂")).toBe(2);
  });

  it("truncate cuts to a number of cells and ends with an ellipsis", () => {
    expect(truncate("abcdefghij", 5)).toBe("abcd…");
    expect(truncate("abc", 5)).toBe("abc");
    expect(truncate("日本語日本語", 5)).toBe("日本…");
    expect(displayWidth(truncate("日本語日本語", 5))).toBeLessThanOrEqual(5);
  });
});

describe("renderTable", () => {
  const columns: Column[] = [
    { header: "CODE" },
    { header: "SENDER", shrink: true },
    { header: "META", shrink: true, optional: true },
    { header: "REQUESTED", optional: true },
    { header: "EXPIRES" },
  ];
  const rows = [
    [
      "ABCD2345",
      "123456789012345678901234567890",
      "username=alice name=Alice Liddell of Wonderland",
      "3 min ago",
      "in 57 min",
    ],
    ["WXYZ6789", "42", "", "just now", "in 1 h"],
    ["QRST2345", "日本語のユーザー名です", "username=日本", "59 min ago", "in 1 min"],
  ];

  it("fits every line within the width, from 30 to 160 columns", () => {
    for (let width = 30; width <= 160; width += 5) {
      const table = renderTable(columns, rows, width, plain);
      for (const line of table.split("\n"))
        expect(displayWidth(line), `width ${width}: "${line}"`).toBeLessThanOrEqual(width);
    }
  });

  it("keeps columns aligned: each cell starts under its header, wide characters included", () => {
    const lines = renderTable(columns, rows, 200, plain).split("\n");
    // Lay each line out as terminal cells (a wide character fills two).
    const cells = (line: string) => [...line].flatMap((char) => (displayWidth(char) === 2 ? [char, ""] : [char]));
    const header = cells(lines[0]!);
    const starts = ["CODE", "SENDER", "META", "REQUESTED", "EXPIRES"].map((name) => header.join("").indexOf(name));
    lines.slice(1).forEach((line, rowIndex) => {
      const laid = cells(line);
      starts.forEach((start, column) => {
        if (rows[rowIndex]![column] === "") return;
        expect(laid[start - 1] ?? " ", `row ${rowIndex} column ${column}`).toBe(" ");
        expect(laid[start], `row ${rowIndex} column ${column}`).toBe([...rows[rowIndex]![column]!][0]);
      });
    });
  });

  it("keeps everything when the width is Infinity (output to a pipe)", () => {
    const table = renderTable(columns, rows, Number.POSITIVE_INFINITY, plain);
    expect(table).toContain("123456789012345678901234567890");
    expect(table).toContain("Alice Liddell of Wonderland");
    expect(table).not.toContain("…");
  });

  it("shrinks before dropping, then drops optional columns rightmost first", () => {
    const at80 = renderTable(columns, rows, 80, plain);
    expect(at80.split("\n")[0]).toMatch(/CODE +SENDER +META +REQUESTED +EXPIRES/);
    expect(at80).toContain("…");
    const at45 = renderTable(columns, rows, 45, plain);
    expect(at45.split("\n")[0]).toMatch(/^CODE +SENDER +META +EXPIRES$/);
    const at30 = renderTable(columns, rows, 30, plain);
    expect(at30.split("\n")[0]).toMatch(/^CODE +SENDER +EXPIRES$/);
    // The code, the value the operator types next, is never cut.
    for (const code of ["ABCD2345", "WXYZ6789", "QRST2345"]) expect(at30).toContain(code);
  });

  it("applies colour after padding, so coloured and plain tables align identically", () => {
    const styled: Column[] = columns.map((column, index) =>
      index === 0 ? { ...column, style: (text) => coloured.cyan(text) } : column,
    );
    const withColour = renderTable(styled, rows, 70, coloured);
    expect(withColour).toContain("\u001b[36m");
    expect(stripAnsi(withColour)).toBe(renderTable(columns, rows, 70, plain));
  });

  it("passes the row index to a column style", () => {
    const seen: number[] = [];
    renderTable([{ header: "A", style: (text, row) => (seen.push(row), text) }], [["x"], ["y"]], 80, plain);
    expect(seen).toEqual([0, 1]);
  });
});
