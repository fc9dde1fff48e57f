// Sharing a file: stream it through the chunker, encrypt each chunk (private shares), store and pin
// everything as "own", then store the manifest. One pass over the file; memory stays bounded by the
// chunker's window plus the chunks in flight (at most CHUNKS_IN_FLIGHT, each at most the chunker's
// maximum size, twice for a private chunk: plaintext copy and ciphertext).
//
// Work per byte: the main thread reads and chunks the file (FastCDC); the per-chunk work (BLAKE3 of
// the plaintext, convergent key, AES-256-CTR, BLAKE3 of the stored bytes for its id) runs on a pool
// of worker threads (seal-pool.ts) for files of POOL_MIN_BYTES and more. The manifest's file digest is
// made from the chunks' digests (manifest.ts), so no pass over the whole file is left on the main thread. Chunks are sealed and written out of
// order, but each lands in its own slot of the manifest's chunk list, so the manifest is the same as
// a sequential share's: same objects, same content ID. Each chunk write still ends in an fsync before
// its rename (durable-write.ts); batching the fsyncs measured no faster (see README.md).

import * as fs from "node:fs";
import * as path from "node:path";
import { defaultChunker, MiB, type Chunker } from "./chunker";
import type { ContentStore } from "./content-store";
import { ConvergentKeys, loadOrCreateNodeSecret } from "./convergent-crypto";
import { sanitizeFileName } from "./file-name";
import { encodeManifest, fileDigestOfChunkDigests, MANIFEST_VERSION, type Manifest, type ManifestChunk } from "./manifest";
import { mediaTypeFor } from "./media-type";
import { withKnownId } from "./object-store";
import { defaultSealWorkers, inThreadSealer, startSealPool, type ChunkSealer, type FileBatchSealer, type SealedChunk, type SealMode, type SealPoolOptions } from "./seal-pool";
import { formatShareLink } from "./share-link";

export interface ShareOptions {
  /** Store plaintext objects readable by anyone with the content ID (default: private, encrypted). */
  public?: boolean;
  /** The team's convergence secret; default: this node's own secret from the data dir. */
  convergenceSecret?: Buffer;
  chunker?: Chunker;
  /**
   * Worker threads that seal chunks; 0 seals on the calling thread. Default: defaultSealWorkers()
   * for a file of POOL_MIN_BYTES or more, else 0. The result is the same either way.
   */
  sealWorkers?: number;
  /**
   * False: objects are written without an fsync each and the store's index is not saved; the
   * caller syncs them all at once (ContentStore.syncObjects) and flushes (a folder share). Default true.
   */
  durable?: boolean;
  /** The name the manifest gives the file; default: the file's own (a folder share names a symlinked file after its link). */
  name?: string;
  /** The file's size as the caller just found it (spares a stat; a folder share has it from its walk). */
  size?: number;
  /**
   * A sealer the caller owns and closes (a folder share's pool, shared by its files): used in place
   * of one of this share's own. It must seal in the share's mode (public, or this convergence secret).
   */
  sealer?: ChunkSealer;
  /**
   * The file's whole content, already read by the caller (a folder share reads each small file once,
   * for its secret check and for this), used in place of reading the file when it is one chunk.
   */
  contents?: Buffer;
  onProgress?(bytesDone: number, bytesTotal: number): void;
}

export interface ShareResult {
  contentId: string;
  link: string;
  /** The manifest key the link carries (private shares); null for public ones. */
  key: Buffer | null;
  manifest: Manifest;
  /** The manifest's id first, then each distinct chunk id in file order. */
  objectIds: Buffer[];
  /** Bytes newly written to the store (deduplicated objects cost nothing). */
  bytesWritten: number;
}

/** Chunks being sealed or written at once: keeps the workers and the disk busy, and bounds memory. */
const CHUNKS_IN_FLIGHT = 8;
/** Below this size a share seals on the calling thread: starting workers would cost more than it saves. */
export const POOL_MIN_BYTES = 16 * MiB;

export async function shareFile(store: ContentStore, filePath: string, options: ShareOptions = {}): Promise<ShareResult> {
  const mode = options.public ? "public" : "private";
  const convergenceSecret = mode === "private" ? (options.convergenceSecret ?? (await loadOrCreateNodeSecret(store.dir))) : null;
  const sealMode: SealMode = convergenceSecret ? { public: false, convergenceSecret } : { public: true };
  const chunker = options.chunker ?? defaultChunker();
  const given = options.contents !== undefined && options.contents.length <= chunker.wholeUpTo ? options.contents : null;
  const total = given?.length ?? options.size ?? (await fs.promises.stat(filePath)).size; // for progress and the pool choice only: the file may still change
  const workers = options.sealWorkers ?? (total >= POOL_MIN_BYTES ? defaultSealWorkers() : 0);
  const chunks: ManifestChunk[] = [];
  /** The digest of each chunk's plaintext, in file order (filled in as chunks are sealed). */
  const digests: Buffer[] = [];
  const tasks = new BoundedTasks(CHUNKS_IN_FLIGHT);
  let bytesWritten = 0;
  let done = 0;

  const durable = options.durable ?? true;
  const file = given ? null : await fs.promises.open(filePath, "r");
  let sealer: ChunkSealer | null = options.sealer ?? null;
  try {
    if (!options.sealer) sealer = workers > 0 ? startPoolOrNull(sealMode, { workers, bufferBytes: chunker.maxSize }) : null;
    sealer ??= inThreadSealer(sealMode, Math.min(chunker.maxSize, Math.max(total, 1)));
    // Views into the chunker's window, each handed to the sealer (which copies it, or seals it before
    // returning) before the next is asked for.
    for await (const plaintext of file ? chunksOf(file, total, chunker) : given!.length > 0 ? [given!] : []) {
      // The id, key and digest are filled in when the chunk is stored; drain() below waits for all of them.
      const chunk: ManifestChunk = { id: Buffer.alloc(0), size: plaintext.length, key: null };
      const slot = chunks.push(chunk) - 1;
      await tasks.add(
        sealer.seal(plaintext).then(async (sealed) => {
          try {
            const stored = await putChunk(store, sealed, durable);
            chunk.id = stored.chunk.id;
            chunk.key = stored.chunk.key;
            digests[slot] = sealed.digest;
            bytesWritten += stored.bytesWritten;
          } finally {
            sealed.release();
          }
        }),
      );
      done += plaintext.length;
      options.onProgress?.(done, Math.max(total, done));
    }
    await tasks.drain();
  } finally {
    await tasks.settle();
    if (sealer !== options.sealer) await sealer?.close();
    await file?.close();
  }

  const keys = convergenceSecret ? new ConvergentKeys(convergenceSecret) : null;
  const result = await putFileManifest(store, options.name ?? path.basename(filePath), { chunks, digests, size: done, bytesWritten }, keys, durable);
  if (durable) await store.flush();
  return result;
}

/** What a share stored of a file: its chunks in file order, their plaintext digests, its size and the bytes written. */
export interface StoredChunks {
  chunks: ManifestChunk[];
  digests: Buffer[];
  size: number;
  bytesWritten: number;
}

/** Stores a sealed chunk (pinned "own"): its manifest entry and the bytes written (0 when deduplicated). */
export async function putChunk(store: ContentStore, sealed: Omit<SealedChunk, "release">, durable: boolean): Promise<{ chunk: ManifestChunk; bytesWritten: number }> {
  const result = await store.put(withKnownId(sealed.data, sealed.id), { pin: "own", kind: "chunk", durable });
  return { chunk: { id: result.id, size: sealed.data.length, key: sealed.key }, bytesWritten: result.written ? sealed.data.length : 0 };
}

/**
 * The last step of a file's share, its chunks stored: its manifest (private when `keys` are given)
 * encoded and stored, pinned "own". `name` is sanitized here.
 */
export async function putFileManifest(store: ContentStore, name: string, stored: StoredChunks, keys: ConvergentKeys | null, durable: boolean): Promise<ShareResult> {
  const safeName = sanitizeFileName(name);
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    mode: keys ? "private" : "public",
    name: safeName,
    size: stored.size,
    mediaType: mediaTypeFor(safeName),
    digest: fileDigestOfChunkDigests(stored.digests),
    chunks: stored.chunks,
  };
  const encoded = encodeManifest(manifest, keys);
  const manifestPut = await store.put(encoded.bytes, { pin: "own", kind: "manifest", durable });
  const distinctChunkIds = new Map(stored.chunks.map((c) => [c.id.toString("hex"), c.id]));
  return {
    contentId: encoded.contentId,
    link: formatShareLink(encoded.contentId, encoded.key),
    key: encoded.key,
    manifest,
    objectIds: [manifestPut.id, ...distinctChunkIds.values()],
    bytesWritten: stored.bytesWritten + (manifestPut.written ? encoded.bytes.length : 0),
  };
}

/**
 * The file's chunks. A file no larger than the chunker's wholeUpTo is one chunk whatever the
 * chunker: it is read whole, sparing the chunker's window (16 MiB for FastCDC), which a folder of
 * thousands of small files would otherwise allocate and fault in once per file. A file that grew
 * since it was measured goes through the chunker after all.
 */
async function* chunksOf(file: fs.promises.FileHandle, total: number, chunker: Chunker): AsyncIterable<Buffer> {
  if (total <= chunker.wholeUpTo) {
    const buf = Buffer.allocUnsafe(total + 1);
    const { bytesRead } = await file.read(buf, 0, buf.length, 0);
    if (bytesRead <= total) {
      if (bytesRead > 0) yield buf.subarray(0, bytesRead);
      return;
    }
  }
  yield* chunker.chunkViews(file); // reads from the start: the read above did not move the file's position
}

/** A seal pool, or null (then the share seals in-thread) where worker threads cannot be started. */
export function startPoolOrNull(mode: SealMode, options: SealPoolOptions): (ChunkSealer & FileBatchSealer) | null {
  try {
    return startSealPool(mode, options);
  } catch {
    return null;
  }
}

/** Runs up to `limit` tasks at once; a failure surfaces from the next add() or from drain(). */
class BoundedTasks {
  private readonly pending = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;

  constructor(private readonly limit: number) {}

  /** Starts tracking `task`; resolves once there is room for another. */
  async add(task: Promise<void>): Promise<void> {
    const tracked: Promise<void> = task
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    while (this.pending.size >= this.limit) await Promise.race(this.pending);
    this.throwIfFailed();
  }

  async drain(): Promise<void> {
    await Promise.all(this.pending);
    this.throwIfFailed();
  }

  /** Waits for every task to end, without throwing: after a failure, nothing may still be writing. */
  async settle(): Promise<void> {
    await Promise.all(this.pending);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
