// The file a fetch writes: chunks go in as they arrive, in any order, each decrypted and written at
// its place (every place, when the same chunk occurs more than once) in a temp file beside the target.
// commit() checks that every chunk is in, that the plaintext matches the manifest's file digest, then
// fsyncs and renames the temp file into place, so the target is either absent or complete.
//
// The temp file is named after its target (.NAME.peershare-part). A fetch that fails or is paused
// leaves it (suspend()), and so does one that is killed; the next fetch to the same target opens it
// again and keeps each chunk found at its place that, sealed again with the manifest's key, hashes to
// the chunk's id (recover()), so only the rest is fetched. A chunk torn by a power cut fails that
// check and is fetched again. The file is the fetch's only copy: fetched chunks do not also go into
// the store (writing every byte twice made a fetch a third slower on the 2-core machine).
//
// Why while the transfer runs rather than after it: writing 1 GiB out of the store afterwards (read,
// decrypt, the kernel's copy into the page cache, then an fsync that waits for all of it to reach the
// disk) took as long as the transfer itself on the 2-core machine. Done as chunks arrive, the same
// work overlaps with the network, and the fdatasync every SYNC_EVERY_BYTES gets the disk writing
// early, so the fsync at the end finds little left to do.

import { constants as fsConstants, createReadStream, promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";
import { BufferPool } from "../util/buffer-pool";
import { chunkPlaintext, isPlaintextOf } from "./chunk-plaintext";
import type { ContentStore } from "./content-store";
import { TAG_BYTES } from "./convergent-crypto";
import { renameDurably, writeAll } from "./durable-write";
import { CasError } from "./errors";
import { isSafeFileName } from "./file-name";
import { localFileName } from "../platform/local-file-name";
import { FileDigest, fileDigestOfChunkDigests, hashOfVersion, type Manifest, type ManifestChunk } from "./manifest";
import { sha256 } from "./object-hash";

export type AssembleTarget = { dir: string } | { path: string };

export interface AssembleOptions {
  /** Replace an existing file at the target path (default: fail with EEXIST). */
  overwrite?: boolean;
  /** Make the file executable (where its read bits are set: the umask still applies). */
  executable?: boolean;
  /** fsync the target's directory after the rename (default true); a folder fetch syncs each directory once at the end. */
  syncDir?: boolean;
}

/** Where a distinct chunk goes: its manifest entry, and the indexes of its places in the file. */
interface Placement {
  chunk: ManifestChunk;
  indexes: number[];
}

/** Chunks read at once by fillFrom and recover(). */
const READ_AHEAD = 4;
/** Bytes written between the fdatasyncs that start the disk writing before commit(). */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

/** Temp files being written by this process: a second fetch to the same target must not take one over. */
const partsInUse = new Set<string>();

/** Decryption buffers, shared by every output file: at most a few chunks are in flight per fetch. */
const buffers = new BufferPool(8 * 1024 * 1024, 32 * 1024 * 1024);

export class OutputFile {
  private readonly placements = new Map<string, Placement>();
  /** Byte offset of each chunk of the manifest, by index. */
  private readonly offsets: number[] = [];
  /** Plaintext digest of each chunk, by index (versions 2 and 3 make the file digest from them). */
  private readonly digests: (Buffer | undefined)[];
  /** Chunks (by id) whose writing has started; a chunk is written once. */
  private readonly started = new Set<string>();
  private readonly writing = new Set<Promise<void>>();
  private chunksWritten = 0;
  private recovered = 0;
  private unsyncedBytes = 0;
  private syncing: Promise<void> | null = null;
  private failure: { error: unknown } | null = null;
  private closed = false;
  /** Committed or discarded. */
  private finished = false;

  private constructor(
    readonly manifest: Manifest,
    /** Where commit() puts the file. */
    readonly finalPath: string,
    private readonly tmpPath: string,
    private readonly fh: FileHandle,
    private readonly options: AssembleOptions,
  ) {
    let offset = 0;
    manifest.chunks.forEach((chunk, index) => {
      this.offsets.push(offset);
      offset += chunk.size;
      const hex = chunk.id.toString("hex");
      const placement = this.placements.get(hex);
      if (placement) placement.indexes.push(index);
      else this.placements.set(hex, { chunk, indexes: [index] });
    });
    this.digests = new Array(manifest.chunks.length);
  }

  /**
   * Opens the temp file for `manifest`'s file at `target` (a directory, where it goes under the
   * manifest's name, or an exact path): the one an earlier fetch to the same target left, whose right
   * chunks count as written, or a new one. Fails at once with EEXIST when the target exists and
   * `overwrite` is not set, rather than after the transfer.
   */
  static async create(manifest: Manifest, target: AssembleTarget, options: AssembleOptions = {}): Promise<OutputFile> {
    const finalPath = resolveTarget(manifest, target);
    const overwrite = options.overwrite ?? false;
    if (!overwrite && (await exists(finalPath))) throw new CasError("EEXIST", `${finalPath} already exists`);
    const tmpPath = partFileOf(finalPath);
    if (partsInUse.has(tmpPath)) throw new CasError("EEXIST", `another fetch is writing ${finalPath}`);
    partsInUse.add(tmpPath);
    let fh: FileHandle | null = null;
    try {
      const left = await openLeftover(tmpPath, manifest.size);
      fh = left ?? (await fsp.open(tmpPath, "wx+", 0o644)); // read too: a version 1 digest is read back
      const output = new OutputFile(manifest, finalPath, tmpPath, fh, options);
      if (left) await output.recover();
      return output;
    } catch (err) {
      await fh?.close().catch(() => undefined);
      partsInUse.delete(tmpPath);
      throw err;
    }
  }

  /** The chunks not written yet, each once however often it occurs in the file. */
  unwritten(): Buffer[] {
    return this.unwrittenPlacements().map((p) => p.chunk.id);
  }

  /** Bytes of the file found right in a temp file left by an earlier fetch. */
  get bytesRecovered(): number {
    return this.recovered;
  }

  private unwrittenPlacements(): Placement[] {
    return [...this.placements.values()].filter((p) => !this.started.has(p.chunk.id.toString("hex")));
  }

  /**
   * Writes chunk `id` from its stored bytes, which the caller has checked against the id (a
   * verified put or read). Resolves once the bytes are written (not yet durable): the caller may
   * reuse `stored` then. A chunk written before is skipped.
   */
  async writeChunk(id: Buffer, stored: Buffer): Promise<void> {
    const hex = id.toString("hex");
    const placement = this.placements.get(hex);
    if (!placement) throw new Error(`chunk ${hex} is not part of ${this.manifest.name}`);
    if (this.closed) throw new Error(`${this.finalPath}: the output file is closed`);
    if (this.started.has(hex)) return;
    this.started.add(hex);
    const run = this.place(placement, stored);
    this.writing.add(run);
    try {
      await run;
    } catch (err) {
      this.started.delete(hex); // it may be given again
      throw err;
    } finally {
      this.writing.delete(run);
    }
  }

  private async place(placement: Placement, stored: Buffer): Promise<void> {
    const out = placement.chunk.key ? buffers.take(placement.chunk.size) : undefined;
    try {
      await this.putPlaintext(placement, chunkPlaintext(placement.chunk, stored, this.manifest.version, out));
    } finally {
      if (out) buffers.give(out);
    }
    if (this.unsyncedBytes >= SYNC_EVERY_BYTES && !this.syncing) {
      this.unsyncedBytes = 0;
      // Not awaited: it starts the writeback. A failure here (EIO, ENOSPC on some file systems) is
      // kept and thrown by commit(), whose own fsync would meet it anyway.
      this.syncing = this.fh
        .datasync()
        .catch((error: unknown) => void (this.failure ??= { error }))
        .finally(() => (this.syncing = null));
    }
  }

  /**
   * Writes a chunk's plaintext at each of its places but `rightAt` (where the file holds it already),
   * and records it: its digest at each place, and the places as written.
   */
  private async putPlaintext({ indexes }: Placement, plaintext: Buffer, rightAt = -1): Promise<void> {
    for (const index of indexes) {
      if (index === rightAt) continue;
      await writeAll(this.fh, plaintext, this.offsets[index]);
      this.unsyncedBytes += plaintext.length;
    }
    const digest = this.manifest.version === 1 ? undefined : hashOfVersion(plaintext, this.manifest.version);
    for (const index of indexes) this.digests[index] = digest;
    this.chunksWritten += indexes.length;
  }

  /** Counts as written each chunk that a leftover temp file holds right at one of its places (see the top). */
  private async recover(): Promise<void> {
    const todo = [...this.placements.values()];
    const next = async (): Promise<void> => {
      for (let p = todo.shift(); p; p = todo.shift()) await this.recoverChunk(p);
    };
    await Promise.all(Array.from({ length: READ_AHEAD }, next));
  }

  private async recoverChunk(placement: Placement): Promise<void> {
    const { chunk, indexes } = placement;
    const plaintext = buffers.take(chunk.size);
    const scratch = buffers.take(chunk.size);
    try {
      const right = async (index: number) => {
        const { bytesRead } = await this.fh.read(plaintext, 0, chunk.size, this.offsets[index]);
        return bytesRead === chunk.size && isPlaintextOf(chunk, plaintext, this.manifest.version, scratch);
      };
      let found = -1;
      for (const index of indexes) if (found < 0 && (await right(index))) found = index;
      if (found < 0) return;
      this.started.add(chunk.id.toString("hex"));
      // the chunk's other places may not have been written yet when the earlier fetch stopped
      await this.putPlaintext(placement, plaintext, found);
      this.recovered += chunk.size * indexes.length;
    } finally {
      buffers.give(plaintext);
      buffers.give(scratch);
    }
  }

  /**
   * Writes every chunk not written yet from the store (chunks it held before the fetch, or all of
   * them). A chunk the store does not have, or whose copy fails its hash check (it is quarantined),
   * fails with EMISSINGCHUNK: fetch it, then fill again.
   */
  async fillFrom(store: ContentStore): Promise<void> {
    const missing = await this.fill(store, () => true);
    if (missing.length > 0) throw new CasError("EMISSINGCHUNK", `chunk ${missing[0]} is missing or corrupt${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ""}`);
  }

  /**
   * Writes the chunks not written yet that the store knows it holds (its index: no disk is asked
   * about the others), and skips the rest: for a fetch that resumes, the chunks it has go in while
   * the others are being fetched.
   */
  async fillPresentFrom(store: ContentStore): Promise<void> {
    await this.fill(store, (id) => store.pinsOf(id) !== null);
  }

  /** Writes what the store has of the chunks not written yet that `tryId` accepts; returns the ids (hex) it lacks. */
  private async fill(store: ContentStore, tryId: (id: Buffer) => boolean): Promise<string[]> {
    const todo = this.unwrittenPlacements().filter((p) => tryId(p.chunk.id));
    const missing: string[] = [];
    const next = async (): Promise<void> => {
      for (let p = todo.shift(); p; p = todo.shift()) {
        const into = buffers.take(p.chunk.size + (this.manifest.version === 1 && p.chunk.key ? TAG_BYTES : 0));
        try {
          const stored = await store.get(p.chunk.id, into);
          if (stored) await this.writeChunk(p.chunk.id, stored);
          else missing.push(p.chunk.id.toString("hex"));
        } finally {
          buffers.give(into);
        }
      }
    };
    await Promise.all(Array.from({ length: READ_AHEAD }, next));
    return missing;
  }

  /**
   * Checks that the file is whole and matches the manifest's file digest, fsyncs it and renames it
   * into place. Returns the path written. On failure the temp file is removed.
   */
  async commit(): Promise<string> {
    await this.finish();
    return this.putInPlace();
  }

  /**
   * The first half of commit(): checks that the file is whole and matches the manifest's file
   * digest, fsyncs it (unless `sync` is false: then the caller makes it durable before putInPlace(), as a
   * folder fetch does for many files at once) and closes it. On failure the temp file is removed.
   */
  async finish(options: { sync?: boolean } = {}): Promise<void> {
    try {
      await Promise.all(this.writing);
      await this.syncing;
      if (this.failure) throw this.failure.error;
      if (this.chunksWritten < this.manifest.chunks.length) {
        throw new CasError("EMISSINGCHUNK", `${this.manifest.chunks.length - this.chunksWritten} chunk(s) of ${this.manifest.name} were not written`);
      }
      if (!(await this.digestMatches())) throw new CasError("EHASHMISMATCH", "assembled file does not match the manifest's file digest");
      if (this.options.executable) await this.makeExecutable();
      if (options.sync !== false) await this.fh.sync();
      await this.close();
    } catch (err) {
      await this.discard();
      throw err;
    }
  }

  /** The temp file's path (a caller of finish({ sync: false }) makes it durable). */
  get partPath(): string {
    return this.tmpPath;
  }

  /** The second half of commit(): renames the finished file into place. Returns the path written. */
  async putInPlace(): Promise<string> {
    try {
      if (!this.options.overwrite && (await exists(this.finalPath))) throw new CasError("EEXIST", `${this.finalPath} already exists`);
      if (this.options.syncDir === false) await fsp.rename(this.tmpPath, this.finalPath);
      else await renameDurably(this.tmpPath, this.finalPath);
      this.finished = true;
      partsInUse.delete(this.tmpPath);
      return this.finalPath;
    } catch (err) {
      await this.discard();
      throw err;
    }
  }

  /**
   * Closes and removes the temp file (a fetch that was cancelled). Does nothing once the file is
   * committed, discarded or suspended: the same temp name may belong to a later fetch by then.
   */
  discard(): Promise<void> {
    return this.release(true);
  }

  /**
   * Closes the temp file and leaves it for the next fetch to the same target (a fetch that failed or
   * was paused), which keeps the chunks it holds; one that holds none is removed. Does nothing once
   * committed, discarded or suspended.
   */
  suspend(): Promise<void> {
    return this.release(this.chunksWritten === 0);
  }

  private async release(remove: boolean): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await Promise.allSettled(this.writing);
    await this.syncing;
    try {
      await this.close();
      if (remove) await fsp.rm(this.tmpPath, { force: true });
    } finally {
      partsInUse.delete(this.tmpPath);
    }
  }

  /** Adds an execute bit wherever the temp file has a read bit (so the umask it was created under still holds). */
  private async makeExecutable(): Promise<void> {
    const mode = (await this.fh.stat()).mode & 0o777;
    await this.fh.chmod(mode | ((mode & 0o444) >> 2));
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  private async digestMatches(): Promise<boolean> {
    const { version, digest } = this.manifest;
    if (version !== 1) return fileDigestOfChunkDigests(this.digests as Buffer[], version).equals(digest);
    // Version 1's digest covers the whole plaintext in order, so the file is read back.
    const fileDigest = new FileDigest(version);
    for await (const piece of createReadStream("", { fd: this.fh, autoClose: false, start: 0, highWaterMark: 1024 * 1024 })) fileDigest.addChunk(piece as Buffer);
    return fileDigest.matches(digest);
  }
}

/** The temp file of `finalPath`, beside it: .NAME.peershare-part, or a hash of the path for a very long NAME. */
function partFileOf(finalPath: string): string {
  const name = path.basename(finalPath);
  const short = Buffer.byteLength(name) <= 200 ? name : sha256(Buffer.from(finalPath)).toString("hex").slice(0, 32);
  return path.join(path.dirname(finalPath), `.${short}.peershare-part`);
}

/** The path a file goes to: `target.path`, or the manifest's name (checked again here) in `target.dir`. */
function resolveTarget(manifest: Manifest, target: AssembleTarget): string {
  if ("path" in target) return path.resolve(target.path);
  // decodeManifest already rejects unsafe names; checked again because this is where it matters.
  if (!isSafeFileName(manifest.name)) throw new CasError("EBADMANIFEST", `unsafe file name ${JSON.stringify(manifest.name)}`);
  const dir = path.resolve(target.dir);
  const finalPath = path.join(dir, localFileName(manifest.name));
  if (path.dirname(finalPath) !== dir) throw new CasError("EBADMANIFEST", `file name escapes ${dir}`);
  return finalPath;
}

/**
 * The temp file a fetch to the same target left, opened for reading and writing and cut to `size`
 * when longer; null when there is none. A symlink there is removed, not followed (it could point
 * the writes at another file).
 */
async function openLeftover(tmpPath: string, size: number): Promise<FileHandle | null> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(tmpPath, fsConstants.O_RDWR | fsConstants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code !== "ELOOP") throw err;
    await fsp.rm(tmpPath, { force: true });
    return null;
  }
  const stat = await fh.stat();
  if (stat.isFile()) {
    if (stat.size > size) await fh.truncate(size);
    return fh;
  }
  await fh.close();
  throw new CasError("EEXIST", `${tmpPath} is in the way: it is not a file`);
}

async function exists(file: string): Promise<boolean> {
  return fsp.stat(file).then(
    () => true,
    () => false,
  );
}
