// Reading shares back: open a manifest by content ID or link, list the chunks still to fetch, and
// turn chunks into plaintext, either as a stream (cat, the editor's file system) or as a file written
// atomically into a chosen directory (output-file.ts). Every chunk's stored bytes are checked against
// its id (the store re-hashes every object it reads), version 1 private chunks also against their
// AES-GCM tag, and the plaintext against the manifest's file digest.

import { constants as fsConstants, promises as fsp } from "node:fs";
import { Readable } from "node:stream";
import { chunkPlaintext } from "./chunk-plaintext";
import type { ContentStore } from "./content-store";
import { CasError } from "./errors";
import { decodeManifest, FileDigest, type Manifest } from "./manifest";
import { OutputFile, type AssembleOptions, type AssembleTarget } from "./output-file";
import { parseShareLink } from "./share-link";

/** Loads and decodes the manifest a link (or bare content ID, for public shares) names. */
export async function openManifest(store: ContentStore, contentIdOrLink: string): Promise<Manifest> {
  const { contentId, key } = parseShareLink(contentIdOrLink);
  const bytes = await store.get(Buffer.from(contentId, "hex"));
  if (bytes === null) throw new CasError("ENOTFOUND", `manifest ${contentId} is not in the store`);
  return decodeManifest(bytes, key);
}

/** The distinct chunk object ids of `manifest` that the store does not hold yet. */
export async function missingChunks(store: ContentStore, manifest: Manifest): Promise<Buffer[]> {
  const missing = new Map<string, Buffer>();
  for (const chunk of manifest.chunks) {
    const hex = chunk.id.toString("hex");
    if (!missing.has(hex) && !(await store.has(chunk.id))) missing.set(hex, chunk.id);
  }
  return [...missing.values()];
}

/** Chunks read (and hash-checked) ahead of the one being decrypted and emitted. */
const READ_AHEAD = 4;

/** The plaintext chunk by chunk, each in a buffer of its own, reading READ_AHEAD chunks ahead; fails if the file digest differs. */
async function* plaintextChunks(store: ContentStore, manifest: Manifest): AsyncGenerator<Buffer> {
  const fileDigest = new FileDigest(manifest.version);
  const { chunks } = manifest;
  const loads: Promise<Buffer | null>[] = [];
  const load = (i: number): void => {
    if (i >= chunks.length) return;
    const pending = store.objects.get(chunks[i].id);
    pending.catch(() => undefined); // a read-ahead abandoned by an early return must not go unhandled
    loads[i] = pending;
  };
  for (let i = 0; i < READ_AHEAD; i++) load(i);
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i];
    const stored = await loads[i];
    delete loads[i];
    load(i + READ_AHEAD);
    if (!stored) throw new CasError("EMISSINGCHUNK", `chunk ${chunk.id.toString("hex")} is missing or corrupt`);
    const plaintext = chunkPlaintext(chunk, stored, manifest.version);
    fileDigest.addChunk(plaintext);
    yield plaintext;
  }
  if (!fileDigest.matches(manifest.digest)) {
    throw new CasError("EHASHMISMATCH", "assembled file does not match the manifest's file digest");
  }
}

/**
 * The file's plaintext as a byte stream. Chunks are verified before they are emitted; a file digest
 * mismatch (only possible with a forged manifest) ends the stream with an error.
 */
export function readContent(store: ContentStore, manifest: Manifest): Readable {
  return Readable.from(plaintextChunks(store, manifest), { objectMode: false });
}

/**
 * Writes the file into `target.dir` under the manifest's name, or to exactly `target.path`, from the
 * chunks in the store (output-file.ts: a temp file beside the target, verified against the file
 * digest, fsynced and renamed into place, so the target is either absent or complete). Returns the
 * path written. A fetch writes the same way as chunks arrive.
 */
export async function assembleFile(store: ContentStore, manifest: Manifest, target: AssembleTarget, options: AssembleOptions = {}): Promise<string> {
  const output = await OutputFile.create(manifest, target, options);
  try {
    await output.fillFrom(store);
  } catch (err) {
    await output.discard();
    throw err;
  }
  return output.commit();
}

/**
 * Whether the file at `file` is exactly the manifest's: its size, then its plaintext read chunk by
 * chunk (the manifest's chunk sizes) against the manifest's file digest. A folder fetch that resumes
 * keeps such files instead of fetching them again.
 */
export async function fileMatches(file: string, manifest: Manifest): Promise<boolean> {
  let fh;
  try {
    fh = await fsp.open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size !== manifest.size) return false;
    const digest = new FileDigest(manifest.version);
    const buf = Buffer.allocUnsafe(manifest.chunks.reduce((n, c) => Math.max(n, c.size), 1));
    let offset = 0;
    for (const chunk of manifest.chunks) {
      const { bytesRead } = await fh.read(buf, 0, chunk.size, offset);
      if (bytesRead !== chunk.size) return false;
      digest.addChunk(buf.subarray(0, chunk.size));
      offset += chunk.size;
    }
    return digest.matches(manifest.digest);
  } finally {
    await fh.close();
  }
}
