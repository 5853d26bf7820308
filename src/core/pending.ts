import type { RandomBytes } from "./random.js";
import { generateUuidV4 } from "./tokens.js";

/*
 * Pending requests of devices and legacy nodes, handled alike: files keyed by requestId, a
 * 5-minute life, newest first, and random UUID v4 ids. DM requests have their own rules
 * (dm-pairing.ts) but share the future-date rule below.
 */

/** Device and node requests expire this long after they were made (or last refreshed). */
export const PENDING_TTL_MS = 5 * 60 * 1000;

/**
 * A request dated further than this in the future was not written by a live writer on this
 * machine (clock steps, restored backups, hand edits). It is treated as expired: otherwise it would
 * never expire and would hold one of the few pending slots forever. `moltbot doctor` reports it.
 */
export const FUTURE_TOLERANCE_MS = 60 * 1000;

/** Live from `since` up to and including `since + ttl`; unreadable or far-future dates are not live. */
export function isLiveSince(since: number, ttlMs: number, now: number): boolean {
  return Number.isFinite(since) && since <= now + FUTURE_TOLERANCE_MS && now <= since + ttlMs;
}

/** Dated beyond the tolerance in the future (doctor says so; commands treat it as expired). */
export function isFutureDated(since: number, now: number): boolean {
  return Number.isFinite(since) && since > now + FUTURE_TOLERANCE_MS;
}

export interface PendingEntry {
  requestId: string;
  ts: number;
  /** OpenClaw (July 2026): a device that keeps retrying keeps its request alive. */
  refreshedAtMs?: number;
}

/** The instant a request's life is counted from. */
export function lastActiveAt(entry: PendingEntry): number {
  return typeof entry.refreshedAtMs === "number" ? entry.refreshedAtMs : entry.ts;
}

export function isPendingLive(entry: PendingEntry, now: number): boolean {
  return isLiveSince(lastActiveAt(entry), PENDING_TTL_MS, now);
}

/** Newest first; ties broken by requestId so the order is stable. */
export function newestFirst(a: PendingEntry, b: PendingEntry): number {
  return b.ts - a.ts || (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0);
}

/** Live entries of a keyed file, newest first. */
export function livePending<R extends PendingEntry>(pending: Readonly<Record<string, R>>, now: number): R[] {
  return Object.values(pending)
    .filter((entry) => isPendingLive(entry, now))
    .sort(newestFirst);
}

/** Rebuild a keyed file from entries (own properties only: no key is ever a prototype setter). */
export function keyedByRequestId<R extends { requestId: string }>(entries: readonly R[]): Record<string, R> {
  return Object.fromEntries(entries.map((entry) => [entry.requestId, entry]));
}

/** A fresh UUID v4 that no entry of the file uses yet. */
export function newRequestId(random: RandomBytes, pending: Readonly<Record<string, PendingEntry>>): string {
  const taken = new Set(Object.values(pending).map((entry) => entry.requestId));
  let requestId = generateUuidV4(random);
  while (taken.has(requestId)) requestId = generateUuidV4(random);
  return requestId;
}

/** The entry stored under `key`, ignoring anything inherited from Object.prototype. */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * The live request an operator means by `id`: a requestId (case-insensitive, as UUIDs are), or
 * else (when `byOwner` is given) the newest live request of the device or node with that id.
 */
export function findLivePending<R extends PendingEntry>(
  pending: Readonly<Record<string, R>>,
  id: string,
  now: number,
  byOwner?: (entry: R) => string,
): R | undefined {
  const live = livePending(pending, now);
  const lower = id.toLowerCase();
  return (
    live.find((entry) => entry.requestId === id || entry.requestId.toLowerCase() === lower) ??
    (byOwner ? live.find((entry) => byOwner(entry) === id) : undefined)
  );
}
