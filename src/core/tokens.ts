import type { RandomBytes } from "./random.js";

/*
 * Secrets of device and node pairing: minting, the summary shown instead of a secret, and the
 * constant-time comparison. Randomness comes from the injected RandomBytes, so tests are
 * deterministic and the gateway decides the source.
 */

export const TOKEN_BYTES = 32;

/** A token secret: 32 random bytes as base64url without padding (43 characters). */
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

/** Union of string lists, first occurrence wins, order kept; undefined lists and empty strings are skipped. */
export function mergeOrdered(...lists: readonly (readonly string[] | undefined)[]): string[] {
  const set = new Set<string>();
  for (const list of lists) for (const item of list ?? []) if (item !== "") set.add(item);
  return [...set];
}

/** A device's token for one role, as stored in `paired.json`. */
export interface DeviceToken {
  token: string;
  role: string;
  scopes: string[];
  createdAtMs: number;
  rotatedAtMs?: number;
  revokedAtMs?: number;
  lastUsedAtMs?: number;
  [key: string]: unknown;
}

/** What listings and approve show instead of a token: never the secret. */
export interface DeviceTokenSummary {
  role: string;
  scopes: string[];
  createdAtMs: number;
  rotatedAtMs?: number;
  revokedAtMs?: number;
  lastUsedAtMs?: number;
}

/**
 * A fresh secret for `role`. An earlier token of the role keeps `createdAtMs` (and fields a newer
 * gateway added), loses `revokedAtMs`, and gains `rotatedAtMs`.
 */
export function mintToken(
  previous: DeviceToken | undefined,
  role: string,
  scopes: readonly string[],
  now: number,
  random: RandomBytes,
): DeviceToken {
  const kept: Partial<DeviceToken> = { ...previous };
  delete kept.revokedAtMs;
  const token: DeviceToken = {
    ...kept,
    token: generateToken(random),
    role,
    scopes: normalizeScopes(scopes),
    createdAtMs: previous?.createdAtMs ?? now,
  };
  if (previous) token.rotatedAtMs = now;
  return token;
}

/** A token without its secret, copying only the documented fields. */
export function summarizeToken(token: DeviceToken, key: string = token.role): DeviceTokenSummary {
  // Listings read tokens without deep validation: fall back to the role the token is filed under.
  const role = typeof token.role === "string" ? token.role : key;
  const summary: DeviceTokenSummary = { role, scopes: token.scopes, createdAtMs: token.createdAtMs };
  if (token.rotatedAtMs !== undefined) summary.rotatedAtMs = token.rotatedAtMs;
  if (token.revokedAtMs !== undefined) summary.revokedAtMs = token.revokedAtMs;
  if (token.lastUsedAtMs !== undefined) summary.lastUsedAtMs = token.lastUsedAtMs;
  return summary;
}
