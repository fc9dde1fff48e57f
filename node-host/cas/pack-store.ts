// The packed half of the object store (object-store.ts keeps the loose half): small objects written
// in a batch (a folder share's chunks and manifests) go into pack files, DIR/packs/NNNNNNNN.pack
// (pack-file.ts), found through DIR/pack-index.bin (pack-index.ts).
//
// Durability, in this order: objects are appended to an open pack without a sync; commit() (from the
// store's flush, or syncMany) fsyncs each open pack, fsyncs packs/ (their names), then saves the
// pack index durably; only after that does the content store save its pin index. So a crash before
// the pack index is saved leaves a pack file no index names: an orphan, removed at the next open,
// and its objects were never pinned (nothing was saved that names them). A crash after it leaves
// synced packs that the index names correctly. A sealed pack is never written again.
//
// Deletion marks an object's record dead (it leaves the index); a sealed pack that is less than half
// live is compacted at the next commit: its live records are copied (each checked against its id)
// into a new pack, which is synced and indexed before the old file is removed. Reads that race with
// that look the object up again when its pack has gone.
//
// A missing index (while packs exist) or a damaged one is rebuilt by reading every pack and keeping
// each record whose bytes hash to its id.

import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { fsyncDir, fsyncFile, writeFileDurably, type FileData } from "./durable-write";
import { isIdOf } from "./object-hash";
import { PackIndex } from "./pack-index";
import { packFileName, packNumberOf, PackWriter, readPacked, scanPack, type PackedLocation } from "./pack-file";

/** Objects up to this size may be packed: a file no larger than FastCDC's minimum chunk is one chunk. */
export const PACK_MAX_OBJECT_BYTES = 256 * 1024;
/** A pack being written is closed for new objects at this size (a few per folder of thousands of small files). */
const PACK_TARGET_BYTES = 32 * 1024 * 1024;
/** A sealed pack with less than this share live is compacted. */
const COMPACT_BELOW_LIVE = 0.5;
const INDEX_FILE = "pack-index.bin";

export class PackStore {
  private readonly packsDir: string;
  /** The pack new objects go to, once one is needed (a promise: concurrent first appends share it). */
  private current: Promise<PackWriter> | null = null;
  /** Packs closed for new objects (full) but not sealed yet. */
  private readonly full: PackWriter[] = [];
  private nextPack = 1;
  /** The index changed in a way not saved yet (objects deleted, packs sealed or dropped). */
  private dirty = false;
  private committing: Promise<void> = Promise.resolve();
  /** A pack's fsync failed: commits fail from then on (see seal()). */
  private broken: Error | null = null;

  private constructor(
    private readonly dir: string,
    private readonly tmpDir: string,
    private index: PackIndex,
    /** Keeps a corrupt object's bytes aside (compaction finds them; they are not copied). */
    private readonly quarantine: (id: Buffer, bytes: Buffer) => Promise<void>,
  ) {
    this.packsDir = path.join(dir, "packs");
  }

  /**
   * Opens the packs of the store in `dir`: loads the index (rebuilding it when damaged, or missing
   * while packs exist), removes orphan packs and forgets packs whose file has gone.
   */
  static async open(dir: string, tmpDir: string, quarantine: (id: Buffer, bytes: Buffer) => Promise<void>): Promise<PackStore> {
    const store = new PackStore(dir, tmpDir, new PackIndex(), quarantine);
    await fsp.mkdir(store.packsDir, { recursive: true });
    const files = new Map<number, string>();
    for (const name of await fsp.readdir(store.packsDir)) {
      const pack = packNumberOf(name);
      if (pack !== null) files.set(pack, name);
    }
    const saved = await readIndex(path.join(dir, INDEX_FILE));
    if (saved === "missing" && files.size === 0) store.dirty = true; // a store of the previous release, or a new one
    else if (saved === "missing" || saved === "damaged") await store.rebuild([...files.keys()]);
    else {
      store.index = saved;
      store.forgetAbsentPacks(files);
      await store.removeOrphans(files);
    }
    store.nextPack = Math.max(0, ...files.keys(), ...store.index.packNumbers()) + 1;
    await store.saveIndex();
    return store;
  }

  private pathOf(pack: number): string {
    return path.join(this.packsDir, packFileName(pack));
  }

  /** Reads every pack and indexes each record that hashes to its id (the newest copy wins). */
  private async rebuild(packs: number[]): Promise<void> {
    this.dirty = true;
    for (const pack of packs.sort((a, b) => a - b)) {
      const file = this.pathOf(pack);
      await fsyncFile(file); // what is indexed must be durable, whatever wrote it
      this.index.openPack(pack);
      for await (const r of scanPack(file, PACK_MAX_OBJECT_BYTES)) {
        if (isIdOf(r.id, await readPacked(file, r.offset, r.length))) this.index.add(r.id.toString("hex"), { pack, offset: r.offset, length: r.length });
      }
      this.index.sealPack(pack, (await fsp.stat(file)).size);
    }
  }

  /** Packs the index names whose file is missing: their objects are gone (reads would find nothing). */
  private forgetAbsentPacks(files: Map<number, string>): void {
    for (const pack of this.index.packNumbers()) {
      if (files.has(pack)) continue;
      this.index.dropPack(pack);
      this.dirty = true;
    }
  }

  /** Pack files no index names: written before a crash and never committed, or left by compaction. */
  private async removeOrphans(files: Map<number, string>): Promise<void> {
    const known = new Set(this.index.packNumbers());
    for (const [pack, name] of files) if (!known.has(pack)) await fsp.rm(path.join(this.packsDir, name), { force: true });
  }

  // -- writing --

  /** Appends an object (not synced: commit() makes it durable). Resolves once it can be read. */
  async append(id: Buffer, data: FileData, length: number): Promise<void> {
    const hex = id.toString("hex");
    const parts = data instanceof Uint8Array ? [data] : data;
    // a pack that a commit began to seal takes no more objects: they go to the next one
    while ((await (await this.writer()).append(id, parts, length, (at) => this.index.add(hex, at))) === null);
  }

  /** The pack being written, or a new one when there is none or it is full. */
  private async writer(): Promise<PackWriter> {
    for (;;) {
      const pending = (this.current ??= this.newPack());
      let writer: PackWriter;
      try {
        writer = await pending;
      } catch (err) {
        if (this.current === pending) this.current = null; // the next append tries a new pack
        throw err;
      }
      if (writer.size < PACK_TARGET_BYTES && !writer.sealing) return writer;
      if (this.current === pending) {
        // full: sealed with the others at the next commit (its bytes head for the disk meanwhile)
        if (!writer.sealing) {
          this.full.push(writer);
          writer.syncSoon();
        }
        this.current = null;
      }
    }
  }

  private async newPack(): Promise<PackWriter> {
    const pack = this.nextPack++;
    const writer = await PackWriter.create(pack, this.pathOf(pack));
    this.index.openPack(pack);
    return writer;
  }

  /** Whether the object is in a pack not yet sealed (made durable by the next commit()). */
  isUncommitted(id: Buffer): boolean {
    const at = this.index.get(id.toString("hex"));
    return at !== undefined && !this.index.isSealed(at.pack);
  }

  /**
   * Makes every pack written so far durable and saves the index (then compacts packs that deletions
   * left mostly dead). Concurrent calls are serialized; objects appended meanwhile go to a new pack.
   */
  commit(): Promise<void> {
    const run = this.committing.then(() => this.commitNow());
    this.committing = run.catch(() => undefined);
    return run;
  }

  private async commitNow(): Promise<void> {
    if (this.broken) throw this.broken;
    const current = this.current;
    this.current = null;
    const writers = [...this.full.splice(0), ...(current ? [await current.catch(() => null)] : [])].filter((w) => w !== null);
    if (writers.length > 0) await this.seal(writers);
    await this.saveIndex();
    for (const pack of this.index.packsToCompact(COMPACT_BELOW_LIVE)) {
      // housekeeping: a compaction that fails (a full disk) leaves its pack as it was, and must not
      // keep the store from saving its pins
      await this.compact(pack).catch(() => undefined);
    }
  }

  private async seal(writers: PackWriter[]): Promise<void> {
    this.dirty = true;
    for (const writer of writers) {
      try {
        this.index.sealPack(writer.pack, await writer.seal());
      } catch (err) {
        // Not durable, and after a failed fsync nothing written since the last good one can be
        // trusted to be on disk: every later commit fails too (so no index naming these objects is
        // saved, whoever put them), until the store is opened again, which removes the unindexed packs.
        this.broken = err instanceof Error ? err : new Error(String(err));
        throw this.broken;
      }
    }
    await fsyncDir(this.packsDir);
  }

  private async saveIndex(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      await writeFileDurably(this.tmpDir, path.join(this.dir, INDEX_FILE), this.index.serialize());
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  /**
   * Copies the live records of `pack` (each checked against its id; a corrupt one is quarantined
   * instead) into a new pack, syncs it, indexes the copies, saves the index, and only
   * then removes the old file.
   */
  private async compact(pack: number): Promise<void> {
    const live = this.index.objectsIn(pack);
    if (live.length === 0) return this.removePack(pack);
    const target = this.nextPack++;
    const writer = await PackWriter.create(target, this.pathOf(target));
    const moved: [string, PackedLocation, PackedLocation][] = [];
    try {
      for (const [hex, at] of live) {
        const bytes = await readPacked(this.pathOf(pack), at.offset, at.length);
        const id = Buffer.from(hex, "hex");
        if (!isIdOf(id, bytes)) {
          if (this.index.get(hex) === at) this.index.remove(hex);
          this.dirty = true;
          await this.quarantine(id, bytes);
          continue;
        }
        await writer.append(id, [bytes], at.length, (to) => void moved.push([hex, at, to]));
      }
      this.index.openPack(target);
      this.index.sealPack(target, await writer.seal());
      await fsyncDir(this.packsDir);
    } catch (err) {
      await writer.abandon();
      this.index.dropPack(target);
      await fsp.rm(writer.file, { force: true });
      throw err;
    }
    // objects deleted while being copied stay dead in the new pack
    for (const [hex, from, to] of moved) if (this.index.get(hex) === from) this.index.add(hex, to);
    await this.removePack(pack);
  }

  /** Drops a pack from the index, saves it, then removes the file (nothing it holds is indexed any more). */
  private async removePack(pack: number): Promise<void> {
    this.index.dropPack(pack);
    this.dirty = true;
    await this.saveIndex();
    // where the file cannot be removed yet (open elsewhere on Windows) it is an orphan, removed at open
    await fsp.rm(this.pathOf(pack), { force: true }).catch(() => undefined);
  }

  // -- reading --

  /** Where the object is packed, if it is. */
  locate(id: Buffer): PackedLocation | undefined {
    return this.index.get(id.toString("hex"));
  }

  /**
   * The packed object's bytes, unverified (the caller checks them against the id); null when it is
   * not packed. If its pack was compacted away meanwhile, it is looked up again.
   */
  async read(id: Buffer, into?: Buffer, length?: number): Promise<Buffer | null> {
    const hex = id.toString("hex");
    for (;;) {
      const at = this.index.get(hex);
      if (!at) return null;
      try {
        return await readPacked(this.pathOf(at.pack), at.offset, Math.min(at.length, length ?? at.length), into);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        if (this.index.get(hex) !== at) continue; // moved by a compaction
        this.index.remove(hex); // its pack is gone
        this.dirty = true;
        return null;
      }
    }
  }

  size(id: Buffer): number | null {
    return this.index.get(id.toString("hex"))?.length ?? null;
  }

  /** Forgets a packed object (its record becomes dead space); false when it was not packed. */
  remove(id: Buffer): boolean {
    if (this.index.remove(id.toString("hex")) === null) return false;
    this.dirty = true;
    return true;
  }

  /** Every packed object id. */
  ids(): Buffer[] {
    return this.index.hexIds().map((hex) => Buffer.from(hex, "hex"));
  }
}

async function readIndex(file: string): Promise<PackIndex | "missing" | "damaged"> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw err;
  }
  try {
    return PackIndex.parse(bytes);
  } catch {
    return "damaged";
  }
}
