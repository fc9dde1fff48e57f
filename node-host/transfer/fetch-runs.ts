// Running fetches: each transfer's content fetched to its target, a shared file (fetcher.ts, written
// through output-file.ts) or a shared folder (folder-fetch.ts), with the transfer's progress and end
// state kept in Transfers. The content's manifest comes first: it tells which of the two it is.

import * as fs from "node:fs";
import * as path from "node:path";
import { ContentStore, OutputFile, Manifest } from "../cas";
import { isFolderManifest, readFolder } from "../cas/open-folder";
import { FetchInfo, TransferInfo } from "../rpc/api-types";
import type { BulkPeer } from "../transport/bulk";
import type { BulkNodeClient } from "../transport/bulk-client";
import { fetchContent, manifestObject } from "./fetcher";
import { fetchFolder } from "./folder-fetch";
import { FolderTarget } from "./folder-target";
import { Holders } from "./holders";
import { ObjectSource } from "./object-source";
import { TransferHandle, Transfers } from "./transfers";

export class FetchRuns {
  constructor(
    private readonly store: ContentStore,
    private readonly bulk: BulkNodeClient,
    private readonly transfers: Transfers,
    private readonly downloadsDir: string,
    /** For a transfer: the holders of a content ID (ContentService.findHolders, with the sharer its link's address hints lead to). */
    private readonly holdersFor: (handle: TransferHandle) => (contentId: Buffer) => Promise<BulkPeer[]>,
  ) {}

  /** Runs a fetch: the content's manifest first, which tells a file's fetch from a folder's. */
  async run(handle: TransferHandle): Promise<FetchInfo> {
    const contentId = Buffer.from(handle.info.contentId, "hex");
    const find = this.holdersFor(handle);
    const holders = new Holders(() => find(handle.holdersOf ? Buffer.from(handle.holdersOf, "hex") : contentId), 3);
    const started = performance.now();
    let manifest: Buffer;
    try {
      manifest = await manifestObject(this.store, this.bulk, holders, contentId, { pin: "fetching", signal: handle.abort.signal });
    } catch (err) {
      this.ended(handle, err);
      throw err;
    }
    return isFolderManifest(manifest) ? this.runFolder(handle, holders, started) : this.runFile(handle, holders, find, started);
  }

  private async runFile(handle: TransferHandle, holders: Holders, find: (contentId: Buffer) => Promise<BulkPeer[]>, started: number): Promise<FetchInfo> {
    const { link, out } = handle;
    const contentId = Buffer.from(handle.info.contentId, "hex");
    // The file is written as its chunks arrive (output-file.ts) and is the fetch's only copy of them
    // unless it asked for them to be cached. What the file lacks is fetched, less what the store
    // holds already; a temp file left by a fetch cut short gives its right chunks back.
    let output = null as OutputFile | null;
    try {
      const result = await fetchContent({
        link,
        store: this.store,
        bulk: this.bulk,
        findHolders: () => find(contentId),
        holders,
        signal: handle.abort.signal,
        onProgress: (p) => this.transfers.update(handle, { name: p.name, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, rate: p.rate, holders: p.holders, routes: this.routesOf(p.holderIds), etaMs: p.etaMs }),
        plan: async (manifest) => {
          output = await this.createOutput(manifest, out);
          await output.fillPresentFrom(this.store);
          return output.unwritten();
        },
        keepChunks: handle.cache,
        onChunk: (id, bytes) => output!.writeChunk(id, bytes),
      });
      const written = await output!.commit();
      await this.store.unpin(this.objectIds(result.manifest, contentId), "fetching");
      const durationMs = performance.now() - started; // until the file is in place
      this.done(handle, written, result.manifest.size, result.holdersUsed, result.bytesFetched, durationMs);
      // A fetch leaves the file, not a copy in the store, so this node does not announce itself as
      // a holder: provider records name only pinned copies (own shares and replicas), which fetchers
      // can rely on and repair can count.
      return {
        transferId: handle.info.id,
        contentId: handle.info.contentId,
        name: result.manifest.name,
        path: written,
        size: result.manifest.size,
        bytesFetched: result.bytesFetched,
        bytesReused: result.bytesReused,
        holdersUsed: result.holdersUsed,
        routes: this.routesOf(result.usedHolderIds),
        badHolders: result.badHolders,
        durationMs,
      };
    } catch (err) {
      // a cancelled fetch leaves nothing; one that failed or was paused leaves its temp file to resume from
      if (handle.info.state === "cancelled") await output?.discard();
      else await output?.suspend();
      this.ended(handle, err);
      throw err;
    }
  }

  /**
   * A whole folder into `out` (the folder itself, created if missing; with a trailing separator, a
   * directory it goes into under its name), or downloads/<its name>.
   * Entries the target refuses are listed in the result; the transfer still ends "done".
   */
  private async runFolder(handle: TransferHandle, holders: Holders, started: number): Promise<FetchInfo> {
    const signal = handle.abort.signal;
    try {
      const folder = await readFolder(handle.link, (id) => manifestObject(this.store, this.bulk, holders, id, { pin: "fetching", signal }));
      const { summary } = folder;
      const target = await FolderTarget.open(folderTarget(handle.out, this.downloadsDir, summary.name));
      const source = new ObjectSource({ bulk: this.bulk, holders, signal });
      const r = await fetchFolder({
        folder,
        store: this.store,
        source,
        target,
        overwrite: !handle.out, // downloads/ is the node's own: a file there that differs is replaced
        cache: handle.cache,
        signal,
        cancelled: () => handle.info.state === "cancelled",
        onProgress: (p) =>
          this.transfers.update(handle, { name: summary.name, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, rate: p.rate, holders: p.holders, routes: this.routesOf(source.liveHolderIds()), etaMs: p.etaMs }),
      });
      await this.store.unpin([Buffer.from(folder.contentId, "hex"), ...folder.partIds], "fetching");
      const durationMs = performance.now() - started;
      this.done(handle, target.root, summary.size, source.holdersUsed, r.bytesFetched, durationMs, r.refused.length ? `${r.refused.length} entry(ies) refused: ${r.refused[0].path}: ${r.refused[0].reason}` : undefined);
      return {
        transferId: handle.info.id,
        contentId: folder.contentId,
        name: summary.name,
        path: target.root,
        size: summary.size,
        bytesFetched: r.bytesFetched,
        bytesReused: r.bytesReused,
        holdersUsed: source.holdersUsed,
        routes: this.routesOf(source.usedHolderIds),
        badHolders: holders.bad,
        durationMs,
        folder: { files: summary.files, dirs: summary.dirs, filesFetched: r.filesFetched, filesKept: r.filesKept, refused: r.refused },
      };
    } catch (err) {
      this.ended(handle, err);
      throw err;
    }
  }

  /** How the fetch's holders are reached, for those with a connection open. */
  private routesOf(holderIds: string[]): NonNullable<TransferInfo["routes"]> {
    return holderIds.flatMap((node) => {
      const route = this.bulk.routeOf?.(Buffer.from(node, "hex"));
      return route ? [{ node, ...route }] : [];
    });
  }

  /** A transfer finished: the file (or folder) is in place. */
  private done(handle: TransferHandle, written: string, size: number, holdersUsed: number, bytesFetched: number, durationMs: number, error?: string): void {
    const seconds = durationMs / 1000;
    this.transfers.update(
      handle,
      { state: "done", path: written, bytesDone: size, bytesTotal: size, etaMs: 0, finishedAt: Date.now(), holdersUsed, rate: seconds > 0 ? bytesFetched / seconds : 0, ...(error ? { error } : {}) },
      true,
    );
  }

  /** A transfer ended without its content: failed, or cancelled or paused (then its state says so already). */
  private ended(handle: TransferHandle, err: unknown): void {
    if (handle.info.state === "running") this.transfers.update(handle, { state: handle.abort.signal.aborted ? "cancelled" : "failed", error: (err as Error).message, finishedAt: Date.now() }, true);
  }

  private objectIds(manifest: Manifest, manifestId: Buffer): Buffer[] {
    return [manifestId, ...manifest.chunks.map((c) => c.id)];
  }

  /** The fetched file's output: into a directory under its own name, or at the exact path given. */
  private async createOutput(manifest: Manifest, out: string | undefined): Promise<OutputFile> {
    const target = out ? path.resolve(out) : this.downloadsDir;
    const isDir = !out || out.endsWith(path.sep) || (await fs.promises.stat(target).then((s) => s.isDirectory(), () => false));
    if (isDir) {
      await fs.promises.mkdir(target, { recursive: true });
      return OutputFile.create(manifest, { dir: target }, { overwrite: !out });
    }
    await fs.promises.mkdir(path.dirname(target), { recursive: true }); // -o into a folder that does not exist yet
    return OutputFile.create(manifest, { path: target }, { overwrite: true });
  }
}

/** Where a fetched folder goes: `out` itself, or into `out` under its name when `out` ends in a separator (or is not given: downloads/). */
function folderTarget(out: string | undefined, downloadsDir: string, name: string): string {
  if (!out) return path.join(downloadsDir, name);
  return /[\\/]$/.test(out) ? path.join(path.resolve(out), name) : path.resolve(out);
}
