// Where packed objects are: object id → (pack, offset, length), and per pack its size and the bytes
// of it still live. Kept in memory (about 100 bytes per packed object, as the pin index is per
// object) and saved whole, atomically, as DIR/pack-index.bin (pack-store.ts):
//   "PSPI" | version u8 = 1 | packs u32 | per pack: number u32 | size u64
//          | objects u32 | per object: id (32) | pack u32 | offset u64 | length u32
//          | SHA-256 of everything before (a damaged index is rebuilt from the packs, never half-read)
// Only sealed packs are saved: a pack still being written has not been synced, so an index that
// named its objects could outlive them in a power cut. Such a pack's objects are in memory only
// until it is sealed; after a crash its file is an orphan and is removed at open.

import { createHash } from "node:crypto";
import { BinaryReader, BinaryWriter } from "../util/binary";
import { PACK_HEADER_BYTES, RECORD_HEADER_BYTES, type PackedLocation } from "./pack-file";

const MAGIC = Buffer.from("PSPI");
const VERSION = 1;
const ID_BYTES = 32;
const CHECKSUM_BYTES = 32;

interface PackInfo {
  /** Bytes of the pack file (of what has been reserved, while it is written). */
  size: number;
  /** Bytes of records whose object is still indexed here. */
  live: number;
  sealed: boolean;
}

export class PackIndex {
  private readonly objects = new Map<string, PackedLocation>();
  private readonly packs = new Map<number, PackInfo>();

  get(hex: string): PackedLocation | undefined {
    return this.objects.get(hex);
  }

  get objectCount(): number {
    return this.objects.size;
  }

  /** Ids of every indexed object (hex). */
  hexIds(): string[] {
    return [...this.objects.keys()];
  }

  packNumbers(): number[] {
    return [...this.packs.keys()];
  }

  isSealed(pack: number): boolean {
    return this.packs.get(pack)?.sealed ?? false;
  }

  /** A pack being written: its objects can be found, but it is not saved until sealed. */
  openPack(pack: number): void {
    this.packs.set(pack, { size: PACK_HEADER_BYTES, live: 0, sealed: false });
  }

  sealPack(pack: number, size: number): void {
    const info = this.packs.get(pack);
    if (info) Object.assign(info, { size, sealed: true });
  }

  /** Indexes an object's bytes in a pack (a copy indexed elsewhere before is dropped). */
  add(hex: string, at: PackedLocation): void {
    this.remove(hex);
    const info = this.packs.get(at.pack);
    if (!info) throw new Error(`pack ${at.pack} is not open`);
    info.live += RECORD_HEADER_BYTES + at.length;
    info.size = Math.max(info.size, at.offset + at.length);
    this.objects.set(hex, at);
  }

  /** Forgets an object (deleted or quarantined); its record becomes dead bytes of its pack. */
  remove(hex: string): PackedLocation | null {
    const at = this.objects.get(hex);
    if (!at) return null;
    this.objects.delete(hex);
    const info = this.packs.get(at.pack);
    if (info) info.live -= RECORD_HEADER_BYTES + at.length;
    return at;
  }

  /** Forgets a pack and every object indexed in it (a pack given up, or replaced by compaction). */
  dropPack(pack: number): void {
    for (const [hex, at] of this.objects) if (at.pack === pack) this.objects.delete(hex);
    this.packs.delete(pack);
  }

  /** Objects indexed in `pack`, by id (hex). */
  objectsIn(pack: number): [string, PackedLocation][] {
    return [...this.objects].filter(([, at]) => at.pack === pack);
  }

  /** Sealed packs of which less than `liveShare` is live (dead records: deleted or evicted objects). */
  packsToCompact(liveShare: number): number[] {
    const out: number[] = [];
    for (const [pack, info] of this.packs) {
      if (info.sealed && info.live < (info.size - PACK_HEADER_BYTES) * liveShare) out.push(pack);
    }
    return out;
  }

  serialize(): Buffer {
    const sealed = [...this.packs].filter(([, info]) => info.sealed);
    const objects = [...this.objects].filter(([, at]) => this.packs.get(at.pack)?.sealed);
    const w = new BinaryWriter().bytes(MAGIC).u8(VERSION).u32(sealed.length);
    for (const [pack, info] of sealed) w.u32(pack).u64(info.size);
    w.u32(objects.length);
    for (const [hex, at] of objects) w.bytes(Buffer.from(hex, "hex")).u32(at.pack).u64(at.offset).u32(at.length);
    const body = w.finish();
    return Buffer.concat([body, createHash("sha256").update(body).digest()]);
  }

  /** Parses a saved index; throws on anything malformed or inconsistent (the caller rebuilds it from the packs). */
  static parse(bytes: Buffer): PackIndex {
    const body = bytes.subarray(0, Math.max(0, bytes.length - CHECKSUM_BYTES));
    if (bytes.length < CHECKSUM_BYTES || !createHash("sha256").update(body).digest().equals(bytes.subarray(body.length))) throw new Error("pack index checksum mismatch");
    const r = new BinaryReader(body);
    if (!r.bytes(MAGIC.length).equals(MAGIC) || r.u8() !== VERSION) throw new Error("not a pack index");
    const index = new PackIndex();
    for (let i = r.u32(); i > 0; i--) {
      const pack = r.u32();
      index.packs.set(pack, { size: r.u64(), live: 0, sealed: true });
    }
    for (let i = r.u32(); i > 0; i--) {
      const hex = r.bytes(ID_BYTES).toString("hex");
      const at: PackedLocation = { pack: r.u32(), offset: r.u64(), length: r.u32() };
      const info = index.packs.get(at.pack);
      if (!info || at.offset < PACK_HEADER_BYTES + RECORD_HEADER_BYTES || at.offset + at.length > info.size) throw new Error("pack index entry out of bounds");
      index.add(hex, at);
    }
    r.end();
    return index;
  }
}
