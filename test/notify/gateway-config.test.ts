import { describe, expect, it } from "vitest";
import {
  IncludeError,
  MissingEnvVarError,
  deepMerge,
  normalizeAccountId,
  resolveIncludes,
  substituteEnv,
} from "../../src/notify/gateway-config.js";

describe("the gateway config's own rules", () => {
  it.each([
    ["plain", "plain"],
    ["${A}", "1"],
    ["x-${A}-${B_2}", "x-1-two"],
    ["$${A}", "${A}"],
    ["${lower}", "${lower}"],
    ["$A and ${", "$A and ${"],
  ])("substituteEnv(%j) = %j", (input, output) => {
    expect(substituteEnv(input, { A: "1", B_2: "two" }, "x")).toBe(output);
  });

  it("substituteEnv: an unset or empty variable is an error naming it and where it is used", () => {
    expect(() => substituteEnv("${NOPE}", { NOPE: "" }, "channels.slack.botToken")).toThrow(MissingEnvVarError);
    expect(() => substituteEnv("${NOPE}", {}, "channels.slack.botToken")).toThrow(
      "${NOPE} (at channels.slack.botToken) is not set in this environment",
    );
  });

  it.each([
    [undefined, "default"],
    ["  ", "default"],
    ["Work", "work"],
    ["My Bot!", "my-bot"],
    ["--", "default"],
  ])("normalizeAccountId(%j) = %j", (input, output) => {
    expect(normalizeAccountId(input)).toBe(output);
  });

  it("deepMerge: arrays concatenate, objects merge, the later scalar wins", () => {
    expect(deepMerge({ a: [1], b: { c: 1, d: 1 }, e: 1 }, { a: [2], b: { d: 2 }, e: 2 })).toEqual({
      a: [1, 2],
      b: { c: 1, d: 2 },
      e: 2,
    });
  });

  const files: Record<string, unknown> = {
    "/c/base.json5": { channels: { telegram: { botToken: "1:a" } }, list: [1] },
    "/c/extra.json5": { channels: { slack: { botToken: "xoxb" } }, list: [2] },
    "/c/loop.json5": { $include: "./loop.json5" },
    "/c/deep0.json5": { $include: "./deep1.json5" },
  };
  for (let i = 1; i <= 11; i++) files[`/c/deep${i}.json5`] = { $include: `./deep${i + 1}.json5` };
  const load = (from: string, includePath: string) => {
    const file = `/c/${includePath.replace(/^\.\//, "")}`;
    if (!(file in files)) throw new IncludeError(`${includePath} does not exist`);
    return { file, value: files[file] };
  };

  it("$include: a list merges in order, sibling keys merge over it", () => {
    const config = resolveIncludes(
      { $include: ["./base.json5", "./extra.json5"], channels: { telegram: { dmPolicy: "pairing" } } },
      "/c/clawdbot.json",
      load,
    );
    expect(config).toEqual({
      channels: { telegram: { botToken: "1:a", dmPolicy: "pairing" }, slack: { botToken: "xoxb" } },
      list: [1, 2],
    });
  });

  it("$include: cycles and nesting deeper than 10 are errors", () => {
    expect(() => resolveIncludes({ $include: "./loop.json5" }, "/c/clawdbot.json", load)).toThrow(/circular include/);
    expect(() => resolveIncludes({ $include: "./deep0.json5" }, "/c/clawdbot.json", load)).toThrow(/deeper than 10/);
  });

  it("a key named __proto__ stays data and never becomes a prototype", () => {
    const parsed = JSON.parse('{"a": {"__proto__": {"polluted": true}}}') as unknown;
    const config = resolveIncludes(parsed, "/c/clawdbot.json", load) as { a: Record<string, unknown> };
    expect(Object.getPrototypeOf(config.a)).toBe(Object.prototype);
    expect(Object.hasOwn(config.a, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
