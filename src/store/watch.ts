import fs from "node:fs";
import path from "node:path";
import type { ChannelInfo } from "../core/channels.js";
import type { PairingRequestView } from "../core/dm-pairing.js";
import { isMoltbotError } from "../errors.js";
import type { StoreContext } from "./context.js";
import { listAllDmRequests, listDmRequests, type ChannelRequests } from "./dm-store.js";
import { databasePath } from "./sqlite/backend.js";

/*
 * `pairing wait` and `pairing watch`: new DM requests as they are written. The credentials dir is
 * watched with file-system notifications (inotify through fs.watch: no timer runs, so an idle
 * watcher costs no CPU); each event that names a pending file (or the directory itself appearing)
 * triggers one re-read of the listing, and requests not seen before are new. When the directory
 * does not exist yet, its nearest existing ancestor is watched until it appears. Where
 * notifications are not available (fs.watch fails: some network file systems, inotify limits), or
 * with MOLTBOT_WATCH_POLL_MS, the listing is re-read on a timer instead. On OpenClaw's SQLite
 * store the directory of the database is watched, and any change to the database or its WAL
 * (every committed write touches one of them) triggers the re-read.
 */

export interface NewRequest extends PairingRequestView {
  channel: string;
}

export interface DmWatcher {
  /** The next batch of new requests (oldest first), waiting as long as it takes. */
  next(): Promise<NewRequest[]>;
  /** How changes are noticed: file-system notifications, or polling every `pollMs`. */
  readonly mode: () => "notify" | "poll";
  close(): void;
}

export interface WatchOptions {
  channel?: ChannelInfo;
  account?: string;
  /** Poll every this many ms instead of using notifications. */
  pollMs?: number;
  /** A channel file that cannot be read while watching every channel (the others are still watched). */
  onError?: (message: string) => void;
}

/** Poll interval when notifications cannot be had. */
export const FALLBACK_POLL_MS = 1000;

/** MOLTBOT_WATCH_POLL_MS: a whole number of ms (10 to 60000), or undefined for notifications. */
export function watchPollMs(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.MOLTBOT_WATCH_POLL_MS;
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  return Number.isInteger(value) && value >= 10 && value <= 60_000 ? value : FALLBACK_POLL_MS;
}

const keyOf = (channel: string, request: PairingRequestView) =>
  JSON.stringify([channel, request.account, request.id, request.code, request.createdAt]);

/** The deepest directory of `dir`'s path that exists (the directory itself when it does). */
function nearestExisting(dir: string): string {
  for (let at = dir; ; at = path.dirname(at)) {
    try {
      if (fs.statSync(at).isDirectory()) return at;
    } catch {
      // Not there (yet): look one level up.
    }
    if (path.dirname(at) === at) return at;
  }
}

const inodeOf = (dir: string): number | undefined => {
  try {
    return fs.statSync(dir).ino;
  } catch {
    return undefined;
  }
};

/**
 * Start watching: the requests live now are the baseline (never reported); the watcher is set up
 * before the baseline is read, so a request written in between is in one or the other.
 *
 * @example
 * const watcher = watchDmRequests(ctx, {});
 * for (;;) for (const request of await watcher.next()) console.log(request.channel, request.code);
 */
export function watchDmRequests(ctx: StoreContext, options: WatchOptions): DmWatcher {
  const database = ctx.backend.kind === "sqlite" ? databasePath(ctx.paths) : undefined;
  const dir = database ? path.dirname(database) : ctx.paths.credentialsDir;
  const wanted = options.channel ? `${options.channel.name}-pairing.json` : undefined;
  const matters = (name: string) =>
    database ? name.startsWith(path.basename(database)) : wanted ? name === wanted : name.endsWith("-pairing.json");
  const account = options.account !== undefined ? { account: options.account } : {};
  const reported = new Set<string>();
  const list = (): ChannelRequests[] => {
    if (options.channel) return [listDmRequests(ctx, options.channel, account)];
    const all = listAllDmRequests(ctx, account);
    for (const error of all.errors) options.onError?.(error.message);
    return all.channels;
  };

  let dirty = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    dirty = true;
    wake?.();
  };

  let watcher: fs.FSWatcher | undefined;
  let watched: { dir: string; ino: number | undefined } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const poll = (ms: number) => {
    watcher?.close();
    watcher = undefined;
    timer ??= setInterval(notify, ms);
  };
  /**
   * (Re)point the watcher at the credentials dir, or at its nearest ancestor until it exists. A
   * level created while the watch was being set up (`mkdir -p` makes the whole chain at once)
   * sends no event to a watch armed after it, so the nearest directory is looked up again once the
   * watch is armed, until it holds still.
   */
  const ensureWatcher = () => {
    for (;;) {
      if (timer) return;
      const target = nearestExisting(dir);
      const ino = inodeOf(target);
      if (watched && watched.dir === target && watched.ino === ino && watcher) return;
      watcher?.close();
      try {
        const atDir = target === dir;
        watcher = fs.watch(target, { persistent: true }, (_event, name) => {
          // In the watched dir only the pending files (or the database) matter; above it, anything may be it appearing.
          if (!atDir || name === null || matters(name)) notify();
          else if (!fs.existsSync(dir)) notify();
        });
        watcher.on("error", () => poll(FALLBACK_POLL_MS));
        watched = { dir: target, ino };
      } catch {
        poll(FALLBACK_POLL_MS);
      }
    }
  };

  if (options.pollMs !== undefined) poll(options.pollMs);
  else ensureWatcher();
  for (const listed of list()) for (const request of listed.requests) reported.add(keyOf(listed.channel, request));

  return {
    mode: () => (timer ? "poll" : "notify"),
    async next() {
      for (;;) {
        if (!dirty) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        dirty = false;
        ensureWatcher();
        let listed: ChannelRequests[];
        try {
          listed = list();
        } catch (error) {
          // A file replaced at the wrong moment reads fine on the next event; anything else is the answer.
          if (isMoltbotError(error) && error.code === "STORE_IO") continue;
          throw error;
        }
        const fresh: NewRequest[] = [];
        const live = new Set<string>();
        for (const { channel, requests } of listed) {
          for (const request of requests) {
            const key = keyOf(channel, request);
            live.add(key);
            if (!reported.has(key)) fresh.push({ channel, ...request });
          }
        }
        // Forget requests that are gone: the set stays as small as the pending files.
        for (const key of reported) if (!live.has(key)) reported.delete(key);
        for (const key of live) reported.add(key);
        if (fresh.length > 0) return fresh;
      }
    },
    close() {
      watcher?.close();
      if (timer) clearInterval(timer);
      wake?.();
    },
  };
}
