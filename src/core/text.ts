import { MoltbotError } from "../errors.js";

/*
 * Input bounds and character rules, one definition for every kind of input (DM senders and meta,
 * devices, nodes). What a stranger or a device sends is bounded and free of control characters
 * before any rule sees it; listings escape whatever another writer may have stored anyway.
 */

export const MAX_ID_LENGTH = 256;
export const MAX_PUBLIC_KEY_LENGTH = 4096;
export const MAX_NAME_LENGTH = 256;
export const MAX_SHORT_FIELD_LENGTH = 128;
export const MAX_SCOPES = 64;

/** C0, DEL and C1 controls: an identifier or a display name never needs terminal layout. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
/** Printable ASCII without spaces: what keys, roles and scopes are made of. */
export const TOKEN_CHARACTERS = /^[\u0021-\u007e]+$/;

export function usage(message: string): MoltbotError {
  return new MoltbotError("USAGE", message);
}

/** A text field: trimmed, non-empty, bounded, no control characters. */
export function validateText(value: string, what: string, max: number): string {
  const trimmed = value.trim();
  if (trimmed === "") throw usage(`The ${what} is empty.`);
  if (trimmed.length > max) throw usage(`The ${what} is too long (${trimmed.length} characters; at most ${max}).`);
  if (CONTROL_CHARACTERS.test(trimmed)) throw usage(`The ${what} contains control characters.`);
  return trimmed;
}

/** An optional text field: absent or blank is undefined, anything else must be valid. */
export function optionalText(value: string | undefined, what: string, max: number): string | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  return validateText(value, what, max);
}

/**
 * An id that becomes a key of a JSON object in a store file. `__proto__` is refused: in
 * JavaScript such a key does not survive a parse-and-rewrite (it is swallowed or sets a prototype).
 */
export function validateKeyId(value: string, what: string): string {
  const id = validateText(value, what, MAX_ID_LENGTH);
  if (id === "__proto__") throw usage(`"__proto__" cannot be a ${what}.`);
  return id;
}
