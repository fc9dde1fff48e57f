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
  /** PIN_FLAGS of its pins, as in the saved index: a Set per object cost about 140 bytes more (a store holds one entry per chunk). */
  pins: number;
  lastUsed: number;
}

const MAGIC = Buffer.from("PSIX");
const VERSION = 1;
const MANIFEST_FLAG = 1;
const PIN_FLAGS: Record<PinReason, number> = { own: 2, replica: 4, fetching: 8 };
const PIN_REASONS = Object.keys(PIN_FLAGS) as PinReason[];
const KEPT_FLAGS = PIN_FLAGS.own | PIN_FLAGS.replica;
const ALL_PIN_FLAGS = KEPT_FLAGS | PIN_FLAGS.fetching;

export function hasPin(entry: IndexEntry, reason: PinReason): boolean {
  return (entry.pins & PIN_FLAGS[reason]) !== 0;
}

export function addPin(entry: IndexEntry, reason: PinReason): void {
  entry.pins |= PIN_FLAGS[reason];
}

/** Drops a pin; whether the entry had it. */
export function dropPin(entry: IndexEntry, reason: PinReason): boolean {
  const had = hasPin(entry, reason);
  entry.pins &= ~PIN_FLAGS[reason];
  return had;
}

/** Its pins, in the order own, replica, fetching. */
export function pinList(entry: IndexEntry): PinReason[] {
  return PIN_REASONS.filter((reason) => hasPin(entry, reason));
}

/** Kept for good: pinned as an own share or a replica (not cache, not only a fetch under way). */
export function isKeptEntry(entry: IndexEntry): boolean {
  return (entry.pins & KEPT_FLAGS) !== 0;
}

export class PinIndex {
  /** Keyed by the object id in hex. */
  readonly entries = new Map<string, IndexEntry>();
  private clock = 0;

  /** Records that an object exists (or updates what is known of it) and marks it used now. */
  upsert(hex: string, size: number, kind: ObjectKind): IndexEntry {
    let entry = this.entries.get(hex);
    if (!entry) {
      entry = { size, kind, pins: 0, lastUsed: 0 };
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
    for (const e of this.entries.values()) if (e.pins === 0) total += e.size;
    return total;
  }

  /** Unpinned objects, least recently used first. */
  evictionOrder(): [string, IndexEntry][] {
    return [...this.entries].filter(([, e]) => e.pins === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
  }

  serialize(): Buffer {
    const w = new BinaryWriter().bytes(MAGIC).u8(VERSION).u64(this.clock).u32(this.entries.size);
    for (const [hex, e] of this.entries) {
      const flags = (e.kind === "manifest" ? MANIFEST_FLAG : 0) | e.pins;
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
      index.entries.set(hex, { size, kind: flags & MANIFEST_FLAG ? "manifest" : "chunk", pins: flags & ALL_PIN_FLAGS, lastUsed });
      index.clock = Math.max(index.clock, lastUsed);
    }
    r.end();
    return index;
  }
}
