// Types of scripts/test-packages.mjs, for the tests that import it (through test/interop/packages.ts).
export declare const CACHE_DIR: string;
export declare const NODE24_SPEC: string;
export declare const OPENCLAW_SQLITE_SPEC: string;
export declare function installed(name: string, spec: string, timeoutMs?: number): string;
export declare function node24(): string;
export declare function openclawSqlite(): {
  node: string;
  nodeVersion: string;
  openclaw: string;
  openclawCli: string;
  openclawVersion: string;
};
