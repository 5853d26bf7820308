import fs from "node:fs";
import path from "node:path";
import { DM_ALLOW, DM_PENDING } from "./catalogue.js";
import type { StoreContext } from "./context.js";

/*
 * Which generation of the gateway a state dir holds (GENERATIONS.md): the January gateway's JSON
 * files, OpenClaw's JSON files with accounts (February–July 2026), or OpenClaw's SQLite database
 * (July 2026 on). moltbot serves all three; doctor names the one it found.
 */

export type Generation = "clawdbot-json" | "openclaw-json-accounts" | "openclaw-sqlite";

export const GENERATION_NAMES: Readonly<Record<Generation, string>> = {
  "clawdbot-json": "January gateway (Clawdbot/Moltbot) JSON files",
  "openclaw-json-accounts": "OpenClaw JSON files with accounts (February–July 2026)",
  "openclaw-sqlite": "OpenClaw SQLite database (July 2026 on)",
};

const exists = (file: string) => fs.existsSync(file);

/**
 * The generation, from the store in use and what is on disk: the SQLite backend; else any trace of OpenClaw (its config,
 * a per-account allowlist, a request naming its account); else the January layout (an empty state
 * dir too). Reads only: names, and the pending files a listing would read anyway.
 */
export function detectGeneration(ctx: StoreContext): Generation {
  const { stateDir } = ctx.paths;
  if (ctx.backend.kind === "sqlite") return "openclaw-sqlite";
  if (exists(path.join(stateDir, "openclaw.json"))) return "openclaw-json-accounts";
  try {
    if (ctx.backend.keys(DM_ALLOW).some((key) => key.account !== undefined)) return "openclaw-json-accounts";
    for (const key of ctx.backend.keys(DM_PENDING)) {
      const { requests } = ctx.backend.read(DM_PENDING, key).state;
      if (requests.some((request) => typeof request.meta?.accountId === "string")) return "openclaw-json-accounts";
    }
  } catch {
    // A file that cannot be read says nothing about the generation (doctor reports it on its own).
  }
  return "clawdbot-json";
}
