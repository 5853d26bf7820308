import type { RandomBytes } from "../core/random.js";
import { MoltbotError, isMoltbotError } from "../errors.js";
import type { Snapshot } from "./backend.js";
import type { RecordKey, Transaction } from "./catalogue.js";
import type { StoreContext } from "./context.js";
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
 */

/**
 * Each record's key, or a function of the records read before it (in lock order). `null`: the
 * record plays no part this time (its state is the empty one; it is neither locked nor written).
 */
export type KeysFor<M> = {
  readonly [K in keyof M]: RecordKey | null | ((states: Partial<M>) => RecordKey | null);
};

/** A decision: the states to write (absent: leave that record alone) and what to report. */
export type Outcome<M, R> = { [K in keyof M]?: M[K] } & { result: R };

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
): Promise<R> {
  const { backend } = ctx;
  // 1. Unlocked.
  const snapshots: Partial<{ [K in keyof M]: { key: RecordKey; snapshot: Snapshot<M[K]> } }> = {};
  const draft: Partial<M> = {};
  for (const name of [...tx.lockOrder, ...tx.readOnly]) {
    const key = resolveKey(keys[name], draft);
    if (key === null) {
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
  for (;;) {
    const session = backend.begin(deadline);
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
      const outcome = decide(states as M, ctx.now(), ctx.random);
      // A lock lost before anything was written (another process took a stale lock over): start over.
      if (session.lostBeforeWriting() && Date.now() < deadline) continue;
      for (const name of tx.writeOrder) {
        const next = outcome[name];
        if (next === undefined) continue;
        const key = usedKeys[name];
        if (key === undefined) throw new Error(`${tx.name} decided to write ${name}, which it did not open`);
        await session.write(tx.records[name], key, next);
      }
      await session.commit();
      return outcome.result;
    } catch (error) {
      if (isMoltbotError(error)) throw error;
      throw new MoltbotError(
        "STORE_IO",
        `Could not complete ${tx.name} (${error instanceof Error ? error.message : String(error)}). ${DOCTOR_HINT}`,
        { cause: error },
      );
    } finally {
      await session.close();
    }
  }
}
