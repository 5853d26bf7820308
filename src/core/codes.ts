import { MoltbotError } from "../errors.js";
import type { RandomBytes } from "./random.js";

/** 32 symbols: no 0/O or 1/I, so a code read aloud or copied by hand survives. */
export const CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
export const CODE_LENGTH = 8;
const CODE_PATTERN = new RegExp(`^[${CODE_ALPHABET}]{${CODE_LENGTH}}$`);
const MAX_ATTEMPTS = 100;

/**
 * Draw a code uniformly: 256 is a multiple of 32, so `byte & 31` has no modulo bias.
 * Retries on a collision with a live code of the same channel.
 */
export function generateCode(random: RandomBytes, liveCodes: ReadonlySet<string>): string {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const bytes = random(CODE_LENGTH);
    let code = "";
    for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[bytes[i]! & 31];
    if (!liveCodes.has(code)) return code;
  }
  throw new Error(`could not draw a unique pairing code in ${MAX_ATTEMPTS} attempts`);
}

/** Trim and upper-case a typed code; anything that cannot be a code is a usage error. */
export function normalizeCode(input: string): string {
  const code = input.trim().toUpperCase();
  if (!CODE_PATTERN.test(code)) {
    throw new MoltbotError(
      "INVALID_CODE",
      `"${input.length > 20 ? `${input.slice(0, 20)}…` : input}" is not a pairing code: codes are ${CODE_LENGTH} characters from ${CODE_ALPHABET}.`,
    );
  }
  return code;
}
