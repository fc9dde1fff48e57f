// The store's bookkeeping: for every object its kind, size, pins and last use. Kept in memory and
// saved as a compact binary file (50 bytes per object):
//   "PSIX" | version u8 = 1 | use clock u64 | count u32 | per object: id (32) | size u64 | flags u8 | last use u64
// flags: bit 0 manifest (else chunk), bit 1 pinned "own", bit 2 pinned "replica", bit 3 "fetching".
// "Last use" is a logical clock rather than wall time: it orders uses exactly and survives clock jumps.

import { BinaryReader, BinaryWriter } from "../util/binary";
import { ID_BYTES } from "./object-store";

/**
 * Why an object must stay: the node's own share, a replica it holds for others, or part of a fetch
 * in progress (so a fetch larger than the cache cannot evict its own chunks, and resumes after a crash).
 */
export type PinReason = "own" | "replica" | "fetching";
export type ObjectKind = "manifest" | "chunk";

export interface IndexEntry {
  size: number;
  kind: ObjectKind;
  pins: Set<PinReason>;
  lastUsed: number;
}

const MAGIC = Buffer.from("PSIX");
const VERSION = 1;
const MANIFEST_FLAG = 1;
const PIN_FLAGS: Record<PinReason, number> = { own: 2, replica: 4, fetching: 8 };

export class PinIndex {
  /** Keyed by the object id in hex. */
  readonly entries = new Map<string, IndexEntry>();
  private clock = 0;

  /** Records that an object exists (or updates what is known of it) and marks it used now. */
  upsert(hex: string, size: number, kind: ObjectKind): IndexEntry {
    let entry = this.entries.get(hex);
    if (!entry) {
      entry = { size, kind, pins: new Set(), lastUsed: 0 };
      this.entries.set(hex, entry);
    }
    entry.size = size;
    entry.kind = kind;
    entry.lastUsed = ++this.clock;
    return entry;
  }

  touch(hex: string): void {
    const entry = this.entries.get(hex);
    if (entry) entry.lastUsed = ++this.clock;
  }

  /** Bytes held by unpinned (cache) objects: what the cache limit applies to. */
  cacheBytes(): number {
    let total = 0;
    for (const e of this.entries.values()) if (e.pins.size === 0) total += e.size;
    return total;
  }

  /** Unpinned objects, least recently used first. */
  evictionOrder(): [string, IndexEntry][] {
    return [...this.entries].filter(([, e]) => e.pins.size === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
  }

  serialize(): Buffer {
    const w = new BinaryWriter().bytes(MAGIC).u8(VERSION).u64(this.clock).u32(this.entries.size);
    for (const [hex, e] of this.entries) {
      let flags = e.kind === "manifest" ? MANIFEST_FLAG : 0;
      for (const reason of e.pins) flags |= PIN_FLAGS[reason];
      w.bytes(Buffer.from(hex, "hex")).u64(e.size).u8(flags).u64(e.lastUsed);
    }
    return w.finish();
  }

  /** Parses a saved index; throws on anything malformed (the caller then rebuilds). */
  static parse(bytes: Buffer): PinIndex {
    const r = new BinaryReader(bytes);
    if (!r.bytes(MAGIC.length).equals(MAGIC) || r.u8() !== VERSION) throw new Error("not a pin index");
    const index = new PinIndex();
    index.clock = r.u64();
    const count = r.u32();
    for (let i = 0; i < count; i++) {
      const hex = r.bytes(ID_BYTES).toString("hex");
      const size = r.u64();
      const flags = r.u8();
      const lastUsed = r.u64();
      const pins = new Set<PinReason>();
      for (const reason of Object.keys(PIN_FLAGS) as PinReason[]) if (flags & PIN_FLAGS[reason]) pins.add(reason);
      index.entries.set(hex, { size, kind: flags & MANIFEST_FLAG ? "manifest" : "chunk", pins, lastUsed });
      index.clock = Math.max(index.clock, lastUsed);
    }
    r.end();
    return index;
  }
}
