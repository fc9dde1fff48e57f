// The node's transfers: each fetch gets an ID, progress that clients can list or be notified of,
// and can be paused (what it wrote stays on disk), resumed, or cancelled. Finished transfers are kept
// for display, up to a bound.

import { randomBytes } from "node:crypto";
import { EventEmitter, setMaxListeners } from "node:events";
import { TransferInfo } from "../rpc/api-types";

const KEEP_FINISHED = 100;
/** Listeners on one fetch's abort signal before Node warns: requests in flight to all holders at once. */
const ABORT_LISTENERS = 1024;
/** At most this many progress events per second per transfer (the final one always goes out). */
const EVENTS_PER_SECOND = 4;

export interface TransferHandle {
  info: TransferInfo;
  /** What the fetch was asked for, so a paused one can resume. */
  link: string;
  out?: string;
  /** Whether the fetched chunks also go into the store, as cache. */
  cache: boolean;
  /** The content whose holders are asked (hex): a shared folder's, for one of its files; absent: the content's own. */
  holdersOf?: string;
  /** The link whose address hints lead to holders: the shared folder's, for one of its files; absent: `link`. */
  hintsOf?: string;
  abort: AbortController;
  lastEmit: number;
}

/**
 * A fetch's abort controller. Every request in flight to every holder listens on its signal (a
 * window per holder, several holders): more than Node's default of 10 is normal, not a leak, and
 * each listener is removed as its request settles (bulk-session.ts). Past ABORT_LISTENERS, Node's
 * warning would point at a real leak.
 */
function fetchAbort(): AbortController {
  const controller = new AbortController();
  setMaxListeners(ABORT_LISTENERS, controller.signal);
  return controller;
}

export class Transfers extends EventEmitter {
  private readonly all = new Map<string, TransferHandle>();

  /** A new transfer; `id` may be chosen by the client (so it can match progress events to its request). */
  create(contentId: string, link: string, out?: string, id = randomBytes(6).toString("hex"), cache = false): TransferHandle {
    if (this.all.get(id)?.info.state === "running") throw new Error(`a transfer ${id} is already running`);
    const handle: TransferHandle = {
      info: { id, contentId, name: "", direction: "download", state: "running", bytesDone: 0, bytesTotal: 0, rate: 0, holders: 0, etaMs: null, startedAt: Date.now() },
      link,
      out,
      cache,
      abort: fetchAbort(),
      lastEmit: 0,
    };
    this.all.set(id, handle);
    this.prune();
    this.emit("progress", { ...handle.info });
    return handle;
  }

  /** Restarts a paused or failed transfer under the same ID. */
  restart(handle: TransferHandle): void {
    handle.abort = fetchAbort();
    this.update(handle, { state: "running", error: undefined }, true);
  }

  get(id: string): TransferHandle {
    const h = this.all.get(id);
    if (!h) throw new Error(`no transfer ${id}`);
    return h;
  }

  list(): TransferInfo[] {
    return [...this.all.values()].map((h) => ({ ...h.info }));
  }

  update(handle: TransferHandle, change: Partial<TransferInfo>, force = false): void {
    Object.assign(handle.info, change);
    const now = Date.now();
    if (force || handle.info.state !== "running" || now - handle.lastEmit >= 1000 / EVENTS_PER_SECOND) {
      handle.lastEmit = now;
      this.emit("progress", { ...handle.info });
    }
  }

  private prune(): void {
    const finished = [...this.all.values()].filter((h) => h.info.state !== "running");
    for (const h of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.all.delete(h.info.id);
  }
}
