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

import { ContentStore, Manifest, CasError, decodeManifest, isIdOf, missingChunks, parseShareLink, type PutOptions } from "../cas";
import { BulkClient, BulkPeer, ObjectNotFoundError } from "../transport/bulk";
import { Holders, type HolderState, isHashMismatch, FetchError } from "./holders";

export { FetchError, FetchRefusedError, nothingFetched } from "./holders";

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
  /** The live holders' node IDs (hex). */
  holderIds: string[];
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
  /** Holders already looked up for this fetch (then findHolders is not used). */
  holders?: Holders;
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
  /** The node IDs (hex) of the holders that sent chunks. */
  usedHolderIds: string[];
  badHolders: string[];
  durationMs: number;
}

const hex = (b: Buffer) => b.toString("hex");

/** Received chunks being verified and written at once, all holders together (bounds memory too). */
const STORE_AHEAD = 8;

/**
 * Stores object `id` from the first of `peers` that sends bytes hashing to it (putVerified checks)
 * and returns a copy of them (the received buffer goes back to the transport); null when none could.
 * `onFailure` hears of each peer that could not; an abort ends the attempt at once, and so does a
 * failure to store on this node's side (a full disk: no holder's fault, and the next would fail too).
 */
export async function fetchFromFirst(
  store: ContentStore,
  bulk: BulkClient,
  peers: BulkPeer[],
  id: Buffer,
  options: PutOptions,
  onFailure: (peer: BulkPeer, err: unknown) => void = () => undefined,
  signal?: AbortSignal,
): Promise<Buffer | null> {
  for (const peer of peers) {
    let bytes: Buffer;
    try {
      bytes = await bulk.getObject(peer, id, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      onFailure(peer, err);
      continue;
    }
    try {
      await store.putVerified(id, bytes, options);
      return Buffer.from(bytes);
    } catch (err) {
      if (!isHashMismatch(err)) throw err; // this node's failure to store (a full disk)
      onFailure(peer, err);
    } finally {
      bulk.release?.(bytes);
    }
  }
  return null;
}

export async function fetchContent(p: FetchParams): Promise<FetchResult> {
  const started = performance.now();
  const { contentId } = parseShareLink(p.link);
  const holders = p.holders ?? new Holders(p.findHolders, p.holderRefreshes ?? 3);
  const manifest = await fetchManifest(p, contentId, holders);
  const missing = p.plan ? await p.plan(manifest) : await missingChunks(p.store, manifest);
  const chunks = new ChunkFetch(p, contentId, manifest, missing, holders, started);
  await chunks.run();
  if (p.signal?.aborted) throw new FetchError("fetch cancelled"); // even if the stores under way completed it
  chunks.report();
  await p.store.flush();
  return { manifest, bytesFetched: chunks.bytesFetched, bytesReused: chunks.bytesReused, holdersUsed: chunks.holdersUsed, usedHolderIds: chunks.usedHolderIds, badHolders: holders.bad, durationMs: performance.now() - started };
}

/** The manifest, from the store or from the first holder with valid bytes for it; pinned while the fetch runs. */
async function fetchManifest(p: FetchParams, contentId: string, holders: Holders): Promise<Manifest> {
  const bytes = await manifestObject(p.store, p.bulk, holders, Buffer.from(contentId, "hex"), { pin: "fetching", signal: p.signal });
  return decodeManifest(bytes, parseShareLink(p.link).key);
}

/**
 * A manifest object (a file's, a folder's root or part): from the store, else from the first holder
 * whose bytes hash to `id`, stored as cache (pinned with `pin`, which a stored one gets too). When
 * every holder failed, holders are looked up again (as often as the fetch allows) and the new ones,
 * or ones back after a failure that may pass, are asked. Throws when none could send it: a refusal
 * when every holder that answered refused.
 */
export async function manifestObject(store: ContentStore, bulk: BulkClient, holders: Holders, id: Buffer, options: { pin?: "fetching"; signal?: AbortSignal } = {}): Promise<Buffer> {
  let bytes = await store.get(id);
  if (!bytes) {
    await holders.found();
    const failed = (peer: BulkPeer, err: unknown) => holders.drop(holders.get(peer)!, err);
    const fromLive = () => fetchFromFirst(store, bulk, holders.live().map((h) => h.peer), id, { pin: options.pin, kind: "manifest" }, failed, options.signal);
    bytes = await fromLive();
    // (no holder at all: looking again at once would find none either)
    while (!bytes && holders.size > 0 && (await holders.refreshAgain())) bytes = await fromLive();
    if (!bytes) throw holders.failure(holders.size === 0 ? `no node holds ${hex(id)} (no provider records found)` : `none of the ${holders.size} holder(s) of ${hex(id)} could send its manifest`);
  }
  if (options.pin) await store.pin([id], options.pin);
  return bytes;
}

/**
 * The chunks a fetch lacks, pulled from every live holder at once: `window` request loops per
 * holder take chunks from one queue; received chunks are verified and stored beside them.
 */
class ChunkFetch {
  private readonly queue: Buffer[];
  private readonly sizeOf: Map<string, number>;
  private readonly chunksTotal: number;
  /** Bytes that were here before the fetch started. */
  readonly bytesReused: number;
  private chunksDone: number;
  private bytesDone: number;
  bytesFetched = 0;
  /** Holders that sent at least one chunk. */
  private readonly used = new Set<string>();
  private readonly storing = new Set<Promise<void>>();
  private readonly storeFreed: (() => void)[] = [];
  /** What went wrong on this node's side (the store or onChunk): it ends the fetch. */
  private localFailure: { error: unknown } | null = null;

  constructor(
    private readonly p: FetchParams,
    private readonly contentId: string,
    private readonly manifest: Manifest,
    missing: Buffer[],
    private readonly holders: Holders,
    private readonly started: number,
  ) {
    this.sizeOf = new Map(manifest.chunks.map((c) => [hex(c.id), c.size] as const));
    this.queue = [...missing];
    this.chunksTotal = new Set(manifest.chunks.map((c) => hex(c.id))).size;
    this.chunksDone = this.chunksTotal - missing.length;
    this.bytesReused = manifest.size - missing.reduce((n, id) => n + (this.sizeOf.get(hex(id)) ?? 0), 0);
    this.bytesDone = this.bytesReused;
    this.report();
  }

  get holdersUsed(): number {
    return this.used.size;
  }

  get usedHolderIds(): string[] {
    return [...this.used];
  }

  /** Tells onProgress where the fetch stands. */
  report(): void {
    const { manifest } = this;
    const elapsed = (performance.now() - this.started) / 1000;
    const rate = elapsed > 0 ? this.bytesFetched / elapsed : 0;
    this.p.onProgress?.({
      contentId: this.contentId,
      name: manifest.name,
      bytesDone: this.bytesDone,
      bytesTotal: manifest.size,
      chunksDone: this.chunksDone,
      chunksTotal: this.chunksTotal,
      rate,
      holders: this.holders.live().length,
      holderIds: this.holders.live().map((h) => hex(h.peer.id)),
      etaMs: rate > 0 ? ((manifest.size - this.bytesDone) / rate) * 1000 : null,
      bytesReused: this.bytesReused,
    });
  }

  /** Rounds of request loops until the queue is empty; between rounds, new holders where none is left. */
  async run(): Promise<void> {
    const { queue, p } = this;
    if (queue.length > 0) await this.holders.found();
    while (queue.length > 0) {
      if (p.signal?.aborted) throw new FetchError("fetch cancelled");
      const candidates = this.holders.live().filter((h) => queue.some((id) => !h.lacks.has(hex(id))));
      if (candidates.length === 0) {
        if (await this.holders.refreshAgain()) continue;
        const bad = this.holders.bad.length;
        throw this.holders.failure(`${queue.length} chunk(s) of ${this.contentId} could not be fetched: no live holder has them${bad ? ` (${bad} holder(s) sent corrupt data)` : ""}`);
      }
      await Promise.all(candidates.flatMap((h) => Array.from({ length: p.window ?? 4 }, () => this.worker(h))));
      await Promise.all(this.storing); // a chunk with bad bytes goes back in the queue
      if (this.localFailure) throw this.localFailure.error;
    }
  }

  /** One of a holder's `window` request loops: takes chunks this holder may have until none is left. */
  private async worker(h: HolderState): Promise<void> {
    const { queue, p } = this;
    for (;;) {
      if (h.dropped || p.signal?.aborted || this.localFailure) return;
      const i = queue.findIndex((id) => !h.lacks.has(hex(id)));
      if (i < 0) return;
      const [id] = queue.splice(i, 1);
      let bytes: Buffer;
      try {
        bytes = await p.bulk.getObject(h.peer, id, p.signal);
      } catch (err) {
        this.failed(h, id, err);
        continue;
      }
      while (this.storing.size >= STORE_AHEAD) await new Promise<void>((resolve) => this.storeFreed.push(resolve));
      this.store(h, id, bytes);
    }
  }

  /** Why a holder could not give chunk `id`: it lacks it, refused, failed, or sent bad bytes. */
  private failed(h: HolderState, id: Buffer, err: unknown): void {
    this.queue.push(id);
    if (this.p.signal?.aborted) return;
    if (err instanceof ObjectNotFoundError) h.lacks.add(hex(id));
    else this.holders.drop(h, err);
  }

  /** Verifies and stores a received chunk in the background; bad bytes put it back in the queue. */
  private store(h: HolderState, id: Buffer, bytes: Buffer): void {
    const run: Promise<void> = this.storeChunk(h, id, bytes)
      .catch((error: unknown) => void (this.localFailure ??= { error }))
      .finally(() => {
        this.p.bulk.release?.(bytes); // the store is done with them: hashed and written
        this.storing.delete(run);
        this.storeFreed.shift()?.();
      });
    this.storing.add(run);
  }

  private async storeChunk(h: HolderState, id: Buffer, bytes: Buffer): Promise<void> {
    const { p } = this;
    try {
      if (p.keepChunks === false) {
        if (!isIdOf(id, bytes)) throw new CasError("EHASHMISMATCH", `bytes do not hash to chunk ${hex(id)}`);
      } else await p.store.putVerified(id, bytes, { pin: "fetching", kind: "chunk" });
    } catch (err) {
      if (isHashMismatch(err)) return this.failed(h, id, err); // the holder's bytes
      throw err;
    }
    await p.onChunk?.(id, bytes);
    this.used.add(hex(h.peer.id));
    this.chunksDone++;
    this.bytesDone += this.sizeOf.get(hex(id)) ?? 0;
    this.bytesFetched += bytes.length;
    this.report();
  }
}
