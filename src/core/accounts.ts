import { MoltbotError } from "../errors.js";

/*
 * Bot accounts (OpenClaw, February 2026 on): one channel may run several bots (two Telegram bots, a
 * work and a personal Slack). A DM request names its account in `meta.accountId`; a request that
 * names none belongs to the default account. January files name no account anywhere.
 */

export const DEFAULT_ACCOUNT = "default";

const ACCOUNT_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * An account id typed by the operator or passed by the gateway: trimmed and lower-cased (as the
 * gateway keys them). It becomes part of a file name, so it is checked, never "sanitised".
 */
export function validateAccount(value: string): string {
  const account = value.trim().toLowerCase();
  if (account === "")
    throw new MoltbotError(
      "USAGE",
      "--account is blank: give the account id, or leave it out for the default account.",
    );
  if (!ACCOUNT_PATTERN.test(account) || account.includes("..")) {
    throw new MoltbotError(
      "USAGE",
      `Invalid account "${value.trim().slice(0, 64)}": use 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit.`,
    );
  }
  return account;
}

/** The account a stored request belongs to, as the gateway reads it: `meta.accountId`, else default. */
export function requestAccount(request: { meta?: Record<string, string> }): string {
  const named = request.meta?.accountId;
  return typeof named === "string" && named.trim() !== "" ? named.trim().toLowerCase() : DEFAULT_ACCOUNT;
}

/** Meta as shown to the operator: the account has its own column. */
export function withoutAccount(meta: Record<string, string>): Record<string, string> {
  if (!Object.hasOwn(meta, "accountId")) return meta;
  const { accountId: _account, ...rest } = meta;
  return rest;
}
