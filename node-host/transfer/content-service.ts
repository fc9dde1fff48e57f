// Sharing and fetching files: the store, the DHT's provider records and the bulk transports put
// together behind the operations the API offers (share, fetch, info, ls, verify, gc, transfers).

import * as fs from "node:fs";
import * as path from "node:path";
import { ContentStore, shareFile, openManifest, parseShareLink, OutputFile, Manifest, CasError, decodeManifestHeader } from "../cas";
import { Dht } from "../dht/dht";
import { BulkPeer } from "../transport/bulk";
import type { BulkNodeClient } from "../transport/bulk-client";
import { fetchContent, fetchFromFirst, nothingFetched } from "./fetcher";
import { AccessDeniedError } from "../transport/bulk-api";
import { TransferHandle, Transfers } from "./transfers";
import { writeFileAtomic } from "../util/fs-atomic";
import { ContentInfo, FetchInfo, ShareInfo, StoreListing, TransferInfo } from "../rpc/api-types";
import { TeamBook } from "../security/teams";
import { AudienceIndex } from "../security/audiences";
import { shareAudience } from "../security/access-policy";
import { checkBeforeSharing, ShareNeedsConfirmationError } from "./publish-check";
import type { Hints } from "../first-contact/hints";
import type { HintOutcome } from "../first-contact/first-contact";

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
  /**
   * Follows a link's address hints (first-contact/): joins through them and returns the sharer as a
   * holder candidate, or null; `report` hears what became of each hint (set by the node).
   */
  followHints: ((hints: Hints, report: (o: HintOutcome) => void) => Promise<BulkPeer | null>) | null = null;
  /** Hears of each object this node sent a peer (`share --once` watches for a whole fetch). */
  onServed: ((requester: Buffer, id: Buffer) => void) | null = null;

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
   * Shares a file. A private share is readable by the members of `teams` (names or key prefixes;
   * default: every team of this node); with one team it is encrypted under that team's convergence
   * secret, so teammates' copies of the same file deduplicate.
   */
  async share(filePath: string, options: { public?: boolean; replication?: number; teams?: string[]; force?: boolean; onProgress?: (done: number, total: number) => void } = {}): Promise<ShareInfo> {
    const absolute = path.resolve(filePath);
    const stat = await fs.promises.stat(absolute).catch(() => null);
    if (!stat) throw new Error(`no such file: ${absolute}`);
    if (!stat.isFile()) throw new Error(`not a regular file: ${absolute}`);
    if (!options.force) {
      const warnings = await checkBeforeSharing(absolute, this.shareWarnBytes());
      if (warnings.length > 0) throw new ShareNeedsConfirmationError(warnings);
    }
    if (options.public && options.teams?.length) throw new Error("a public share is readable by anyone: it takes no team");
    const teamKeys = options.public ? [] : options.teams?.length ? options.teams.map((t) => this.access.teams.keyOf(t)) : this.access.teams.teamKeys();
    const convergenceSecret = teamKeys.length === 1 ? ((await this.access.teams.convergenceSecret(teamKeys[0])) ?? undefined) : undefined;
    const result = await shareFile(this.store, absolute, { public: options.public, convergenceSecret, onProgress: options.onProgress });
    this.access.audiences.set(Buffer.from(result.contentId, "hex"), shareAudience(options.public === true, teamKeys), result.objectIds.slice(1));
    this.rememberShare({ contentId: result.contentId, link: result.link, name: result.manifest.name, size: result.manifest.size, sharedAt: Date.now() });
    const announcedTo = await this.dht.provide(Buffer.from(result.contentId, "hex"));
    const replication = options.replication ?? 1;
    const replicas = this.replicate ? await this.replicate(Buffer.from(result.contentId, "hex"), replication) : 0;
    return {
      contentId: result.contentId,
      link: result.link,
      linkWithoutHints: result.link,
      name: result.manifest.name,
      size: result.manifest.size,
      chunks: result.manifest.chunks.length,
      public: result.manifest.mode === "public",
      teams: teamKeys.map((k) => this.access.teams.nameOf(k) ?? k.toString("hex")),
      bytesWritten: result.bytesWritten,
      announcedTo,
      replication,
      replicas,
    };
  }

  /**
   * Holders of a content ID: nodes with a valid provider record for it, other than this one, that
   * are alive (a crashed holder's record outlives it, and dialling it costs a connect timeout).
   * When no record names a live holder (records expired, or their holders have not announced again
   * since a restart), the nodes closest to the content ID are asked directly with HAS_OBJECTS:
   * replication places copies there. `hinted` holders (the sharer, found through the link's
   * address hints) come first.
   */
  async findHolders(contentId: Buffer, hinted: BulkPeer[] = []): Promise<BulkPeer[]> {
    const { providers, lookup } = await this.dht.findProviders(contentId);
    const others = await Promise.all(providers.filter((p) => !p.provider.id.equals(this.dht.id) && !hinted.some((h) => h.id.equals(p.provider.id))).map((p) => this.route(p.provider)));
    const alive = await Promise.all(others.map((p) => this.dht.isAlive(p)));
    const recorded = [...hinted, ...others.filter((_, i) => alive[i])];
    if (recorded.length > 0) return recorded;
    const closest = lookup.closest.filter((c) => !c.id.equals(this.dht.id)).slice(0, CLOSEST_ASKED);
    const holds = await Promise.all(closest.map((c) => this.bulk.hasObjects(c, [contentId]).then(([has]) => has === true, () => false)));
    return closest.filter((_, i) => holds[i]);
  }

  /**
   * Starts a fetch and resolves when the file is written. With `cache` the chunks also go into the
   * store (as cache: bounded, least recently used first out), so the next fetch of the same content
   * needs no holder; `cat` and VS Code's editor tabs ask for that.
   */
  fetch(link: string, out?: string, transferId?: string, options: { cache?: boolean } = {}): Promise<FetchInfo> {
    const { contentId } = parseShareLink(link); // throws a clear error for a bad link first
    return this.run(this.transfers.create(contentId, link, out, transferId, options.cache === true));
  }

  /** The sharer as a holder, when the link's address hints lead to it; what became of each hint goes into the transfer's info. */
  private async hintedHolders(link: string, handle?: TransferHandle): Promise<BulkPeer[]> {
    const { hints } = parseShareLink(link);
    if (!hints || !this.followHints) return [];
    const outcomes: HintOutcome[] = [];
    const sharer = await this.followHints(hints, (o) => {
      outcomes.push(o);
      if (handle) this.transfers.update(handle, { hints: [...outcomes] }, true);
    });
    return sharer ? [sharer] : [];
  }

  private async run(handle: TransferHandle): Promise<FetchInfo> {
    const { link, out } = handle;
    const contentId = Buffer.from(handle.info.contentId, "hex");
    // The file is written as its chunks arrive (output-file.ts) and is the fetch's only copy of them
    // unless it asked for them to be cached. What the file lacks is fetched, less what the store
    // holds already; a temp file left by a fetch cut short gives its right chunks back.
    let output = null as OutputFile | null;
    const started = performance.now();
    try {
      const hinted = await this.hintedHolders(link, handle);
      const result = await fetchContent({
        link,
        store: this.store,
        bulk: this.bulk,
        findHolders: () => this.findHolders(contentId, hinted),
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
      const seconds = durationMs / 1000;
      this.transfers.update(
        handle,
        { state: "done", path: written, bytesDone: result.manifest.size, etaMs: 0, finishedAt: Date.now(), holdersUsed: result.holdersUsed, rate: seconds > 0 ? result.bytesFetched / seconds : 0 },
        true,
      );
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
      if (handle.info.state === "running") this.transfers.update(handle, { state: handle.abort.signal.aborted ? "cancelled" : "failed", error: (err as Error).message, finishedAt: Date.now() }, true);
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

  /** A shared file's details, from a manifest in the store or fetched from a holder. */
  async info(link: string): Promise<ContentInfo> {
    const { contentId } = parseShareLink(link);
    const id = Buffer.from(contentId, "hex");
    if (!(await this.store.has(id))) {
      const holders = await this.findHolders(id, await this.hintedHolders(link));
      const refusals: string[] = [];
      const got = await fetchFromFirst(this.store, this.bulk, holders, id, { kind: "manifest" }, (_peer, err) => {
        if (err instanceof AccessDeniedError) refusals.push(err.message);
      });
      if (!got && holders.length > 0 && refusals.length === holders.length) throw nothingFetched(`cannot open ${contentId}`, holders.length, refusals);
      if (!got) throw new CasError("ENOTFOUND", `no reachable node holds ${contentId}`);
    }
    const m = await openManifest(this.store, link);
    return { contentId, name: m.name, size: m.size, mediaType: m.mediaType, chunks: m.chunks.length, public: m.mode === "public" };
  }

  async ls(): Promise<StoreListing> {
    const objects = this.store.ls();
    const contents = [];
    for (const o of objects.filter((x) => x.kind === "manifest")) {
      const bytes = await this.store.get(o.id);
      const mine = this.own.get(o.id.toString("hex"));
      let size = mine?.size ?? 0;
      let name: string | null = mine?.name ?? null;
      let header = null as ReturnType<typeof decodeManifestHeader> | null;
      try {
        header = bytes && decodeManifestHeader(bytes);
      } catch {
        // stored under its hash but not a manifest this node reads: listed without its chunks
      }
      if (header?.mode === "public" && !mine) {
        const m = await openManifest(this.store, o.id.toString("hex")).catch(() => null);
        name = m?.name ?? null;
        size = m?.size ?? 0;
      }
      // the header's chunk IDs are clear, so what is held here is known without the key
      const distinct = new Map(header?.chunkIds.map((id) => [id.toString("hex"), id]));
      const chunksHeld = [...distinct.values()].filter((id) => this.store.sizeOf(id) !== null).length;
      contents.push({ contentId: o.id.toString("hex"), name, size, pins: o.pins, chunks: distinct.size, chunksHeld, link: mine?.link, sharedAt: mine?.sharedAt });
    }
    return {
      contents,
      objects: objects.length,
      bytes: objects.reduce((n, o) => n + o.size, 0),
      cacheBytes: this.store.cacheBytes(),
      cacheLimitBytes: this.store.cacheLimitBytes,
    };
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
