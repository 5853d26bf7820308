/*
 * Published packages the interop tests drive (the gateway's own releases, and a Node 24 to run them),
 * installed from the npm registry into a cache outside the repository, once: later runs reuse it.
 * An install that cannot reach the registry fails the test that needs it — never a silent skip.
 * The installer is scripts/test-packages.mjs, shared with scripts/test.mjs (which needs Node 24
 * before vitest starts) and the SQLite bench.
 */
export { CACHE_DIR, installed, node24, openclawSqlite } from "../../scripts/test-packages.mjs";
