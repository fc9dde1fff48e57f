// Pack files: many small objects in one file, so that storing a folder of 10,000 small files creates
// a few files instead of 20,000 (creating a file cost 0.2-0.8 ms of kernel time on ext4 here, more
// than everything else a small file's share does). The layout is self-describing, so a lost or
// corrupt pack index can be rebuilt by reading the packs (pack-store.ts):
//   "PSPK" | version u8 = 1 | 3 zero bytes | records
//   record: object id (32) | length u32 | the object's bytes
// A pack is only ever appended to while it is being written, then synced and never changed again
// (pack-store.ts); compaction copies what is still live into a new pack instead of editing one.
// Nothing here trusts a pack's bytes: every object read from one is checked against its id by the
// caller, as a loose object is.

import { promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { writeAll } from "./durable-write";

export const PACK_MAGIC = Buffer.from("PSPK");
const VERSION = 1;
export const PACK_HEADER_BYTES = 8;
const ID_BYTES = 32;
export const RECORD_HEADER_BYTES = ID_BYTES + 4;

/** Where an object's bytes are in a pack: `offset` is where they start (after the record header). */
export interface PackedLocation {
  pack: number;
  offset: number;
  length: number;
}

export function packFileName(pack: number): string {
  return `${pack.toString(16).padStart(8, "0")}.pack`;
}

/** The pack number a file name stands for, or null when it is not a pack's name. */
export function packNumberOf(name: string): number | null {
  const m = /^([0-9a-f]{8})\.pack$/.exec(name);
  return m ? parseInt(m[1], 16) : null;
}

function header(): Buffer {
  const h = Buffer.alloc(PACK_HEADER_BYTES);
  PACK_MAGIC.copy(h, 0);
  h[4] = VERSION;
  return h;
}

/** Parts written by one writev at most (under the kernel's IOV_MAX of 1024). */
const MAX_PARTS_PER_WRITE = 512;

interface QueuedRecord {
  start: number;
  parts: Uint8Array[];
  written(): void;
  failed(err: unknown): void;
}

/**
 * A pack being written. Appends may run concurrently: each reserves its range first (synchronously),
 * so records never interleave, and joins a queue; records queued while a write is under way go out
 * together in the next one (one writev for many objects: each trip to libuv's thread pool cost more
 * than the write, and on a loaded machine submitting one could stall the event loop). Nothing is
 * synced until seal().
 */
export class PackWriter {
  /** End of the reserved ranges: the pack's size once every append has landed. */
  private end = PACK_HEADER_BYTES;
  private readonly inFlight = new Set<Promise<void>>();
  /** Reserved records not written yet, in offset order (so contiguous). */
  private readonly queue: QueuedRecord[] = [];
  private writing = false;
  /** Set when seal() begins: no append starts after that (it would not be synced). */
  sealing = false;
  /** The fsync syncSoon() started, if any. */
  private earlySync: Promise<void> | null = null;

  private constructor(
    readonly pack: number,
    readonly file: string,
    private readonly fh: FileHandle,
  ) {}

  /** Creates the pack file (it must not exist) and writes its header. */
  static async create(pack: number, file: string): Promise<PackWriter> {
    const fh = await fsp.open(file, "wx", 0o644);
    try {
      await writeAll(fh, header(), 0);
    } catch (err) {
      await fh.close();
      await fsp.rm(file, { force: true });
      throw err;
    }
    return new PackWriter(pack, file, fh);
  }

  get size(): number {
    return this.end;
  }

  /**
   * Appends one object; resolves with where its bytes are once they are written (not yet synced).
   * `onWritten` runs as soon as they are, before seal() can return, so whoever indexes the object
   * does so before the pack counts as complete. Null, having written nothing, once sealing began.
   */
  async append(id: Buffer, parts: readonly Uint8Array[], length: number, onWritten: (at: PackedLocation) => void): Promise<PackedLocation | null> {
    if (this.sealing) return null;
    const start = this.end;
    this.end += RECORD_HEADER_BYTES + length;
    const at: PackedLocation = { pack: this.pack, offset: start + RECORD_HEADER_BYTES, length };
    const recordHeader = Buffer.alloc(RECORD_HEADER_BYTES);
    id.copy(recordHeader, 0);
    recordHeader.writeUInt32BE(length, ID_BYTES);
    const write = new Promise<void>((written, failed) => this.queue.push({ start, parts: [recordHeader, ...parts], written, failed })).then(() => onWritten(at));
    this.inFlight.add(write);
    this.writeQueued();
    try {
      await write;
    } finally {
      this.inFlight.delete(write);
    }
    return at;
  }

  /** Writes the queued records (as many as one writev takes) unless a write is under way; then the next batch. */
  private writeQueued(): void {
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    const batch: QueuedRecord[] = [];
    let parts = 0;
    while (this.queue.length > 0 && (batch.length === 0 || parts + this.queue[0].parts.length <= MAX_PARTS_PER_WRITE)) {
      parts += this.queue[0].parts.length;
      batch.push(this.queue.shift()!);
    }
    this.writeAt(
      batch[0].start,
      batch.flatMap((r) => r.parts),
    )
      .then(
        () => batch.forEach((r) => r.written()),
        (err: unknown) => batch.forEach((r) => r.failed(err)),
      )
      .finally(() => {
        this.writing = false;
        this.writeQueued();
      });
  }

  private async writeAt(start: number, parts: Uint8Array[]): Promise<void> {
    let position = start;
    const total = parts.reduce((n, p) => n + p.length, 0);
    let done = 0;
    while (done < total) {
      const { bytesWritten } = await this.fh.writev(remaining(parts, done), position);
      if (bytesWritten === 0) throw new Error(`pack ${this.file}: write made no progress`);
      done += bytesWritten;
      position += bytesWritten;
    }
  }

  /**
   * Starts an fsync of what the pack holds so far, in the background, so that the disk writes a full
   * pack while the share goes on, and seal() has little left to wait for (a folder share's commit
   * waited ~0.25 s for 330 MiB of packs). Durability still comes from seal() alone.
   */
  syncSoon(): void {
    this.earlySync ??= this.fh.sync();
    this.earlySync.catch(() => undefined); // seal() reports it
  }

  /** Waits for the appends under way, fsyncs the pack and closes it; its size is then final. */
  async seal(): Promise<number> {
    this.sealing = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    try {
      // a failed early fsync fails the seal: the error it took need not be reported by another fsync
      await this.earlySync;
      await this.fh.sync();
    } finally {
      await this.fh.close();
    }
    return this.end;
  }

  /** Closes without syncing (the pack is given up: its file is removed by the caller). */
  async abandon(): Promise<void> {
    this.sealing = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.fh.close().catch(() => undefined);
  }
}

/** The parts not yet written after `done` bytes (for a short writev). */
function remaining(parts: Uint8Array[], done: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of parts) {
    if (done >= p.length) {
      done -= p.length;
      continue;
    }
    out.push(done > 0 ? p.subarray(done) : p);
    done = 0;
  }
  return out;
}

/**
 * `length` bytes at `offset` of a pack file, read into `into` when they fit. Fewer bytes come back
 * when the pack is shorter than that (truncated): the caller's hash check rejects them.
 */
export async function readPacked(file: string, offset: number, length: number, into?: Buffer): Promise<Buffer> {
  const fh = await fsp.open(file, "r");
  try {
    const buf = into && into.length >= length ? into : Buffer.allocUnsafe(length);
    let n = 0;
    while (n < length) {
      const { bytesRead } = await fh.read(buf, n, length - n, offset + n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/** A record found by scanning a pack; its bytes are unverified. */
export interface ScannedRecord {
  id: Buffer;
  offset: number;
  length: number;
}

/**
 * Every record of a pack, in order, as far as its structure holds (a torn tail or garbage ends the
 * scan). Only for rebuilding a lost pack index: the caller verifies each record's bytes.
 */
export async function* scanPack(file: string, maxObjectBytes: number): AsyncGenerator<ScannedRecord> {
  const fh = await fsp.open(file, "r");
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(PACK_HEADER_BYTES);
    await fh.read(head, 0, PACK_HEADER_BYTES, 0);
    if (!head.subarray(0, 4).equals(PACK_MAGIC) || head[4] !== VERSION) return;
    const recordHeader = Buffer.alloc(RECORD_HEADER_BYTES);
    for (let at = PACK_HEADER_BYTES; at + RECORD_HEADER_BYTES <= size; ) {
      const { bytesRead } = await fh.read(recordHeader, 0, RECORD_HEADER_BYTES, at);
      if (bytesRead < RECORD_HEADER_BYTES) return;
      const length = recordHeader.readUInt32BE(ID_BYTES);
      const offset = at + RECORD_HEADER_BYTES;
      if (length > maxObjectBytes || offset + length > size) return;
      yield { id: Buffer.from(recordHeader.subarray(0, ID_BYTES)), offset, length };
      at = offset + length;
    }
  } finally {
    await fh.close();
  }
}
