// The workspace's store: objects on disk (ObjectStore) plus pins and cache accounting (PinIndex).
//
// Every object is either pinned for one or more reasons ("own": this node shares it; "replica": it
// holds it for others) or is cache (content fetched for reading). Cache is bounded: when unpinned
// bytes exceed the limit, the least recently used unpinned objects are evicted; pinned objects never
// are. The index is saved atomically by flush() (called by pin/unpin, gc, close and shareFile). A
// crash between flushes loses only recent bookkeeping: at open the index is reconciled with objects/
// (unknown objects are added as cache, vanished ones dropped). If the index is missing or unreadable
// it is rebuilt the same way and `recoveredIndex` is set; pins cannot be recovered from objects alone,
// so the owner should re-pin its shares (a re-share of the same file pins the same objects).

import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { writeFileDurably } from "./durable-write";
import { looksLikeManifest, manifestLinks } from "./manifest-links";
import { byteLength, ObjectStore, type FileData, type PutResult } from "./object-store";
import { addPin, dropPin, isKeptEntry, pinList, PinIndex, type IndexEntry, type ObjectKind, type PinReason } from "./pin-index";

export type { ObjectKind, PinReason } from "./pin-index";

export const DEFAULT_CACHE_LIMIT_BYTES = 1024 * 1024 * 1024;
const INDEX_FILE = "index.bin";
const MANIFEST_SNIFF_BYTES = 5;

export interface ContentStoreOptions {
  /** Upper bound on unpinned (cached) bytes; default 1 GiB. */
  cacheLimitBytes?: number;
}

export interface PutOptions {
  /** Pin the object for this reason; without it the object is cache. */
  pin?: PinReason;
  /** What the object is; sniffed from its first bytes when not given. */
  kind?: ObjectKind;
  /**
   * False: written without an fsync even when it is kept; the caller makes it durable with
   * syncObjects() before it relies on it (a folder share syncs its thousands of objects at once).
   * Such a batch's small objects go into pack files (pack-store.ts): one file for thousands.
   */
  durable?: boolean;
}

export interface StoredObjectInfo {
  id: Buffer;
  kind: ObjectKind;
  size: number;
  pins: PinReason[];
  lastUsed: number;
}

/** Told of objects that left the store or lost a pin; it reads pinsOf() to see what is left. */
export type ReleaseListener = (ids: Buffer[]) => void;

export class ContentStore {
  cacheLimitBytes: number;
  private flushing: Promise<void> = Promise.resolve();
  private dirty = false;
  private readonly releaseListeners: ReleaseListener[] = [];

  private constructor(
    readonly objects: ObjectStore,
    private readonly index: PinIndex,
    /** True when the saved index was missing or unreadable and was rebuilt from objects/. */
    readonly recoveredIndex: boolean,
    options: ContentStoreOptions,
  ) {
    this.cacheLimitBytes = options.cacheLimitBytes ?? DEFAULT_CACHE_LIMIT_BYTES;
  }

  get dir(): string {
    return this.objects.dir;
  }

  /**
   * Calls `listener` with the ids of objects that stop being held or kept: evicted, removed by gc,
   * deleted, quarantined as corrupt, found missing, or unpinned (then pinsOf() tells which pins are
   * left). Whoever announces content uses it to stop announcing what is no longer kept.
   */
  onRelease(listener: ReleaseListener): void {
    this.releaseListeners.push(listener);
  }

  private released(ids: Buffer[]): void {
    if (ids.length === 0) return;
    for (const listener of this.releaseListeners) {
      try {
        listener(ids);
      } catch {
        // a listener's failure is its own; the store's operation stands
      }
    }
  }

  static async open(dir: string, options: ContentStoreOptions = {}): Promise<ContentStore> {
    const objects = await ObjectStore.open(dir);
    let index: PinIndex | null = null;
    try {
      index = PinIndex.parse(await fsp.readFile(path.join(dir, INDEX_FILE)));
    } catch {
      // missing or corrupt: rebuilt below from what is on disk
    }
    const store = new ContentStore(objects, index ?? new PinIndex(), index === null, options);
    store.releaseFetchingPins();
    await store.reconcile();
    return store;
  }

  /**
   * A "fetching" pin lasts as long as the fetch that set it, so none survives a restart: what a fetch
   * cut short by a stop or a crash pinned becomes cache (a resumed fetch pins again what it fetches;
   * a fetch to a file resumes from its part file).
   */
  private releaseFetchingPins(): void {
    for (const entry of this.index.entries.values()) if (dropPin(entry, "fetching")) this.dirty = true;
  }

  /** Brings the index in line with objects/: adds objects it does not know, forgets vanished ones. */
  private async reconcile(): Promise<void> {
    const seen = new Set<string>();
    for await (const id of this.objects.ids()) {
      const hex = id.toString("hex");
      seen.add(hex);
      if (this.index.entries.has(hex)) continue;
      await this.recordFromDisk(id);
    }
    for (const hex of [...this.index.entries.keys()]) {
      if (!seen.has(hex)) {
        this.index.entries.delete(hex);
        this.dirty = true;
      }
    }
    await this.flush();
  }

  /**
   * Stores bytes. What is kept (pinned "own" or "replica") is fsynced before it gets its name;
   * anything else (cache, a fetch in progress) is not: a copy that can be fetched again is not worth
   * an fsync per chunk, and a torn one is caught by its hash check on read.
   */
  async put(bytes: FileData, options: PutOptions = {}): Promise<PutResult> {
    return this.record(await this.objects.put(bytes, options.durable ?? isKept(options.pin), this.mayHold, options.durable === false), bytes, options);
  }

  /**
   * Whether an object may be on disk: the index knows every object written through this store and
   * every one found at open (reconcile), so one it does not know is written without a stat first.
   */
  private readonly mayHold = (id: Buffer): boolean => this.index.entries.has(id.toString("hex"));

  /** Makes objects stored with `durable: false` durable, all at once (packed ones: their packs, then the pack index). */
  async syncObjects(ids: Buffer[]): Promise<void> {
    await this.objects.syncMany(ids);
  }

  /** Stores bytes fetched under a known id; throws EHASHMISMATCH when they do not hash to it. */
  async putVerified(id: Buffer, bytes: FileData, options: PutOptions = {}): Promise<PutResult> {
    return this.record(await this.objects.putVerified(id, bytes, options.durable ?? isKept(options.pin), this.mayHold, options.durable === false), bytes, options);
  }

  private async record(result: PutResult, bytes: FileData, options: PutOptions): Promise<PutResult> {
    const hex = result.id.toString("hex");
    const before = this.index.entries.get(hex);
    // kept from now on, but already on disk from an earlier write that may not have been synced
    if (!result.written && becomesKept(before, options.pin) && options.durable !== false) await this.objects.sync([result.id]);
    const entry = this.index.upsert(hex, byteLength(bytes), options.kind ?? sniffKind(bytes));
    if (options.pin) addPin(entry, options.pin);
    this.dirty = true;
    if (entry.pins === 0) await this.evictOverLimit(hex);
    return result;
  }

  /**
   * The object's verified bytes, or null when absent or corrupt (a corrupt one is quarantined). With
   * `into`, read into that buffer when they fit (as ObjectStore.get).
   */
  async get(id: Buffer, into?: Buffer): Promise<Buffer | null> {
    const bytes = await this.objects.get(id, into);
    const hex = id.toString("hex");
    if (bytes === null) {
      if (this.index.entries.delete(hex)) {
        this.dirty = true;
        this.released([id]);
      }
      return null;
    }
    this.index.touch(hex);
    this.dirty = true;
    return bytes;
  }

  async has(id: Buffer): Promise<boolean> {
    return this.objects.has(id);
  }

  /** The object's size in bytes, or null when the store does not know it. */
  sizeOf(id: Buffer): number | null {
    return this.index.entries.get(id.toString("hex"))?.size ?? null;
  }

  /** The object's pins, or null when the store does not know it. */
  pinsOf(id: Buffer): PinReason[] | null {
    const entry = this.index.entries.get(id.toString("hex"));
    return entry ? pinList(entry) : null;
  }

  /** Whether the object is kept for good: pinned as an own share or a replica (not cache, not a fetch under way). */
  keeps(id: Buffer): boolean {
    const entry = this.index.entries.get(id.toString("hex"));
    return entry ? isKeptEntry(entry) : false;
  }

  async pin(ids: Buffer[], reason: PinReason): Promise<void> {
    const toSync: Buffer[] = [];
    for (const id of ids) {
      // an object on disk that a put still in progress has not recorded yet is recorded here, so
      // the pin is not lost (the put's own record keeps the entry and its pins)
      const entry = this.index.entries.get(id.toString("hex")) ?? (await this.recordFromDisk(id));
      if (entry && becomesKept(entry, reason)) toSync.push(id); // cache until now: maybe never synced
      if (entry) addPin(entry, reason);
    }
    await this.objects.sync(toSync);
    this.dirty = true;
    await this.flush();
  }

  /** Adds an index entry for an object found on disk (kind sniffed from its first bytes); null if absent. */
  private async recordFromDisk(id: Buffer): Promise<IndexEntry | null> {
    const size = await this.objects.size(id);
    const head = await this.objects.readHead(id, MANIFEST_SNIFF_BYTES);
    if (size === null || head === null) return null;
    this.dirty = true;
    return this.index.entries.get(id.toString("hex")) ?? this.index.upsert(id.toString("hex"), size, looksLikeManifest(head) ? "manifest" : "chunk");
  }

  /** Drops one pin reason; an object left without pins becomes cache (and may be evicted). */
  async unpin(ids: Buffer[], reason: PinReason): Promise<void> {
    for (const id of ids) {
      const entry = this.index.entries.get(id.toString("hex"));
      if (entry) dropPin(entry, reason);
    }
    this.dirty = true;
    this.released(ids);
    await this.flush();
  }

  async delete(id: Buffer): Promise<boolean> {
    if (this.index.entries.delete(id.toString("hex"))) this.dirty = true;
    const deleted = await this.objects.delete(id);
    this.released([id]);
    return deleted;
  }

  /** Every object with its kind, size and pins, manifests first. */
  ls(): StoredObjectInfo[] {
    return [...this.index.entries]
      .map(([hex, e]) => ({ id: Buffer.from(hex, "hex"), kind: e.kind, size: e.size, pins: pinList(e).sort(), lastUsed: e.lastUsed }))
      .sort((a, b) => (a.kind === b.kind ? Buffer.compare(a.id, b.id) : a.kind === "manifest" ? -1 : 1));
  }

  /** Bytes currently held as cache (unpinned). */
  cacheBytes(): number {
    return this.index.cacheBytes();
  }

  /** Re-hashes every object; returns (and quarantines) the corrupt ones. */
  async verify(): Promise<Buffer[]> {
    const corrupt = await this.objects.verify();
    for (const id of corrupt) this.index.entries.delete(id.toString("hex"));
    if (corrupt.length > 0) this.dirty = true;
    this.released(corrupt);
    await this.flush();
    return corrupt;
  }

  /**
   * Evicts least recently used cache over the limit, then removes unpinned chunks that no manifest in
   * the store references any more (left over from an evicted manifest or an abandoned fetch).
   * Returns the bytes freed.
   */
  async gc(): Promise<number> {
    let freed = await this.evictOverLimit(null);
    const referenced = await this.referencedChunks();
    for (const [hex, entry] of [...this.index.entries]) {
      if (entry.kind === "chunk" && entry.pins === 0 && !referenced.has(hex)) freed += await this.remove(hex, entry);
    }
    await this.flush();
    return freed;
  }

  private async referencedChunks(): Promise<Set<string>> {
    const referenced = new Set<string>();
    for (const [hex, entry] of [...this.index.entries]) {
      if (entry.kind !== "manifest") continue;
      const bytes = await this.objects.get(Buffer.from(hex, "hex"));
      if (bytes === null) {
        this.index.entries.delete(hex);
        this.released([Buffer.from(hex, "hex")]);
        continue;
      }
      const links = manifestLinks(bytes);
      if (!links) entry.kind = "chunk"; // looked like a manifest but is not one: plain data
      for (const id of [...(links?.parts ?? []), ...(links?.objects ?? [])]) referenced.add(id.toString("hex"));
    }
    return referenced;
  }

  /** Evicts LRU unpinned objects until the cache fits its limit; `keep` (just stored) is spared. */
  private async evictOverLimit(keep: string | null): Promise<number> {
    let excess = this.index.cacheBytes() - this.cacheLimitBytes;
    let freed = 0;
    for (const [hex, entry] of this.index.evictionOrder()) {
      if (excess <= 0) break;
      if (hex === keep) continue;
      const n = await this.remove(hex, entry);
      excess -= n;
      freed += n;
    }
    return freed;
  }

  private async remove(hex: string, entry: IndexEntry): Promise<number> {
    this.index.entries.delete(hex);
    this.dirty = true;
    const id = Buffer.from(hex, "hex");
    await this.objects.delete(id);
    this.released([id]);
    return entry.size;
  }

  /** Saves the index atomically if it changed; concurrent calls are serialized. */
  async flush(): Promise<void> {
    const run = this.flushing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      try {
        await this.objects.commit(); // the index must not name objects a power cut could still lose
        await writeFileDurably(path.join(this.dir, "tmp"), path.join(this.dir, INDEX_FILE), this.index.serialize());
      } catch (err) {
        this.dirty = true;
        throw err;
      }
    });
    this.flushing = run.catch(() => undefined); // one failed write must not poison later flushes
    return run;
  }

  async close(): Promise<void> {
    await this.flush();
  }
}

function sniffKind(data: FileData): ObjectKind {
  if (!(data instanceof Uint8Array)) return "chunk"; // stored as parts: only chunks are
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return manifestLinks(bytes) ? "manifest" : "chunk";
}

/** Pins that keep a copy for good (as opposed to cache and a fetch in progress): such objects are fsynced. */
function isKept(pin: PinReason | undefined): boolean {
  return pin === "own" || pin === "replica";
}

/** Whether `pin` makes an object kept that was not (absent from the index, or cache until now). */
function becomesKept(entry: IndexEntry | undefined, pin: PinReason | undefined): boolean {
  return isKept(pin) && !(entry && isKeptEntry(entry));
}
