// Sharing a folder: each file is shared as a file is (shareFile: chunked, sealed, stored and pinned
// "own", deduplicated against every object already in the store), several at once, then the folder
// manifest (folder-manifest.ts) lists them by path and gets the content ID.
//
// Durability is made in one go: a folder of 10,000 small files is 20,000 objects, and an fsync each
// (four at a time, on libuv's thread pool) took longer than all the rest of the share. So the
// objects are written without one, then the store syncs them together (ContentStore.syncObjects: one
// syncfs on Linux) and only then saves its index, which is what makes them pinned and the share
// real. A crash before that leaves unpinned objects (cache) and no share.

import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { ContentStore } from "./content-store";
import { ConvergentKeys, loadOrCreateNodeSecret } from "./convergent-crypto";
import { sanitizeFileName } from "./file-name";
import { encodeFolder, type FolderEntry, type FolderSummary } from "./folder-manifest";
import { defaultChunker } from "./chunker";
import { batchSealWorkers, defaultSealWorkers, type SealMode } from "./seal-pool";
import { POOL_MIN_BYTES, shareFile, startPoolOrNull, type ShareResult } from "./share";
import { shareSmallFiles } from "./share-small-files";
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

/**
 * A check of each file's first bytes before it is shared (safe publishing's secret patterns): a
 * reason leaves the file out. A file of one chunk is read once, for this and for its share.
 */
export interface FolderScreen {
  /** How many of a file's first bytes `check` is given (all of a smaller file). */
  headBytes: number;
  check(rel: string, head: Buffer): string | null;
  /**
   * Byte strings at least one of which a head must hold for its content to matter: check(rel, head)
   * is check(rel, empty head) for any other. With them, the workers that read small files look for
   * them, and only the heads that hold one come back to be checked.
   */
  literals?: Uint8Array[];
}

export interface FolderShareOptions {
  screen?: FolderScreen;
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
  /** Files the screen left out, each with its reason. */
  leftOut: { path: string; reason: string }[];
}

/** Files shared at once: small files are mostly waiting on the disk, so several keep it busy. */
const FILES_PARALLEL = 8;
/**
 * Files sealed on the folder's worker pool at once (those larger than one chunk can be): each has up
 * to 8 chunks in flight, and the pool's buffers are chunk-sized, so this bounds memory.
 */
const POOLED_FILES_PARALLEL = 4;

/** Below this many bytes in files of one chunk, starting a worker for them costs more than it saves. */
const BATCHES_MIN_BYTES = 4 * 1024 * 1024;

type Shared = { entry: FolderEntry; objectIds: Buffer[]; bytesWritten: number };

function sharedOf(f: FolderFile, r: ShareResult): Shared {
  const entry: FolderEntry = { kind: "file", path: f.rel, size: r.manifest.size, executable: f.executable, manifestId: Buffer.from(r.contentId, "hex"), manifestKey: r.key };
  return { entry, objectIds: r.objectIds, bytesWritten: r.bytesWritten };
}

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
  // One pool of sealing workers for the whole folder: files of one chunk go to it in batches (a
  // trip to a worker per file cost more than sealing it), larger ones chunk by chunk.
  const chunker = defaultChunker();
  const keys = convergenceSecret ? new ConvergentKeys(convergenceSecret) : null;
  const sealMode: SealMode = convergenceSecret ? { public: false, convergenceSecret } : { public: true };
  const isSmall = (f: FolderFile) => f.size <= chunker.wholeUpTo;
  // a screen without literals needs every head on the main thread: its files are shared one by one
  const batchable = !options.screen || options.screen.literals !== undefined;
  const pooledBytes = files.filter((f) => !isSmall(f)).reduce((n, f) => n + f.size, 0);
  const smallBytes = batchable ? files.filter(isSmall).reduce((n, f) => n + f.size, 0) : 0;
  const headScreen = options.screen?.literals ? { literals: options.screen.literals, headBytes: options.screen.headBytes } : undefined;
  const workers = smallBytes > pooledBytes ? batchSealWorkers() : defaultSealWorkers();
  const pool = pooledBytes >= POOL_MIN_BYTES || smallBytes >= BATCHES_MIN_BYTES ? startPoolOrNull(sealMode, { workers, bufferBytes: chunker.maxSize, screen: headScreen }) : null;
  const pooled = new Limiter(POOLED_FILES_PARALLEL);
  const leftOut: FolderShareResult["leftOut"] = [];
  const outcomes = new Array<Shared | null>(files.length).fill(null);
  const shareAlone = async (i: number) => {
    const f = files[i];
    const screened = options.screen ? await screen(f, options.screen, chunker.wholeUpTo) : null;
    if (screened?.reason) {
      leftOut.push({ path: f.rel, reason: screened.reason });
      progress(f.rel, f.size);
      return;
    }
    const onPool = pool !== null && !isSmall(f);
    const share = () =>
      shareFile(store, f.abs, { public: options.public, convergenceSecret, durable: false, name: path.posix.basename(f.rel), size: f.size, chunker, sealWorkers: 0, contents: screened?.whole ?? undefined, ...(onPool ? { sealer: pool } : {}), onProgress: (n) => progress(f.rel, n) });
    outcomes[i] = sharedOf(f, await (onPool ? pooled.run(share) : share()));
  };
  try {
    const indices = files.map((_, i) => i);
    const inBatches = pool && batchable ? indices.filter((i) => isSmall(files[i])) : [];
    const batched = new Set(inBatches);
    const [fromBatches] = await Promise.all([
      pool && inBatches.length > 0 ? shareSmallFiles(inBatches.map((i) => files[i]), { store, pool, keys, screen: options.screen, onDone: (f) => progress(f.rel, f.size) }) : [],
      mapLimit(indices.filter((i) => !batched.has(i)), FILES_PARALLEL, shareAlone),
    ]);
    const again: number[] = [];
    for (const [k, o] of fromBatches.entries()) {
      const i = inBatches[k];
      if (o === null) again.push(i);
      else if ("leftOut" in o) leftOut.push({ path: files[i].rel, reason: o.leftOut });
      else outcomes[i] = sharedOf(files[i], o.shared);
    }
    await mapLimit(again, FILES_PARALLEL, shareAlone); // changed since the walk: read as any file is
  } finally {
    await pool?.close();
  }
  const shared = outcomes.filter((o) => o !== null);
  const entries: FolderEntry[] = [...dirs.map((d): FolderEntry => ({ kind: "dir", path: d, size: 0, executable: false, manifestId: null, manifestKey: null })), ...shared.map((s) => s.entry)];
  const summary: FolderSummary = { name: sanitizeFileName(name), files: shared.length, dirs: dirs.length, size: shared.reduce((n, s) => n + s.entry.size, 0) };
  const objectsOf = new Map(shared.map((s) => [s.entry.manifestId!.toString("hex"), s.objectIds]));
  const { root, parts } = encodeFolder({ summary, mode, entries, objectsOf }, keys);
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
    leftOut: leftOut.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
}

/**
 * Screens a file: a file of one chunk is read whole (`whole`, handed to its share, so it is read
 * once), a larger one only its head. `reason` when the screen leaves it out.
 */
async function screen(f: FolderFile, s: FolderScreen, wholeUpTo: number): Promise<{ reason: string | null; whole: Buffer | null }> {
  if (f.size <= wholeUpTo) {
    const bytes = await readUpTo(f.abs, f.size + 1);
    const whole = bytes.length <= f.size ? bytes : null; // grown since the walk: shared from the file
    return { reason: s.check(f.rel, bytes.subarray(0, s.headBytes)), whole };
  }
  return { reason: s.check(f.rel, await readUpTo(f.abs, s.headBytes)), whole: null };
}

/** Up to `length` bytes from the start of a file (fewer only when it is shorter). */
async function readUpTo(file: string, length: number): Promise<Buffer> {
  const fh = await fsp.open(file, "r");
  try {
    const buf = Buffer.allocUnsafe(length);
    let n = 0;
    for (let got = -1; got !== 0 && n < length; n += got) got = (await fh.read(buf, n, length - n, n)).bytesRead;
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}
