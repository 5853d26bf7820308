/**
 * The one error type of moltbot. Every failure the CLI reports is a MoltbotError;
 * its code decides the exit status (SPEC §6), so scripts can branch on it.
 */
export const ERROR_EXIT_CODES = {
  USAGE: 2,
  UNKNOWN_CHANNEL: 2,
  INVALID_CODE: 2,
  NOT_FOUND: 1,
  EXPIRED: 1,
  CONFIRMATION_REQUIRED: 1,
  VERIFY_FAILED: 1,
  STORE_CORRUPT: 3,
  STORE_PERMISSION: 3,
  STORE_LOCKED: 3,
  STORE_IO: 3,
  // stdout could not take the output (a full disk, a broken device); never a closed pipe, which ends quietly.
  OUTPUT_FAILED: 1,
} as const;

export type ErrorCode = keyof typeof ERROR_EXIT_CODES;

export class MoltbotError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MoltbotError";
    this.code = code;
  }

  get exitCode(): number {
    return ERROR_EXIT_CODES[this.code];
  }
}

/** True for MoltbotError from any copy of this module (the library may be bundled twice). */
export function isMoltbotError(error: unknown): error is MoltbotError {
  if (!(error instanceof Error) || error.name !== "MoltbotError") return false;
  const code: unknown = (error as Error & { code?: unknown }).code;
  return typeof code === "string" && code in ERROR_EXIT_CODES;
}
