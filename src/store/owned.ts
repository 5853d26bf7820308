import type { ReadOptions, Snapshot, StoreBackend, WriteSession } from "./backend.js";
import type { RecordKey, RecordKind } from "./catalogue.js";

/*
 * THE ROUTING RULE (catalogue.ts): a record with `owner: "moltbot"` is moltbot's own (block list,
 * code history, decision log) and is always served by the JSON backend under `<state>/moltbot/`;
 * every other record by the backend the state dir needs (JSON, or OpenClaw's SQLite). The store
 * context wraps whatever backend it picks with this router, so a backend never sees moltbot's
 * records and needs no rule of its own.
 */

const owned = (record: RecordKind<unknown>): boolean => record.owner === "moltbot";

/**
 * `main` for the gateway's records, `json` for moltbot's. A JSON `main` serves both itself. A
 * change touching both opens a session on each, lazily (a session that opens nothing takes no
 * lock and begins nothing), commits the gateway's first and releases moltbot's locks first.
 */
export function routeOwnedRecords(main: StoreBackend, json: () => StoreBackend): StoreBackend {
  if (main.kind === "json") return main;
  let jsonBackend: StoreBackend | undefined;
  const side = () => (jsonBackend ??= json());
  const pick = (record: RecordKind<unknown>) => (owned(record) ? side() : main);
  return {
    kind: main.kind,
    read: <S>(record: RecordKind<S>, key: RecordKey, options?: ReadOptions): Snapshot<S> =>
      pick(record as RecordKind<unknown>).read(record, key, options),
    readBytes: (record, key) => pick(record).readBytes?.(record, key),
    keys: (record) => pick(record).keys(record),
    begin(deadline): WriteSession {
      let mainSession: WriteSession | undefined;
      let sideSession: WriteSession | undefined;
      const sessionFor = (record: RecordKind<unknown>): WriteSession =>
        owned(record) ? (sideSession ??= side().begin(deadline)) : (mainSession ??= main.begin(deadline));
      return {
        open: (record, key, snapshot) => sessionFor(record as RecordKind<unknown>).open(record, key, snapshot),
        peek: (record, key) => sessionFor(record as RecordKind<unknown>).peek(record, key),
        lostBeforeWriting: () => Boolean(mainSession?.lostBeforeWriting() || sideSession?.lostBeforeWriting()),
        write: (record, key, state) => sessionFor(record as RecordKind<unknown>).write(record, key, state),
        storedBytes: (record, key) => sessionFor(record).storedBytes?.(record, key),
        prepareWrite: (record, key, state) => sessionFor(record).prepareWrite?.(record, key, state),
        async commit() {
          await mainSession?.commit();
          await sideSession?.commit();
        },
        async close() {
          try {
            await sideSession?.close();
          } finally {
            await mainSession?.close();
          }
        },
      };
    },
  };
}
