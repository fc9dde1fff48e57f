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

const isHashMismatch = (err: unknown) => err instanceof CasError && err.code === "EHASHMISMATCH";

/** The holders a fetch knows of: those still asked, those dropped, and why some refused. */
class Holders {
  private readonly all = new Map<string, HolderState>();
  /** Holders that sent bytes not matching their hash (not taken back when found again). */
  readonly bad: string[] = [];
  /** Why holders refused this node (access policy), one entry per refusing holder. */
  private readonly refusals: string[] = [];

  constructor(
    private readonly find: () => Promise<BulkPeer[]>,
    /** How often find may be asked again once every holder has failed. */
    private refreshesLeft: number,
  ) {}

  get size(): number {
    return this.all.size;
  }

  /** Asks for holders; true when new ones turned up. */
  async refresh(): Promise<boolean> {
    const found = await this.find();
    let added = false;
    for (const peer of found) {
      const key = hex(peer.id);
      if (this.all.has(key) || this.bad.includes(key)) continue;
      this.all.set(key, { peer, lacks: new Set(), dropped: false });
      added = true;
    }
    return added;
  }

  /** Asks for holders again, unless that was done holderRefreshes times already; true when new ones turned up. */
  async refreshAgain(): Promise<boolean> {
    return this.refreshesLeft-- > 0 && (await this.refresh());
  }

  live(): HolderState[] {
    return [...this.all.values()].filter((h) => !h.dropped);
  }

  get(peer: BulkPeer): HolderState | undefined {
    return this.all.get(hex(peer.id));
  }

  /** A holder failed a request: it is asked no more; a refusal is noted, bad bytes mark it bad. */
  drop(h: HolderState, err: unknown): void {
    if (h.dropped) return; // several of its request loops may fail at once
    if (err instanceof AccessDeniedError) this.refusals.push(err.message);
    h.dropped = true;
    if (isHashMismatch(err)) this.bad.push(hex(h.peer.id));
  }

  /** The error of a fetch that could not go on: a refusal when every holder that answered refused. */
  failure(what: string): FetchError {
    return nothingFetched(what, this.all.size, this.refusals);
  }
}

export async function fetchContent(p: FetchParams): Promise<FetchResult> {
  const started = performance.now();
  const { contentId } = parseShareLink(p.link);
  const holders = new Holders(p.findHolders, p.holderRefreshes ?? 3);
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
  const manifestId = Buffer.from(contentId, "hex");
  if (!(await p.store.has(manifestId))) {
    await holders.refresh();
    const failed = (peer: BulkPeer, err: unknown) => holders.drop(holders.get(peer)!, err);
    const peers = holders.live().map((h) => h.peer);
    const got = await fetchFromFirst(p.store, p.bulk, peers, manifestId, { pin: "fetching", kind: "manifest" }, failed, p.signal);
    if (!got) throw holders.failure(holders.size === 0 ? `no node holds ${contentId} (no provider records found)` : `none of the ${holders.size} holder(s) of ${contentId} could send its manifest`);
  }
  const manifest = await openManifest(p.store, p.link);
  await p.store.pin([manifestId], "fetching");
  return manifest;
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
