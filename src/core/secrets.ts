import { createHash, timingSafeEqual } from "node:crypto";

/*
 * The one place a secret is compared. Its own module so that only the commands that check a token
 * load node:crypto (DM commands never do: start-up is budgeted).
 */

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/**
 * Compare a presented secret with the stored one in constant time. Both sides are hashed first,
 * so the comparison runs on equal-length buffers and a length difference leaks nothing either.
 */
export function secretsEqual(expected: string, presented: string): boolean {
  return timingSafeEqual(digest(expected), digest(presented));
}
