// Sharing and fetching files: the store, the DHT's provider records and the bulk transports put
// together behind the operations the API offers (share, fetch, info, ls, verify, gc, transfers).

import * as fs from "node:fs";
import * as path from "node:path";
import { ContentStore, shareFile, openManifest, parseShareLink, OutputFile, Manifest, CasError } from "../cas";
import { contentRoots } from "../cas/content-roots";
import { contentObjects, manifestLinks } from "../cas/manifest-links";
import { entryLink, isFolderManifest, readFolder, type OpenFolder } from "../cas/open-folder";
import { pathProblem } from "../cas/folder-path";
import { shareFolder } from "../cas/share-folder";
import { Dht } from "../dht/dht";
import { BulkPeer } from "../transport/bulk";
import type { BulkNodeClient } from "../transport/bulk-client";
import { fetchContent, manifestObject } from "./fetcher";
import { FetchError, FetchRefusedError, Holders } from "./holders";
import { ObjectSource } from "./object-source";
import { fetchFolder } from "./folder-fetch";
import { FolderTarget } from "./folder-target";
import { leaveOutUnsafe, walkFolder } from "./folder-walk";
import { TransferHandle, Transfers } from "./transfers";
import { writeFileAtomic } from "../util/fs-atomic";
import { ContentInfo, FetchInfo, FolderListingInfo, ShareInfo, StoredContent, StoreListing, TransferInfo } from "../rpc/api-types";
import { TeamBook } from "../security/teams";
import { AudienceIndex } from "../security/audiences";
import { shareAudience } from "../security/access-policy";
import { checkBeforeSharing, gitIgnores, ignoredWarning, ShareNeedsConfirmationError, sizeWarning } from "./publish-check";
import type { PublishWarning } from "../rpc/api-types";

/** What decides who may read a share: the node's teams, and where each content's audience is kept. */
export interface ShareAccess {
  teams: TeamBook;
  audiences: AudienceIndex;
}

interface OwnShare {
  contentId: string;
  link: string;
  name: string;
  size: number;
  sharedAt: number;
  /** A shared folder (absent: a file). */
  folder?: true;
}

export interface ShareOptions {
  public?: boolean;
  replication?: number;
  teams?: string[];
  /** Share everything: no confirmation asked, and nothing of a folder left out by safe publishing (git-ignored, secret-looking, .git). */
  force?: boolean;
  /** The reasons a confirmation listed were accepted: shared without asking, but a folder's unsafe files are still left out. */
  confirmed?: boolean;
  onProgress?: (done: number, total: number) => void;
}

const SHARES_FILE = "shares.json";

/** Nodes closest to a content ID asked whether they hold it when no provider record names a holder. */
const CLOSEST_ASKED = 8;

export class ContentService {
  readonly transfers = new Transfers();
  /** This node's own shares, with their links (the data dir is private to its owner). */
  private readonly own = new Map<string, OwnShare>();
  /** Files larger than this ask for confirmation before they are shared (0: no limit; set by the node). */
  shareWarnBytes: () => number = () => 0;
  /** Makes the first copies of a new share on other nodes; returns how many hold it (set by the node). */
  replicate: ((contentId: Buffer, r: number) => Promise<number>) | null = null;

  constructor(
    readonly store: ContentStore,
    private readonly dht: Dht,
    private readonly bulk: BulkNodeClient,
    private readonly downloadsDir: string,
    private readonly dataDir: string,
    private readonly access: ShareAccess,
    /** A holder's contact as it can be reached: through its rendezvous nodes when it is behind NAT (nat/). */
    private readonly route: (peer: BulkPeer) => Promise<BulkPeer> = async (p) => p,
  ) {
    try {
      for (const s of JSON.parse(fs.readFileSync(path.join(dataDir, SHARES_FILE), "utf8")) as OwnShare[]) this.own.set(s.contentId, s);
    } catch {
      // no shares yet, or an unreadable list: it is only used for display
    }
    store.onRelease((ids) => this.released(ids));
  }

  /** Contents no longer kept here (evicted, removed, unpinned) are no longer announced. */
  private released(ids: Buffer[]): void {
    for (const id of ids) if (!this.store.keeps(id)) this.dht.unprovide(id);
  }

  private rememberShare(s: OwnShare): void {
    this.own.set(s.contentId, s);
    writeFileAtomic(path.join(this.dataDir, SHARES_FILE), JSON.stringify([...this.own.values()], null, 1));
  }

  /** Announces this node as holder of each of its own shares (after a restart). Returns how many. */
  async announceOwnShares(): Promise<number> {
    let n = 0;
    for (const s of this.own.values()) {
      const id = Buffer.from(s.contentId, "hex");
      if (!this.store.keeps(id) || !(await this.store.has(id))) continue;
      await this.dht.provide(id).catch(() => undefined);
      n++;
    }
    return n;
  }

  /** Whether `id` is the content ID (manifest) of one of this node's own shares. */
  isOwnShare(id: Buffer): boolean {
    return this.own.has(id.toString("hex"));
  }

  ownShares(): OwnShare[] {
    return [...this.own.values()];
  }

  /**
   * Shares a file or a folder. A private share is readable by the members of `teams` (names or key
   * prefixes; default: every team of this node); with one team it is encrypted under that team's
   * convergence secret, so teammates' copies of the same file deduplicate.
   */
  async share(filePath: string, options: ShareOptions = {}): Promise<ShareInfo> {
    const absolute = path.resolve(filePath);
    const stat = await fs.promises.stat(absolute).catch(() => null);
    if (!stat) throw new Error(`no such file or folder: ${absolute}`);
    if (stat.isDirectory()) return this.shareDirectory(absolute, options);
    if (!stat.isFile()) throw new Error(`not a regular file or a folder: ${absolute}`);
    if (!options.force && !options.confirmed) {
      const warnings = await checkBeforeSharing(absolute, this.shareWarnBytes());
      if (warnings.length > 0) throw new ShareNeedsConfirmationError(warnings);
    }
    const { teamKeys, convergenceSecret } = await this.readersOf(options);
    const result = await shareFile(this.store, absolute, { public: options.public, convergenceSecret, onProgress: options.onProgress });
    const m = result.manifest;
    return this.publish({ contentId: result.contentId, link: result.link, name: m.name, size: m.size, sharedAt: Date.now() }, result.objectIds, teamKeys, options, {
      chunks: m.chunks.length,
      public: m.mode === "public",
      bytesWritten: result.bytesWritten,
    });
  }

  /**
   * Shares a folder: its files (less what the walk and safe publishing leave out, unless forced)
   * and its directories. A folder git ignores as a whole, or one whose files together are over the
   * size limit, is shared only when confirmed (or forced), as a file would be.
   */
  private async shareDirectory(absolute: string, options: ShareOptions): Promise<ShareInfo> {
    const name = path.basename(absolute);
    const ask = !options.force && !options.confirmed;
    const warnings: PublishWarning[] = [];
    const ignored = !options.force && (await gitIgnores(absolute));
    if (ask && ignored) warnings.push(ignoredWarning(name));
    const walk = await walkFolder(absolute, { force: options.force });
    // in a folder git ignores as a whole (shared once confirmed), every file is ignored: only secrets are left out
    if (!options.force) await leaveOutUnsafe(absolute, walk, { gitIgnored: !ignored });
    const total = walk.files.reduce((n, f) => n + f.size, 0);
    const large = ask ? sizeWarning(name, total, this.shareWarnBytes()) : null;
    if (large) warnings.push(large);
    if (warnings.length > 0) throw new ShareNeedsConfirmationError(warnings);
    const { teamKeys, convergenceSecret } = await this.readersOf(options);
    const r = await shareFolder(this.store, name, walk.files, walk.dirs, { public: options.public, convergenceSecret, onProgress: options.onProgress });
    const own: OwnShare = { contentId: r.contentId, link: r.link, name: r.summary.name, size: r.summary.size, sharedAt: Date.now(), folder: true };
    return this.publish(own, r.objectIds, teamKeys, options, {
      chunks: r.chunks,
      public: options.public === true,
      bytesWritten: r.bytesWritten,
      kind: "folder",
      folder: { files: r.summary.files, dirs: r.summary.dirs, leftOut: walk.leftOut },
    });
  }

  /** Who may read a new share (team keys) and the convergence secret it is encrypted under. */
  private async readersOf(options: ShareOptions): Promise<{ teamKeys: Buffer[]; convergenceSecret: Buffer | undefined }> {
    if (options.public && options.teams?.length) throw new Error("a public share is readable by anyone: it takes no team");
    const teams = this.access.teams;
    const teamKeys = options.public ? [] : options.teams?.length ? options.teams.map((t) => teams.keyOf(t)) : teams.teamKeys();
    const convergenceSecret = teamKeys.length === 1 ? ((await teams.convergenceSecret(teamKeys[0])) ?? undefined) : undefined;
    return { teamKeys, convergenceSecret };
  }

  /**
   * A new share's last steps: every object it has (a folder's every part, file manifest and chunk)
   * recorded under its audience, the share remembered, announced and copied to r - 1 nodes.
   */
  private async publish(
    own: OwnShare,
    objectIds: Buffer[],
    teamKeys: Buffer[],
    options: ShareOptions,
    info: Pick<ShareInfo, "chunks" | "public" | "bytesWritten" | "kind" | "folder">,
  ): Promise<ShareInfo> {
    const id = Buffer.from(own.contentId, "hex");
    this.access.audiences.set(id, shareAudience(options.public === true, teamKeys), objectIds.slice(1));
    this.rememberShare(own);
    const announcedTo = await this.dht.provide(id);
    const replication = options.replication ?? 1;
    const replicas = this.replicate ? await this.replicate(id, replication) : 0;
    const teams = teamKeys.map((k) => this.access.teams.nameOf(k) ?? k.toString("hex"));
    return { contentId: own.contentId, link: own.link, name: own.name, size: own.size, teams, announcedTo, replication, replicas, ...info };
  }

  /**
   * Holders of a content ID: nodes with a valid provider record for it, other than this one, that
   * are alive (a crashed holder's record outlives it, and dialling it costs a connect timeout).
   * When no record names a live holder (records expired, or their holders have not announced again
   * since a restart), the nodes closest to the content ID are asked directly with HAS_OBJECTS:
   * replication places copies there.
   */
  async findHolders(contentId: Buffer): Promise<BulkPeer[]> {
    const { providers, lookup } = await this.dht.findProviders(contentId);
    const others = await Promise.all(providers.filter((p) => !p.provider.id.equals(this.dht.id)).map((p) => this.route(p.provider)));
    const alive = await Promise.all(others.map((p) => this.dht.isAlive(p)));
    const recorded = others.filter((_, i) => alive[i]);
    if (recorded.length > 0) return recorded;
    const closest = lookup.closest.filter((c) => !c.id.equals(this.dht.id)).slice(0, CLOSEST_ASKED);
    const holds = await Promise.all(closest.map((c) => this.bulk.hasObjects(c, [contentId]).then(([has]) => has === true, () => false)));
    return closest.filter((_, i) => holds[i]);
  }

  /**
   * Starts a fetch and resolves when the file (or folder) is written. With `cache` the chunks also go
   * into the store (as cache: bounded, least recently used first out), so the next fetch of the same
   * content needs no holder; `cat` and VS Code's editor tabs ask for that. With `path`, the one file
   * of a shared folder at that path is fetched, from the folder's holders.
   */
  fetch(link: string, out?: string, transferId?: string, options: { cache?: boolean; path?: string } = {}): Promise<FetchInfo> {
    const { contentId } = parseShareLink(link); // throws a clear error for a bad link first
    if (options.path !== undefined) return this.fetchFolderFile(link, options.path, out, transferId, options.cache === true);
    return this.run(this.transfers.create(contentId, link, out, transferId, options.cache === true));
  }

  /** One file of a shared folder: fetched as a file is, by its own manifest, from the holders of the folder. */
  private async fetchFolderFile(link: string, rel: string, out: string | undefined, transferId: string | undefined, cache: boolean): Promise<FetchInfo> {
    const problem = pathProblem(rel);
    if (problem) throw new Error(`${JSON.stringify(rel)} cannot be in a shared folder: ${problem}`);
    const folder = await this.openFolder(link);
    const entry = folder.entries.find((e) => e.kind === "file" && e.path === rel);
    if (!entry) throw new CasError("ENOTFOUND", `the shared folder ${folder.summary.name} has no file ${rel}`);
    const handle = this.transfers.create(entry.manifestId!.toString("hex"), entryLink(entry), out, transferId, cache);
    handle.holdersOf = folder.contentId;
    return this.run(handle);
  }

  /** Runs a fetch: the content's manifest first, which tells a file's fetch from a folder's. */
  private async run(handle: TransferHandle): Promise<FetchInfo> {
    const contentId = Buffer.from(handle.info.contentId, "hex");
    const holders = new Holders(() => this.findHolders(handle.holdersOf ? Buffer.from(handle.holdersOf, "hex") : contentId), 3);
    const started = performance.now();
    let manifest: Buffer;
    try {
      manifest = await manifestObject(this.store, this.bulk, holders, contentId, { pin: "fetching", signal: handle.abort.signal });
    } catch (err) {
      this.ended(handle, err);
      throw err;
    }
    return isFolderManifest(manifest) ? this.runFolder(handle, holders, started) : this.runFile(handle, holders, started);
  }

  private async runFile(handle: TransferHandle, holders: Holders, started: number): Promise<FetchInfo> {
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
        findHolders: () => this.findHolders(contentId),
        holders,
        signal: handle.abort.signal,
        onProgress: (p) => this.transfers.update(handle, { name: p.name, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, rate: p.rate, holders: p.holders, etaMs: p.etaMs }),
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
        onProgress: (p) => this.transfers.update(handle, { name: summary.name, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, rate: p.rate, holders: p.holders, etaMs: p.etaMs }),
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
        badHolders: holders.bad,
        durationMs,
        folder: { files: summary.files, dirs: summary.dirs, filesFetched: r.filesFetched, filesKept: r.filesKept, refused: r.refused },
      };
    } catch (err) {
      this.ended(handle, err);
      throw err;
    }
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

  pause(id: string): TransferInfo {
    const h = this.transfers.get(id);
    if (h.info.state !== "running") throw new Error(`transfer ${id} is ${h.info.state}, not running`);
    this.transfers.update(h, { state: "paused" }, true);
    h.abort.abort();
    return { ...h.info };
  }

  cancel(id: string): TransferInfo {
    const h = this.transfers.get(id);
    if (h.info.state === "running" || h.info.state === "paused") {
      this.transfers.update(h, { state: "cancelled" }, true);
      h.abort.abort();
    }
    return { ...h.info };
  }

  /** Resumes a paused or failed fetch: chunks already on disk are not fetched again. */
  resume(id: string): TransferInfo {
    const h = this.transfers.get(id);
    if (h.info.state !== "paused" && h.info.state !== "failed") throw new Error(`transfer ${id} is ${h.info.state}; only paused or failed transfers resume`);
    this.transfers.restart(h);
    this.run(h).catch(() => undefined); // its outcome is reported through the transfer's state
    return { ...h.info };
  }

  /** A shared file's or folder's details, from its manifest in the store or fetched from a holder. */
  async info(link: string): Promise<ContentInfo> {
    const { contentId } = parseShareLink(link);
    const bytes = await this.lookUp(contentId, (holders) => manifestObject(this.store, this.bulk, holders, Buffer.from(contentId, "hex")));
    if (isFolderManifest(bytes)) {
      const f = await this.openFolder(link);
      const { summary } = f;
      return { contentId, name: summary.name, size: summary.size, mediaType: "inode/directory", chunks: f.objectIds.length, public: f.mode === "public", kind: "folder", files: summary.files, dirs: summary.dirs };
    }
    const m = await openManifest(this.store, link);
    return { contentId, name: m.name, size: m.size, mediaType: m.mediaType, chunks: m.chunks.length, public: m.mode === "public", kind: "file" };
  }

  /** An object the store holds; throws ENOTFOUND when it does not. */
  private async fromStore(id: Buffer): Promise<Buffer> {
    const bytes = await this.store.get(id);
    if (!bytes) throw new CasError("ENOTFOUND", `object ${id.toString("hex")} is not in the store`);
    return bytes;
  }

  /** A shared folder's tree (`peershare ls LINK`, VS Code's Explorer), from its manifests alone. */
  async list(link: string): Promise<FolderListingInfo> {
    const f = await this.openFolder(link);
    const { summary } = f;
    const entries = f.entries.map((e) => {
      const refused = e.badUtf8 ? "its path is not valid UTF-8" : pathProblem(e.path);
      return { path: e.path, kind: e.kind, size: e.size, executable: e.executable, ...(refused ? { refused } : {}) };
    });
    return { contentId: f.contentId, name: summary.name, files: summary.files, dirs: summary.dirs, size: summary.size, public: f.mode === "public", entries };
  }

  /** A shared folder's root and parts, from the store or its holders (kept in the store as cache). */
  private openFolder(link: string): Promise<OpenFolder> {
    const { contentId } = parseShareLink(link);
    return this.lookUp(contentId, (holders) => readFolder(link, (id) => manifestObject(this.store, this.bulk, holders, id)));
  }

  /**
   * Runs `get` with the content's holders (looked up only when needed) and turns its failure into
   * what a look-up reports: a refusal when every holder refused, else "no reachable node holds it".
   */
  private async lookUp<T>(contentId: string, get: (holders: Holders) => Promise<T>): Promise<T> {
    try {
      return await get(new Holders(() => this.findHolders(Buffer.from(contentId, "hex")), 0));
    } catch (err) {
      if (err instanceof FetchRefusedError || !(err instanceof FetchError)) throw err;
      throw new CasError("ENOTFOUND", `no reachable node holds ${contentId}`);
    }
  }

  /** Own shares, replicas and cache: each shared file or folder once (a folder's parts and files are in it). */
  async ls(): Promise<StoreListing> {
    const objects = this.store.ls();
    const manifests = objects.filter((x) => x.kind === "manifest");
    const roots = new Set((await contentRoots(this.store, manifests.map((o) => o.id), (id) => this.own.has(id.toString("hex")))).map((id) => id.toString("hex")));
    const contents = [];
    for (const o of manifests.filter((m) => roots.has(m.id.toString("hex")))) contents.push(await this.stored(o.id, o.pins));
    return {
      contents,
      objects: objects.length,
      bytes: objects.reduce((n, o) => n + o.size, 0),
      cacheBytes: this.store.cacheBytes(),
      cacheLimitBytes: this.store.cacheLimitBytes,
    };
  }

  /** One content of the store for ls(): its name and size where known (own shares, public ones), its objects and how many are here. */
  private async stored(id: Buffer, pins: string[]): Promise<StoredContent> {
    const hex = id.toString("hex");
    const mine = this.own.get(hex);
    let size = mine?.size ?? 0;
    let name: string | null = mine?.name ?? null;
    const bytes = await this.store.get(id);
    const links = bytes && manifestLinks(bytes);
    if (links?.kind === "file" && !mine) {
      const m = await openManifest(this.store, hex).catch(() => null); // public manifests only: no key here
      name = m?.name ?? null;
      size = m?.size ?? 0;
    } else if (links?.kind === "folder" && !mine) {
      const f = await readFolder(hex, (x) => this.fromStore(x)).catch(() => null); // public folders only
      name = f?.summary.name ?? null;
      size = f?.summary.size ?? 0;
    }
    // the clear headers list every object, so what is held here is known without the key
    const listed = links ? ((await contentObjects(id, (x) => this.store.get(x)).catch(() => null))?.ids.slice(1) ?? []) : [];
    const chunksHeld = listed.filter((x) => this.store.sizeOf(x) !== null).length;
    return { contentId: hex, name, size, pins, chunks: listed.length, chunksHeld, link: mine?.link, sharedAt: mine?.sharedAt, ...(links?.kind === "folder" ? { kind: "folder" as const } : {}) };
  }

  async verify(): Promise<{ checked: number; corrupt: string[] }> {
    const checked = this.store.ls().length;
    const corrupt = await this.store.verify();
    return { checked, corrupt: corrupt.map((b) => b.toString("hex")) };
  }

  async gc(): Promise<{ freedBytes: number }> {
    return { freedBytes: await this.store.gc() };
  }
}

/** Where a fetched folder goes: `out` itself, or into `out` under its name when `out` ends in a separator (or is not given: downloads/). */
function folderTarget(out: string | undefined, downloadsDir: string, name: string): string {
  if (!out) return path.join(downloadsDir, name);
  return /[\\/]$/.test(out) ? path.join(path.resolve(out), name) : path.resolve(out);
}
