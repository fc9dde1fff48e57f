// Sharing a file: stream it through the chunker, encrypt each chunk (private shares), store and pin
// everything as "own", then store the manifest. One pass over the file; memory stays bounded by the
// chunker's window plus a few chunks being written.

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultChunker, type Chunker } from "./chunker";
import type { ContentStore } from "./content-store";
import { ConvergentKeys, loadOrCreateNodeSecret, sealParts } from "./convergent-crypto";
import { sanitizeFileName } from "./file-name";
import { encodeManifest, MANIFEST_VERSION, type Manifest, type ManifestChunk } from "./manifest";
import { mediaTypeFor } from "./media-type";
import { byteLength } from "./object-store";
import { formatShareLink } from "./share-link";

export interface ShareOptions {
  /** Store plaintext objects readable by anyone with the content ID (default: private, encrypted). */
  public?: boolean;
  /** The team's convergence secret; default: this node's own secret from the data dir. */
  convergenceSecret?: Buffer;
  chunker?: Chunker;
  onProgress?(bytesDone: number, bytesTotal: number): void;
}

export interface ShareResult {
  contentId: string;
  link: string;
  manifest: Manifest;
  /** The manifest's id first, then each distinct chunk id in file order. */
  objectIds: Buffer[];
  /** Bytes newly written to the store (deduplicated objects cost nothing). */
  bytesWritten: number;
}

/** Chunk writes (each ends in an fsync) overlap with reading and encrypting the next chunks. */
const WRITES_IN_FLIGHT = 4;

export async function shareFile(store: ContentStore, filePath: string, options: ShareOptions = {}): Promise<ShareResult> {
  const mode = options.public ? "public" : "private";
  const keys = mode === "private" ? new ConvergentKeys(options.convergenceSecret ?? (await loadOrCreateNodeSecret(store.dir))) : null;
  const chunker = options.chunker ?? defaultChunker();
  const total = (await fs.promises.stat(filePath)).size; // for progress only: the file may still change
  const wholeFile = createHash("sha256");
  const chunks: ManifestChunk[] = [];
  const writes = new BoundedTasks(WRITES_IN_FLIGHT);
  let bytesWritten = 0;
  let done = 0;

  const file = await fs.promises.open(filePath, "r");
  try {
    // Views into the chunker's window: each is hashed and encrypted (or copied, when public) before the next.
    for await (const plaintext of chunker.chunkViews(file)) {
      wholeFile.update(plaintext);
      const key = keys ? keys.chunkKey(plaintext) : null;
      const stored = key ? sealParts(key, plaintext) : Buffer.from(plaintext);
      const storedSize = byteLength(stored);
      // The id is filled in when the write resolves; drain() below waits for all of them.
      const chunk: ManifestChunk = { id: Buffer.alloc(0), size: plaintext.length, key };
      chunks.push(chunk);
      await writes.add(
        store.put(stored, { pin: "own", kind: "chunk" }).then((result) => {
          chunk.id = result.id;
          if (result.written) bytesWritten += storedSize;
        }),
      );
      done += plaintext.length;
      options.onProgress?.(done, Math.max(total, done));
    }
  } finally {
    await file.close();
  }
  await writes.drain();

  const name = sanitizeFileName(path.basename(filePath));
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    mode,
    name,
    size: done,
    mediaType: mediaTypeFor(name),
    sha256: wholeFile.digest(),
    chunks,
  };
  const encoded = encodeManifest(manifest, keys);
  const manifestPut = await store.put(encoded.bytes, { pin: "own", kind: "manifest" });
  if (manifestPut.written) bytesWritten += encoded.bytes.length;
  await store.flush();

  const distinctChunkIds = new Map(chunks.map((c) => [c.id.toString("hex"), c.id]));
  return {
    contentId: encoded.contentId,
    link: formatShareLink(encoded.contentId, encoded.key),
    manifest,
    objectIds: [manifestPut.id, ...distinctChunkIds.values()],
    bytesWritten,
  };
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

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
