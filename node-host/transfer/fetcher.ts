// A fetch of one shared file: the manifest, then every missing chunk, pulled from several holders
// at once. Each holder gets a window of requests in flight (its pipe stays full, and a slow holder
// simply takes fewer chunks); every chunk is verified against its hash before it is stored; a
// holder that sends bad bytes is dropped and its chunk fetched elsewhere. Chunks already in the
// store (or, for a fetch to a file, already in its temp file: the caller's plan) are never fetched
// again, so a fetch cut short by a crash resumes where it stopped.
// Storing a chunk (hash, write, and the caller's onChunk, e.g. writing it into the output file)
// takes longer than receiving one, so it runs beside the request loops: they go on fetching while up
// to STORE_AHEAD received chunks wait to be stored. A failure on this node's side (a full disk) ends
// the fetch with that error; it is no holder's fault.

import { ContentStore, Manifest, CasError, isIdOf, openManifest, missingChunks, parseShareLink, type PutOptions } from "../cas";
import { BulkClient, BulkPeer, ObjectNotFoundError } from "../transport/bulk";
import { AccessDeniedError } from "../transport/bulk-api";

export interface FetchProgress {
  contentId: string;
  name: string;
  bytesDone: number;
  bytesTotal: number;
  chunksDone: number;
  chunksTotal: number;
  /** Bytes per second over the fetch so far. */
  rate: number;
  holders: number;
  etaMs: number | null;
  /** Bytes that were already in the store when the fetch started (resumed). */
  bytesReused: number;
}

export interface FetchParams {
  /** A share link, or a bare content ID for a public share. */
  link: string;
  store: ContentStore;
  bulk: BulkClient;
  /** Finds holders of the content (asked again when every known holder has failed). */
  findHolders: () => Promise<BulkPeer[]>;
  /** Requests in flight per holder. */
  window?: number;
  /** How often findHolders may be asked again before the fetch gives up. */
  holderRefreshes?: number;
  onProgress?: (p: FetchProgress) => void;
  /**
   * Called with the manifest before any chunk is fetched; returns the chunks to fetch (default: those
   * not in the store). A fetch to a file opens it here, and fetches what the file lacks.
   */
  plan?: (manifest: Manifest) => Promise<Buffer[]>;
  /** Whether fetched chunks go into the store (as cache; default true), or only to onChunk. */
  keepChunks?: boolean;
  /**
   * Called with each fetched chunk once its bytes are verified (and stored, with keepChunks);
   * `stored` is reused after the returned promise settles. Its failure ends the fetch.
   */
  onChunk?: (id: Buffer, stored: Buffer) => Promise<void>;
  signal?: AbortSignal;
}

export interface FetchResult {
  manifest: Manifest;
  bytesFetched: number;
  bytesReused: number;
  holdersUsed: number;
  badHolders: string[];
  durationMs: number;
}

export class FetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FetchError";
  }
}

/** Every holder that answered refused this node by its access policy. */
export class FetchRefusedError extends FetchError {
  constructor(message: string) {
    super(message);
    this.name = "FetchRefusedError";
  }
}

/** The error for a fetch that got nothing: a refusal, when the holders that answered all refused. */
export function nothingFetched(what: string, holders: number, refusals: string[]): FetchError {
  if (holders > 0 && refusals.length === holders) {
    return new FetchRefusedError(`${what}: every holder refused this node (${refusals[0]}). Ask a team admin for an invite and run \`peershare team join INVITE\``);
  }
  return new FetchError(what);
}

const hex = (b: Buffer) => b.toString("hex");

/** Received chunks being verified and written at once, all holders together (bounds memory too). */
const STORE_AHEAD = 8;

/**
 * Stores object `id` from the first of `peers` that sends bytes hashing to it (putVerified checks).
 * `onFailure` hears of each peer that could not; an abort ends the attempt at once.
 */
export async function fetchFromFirst(
  store: ContentStore,
  bulk: BulkClient,
  peers: BulkPeer[],
  id: Buffer,
  options: PutOptions,
  onFailure: (peer: BulkPeer, err: unknown) => void = () => undefined,
  signal?: AbortSignal,
): Promise<boolean> {
  for (const peer of peers) {
    try {
      const bytes = await bulk.getObject(peer, id, signal);
      await store.putVerified(id, bytes, options).finally(() => bulk.release?.(bytes));
      return true;
    } catch (err) {
      if (signal?.aborted) throw err;
      onFailure(peer, err);
    }
  }
  return false;
}

interface HolderState {
  peer: BulkPeer;
  /** Chunks this holder said it does not have. */
  lacks: Set<string>;
  dropped: boolean;
}

export async function fetchContent(p: FetchParams): Promise<FetchResult> {
  const started = performance.now();
  const { contentId } = parseShareLink(p.link);
  const manifestId = Buffer.from(contentId, "hex");
  const window = p.window ?? 4;
  const holders = new Map<string, HolderState>();
  const badHolders: string[] = [];
  /** Why holders refused this node (access policy), one entry per refusing holder. */
  const refusals: string[] = [];
  let refreshesLeft = p.holderRefreshes ?? 3;

  const refreshHolders = async (): Promise<boolean> => {
    const found = await p.findHolders();
    let added = false;
    for (const peer of found) {
      const key = hex(peer.id);
      if (holders.has(key) || badHolders.includes(key)) continue;
      holders.set(key, { peer, lacks: new Set(), dropped: false });
      added = true;
    }
    return added;
  };
  const live = () => [...holders.values()].filter((h) => !h.dropped);
  const drop = (h: HolderState, bad: boolean) => {
    if (h.dropped) return; // several of its request loops may fail at once
    h.dropped = true;
    if (bad) badHolders.push(hex(h.peer.id));
  };

  // 1. the manifest: from the store, or from the first holder that has valid bytes for it
  if (!(await p.store.has(manifestId))) {
    await refreshHolders();
    const failed = (peer: BulkPeer, err: unknown) => {
      if (err instanceof AccessDeniedError) refusals.push(err.message);
      drop(holders.get(hex(peer.id))!, err instanceof CasError && err.code === "EHASHMISMATCH");
    };
    const got = await fetchFromFirst(p.store, p.bulk, live().map((h) => h.peer), manifestId, { pin: "fetching", kind: "manifest" }, failed, p.signal);
    if (!got) throw nothingFetched(holders.size === 0 ? `no node holds ${contentId} (no provider records found)` : `none of the ${holders.size} holder(s) of ${contentId} could send its manifest`, holders.size, refusals);
  }
  const manifest = await openManifest(p.store, p.link);
  await p.store.pin([manifestId], "fetching");

  // 2. the chunks not yet on disk
  const sizeOf = new Map(manifest.chunks.map((c) => [hex(c.id), c.size] as const));
  const missing = p.plan ? await p.plan(manifest) : await missingChunks(p.store, manifest);
  const missingBytes = missing.reduce((n, id) => n + (sizeOf.get(hex(id)) ?? 0), 0);
  const bytesReused = manifest.size - missingBytes;
  const queue = [...missing];
  const total = new Set(manifest.chunks.map((c) => hex(c.id))).size;
  let chunksDone = total - missing.length;
  let bytesDone = bytesReused;
  let bytesFetched = 0;
  const used = new Set<string>();

  const report = () => {
    const elapsed = (performance.now() - started) / 1000;
    const rate = elapsed > 0 ? bytesFetched / elapsed : 0;
    p.onProgress?.({
      contentId,
      name: manifest.name,
      bytesDone,
      bytesTotal: manifest.size,
      chunksDone,
      chunksTotal: total,
      rate,
      holders: live().length,
      etaMs: rate > 0 ? ((manifest.size - bytesDone) / rate) * 1000 : null,
      bytesReused,
    });
  };
  report();

  /** Why a holder could not give chunk `id`: it lacks it, refused, failed, or sent bad bytes. */
  const failed = (h: HolderState, id: Buffer, err: unknown) => {
    queue.push(id);
    if (p.signal?.aborted) return;
    if (err instanceof ObjectNotFoundError) h.lacks.add(hex(id));
    else {
      if (err instanceof AccessDeniedError && !h.dropped) refusals.push(err.message);
      drop(h, err instanceof CasError && err.code === "EHASHMISMATCH");
    }
  };

  const storing = new Set<Promise<void>>();
  const storeFreed: (() => void)[] = [];
  /** What went wrong on this node's side (the store or onChunk): it ends the fetch. */
  let localFailure = null as { error: unknown } | null;
  const storeChunk = async (h: HolderState, id: Buffer, bytes: Buffer): Promise<void> => {
    try {
      if (p.keepChunks === false) {
        if (!isIdOf(id, bytes)) throw new CasError("EHASHMISMATCH", `bytes do not hash to chunk ${hex(id)}`);
      } else await p.store.putVerified(id, bytes, { pin: "fetching", kind: "chunk" });
    } catch (err) {
      if (err instanceof CasError && err.code === "EHASHMISMATCH") return failed(h, id, err); // the holder's bytes
      throw err;
    }
    await p.onChunk?.(id, bytes);
    used.add(hex(h.peer.id));
    chunksDone++;
    bytesDone += sizeOf.get(hex(id)) ?? 0;
    bytesFetched += bytes.length;
    report();
  };
  /** Verifies and stores a received chunk in the background; bad bytes put it back in the queue. */
  const store = (h: HolderState, id: Buffer, bytes: Buffer) => {
    const run: Promise<void> = storeChunk(h, id, bytes)
      .catch((error: unknown) => void (localFailure ??= { error }))
      .finally(() => {
        p.bulk.release?.(bytes); // the store is done with them: hashed and written
        storing.delete(run);
        storeFreed.shift()?.();
      });
    storing.add(run);
  };

  /** One of a holder's `window` request loops: takes chunks this holder may have until none is left. */
  const worker = async (h: HolderState): Promise<void> => {
    for (;;) {
      if (h.dropped || p.signal?.aborted || localFailure) return;
      const i = queue.findIndex((id) => !h.lacks.has(hex(id)));
      if (i < 0) return;
      const [id] = queue.splice(i, 1);
      let bytes: Buffer;
      try {
        bytes = await p.bulk.getObject(h.peer, id, p.signal);
      } catch (err) {
        failed(h, id, err);
        continue;
      }
      while (storing.size >= STORE_AHEAD) await new Promise<void>((resolve) => storeFreed.push(resolve));
      store(h, id, bytes);
    }
  };

  while (queue.length > 0) {
    if (p.signal?.aborted) throw new FetchError("fetch cancelled");
    const candidates = live().filter((h) => queue.some((id) => !h.lacks.has(hex(id))));
    if (candidates.length === 0) {
      if (refreshesLeft-- > 0 && (await refreshHolders())) continue;
      throw nothingFetched(`${queue.length} chunk(s) of ${contentId} could not be fetched: no live holder has them${badHolders.length ? ` (${badHolders.length} holder(s) sent corrupt data)` : ""}`, holders.size, refusals);
    }
    await Promise.all(candidates.flatMap((h) => Array.from({ length: window }, () => worker(h))));
    await Promise.all(storing); // a chunk with bad bytes goes back in the queue
    if (localFailure) throw localFailure.error;
  }
  if (p.signal?.aborted) throw new FetchError("fetch cancelled"); // even if the stores under way completed it
  report();
  await p.store.flush();
  return { manifest, bytesFetched, bytesReused, holdersUsed: used.size, badHolders, durationMs: performance.now() - started };
}
