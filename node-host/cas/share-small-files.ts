// The files of a folder share that are one chunk each, shared in batches: a seal pool's worker reads
// and seals a batch (seal-files.ts) while the main thread screens, stores and writes the manifests of
// the one before. Each file's objects are the ones shareFile would store for it (the same sealing,
// the same manifest code: putChunk and putFileManifest), so its content ID is the same either way.

import * as path from "node:path";
import type { ContentStore } from "./content-store";
import type { ConvergentKeys } from "./convergent-crypto";
import type { FileBatchSealer, SealedFile } from "./seal-pool";
import { putChunk, putFileManifest, type ShareResult } from "./share";
import type { FolderFile, FolderScreen } from "./share-folder";
import { mapLimit } from "../util/concurrency";

/** A batch holds up to this many files... */
const BATCH_FILES = 64;
/** ...and this many bytes, past its first file: its buffer comes from the pool, one per batch in flight. */
const BATCH_BYTES = 1024 * 1024;
/**
 * Batches sealed or being stored at once: enough that a worker has the next batch while the main
 * thread stores one; with batches of at most BATCH_BYTES plus a chunk, this bounds what is in memory.
 */
const BATCHES_IN_FLIGHT = 4;

export interface SmallFilesContext {
  store: ContentStore;
  pool: FileBatchSealer;
  /** Null for a public share. */
  keys: ConvergentKeys | null;
  /** With literals: the pool was started with them (a head holding none needs no content check). */
  screen?: FolderScreen;
  /** Called as each file is done with. */
  onDone(f: FolderFile): void;
}

/**
 * What became of a file: shared, left out by the screen, or null when it was not what the walk found
 * (grown past one chunk, unreadable): the caller shares that one the ordinary way.
 */
export type SmallFileOutcome = { shared: ShareResult } | { leftOut: string } | null;

/** Shares `files` (each at most one chunk as walked), in batches on `ctx.pool`; the outcomes in order. */
export async function shareSmallFiles(files: readonly FolderFile[], ctx: SmallFilesContext): Promise<SmallFileOutcome[]> {
  const done = await mapLimit(batchesOf(files), BATCHES_IN_FLIGHT, async (batch) => {
    const sealed = await ctx.pool.sealFiles(batch.map((f) => ({ path: f.abs, size: f.size })));
    try {
      return await Promise.all(batch.map((f, i) => storeFile(f, sealed.files[i], ctx)));
    } finally {
      sealed.release(); // every write of the batch has ended (or failed): its buffer is free
    }
  });
  return done.flat();
}

function batchesOf(files: readonly FolderFile[]): FolderFile[][] {
  const batches: FolderFile[][] = [];
  let bytes = Infinity;
  for (const f of files) {
    if (bytes >= BATCH_BYTES || batches[batches.length - 1].length >= BATCH_FILES) {
      batches.push([]);
      bytes = 0;
    }
    batches[batches.length - 1].push(f);
    bytes += f.size;
  }
  return batches;
}

async function storeFile(f: FolderFile, sealed: SealedFile | null, ctx: SmallFilesContext): Promise<SmallFileOutcome> {
  if (sealed === null) return null;
  const reason = ctx.screen?.check(f.rel, sealed.head ?? EMPTY) ?? null;
  if (reason) {
    ctx.onDone(f);
    return { leftOut: reason };
  }
  const stored = sealed.chunk ? await putChunk(ctx.store, sealed.chunk, false) : null;
  const chunks = stored ? [stored.chunk] : [];
  const digests = sealed.chunk ? [sealed.chunk.digest] : [];
  const size = sealed.chunk?.data.length ?? 0;
  const shared = await putFileManifest(ctx.store, path.posix.basename(f.rel), { chunks, digests, size, bytesWritten: stored?.bytesWritten ?? 0 }, ctx.keys, false);
  ctx.onDone(f);
  return { shared };
}

const EMPTY = Buffer.alloc(0);
