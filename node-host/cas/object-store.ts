// Objects on disk, named by the hash of their stored bytes (object-hash.ts): DIR/objects/ab/cdef... (fan-out by the
// first byte keeps directories small). Every write is atomic (see durable-write.ts), so a name under
// objects/ is the hash of that file's complete content, and durable (fsynced before its rename) unless
// the caller says the copy can be had again; every read re-hashes, and a file that no longer matches
// its name (bit rot, truncation, tampering, a power cut after a non-durable write) is moved to
// DIR/quarantine/ and never served. Directory entries are fsynced in batches by syncDirs() (one fsync per touched
// fan-out directory instead of one per object, which halved write throughput): a power cut can lose
// an object written since the last sync, never corrupt one.

import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { CasError } from "./errors";
import { isIdOf, objectIdOf } from "./object-hash";
import { emptyDir, fsyncDir, fsyncFile, renameDurably, writeFileAtomically, type FileData } from "./durable-write";
import { readFileHead, readFileInto } from "../util/read-head";
import { mapLimit } from "../util/concurrency";
import { syncFileSystem } from "../util/sync-fs";

export type { FileData } from "./durable-write";

export const ID_BYTES = 32;

export interface PutResult {
  id: Buffer;
  /** False when the object was already present (deduplicated): nothing was written. */
  written: boolean;
}

/** Object ids computed by the caller, keyed by the data they are of (see withKnownId). */
const knownIds = new WeakMap<object, Buffer>();

/**
 * Tells put() that `data` hashes to `id`, so it does not hash it again: for a caller that computed the
 * id itself (a share does, on a worker thread). Trusted, so only for digests this process made;
 * `data` must not change afterwards. Reads re-hash every object regardless.
 */
export function withKnownId<T extends FileData>(data: T, id: Buffer): T {
  knownIds.set(data, id);
  return data;
}

/**
 * Whether an object may already be on disk. A caller whose index says it is not (ContentStore) spares
 * the stat before each write; an identical copy that is there after all is simply replaced.
 */
export type MayBePresent = (id: Buffer) => boolean;
const always: MayBePresent = () => true;

export function byteLength(data: FileData): number {
  return data instanceof Uint8Array ? data.length : data.reduce((n, part) => n + part.length, 0);
}

export function isObjectId(id: unknown): id is Buffer {
  return Buffer.isBuffer(id) && id.length === ID_BYTES;
}

const FAN_OUT_DIR = /^[0-9a-f]{2}$/;
const REST_OF_NAME = /^[0-9a-f]{62}$/;

export class ObjectStore {
  private readonly objectsDir: string;
  private readonly tmpDir: string;
  private readonly quarantineDir: string;
  private readonly knownFanOutDirs = new Set<string>();
  private readonly writesInFlight = new Map<string, Promise<PutResult>>();
  private readonly unsyncedDirs = new Set<string>();

  private constructor(readonly dir: string) {
    this.objectsDir = path.join(dir, "objects");
    this.tmpDir = path.join(dir, "tmp");
    this.quarantineDir = path.join(dir, "quarantine");
  }

  /**
   * Opens (creating if needed) the store in `dir`, discarding temp files a crash left behind. One
   * process owns a store at a time (the node-host; the CLI goes through its API).
   */
  static async open(dir: string): Promise<ObjectStore> {
    const store = new ObjectStore(dir);
    await fsp.mkdir(store.objectsDir, { recursive: true });
    await fsp.mkdir(store.quarantineDir, { recursive: true });
    await emptyDir(store.tmpDir);
    return store;
  }

  pathOf(id: Buffer): string {
    const hex = checkedHex(id);
    return path.join(this.objectsDir, hex.slice(0, 2), hex.slice(2));
  }

  /**
   * Stores bytes (whole, or as parts stored one after the other) under their hash. `durable` (the
   * default) fsyncs them before they get their name; without, a power cut soon after may leave the
   * object torn, which its hash check on read catches (for copies that can be had again: cache).
   */
  async put(bytes: FileData, durable = true, mayBePresent: MayBePresent = always): Promise<PutResult> {
    return this.write(knownIds.get(bytes) ?? objectIdOf(bytes), bytes, durable, mayBePresent);
  }

  /** Stores bytes fetched under a known id; throws EHASHMISMATCH when they are not that object. */
  async putVerified(id: Buffer, bytes: FileData, durable = true, mayBePresent: MayBePresent = always): Promise<PutResult> {
    checkedHex(id);
    if (!isIdOf(id, bytes)) {
      throw new CasError("EHASHMISMATCH", `bytes do not hash to object ${id.toString("hex")}`);
    }
    return this.write(id, bytes, durable, mayBePresent);
  }

  /** fsyncs objects already stored (absent ones are skipped), and the directories they are in. */
  async sync(ids: Buffer[]): Promise<void> {
    if (ids.length === 0) return;
    for (const id of ids) if (await fsyncFile(this.pathOf(id))) this.unsyncedDirs.add(path.dirname(this.pathOf(id)));
    await this.syncDirs();
  }

  /**
   * Makes many objects durable at once (written with `durable` false): one sync of the whole file
   * system where it can be done (util/sync-fs.ts), else an fsync of each, then of their directories.
   */
  async syncMany(ids: Buffer[]): Promise<void> {
    if (ids.length === 0) return;
    if (await syncFileSystem(this.dir)) return void this.unsyncedDirs.clear();
    await mapLimit(ids, 16, async (id) => {
      if (await fsyncFile(this.pathOf(id))) this.unsyncedDirs.add(path.dirname(this.pathOf(id)));
    });
    await this.syncDirs();
  }

  /** Concurrent puts of one object share a single write; the later ones report written: false. */
  private write(id: Buffer, bytes: FileData, durable: boolean, mayBePresent: MayBePresent): Promise<PutResult> {
    const hex = id.toString("hex");
    const running = this.writesInFlight.get(hex);
    if (running) return running.then(() => ({ id, written: false }));
    const write = this.writeOnce(id, bytes, durable, mayBePresent(id)).finally(() => this.writesInFlight.delete(hex));
    this.writesInFlight.set(hex, write);
    return write;
  }

  private async writeOnce(id: Buffer, bytes: FileData, durable: boolean, mayBePresent: boolean): Promise<PutResult> {
    const file = this.pathOf(id);
    const present = mayBePresent ? await this.size(id) : null;
    // Same name and same size: the same object (a corrupt copy is caught and replaced on read or verify).
    if (present === byteLength(bytes)) return { id, written: false };
    if (present !== null) await this.quarantine(id);
    const fanOut = path.dirname(file);
    if (!this.knownFanOutDirs.has(fanOut)) {
      await fsp.mkdir(fanOut, { recursive: true });
      this.knownFanOutDirs.add(fanOut);
    }
    await writeFileAtomically(this.tmpDir, file, bytes, { sync: durable });
    this.unsyncedDirs.add(fanOut);
    return { id, written: true };
  }

  /** Makes the names of objects written so far durable (fsyncs the directories they were renamed into). */
  async syncDirs(): Promise<void> {
    const dirs = [...this.unsyncedDirs];
    this.unsyncedDirs.clear();
    try {
      await Promise.all(dirs.map(fsyncDir));
    } catch (err) {
      for (const dir of dirs) this.unsyncedDirs.add(dir);
      throw err;
    }
  }

  /**
   * The object's bytes after checking their hash; null when absent or corrupt (then quarantined).
   * With `into`, they are read into that buffer when they fit (a view of it is returned).
   */
  async get(id: Buffer, into?: Buffer): Promise<Buffer | null> {
    let bytes: Buffer;
    try {
      bytes = into ? await readFileInto(this.pathOf(id), into) : await fsp.readFile(this.pathOf(id));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    if (isIdOf(id, bytes)) return bytes;
    await this.quarantine(id);
    return null;
  }

  /** The first `length` bytes, unverified: enough to tell a manifest from a chunk. */
  async readHead(id: Buffer, length: number): Promise<Buffer | null> {
    try {
      return await readFileHead(this.pathOf(id), length);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async has(id: Buffer): Promise<boolean> {
    return (await this.size(id)) !== null;
  }

  /** Stored size in bytes, or null when absent. */
  async size(id: Buffer): Promise<number | null> {
    try {
      return (await fsp.stat(this.pathOf(id))).size;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Removes the object; false when it was not there. */
  async delete(id: Buffer): Promise<boolean> {
    try {
      await fsp.unlink(this.pathOf(id));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Every object id on disk, in no particular order; stray files that are not object names are skipped. */
  async *ids(): AsyncGenerator<Buffer> {
    for (const fanOut of await fsp.readdir(this.objectsDir)) {
      if (!FAN_OUT_DIR.test(fanOut)) continue;
      let names: string[];
      try {
        names = await fsp.readdir(path.join(this.objectsDir, fanOut));
      } catch {
        continue; // a stray file where a directory was expected
      }
      for (const name of names) if (REST_OF_NAME.test(name)) yield Buffer.from(fanOut + name, "hex");
    }
  }

  /** Re-hashes every object; returns the ids found corrupt, which are quarantined. */
  async verify(): Promise<Buffer[]> {
    const corrupt: Buffer[] = [];
    for await (const id of this.ids()) {
      const bytes = await fsp.readFile(this.pathOf(id)).catch(() => null);
      if (bytes !== null && !isIdOf(id, bytes)) {
        await this.quarantine(id);
        corrupt.push(id);
      }
    }
    return corrupt;
  }

  /** Moves an object aside to DIR/quarantine/ (kept for inspection, never served). */
  async quarantine(id: Buffer): Promise<void> {
    const target = path.join(this.quarantineDir, `${id.toString("hex")}.${Date.now()}`);
    try {
      await renameDurably(this.pathOf(id), target);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

function checkedHex(id: Buffer): string {
  if (!isObjectId(id)) throw new TypeError(`an object id is ${ID_BYTES} bytes`);
  return id.toString("hex");
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === "ENOENT";
}
