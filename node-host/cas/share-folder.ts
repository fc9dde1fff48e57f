// Sharing a folder: each file is shared as a file is (shareFile: chunked, sealed, stored and pinned
// "own", deduplicated against every object already in the store), several at once, then the folder
// manifest (folder-manifest.ts) lists them by path and gets the content ID.
//
// Durability is made in one go: a folder of 10,000 small files is 20,000 objects, and an fsync each
// (four at a time, on libuv's thread pool) took longer than all the rest of the share. So the
// objects are written without one, then the store syncs them together (ContentStore.syncObjects: one
// syncfs on Linux) and only then saves its index, which is what makes them pinned and the share
// real. A crash before that leaves unpinned objects (cache) and no share.

import * as path from "node:path";
import type { ContentStore } from "./content-store";
import { ConvergentKeys, loadOrCreateNodeSecret } from "./convergent-crypto";
import { sanitizeFileName } from "./file-name";
import { encodeFolder, type FolderEntry, type FolderSummary } from "./folder-manifest";
import { defaultChunker } from "./chunker";
import { defaultSealWorkers, type SealMode } from "./seal-pool";
import { POOL_MIN_BYTES, shareFile, startPoolOrNull } from "./share";
import { formatShareLink } from "./share-link";
import { Limiter, mapLimit } from "../util/concurrency";

/** A file to share as part of a folder. */
export interface FolderFile {
  /** Its path in the folder, "/"-separated. */
  rel: string;
  /** Where its bytes are read from. */
  abs: string;
  size: number;
  executable: boolean;
}

export interface FolderShareOptions {
  public?: boolean;
  /** The team's convergence secret; default: this node's own secret from the data dir. */
  convergenceSecret?: Buffer;
  onProgress?(bytesDone: number, bytesTotal: number): void;
}

export interface FolderShareResult {
  contentId: string;
  link: string;
  summary: FolderSummary;
  /** Every object of the folder: the root manifest first, its parts, then the files' manifests and chunks (distinct). */
  objectIds: Buffer[];
  /** Distinct chunks of all its files. */
  chunks: number;
  bytesWritten: number;
}

/** Files shared at once: small files are mostly waiting on the disk, so several keep it busy. */
const FILES_PARALLEL = 8;
/**
 * Files sealed on the folder's worker pool at once (those larger than one chunk can be): each has up
 * to 8 chunks in flight, and the pool's buffers are chunk-sized, so this bounds memory.
 */
const POOLED_FILES_PARALLEL = 4;

/** Shares the folder `name` made of `files` and (every) `dirs`, all relative paths. */
export async function shareFolder(store: ContentStore, name: string, files: FolderFile[], dirs: string[], options: FolderShareOptions = {}): Promise<FolderShareResult> {
  const mode = options.public ? "public" : "private";
  const convergenceSecret = mode === "private" ? (options.convergenceSecret ?? (await loadOrCreateNodeSecret(store.dir))) : undefined;
  const total = files.reduce((n, f) => n + f.size, 0);
  const done = new Map<string, number>();
  let doneBytes = 0;
  const progress = (rel: string, bytes: number) => {
    doneBytes += bytes - (done.get(rel) ?? 0);
    done.set(rel, bytes);
    options.onProgress?.(doneBytes, Math.max(total, doneBytes));
  };
  // One pool of sealing workers for the whole folder (files of a chunk or less seal in-thread: a
  // trip to a worker costs more than sealing them), so files of a few MiB use the other cores too.
  const chunker = defaultChunker();
  const sealMode: SealMode = convergenceSecret ? { public: false, convergenceSecret } : { public: true };
  const pooledBytes = files.filter((f) => f.size > chunker.wholeUpTo).reduce((n, f) => n + f.size, 0);
  const pool = pooledBytes >= POOL_MIN_BYTES ? startPoolOrNull(sealMode, defaultSealWorkers(), chunker.maxSize) : null;
  const pooled = new Limiter(POOLED_FILES_PARALLEL);
  let shared: { entry: FolderEntry; objectIds: Buffer[]; bytesWritten: number }[];
  try {
    shared = await mapLimit(files, FILES_PARALLEL, async (f) => {
      const onPool = pool !== null && f.size > chunker.wholeUpTo;
      const share = () =>
        shareFile(store, f.abs, { public: options.public, convergenceSecret, durable: false, name: path.posix.basename(f.rel), size: f.size, chunker, sealWorkers: 0, ...(onPool ? { sealer: pool } : {}), onProgress: (n) => progress(f.rel, n) });
      const r = await (onPool ? pooled.run(share) : share());
      const entry: FolderEntry = { kind: "file", path: f.rel, size: r.manifest.size, executable: f.executable, manifestId: Buffer.from(r.contentId, "hex"), manifestKey: r.key };
      return { entry, objectIds: r.objectIds, bytesWritten: r.bytesWritten };
    });
  } finally {
    await pool?.close();
  }
  const entries: FolderEntry[] = [...dirs.map((d): FolderEntry => ({ kind: "dir", path: d, size: 0, executable: false, manifestId: null, manifestKey: null })), ...shared.map((s) => s.entry)];
  const summary: FolderSummary = { name: sanitizeFileName(name), files: files.length, dirs: dirs.length, size: shared.reduce((n, s) => n + s.entry.size, 0) };
  const objectsOf = new Map(shared.map((s) => [s.entry.manifestId!.toString("hex"), s.objectIds]));
  const { root, parts } = encodeFolder({ summary, mode, entries, objectsOf }, convergenceSecret ? new ConvergentKeys(convergenceSecret) : null);
  let bytesWritten = shared.reduce((n, s) => n + s.bytesWritten, 0);
  for (const o of [...parts, root]) if ((await store.put(o.bytes, { pin: "own", kind: "manifest", durable: false })).written) bytesWritten += o.bytes.length;

  const distinct = new Map<string, Buffer>();
  for (const id of [root.id, ...parts.map((p) => p.id), ...shared.flatMap((s) => s.objectIds)]) distinct.set(id.toString("hex"), id);
  const objectIds = [...distinct.values()];
  await store.syncObjects(objectIds);
  await store.flush();
  const manifests = new Set(shared.map((s) => s.entry.manifestId!.toString("hex")));
  return {
    contentId: root.id.toString("hex"),
    link: formatShareLink(root.id.toString("hex"), root.key),
    summary,
    objectIds,
    chunks: objectIds.length - 1 - parts.length - manifests.size,
    bytesWritten,
  };
}
