// Reading shares back: open a manifest by content ID or link, list the chunks still to fetch, and
// turn chunks into plaintext, either as a stream (cat, the editor's file system) or as a file written
// atomically into a chosen directory. Every chunk's stored bytes are checked against its id (the store
// re-hashes every object it reads), version 1 private chunks also against their AES-GCM tag, and the
// plaintext against the manifest's file digest.

import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import type { ContentStore } from "./content-store";
import { cryptChunk, open, TAG_BYTES } from "./convergent-crypto";
import { renameDurably } from "./durable-write";
import { CasError } from "./errors";
import { isSafeFileName } from "./file-name";
import { decodeManifest, FileDigest, MANIFEST_VERSION, type Manifest, type ManifestChunk, type ManifestVersion } from "./manifest";
import { isIdOf } from "./object-hash";
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

/**
 * A chunk's plaintext from its stored bytes (e.g. just fetched from a peer): checks the bytes hash to
 * the chunk's id, then decrypts them for private shares.
 */
export function openChunk(chunk: ManifestChunk, stored: Buffer, version: ManifestVersion = MANIFEST_VERSION): Buffer {
  if (!isIdOf(chunk.id, stored)) {
    throw new CasError("EHASHMISMATCH", `bytes do not hash to chunk ${chunk.id.toString("hex")}`);
  }
  return decryptChunk(chunk, stored, version);
}

/** openChunk for bytes already checked against the chunk's id (the store's reads are); `out` as in cryptChunk. */
function decryptChunk(chunk: ManifestChunk, stored: Buffer, version: ManifestVersion, out?: Buffer): Buffer {
  const plaintext = !chunk.key ? stored : version === 1 ? open(chunk.key, stored) : cryptChunk(chunk.key, stored, out);
  if (plaintext.length !== chunk.size) {
    throw new CasError("EHASHMISMATCH", `chunk ${chunk.id.toString("hex")} is ${plaintext.length} bytes, the manifest says ${chunk.size}`);
  }
  return plaintext;
}

/** Chunks read (and hash-checked) ahead of the one being decrypted and written. */
const READ_AHEAD = 4;

/** Reusable buffers for plaintextChunks: READ_AHEAD + 1 to read into, one to decrypt into. */
interface ChunkBuffers {
  read: Buffer[];
  plain: Buffer;
}

function chunkBuffersFor(manifest: Manifest): ChunkBuffers {
  // stored bytes of a chunk: its plaintext size, plus the GCM tag of a version 1 private chunk
  const largest = manifest.chunks.reduce((n, c) => Math.max(n, c.size), 0) + (manifest.version === 1 ? TAG_BYTES : 0);
  const read = Array.from({ length: Math.min(READ_AHEAD + 1, manifest.chunks.length) }, () => Buffer.allocUnsafe(largest));
  return { read, plain: Buffer.allocUnsafe(largest) };
}

/**
 * The plaintext chunk by chunk, reading READ_AHEAD chunks ahead; fails if the file digest differs.
 * With `buffers`, each chunk yielded is a view of them, valid only until the next one is asked for
 * (the caller writes it out first); without, each is a buffer of its own.
 */
async function* plaintextChunks(store: ContentStore, manifest: Manifest, buffers?: ChunkBuffers): AsyncGenerator<Buffer> {
  const fileDigest = new FileDigest(manifest.version);
  const { chunks } = manifest;
  const loads: Promise<Buffer | null>[] = [];
  const load = (i: number): void => {
    if (i >= chunks.length) return;
    // chunk i's buffer was last used by chunk i - READ_AHEAD - 1, which has been written out by now
    const pending = store.objects.get(chunks[i].id, buffers?.read[i % buffers.read.length]);
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
    const plaintext = decryptChunk(chunk, stored, manifest.version, buffers?.plain);
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

export type AssembleTarget = { dir: string } | { path: string };

export interface AssembleOptions {
  /** Replace an existing file at the target path (default: fail with EEXIST). */
  overwrite?: boolean;
}

/**
 * Writes the file into `target.dir` under the manifest's name, or to exactly `target.path`. The bytes
 * go to a temp file in the same directory, are verified against the file digest, fsynced and
 * renamed into place, so the target is either absent or complete. Returns the path written.
 */
export async function assembleFile(store: ContentStore, manifest: Manifest, target: AssembleTarget, options: AssembleOptions = {}): Promise<string> {
  const finalPath = resolveTarget(manifest, target);
  const dir = path.dirname(finalPath);
  const tmp = path.join(dir, `.${randomBytes(6).toString("hex")}.peershare-part`);
  const fh = await fsp.open(tmp, "wx", 0o644);
  try {
    try {
      for await (const plaintext of plaintextChunks(store, manifest, chunkBuffersFor(manifest))) await fh.write(plaintext);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (!options.overwrite && (await exists(finalPath))) throw new CasError("EEXIST", `${finalPath} already exists`);
    await renameDurably(tmp, finalPath);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  return finalPath;
}

function resolveTarget(manifest: Manifest, target: AssembleTarget): string {
  if ("path" in target) return path.resolve(target.path);
  // decodeManifest already rejects unsafe names; checked again because this is where it matters.
  if (!isSafeFileName(manifest.name)) throw new CasError("EBADMANIFEST", `unsafe file name ${JSON.stringify(manifest.name)}`);
  const dir = path.resolve(target.dir);
  const finalPath = path.join(dir, manifest.name);
  if (path.dirname(finalPath) !== dir) throw new CasError("EBADMANIFEST", `file name escapes ${dir}`);
  return finalPath;
}

async function exists(file: string): Promise<boolean> {
  return fsp.stat(file).then(
    () => true,
    () => false,
  );
}
