import { defineConfig } from "vitest/config";

/*
 * test/sqlite/: OpenClaw's SQLite store. Run under Node 24 (node:sqlite, and what OpenClaw 2026.9.6
 * needs) by scripts/test.mjs, which `npm test` calls; `npm run test:sqlite` runs only these.
 */
export default defineConfig({
  test: {
    include: ["test/sqlite/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    // Each OpenClaw process loads ~300 MB of JavaScript: seconds, not milliseconds.
    testTimeout: 180_000,
    hookTimeout: 600_000,
  },
});
