import type { StoreBackend, WriteSession } from "../../src/store/backend.js";
import type { RecordKey, RecordKind } from "../../src/store/catalogue.js";

/**
 * A backend holding the gateway's records in memory: the seam's smallest implementation (tests only).
 * `seen` collects the name of every record read or written through it.
 */
export function memoryBackend(seen: string[] = []): StoreBackend {
  const data = new Map<string, { record: string; key: RecordKey; state: unknown }>();
  const id = (record: RecordKind<unknown>, key: RecordKey) =>
    `${record.name}:${key.channel?.name ?? ""}:${key.account ?? ""}`;
  const read = <S>(record: RecordKind<S>, key: RecordKey) => {
    seen.push(record.name);
    const stored = data.get(id(record, key));
    return stored
      ? { state: structuredClone(stored.state) as S, exists: true }
      : { state: record.empty(), exists: false };
  };
  return {
    kind: "memory",
    read,
    keys: (record) => [...data.values()].filter((stored) => stored.record === record.name).map(({ key }) => key),
    begin(): WriteSession {
      return {
        open: (record, key) => Promise.resolve(read(record, key).state),
        peek: (record, key) => read(record, key).state,
        lostBeforeWriting: () => false,
        write: (record, key, state) => {
          seen.push(record.name);
          data.set(id(record, key), { record: record.name, key, state: structuredClone(state) });
          return Promise.resolve();
        },
        commit: () => Promise.resolve(),
        close: () => Promise.resolve(),
      };
    },
  };
}
