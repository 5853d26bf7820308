/**
 * The one error type of moltbot. Every failure the CLI reports is a MoltbotError;
 * its code decides the exit status (SPEC §6), so scripts can branch on it.
 */
export const ERROR_EXIT_CODES = {
  USAGE: 2,
  UNKNOWN_CHANNEL: 2,
  INVALID_CODE: 2,
  NOT_FOUND: 1,
  AMBIGUOUS: 1,
  EXPIRED: 1,
  CONFIRMATION_REQUIRED: 1,
  VERIFY_FAILED: 1,
  // Dead codes (issue 16): why a code that is not pending cannot be approved, when that can be known.
  ALREADY_APPROVED: 1,
  ALREADY_REJECTED: 1,
  REPLACED: 1,
  // The sender is on moltbot's block list: an approval of their code is refused.
  BLOCKED: 1,
  // --expect-id / --expect-fingerprint: the request changed between looking and approving.
  REQUEST_CHANGED: 1,
  // pairing wait: no new request within --timeout.
  TIMEOUT: 1,
  STORE_CORRUPT: 3,
  STORE_PERMISSION: 3,
  STORE_LOCKED: 3,
  STORE_IO: 3,
  STORE_UNSUPPORTED: 3,
  // stdout could not take the output (a full disk, a broken device); never a closed pipe, which ends quietly.
  OUTPUT_FAILED: 1,
} as const;

export type ErrorCode = keyof typeof ERROR_EXIT_CODES;

export interface MoltbotErrorOptions {
  cause?: unknown;
  /**
   * The state dir belongs to another user and a privileged caller refused to write there as root:
   * the user to run the command as (the CLI prints the exact `sudo -u` line).
   */
  runAs?: string;
}

export class MoltbotError extends Error {
  readonly code: ErrorCode;
  readonly runAs?: string;

  constructor(code: ErrorCode, message: string, options: MoltbotErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "MoltbotError";
    this.code = code;
    if (options.runAs !== undefined) this.runAs = options.runAs;
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
