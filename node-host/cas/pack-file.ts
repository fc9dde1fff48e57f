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

/**
 * A pack being written. Appends may run concurrently: each reserves its range first (synchronously),
 * then writes there, so records never interleave. Nothing is synced until sync() is called.
 */
export class PackWriter {
  /** End of the reserved ranges: the pack's size once every append has landed. */
  private end = PACK_HEADER_BYTES;
  private readonly inFlight = new Set<Promise<void>>();
  /** Set when seal() begins: no append starts after that (it would not be synced). */
  sealing = false;

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
    const write = this.writeRecord(start, [recordHeader, ...parts]).then(() => onWritten(at));
    this.inFlight.add(write);
    try {
      await write;
    } finally {
      this.inFlight.delete(write);
    }
    return at;
  }

  private async writeRecord(start: number, parts: Uint8Array[]): Promise<void> {
    // one writev for the record header and its bytes: a trip to the thread pool per object, not per part
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

  /** Waits for the appends under way, fsyncs the pack and closes it; its size is then final. */
  async seal(): Promise<number> {
    this.sealing = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    try {
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
