import { createHash, timingSafeEqual } from "node:crypto";
import type { RandomBytes } from "./random.js";

/*
 * Secrets and ids of device pairing. Pure computation: randomness comes from the injected
 * RandomBytes, so tests are deterministic and the gateway decides the source.
 */

export const TOKEN_BYTES = 32;

/** A device token: 32 random bytes as base64url without padding (43 characters). */
export function generateToken(random: RandomBytes): string {
  return Buffer.from(random(TOKEN_BYTES)).toString("base64url");
}

/** A random UUID v4 built from 16 injected bytes (RFC 9562 §5.4: version and variant bits set). */
export function generateUuidV4(random: RandomBytes): string {
  const bytes = Uint8Array.from(random(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Buffer.from(bytes).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Token scopes: trimmed, empty ones dropped, de-duplicated and sorted (one canonical form to compare). */
export function normalizeScopes(scopes: readonly string[] | undefined): string[] {
  const set = new Set<string>();
  for (const scope of scopes ?? []) {
    const trimmed = scope.trim();
    if (trimmed !== "") set.add(trimmed);
  }
  return [...set].sort();
}

/** Union of string lists, first occurrence wins, order kept; undefined entries are skipped. */
export function mergeOrdered(...lists: readonly (readonly string[] | undefined)[]): string[] {
  const set = new Set<string>();
  for (const list of lists) for (const item of list ?? []) if (item !== "") set.add(item);
  return [...set];
}

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/**
 * Compare a presented secret with the stored one in constant time. Both sides are hashed first,
 * so the comparison runs on equal-length buffers and a length difference leaks nothing either.
 */
export function secretsEqual(expected: string, presented: string): boolean {
  return timingSafeEqual(digest(expected), digest(presented));
}
