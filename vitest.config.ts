import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // OpenClaw's SQLite store: run under Node 24 by scripts/test.mjs (vitest.sqlite.config.ts).
    exclude: ["test/sqlite/**", "**/node_modules/**"],
    // CLI, concurrency and fault tests spawn real processes; two cores, so keep the pool small.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
