// A fetch of a whole shared folder into a directory: every entry the target accepts (folder-target.ts
// refuses the ones that could write outside it, each with its reason, and the rest go on), several
// files at once, each file's chunks from all holders at once through one object source. Each file is
// written as a single fetched file is (output-file.ts: a temp file beside it, every chunk verified,
// the whole checked against its manifest's digest), then made durable with a batch of others and
// renamed into place (PlacementBatch), so a fetch that is killed leaves complete files and part
// files, and the next fetch to the same directory keeps the complete ones (after checking them
// against their manifests) and resumes the part files.
//
// A file that exists and differs from the shared one is refused (with `overwrite`, the fetch into
// downloads/, it is replaced). A failure to get objects (no holder left) or to write (a full disk)
// ends the whole fetch; what was written stays for the next one.

import { promises as fsp } from "node:fs";
import { CasError, OutputFile, type ContentStore } from "../cas";
import { fileMatches } from "../cas/assemble";
import type { FolderEntry } from "../cas/folder-manifest";
import { entryManifest, type OpenFolder } from "../cas/open-folder";
import type { Manifest } from "../cas/manifest";
import type { LeftOutEntry } from "../rpc/api-types";
import { mapLimit } from "../util/concurrency";
import { syncFileSystem } from "../util/sync-fs";
import { fsyncFile } from "../cas/durable-write";
import type { FolderTarget } from "./folder-target";
import { FetchError } from "./holders";
import type { ObjectSource } from "./object-source";

export interface FolderProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  files: number;
  /** Bytes per second fetched so far. */
  rate: number;
  holders: number;
  etaMs: number | null;
}

export interface FolderFetchParams {
  folder: OpenFolder;
  store: ContentStore;
  source: ObjectSource;
  target: FolderTarget;
  /** Replace a file that exists and differs (else that entry is refused). */
  overwrite: boolean;
  /** Also keep the fetched chunks in the store, as cache. */
  cache: boolean;
  signal?: AbortSignal;
  /** Whether an abort was a cancel (part files are removed) rather than a pause (they stay). */
  cancelled?: () => boolean;
  onProgress?(p: FolderProgress): void;
}

export interface FolderFetchResult {
  filesFetched: number;
  /** Files found complete in the target already. */
  filesKept: number;
  refused: LeftOutEntry[];
  bytesFetched: number;
  /** Bytes that did not travel: complete files kept, chunks found in part files or the store. */
  bytesReused: number;
}

/** Files fetched at once: enough that many small files keep every holder busy. */
const FILES_PARALLEL = 8;
/** Written files made durable together (one sync of the file system), then renamed into place: at most this many… */
const BATCH_FILES = 1000;
/** …or this many bytes… */
const BATCH_BYTES = 256 * 1024 * 1024;
/** …or files that waited this long (so files keep appearing in place, and a killed fetch leaves most in place). */
const BATCH_MS = 1000;
/** Chunks of one file asked for at once (the object source spreads them over the holders). */
const CHUNKS_PER_FILE = 8;

/** An entry that cannot be written here; the fetch goes on without it. */
class EntryRefused extends Error {}

export async function fetchFolder(p: FolderFetchParams): Promise<FolderFetchResult> {
  return new FolderFetch(p).run();
}

class FolderFetch {
  private readonly refused: LeftOutEntry[] = [];
  /** Files being written, or written and waiting in the batch: what a failure suspends (or a cancel removes). */
  private readonly outputs = new Set<OutputFile>();
  private readonly batch: PlacementBatch;
  private readonly started = performance.now();
  private readonly total: number;
  private readonly fileCount: number;
  private bytesDone = 0;
  private bytesReused = 0;
  private filesDone = 0;
  private filesFetched = 0;
  private filesKept = 0;

  constructor(private readonly p: FolderFetchParams) {
    this.total = p.folder.summary.size;
    this.fileCount = p.folder.summary.files;
    this.batch = new PlacementBatch(p.target.root, (entry, output, err) => this.placed(entry, output, err));
  }

  async run(): Promise<FolderFetchResult> {
    const { folder, target } = this.p;
    const files: FolderEntry[] = [];
    for (const entry of folder.entries) {
      const refusal = target.refusal(entry);
      if (refusal) this.refuse(entry, refusal);
      else if (entry.kind === "dir") await this.asEntry(entry, () => target.ensureDir(entry.path));
      else files.push(entry);
    }
    this.report();
    try {
      await mapLimit(files, FILES_PARALLEL, (entry) => this.asEntry(entry, () => this.file(entry)));
      await this.batch.flush();
      await target.syncDirs();
    } catch (err) {
      this.batch.stop();
      // what is written stays: part files for the next fetch (a cancelled fetch removes them)
      await Promise.all([...this.outputs].map((o) => (this.p.cancelled?.() ? o.discard() : o.suspend())));
      throw err;
    }
    const { source } = this.p;
    return { filesFetched: this.filesFetched, filesKept: this.filesKept, refused: this.refused, bytesFetched: source.bytesFetched, bytesReused: this.bytesReused };
  }

  /** Runs one entry's work; a problem of that entry alone refuses it, anything else ends the fetch. */
  private async asEntry(entry: FolderEntry, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      if (!isEntryProblem(err)) throw err;
      this.refuse(entry, (err as Error).message);
    }
  }

  private refuse(entry: FolderEntry, reason: string): void {
    this.refused.push({ path: entry.path, reason });
    if (entry.kind === "file") this.fileDone(entry.size, 0);
  }

  private async file(entry: FolderEntry): Promise<void> {
    const { target, signal } = this.p;
    if (signal?.aborted) throw new FetchError("fetch cancelled");
    const parent = entry.path.includes("/") ? entry.path.slice(0, entry.path.lastIndexOf("/")) : "";
    await wrapEntryError(() => target.ensureDir(parent));
    const manifest = await this.manifestOf(entry);
    const finalPath = target.pathOf(entry.path);
    const present = await fsp.lstat(finalPath).catch(() => null);
    if (present && !present.isFile()) throw new EntryRefused(`${finalPath} is in the way: it is not a regular file`);
    if (present && (await fileMatches(finalPath, manifest))) {
      this.filesKept++;
      return this.fileDone(entry.size, entry.size);
    }
    if (present && !this.p.overwrite) throw new EntryRefused(`${finalPath} exists and is not the shared file: move it away, or fetch into another folder`);
    await this.write(entry, manifest, finalPath);
  }

  /** Fetches what the file's temp file and the store lack, and puts the file in place. */
  private async write(entry: FolderEntry, manifest: Manifest, finalPath: string): Promise<void> {
    const { store, source, cache } = this.p;
    const output = await wrapEntryError(
      () => OutputFile.create(manifest, { path: finalPath }, { overwrite: true, executable: entry.executable, syncDir: false }),
      (err) => err instanceof CasError, // a part file in the way, another fetch writing it; a full disk ends the fetch
    );
    this.outputs.add(output);
    const bytesOf = chunkBytes(manifest);
    await output.fillPresentFrom(store);
    const missing = output.unwritten();
    const reused = manifest.size - missing.reduce((n, id) => n + (bytesOf.get(id.toString("hex")) ?? 0), 0);
    this.bytesReused += reused;
    this.addBytes(reused);
    await mapLimit(missing, CHUNKS_PER_FILE, async (id) => {
      const bytes = await source.get(id, `a chunk of ${entry.path}`);
      try {
        if (cache) await store.putVerified(id, bytes, { kind: "chunk" });
        await output.writeChunk(id, bytes);
      } finally {
        source.release(bytes);
      }
      this.addBytes(bytesOf.get(id.toString("hex")) ?? 0);
    });
    await wrapEntryError(() => output.finish({ sync: false }), (err) => err instanceof CasError && err.code === "EHASHMISMATCH");
    await this.batch.add(entry, output);
  }

  /** A file of the batch was renamed into place (or could not be: that entry is refused). */
  private placed(entry: FolderEntry, output: OutputFile, err: unknown): void {
    this.outputs.delete(output);
    if (err) return this.refuse(entry, (err as Error).message);
    this.filesFetched++;
    this.fileDone(0, 0);
  }

  /** The file's manifest: from the store when it is there, else from a holder (kept in the store with `cache`). */
  private async manifestOf(entry: FolderEntry): Promise<Manifest> {
    const { store } = this.p;
    const id = entry.manifestId!;
    const bytes = (await store.get(id)) ?? (await this.fetchManifest(id, entry));
    return wrapEntryError(async () => entryManifest(entry, bytes));
  }

  private async fetchManifest(id: Buffer, entry: FolderEntry): Promise<Buffer> {
    const { store, source, cache } = this.p;
    const fetched = await source.get(id, `the manifest of ${entry.path}`);
    try {
      const bytes = Buffer.from(fetched); // a copy: the received buffer goes back to its pool
      if (cache) await store.putVerified(id, bytes, { kind: "manifest" });
      return bytes;
    } finally {
      source.release(fetched);
    }
  }

  private addBytes(n: number): void {
    this.bytesDone += n;
    this.report();
  }

  /** A file is finished: `bytes` more of it count as done (kept or refused files at once). */
  private fileDone(bytes: number, reused: number): void {
    this.filesDone++;
    this.bytesReused += reused;
    this.addBytes(bytes);
  }

  private report(): void {
    const elapsed = (performance.now() - this.started) / 1000;
    const rate = elapsed > 0 ? this.p.source.bytesFetched / elapsed : 0;
    this.p.onProgress?.({
      bytesDone: this.bytesDone,
      bytesTotal: this.total,
      filesDone: this.filesDone,
      files: this.fileCount,
      rate,
      holders: this.p.source.holders.live().length,
      etaMs: rate > 0 ? ((this.total - this.bytesDone) / rate) * 1000 : null,
    });
  }
}

/**
 * Files written and checked, waiting to be made durable together and renamed into place. One sync
 * of the file system for a batch (util/sync-fs.ts; else an fsync of each part file) in place of an
 * fsync per file: 10,000 small files took ~9 s of fsyncs here. A file is renamed into place only
 * after that, so a power cut never leaves a name over unwritten data; a fetch killed before keeps the
 * part files, whose chunks the next one takes back.
 */
class PlacementBatch {
  private waiting: { entry: FolderEntry; output: OutputFile }[] = [];
  private bytes = 0;
  /** Flushes the files waiting once the first of them has waited BATCH_MS. */
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  /** A timed flush's failure, thrown by the next flush(). */
  private failure: { error: unknown } | null = null;

  constructor(
    private readonly dir: string,
    private readonly placed: (entry: FolderEntry, output: OutputFile, err: unknown) => void,
  ) {}

  async add(entry: FolderEntry, output: OutputFile): Promise<void> {
    this.waiting.push({ entry, output });
    this.bytes += entry.size;
    if (this.waiting.length >= BATCH_FILES || this.bytes >= BATCH_BYTES) return this.flush();
    this.timer ??= setTimeout(() => void this.flush().catch((error: unknown) => (this.failure ??= { error })), BATCH_MS);
  }

  /** Makes the waiting files durable and renames them into place (one flush at a time). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const run = this.flushing.then(() => this.flushNow());
    this.flushing = run.catch(() => undefined);
    return run.then(() => {
      if (this.failure) throw this.failure.error;
    });
  }

  /** Stops the timer (a fetch that failed: what waits stays in its part files). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async flushNow(): Promise<void> {
    const files = this.waiting;
    this.waiting = [];
    this.bytes = 0;
    if (files.length === 0) return;
    if (!(await syncFileSystem(this.dir))) await mapLimit(files, 16, ({ output }) => fsyncFile(output.partPath));
    for (const { entry, output } of files) {
      const err = await output.putInPlace().then(
        () => null,
        (e: unknown) => e,
      );
      this.placed(entry, output, err);
    }
  }
}

/** Plaintext bytes each distinct chunk puts into the file (a chunk that occurs twice counts twice). */
function chunkBytes(manifest: Manifest): Map<string, number> {
  const bytes = new Map<string, number>();
  for (const c of manifest.chunks) bytes.set(c.id.toString("hex"), (bytes.get(c.id.toString("hex")) ?? 0) + c.size);
  return bytes;
}

/** Runs `work`; a failure that concerns this entry alone (`entryOnly`, or any by default) becomes EntryRefused. */
async function wrapEntryError<T>(work: () => Promise<T>, entryOnly: (err: unknown) => boolean = () => true): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (entryOnly(err) && !(err instanceof FetchError)) throw new EntryRefused((err as Error).message);
    throw err;
  }
}

function isEntryProblem(err: unknown): boolean {
  return err instanceof EntryRefused;
}
