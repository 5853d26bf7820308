import { validateReason, type DecisionFacts } from "../core/decisions.js";
import type { RandomBytes } from "../core/random.js";
import { MoltbotError, isMoltbotError } from "../errors.js";
import type { Snapshot } from "./backend.js";
import type { RecordKey, Transaction } from "./catalogue.js";
import type { StoreContext } from "./context.js";
import type { DecisionLogSession, PlannedWrite } from "./decision-log.js";
import { DOCTOR_HINT } from "./json/errors.js";

/*
 * The one way the store changes. Every change runs its pure decision twice at most:
 *
 * 1. on an unlocked read of its records. A decision that writes nothing (a miss, a rejected input,
 *    "already allowed", "capped", a failed token check) is the answer: no lock is taken and nothing
 *    is created on disk. This is the one place where "a miss creates nothing" is implemented, and
 *    what lets the gateway answer a flood of strangers on a full channel with a read;
 * 2. otherwise under the locks (pending records first), on a fresh read of the same records, and
 *    only that decision is written (approved records first).
 *
 * Every read of one record is an atomic snapshot (files are replaced by rename), so the unlocked
 * decision is the right answer for the moment of the read; anything that writes is decided again.
 *
 * A change made with `options.log` is recorded in the decision log (store/decision-log.ts): the
 * log's head is locked after every record of the change, its line journaled before the first
 * write, and appended after the commit, before any lock is released.
 */

/**
 * Each record's key, or a function of the records read before it (in lock order). `null`: the
 * record plays no part this time (its state is the empty one; it is neither locked nor written).
 */
export type KeysFor<M> = {
  readonly [K in keyof M]: RecordKey | null | ((states: Partial<M>) => RecordKey | null);
};

/**
 * A decision: the states to write (absent: leave that record alone), what to report, and (for
 * changes made with `options.log`) what the decision log says it did.
 */
export type Outcome<M, R> = { [K in keyof M]?: M[K] } & { result: R; log?: DecisionFacts };

export interface TransactionOptions {
  /** Record the change in the decision log, with the operator's `--reason` (already validated). */
  log?: { reason?: string };
}

/** The options of a decision: logged, with the operator's reason when one was given (checked here). */
export const logged = (reason: string | undefined): TransactionOptions => ({
  log: reason === undefined ? {} : { reason: validateReason(reason) },
});

export type Decide<M, R> = (states: M, now: number, random: RandomBytes) => Outcome<M, R>;

const resolveKey = <M>(key: KeysFor<M>[keyof M], states: Partial<M>): RecordKey | null =>
  typeof key === "function" ? key(states) : key;

const sameKey = (a: RecordKey, b: RecordKey): boolean => a.channel === b.channel && a.account === b.account;

/** Randomness for the unlocked decision, which is never written: it must not spend the real source. */
const draftRandom: RandomBytes = (() => {
  let counter = 0;
  return (size) => Uint8Array.from({ length: size }, () => (counter = (counter * 31 + 7) & 0xff));
})();

export async function runTransaction<M, R>(
  ctx: StoreContext,
  tx: Transaction<M>,
  keys: KeysFor<M>,
  decide: Decide<M, R>,
  options: TransactionOptions = {},
): Promise<R> {
  const { backend } = ctx;
  // 1. Unlocked.
  const snapshots: Partial<{ [K in keyof M]: { key: RecordKey; snapshot: Snapshot<M[K]> } }> = {};
  const draft: Partial<M> = {};
  for (const name of [...tx.lockOrder, ...tx.readOnly]) {
    const key = resolveKey(keys[name], draft);
    // Bookkeeping never decides whether anything is written: the unlocked decision does without it,
    // so a flood of strangers on a full channel costs no read of it.
    if (key === null || tx.records[name].bookkeeping) {
      draft[name] = tx.records[name].empty();
      continue;
    }
    const snapshot = backend.read(tx.records[name], key);
    snapshots[name] = { key, snapshot };
    draft[name] = snapshot.state;
  }
  const first = decide(draft as M, ctx.now(), draftRandom);
  if (!tx.writeOrder.some((name) => first[name] !== undefined)) return first.result;

  // 2. Locked.
  const deadline = Date.now() + ctx.lockTimeoutMs;
  // Loaded only by changes that are logged: it brings node:crypto, which listings never need.
  const decisionLog = options.log ? await import("./decision-log.js") : undefined;
  for (;;) {
    const session = backend.begin(deadline);
    let log: DecisionLogSession | undefined;
    let committed = false;
    try {
      const states: Partial<M> = {};
      const usedKeys: Partial<Record<keyof M, RecordKey>> = {};
      for (const name of tx.lockOrder) {
        const key = resolveKey(keys[name], states);
        if (key === null) {
          states[name] = tx.records[name].empty();
          continue;
        }
        usedKeys[name] = key;
        const read = snapshots[name];
        const reusable = read && sameKey(read.key, key) ? read.snapshot : undefined;
        states[name] = await session.open(tx.records[name], key, reusable);
      }
      for (const name of tx.readOnly) {
        const key = resolveKey(keys[name], states);
        states[name] = key === null ? tx.records[name].empty() : session.peek(tx.records[name], key);
      }
      // The log's head last of all: one lock order for every change, so none waits on another.
      if (decisionLog) log = await decisionLog.openDecisionLog(ctx, deadline);
      const outcome = decide(states as M, ctx.now(), ctx.random);
      // A lock lost before anything was written (another process took a stale lock over): start over.
      if ((session.lostBeforeWriting() || log?.lost()) && Date.now() < deadline) continue;
      const writes: PlannedWrite[] = [];
      for (const name of tx.writeOrder) {
        const next = outcome[name];
        if (next === undefined) continue;
        const key = usedKeys[name];
        if (key === undefined) throw new Error(`${tx.name} decided to write ${name}, which it did not open`);
        writes.push({ record: tx.records[name], key, before: states[name], after: next });
      }
      if (log && outcome.log && writes.length > 0) await log.prepare(outcome.log, options.log?.reason, writes, session);
      for (const write of writes) await session.write(write.record, write.key, write.after);
      await session.commit();
      committed = true;
      if (log) await log.append();
      return outcome.result;
    } catch (error) {
      if (committed) {
        // The change is on disk; only its line is missing, and the journal lets the next decision add it.
        throw new MoltbotError(
          "STORE_IO",
          `The change was made, but its line could not be added to the decision log (${error instanceof Error ? error.message : String(error)}); the next decision adds it. ${DOCTOR_HINT}`,
          { cause: error },
        );
      }
      if (isMoltbotError(error)) throw error;
      throw new MoltbotError(
        "STORE_IO",
        `Could not complete ${tx.name} (${error instanceof Error ? error.message : String(error)}). ${DOCTOR_HINT}`,
        { cause: error },
      );
    } finally {
      // Released in the reverse of the lock order: the log's head first.
      await log?.close();
      await session.close();
    }
  }
}
