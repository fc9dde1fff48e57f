// Sharing and fetching files and folders: the store, the DHT's provider records and the bulk
// transports put together behind the operations the API offers (share, fetch, info, list, ls,
// verify, gc, transfers). Fetches run in fetch-runs.ts; info, list and ls are content-catalog.ts's.

import * as fs from "node:fs";
import * as path from "node:path";
import { ContentStore, shareFile, parseShareLink, CasError } from "../cas";
import { entryLink } from "../cas/open-folder";
import { pathProblem } from "../cas/folder-path";
import { shareFolder } from "../cas/share-folder";
import { Dht, FETCH_PROVIDER_ANSWERS } from "../dht/dht";
import { BulkPeer } from "../transport/bulk";
import type { BulkNodeClient } from "../transport/bulk-client";
import { ContentCatalog } from "./content-catalog";
import { OwnShare, OwnShares } from "./own-shares";
import { FetchRuns } from "./fetch-runs";
import { leaveOutUnsafe, secretScreen, walkFolder } from "./folder-walk";
import { TransferHandle, Transfers } from "./transfers";
import { ContentInfo, FetchInfo, FolderListingInfo, ShareInfo, StoreListing, TransferInfo } from "../rpc/api-types";
import { TeamBook } from "../security/teams";
import { AudienceIndex } from "../security/audiences";
import { shareAudience } from "../security/access-policy";
import { checkBeforeSharing, gitIgnores, ignoredWarning, ShareNeedsConfirmationError, sizeWarning } from "./publish-check";
import type { PublishWarning } from "../rpc/api-types";
import type { Hints } from "../first-contact/hints";
import type { HintOutcome } from "../first-contact/first-contact";

/** What decides who may read a share: the node's teams, and where each content's audience is kept. */
export interface ShareAccess {
  teams: TeamBook;
  audiences: AudienceIndex;
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


/** Nodes closest to a content ID asked whether they hold it when no provider record names a holder. */
const CLOSEST_ASKED = 8;

export class ContentService {
  readonly transfers = new Transfers();
  private readonly runs: FetchRuns;
  private readonly catalog: ContentCatalog;
  /** This node's own shares, with their links (the data dir is private to its owner). */
  private readonly own: OwnShares;
  /** Files larger than this ask for confirmation before they are shared (0: no limit; set by the node). */
  shareWarnBytes: () => number = () => 0;
  /** Makes the first copies of a new share on other nodes; returns how many hold it (set by the node). */
  replicate: ((contentId: Buffer, r: number) => Promise<number>) | null = null;
  /**
   * Follows a link's address hints (first-contact/): joins through them and returns the sharer as a
   * holder candidate, or null; `report` hears what became of each hint (set by the node).
   */
  followHints: ((hints: Hints, report: (o: HintOutcome) => void) => Promise<BulkPeer | null>) | null = null;
  /**
   * Nodes found by other means than the DHT (the Mainline rendezvous), as they are reached: asked
   * whether they hold a content when no provider record names a holder (set by the node).
   */
  nearby: () => BulkPeer[] = () => [];
  /** The way to a node found so, by ID; null for others (set by the node). */
  nearbyRoute: (id: Buffer) => BulkPeer | null = () => null;
  /** Hears of each object this node sent a peer (`share --once` watches for a whole fetch). */
  onServed: ((requester: Buffer, id: Buffer) => void) | null = null;

  constructor(
    readonly store: ContentStore,
    private readonly dht: Dht,
    private readonly bulk: BulkNodeClient,
    downloadsDir: string,
    dataDir: string,
    private readonly access: ShareAccess,
    /** A holder's contact as it can be reached: through its rendezvous nodes when it is behind NAT (nat/). */
    private readonly route: (peer: BulkPeer) => Promise<BulkPeer> = async (p) => p,
  ) {
    this.own = OwnShares.open(dataDir);
    store.onRelease((ids) => this.released(ids));
    // a link's address hints are followed once per fetch or look-up, and only when holders are needed
    const holders = (id: Buffer, hintsOf: string, handle?: TransferHandle) => {
      let hinted: Promise<BulkPeer[]> | null = null;
      return (contentId = id) => (hinted ??= this.hintedHolders(hintsOf, handle)).then((h) => this.findHolders(contentId, h));
    };
    this.runs = new FetchRuns(store, bulk, this.transfers, downloadsDir, (handle) => holders(Buffer.from(handle.info.contentId, "hex"), handle.hintsOf ?? handle.link, handle));
    this.catalog = new ContentCatalog(store, bulk, (link) => holders(Buffer.from(parseShareLink(link).contentId, "hex"), link), (id) => this.own.get(id));
  }

  /** Contents no longer kept here (evicted, removed, unpinned) are no longer announced. */
  private released(ids: Buffer[]): void {
    for (const id of ids) if (!this.store.keeps(id)) this.dht.unprovide(id);
  }

  private rememberShare(s: OwnShare): void {
    this.own.add(s);
  }

  /** Announces this node as holder of each of its own shares (after a restart). Returns how many. */
  async announceOwnShares(): Promise<number> {
    const held: Buffer[] = [];
    for (const s of this.own.values()) {
      const id = Buffer.from(s.contentId, "hex");
      if (this.store.keeps(id) && (await this.store.has(id))) held.push(id);
    }
    await this.dht.provideMany(held).catch(() => undefined);
    return held.length;
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
    // (by content: while sharing, which reads each small file once for both)
    if (!options.force) await leaveOutUnsafe(absolute, walk, { gitIgnored: !ignored, contents: false });
    const total = walk.files.reduce((n, f) => n + f.size, 0);
    const large = ask ? sizeWarning(name, total, this.shareWarnBytes()) : null;
    if (large) warnings.push(large);
    if (warnings.length > 0) throw new ShareNeedsConfirmationError(warnings);
    const { teamKeys, convergenceSecret } = await this.readersOf(options);
    const screen = options.force ? undefined : secretScreen;
    const r = await shareFolder(this.store, name, walk.files, walk.dirs, { public: options.public, convergenceSecret, screen, onProgress: options.onProgress });
    const own: OwnShare = { contentId: r.contentId, link: r.link, name: r.summary.name, size: r.summary.size, sharedAt: Date.now(), folder: true };
    return this.publish(own, r.objectIds, teamKeys, options, {
      chunks: r.chunks,
      public: options.public === true,
      bytesWritten: r.bytesWritten,
      kind: "folder",
      folder: { files: r.summary.files, dirs: r.summary.dirs, leftOut: [...walk.leftOut, ...r.leftOut] },
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
    return { contentId: own.contentId, link: own.link, linkWithoutHints: own.link, name: own.name, size: own.size, teams, announcedTo, replication, replicas, ...info };
  }

  /**
   * Holders of a content ID: nodes with a valid provider record for it, other than this one, that
   * are alive (a crashed holder's record outlives it, and dialling it costs a connect timeout).
   * When no record names a live holder (records expired, or their holders have not announced again
   * since a restart), the nodes closest to the content ID are asked directly with HAS_OBJECTS:
   * replication places copies there. `hinted` holders (the sharer, found through the link's
   * address hints) come first.
   */
  async findHolders(contentId: Buffer, hintedAs: BulkPeer[] = []): Promise<BulkPeer[]> {
    const [{ providers, lookup }, hinted] = await Promise.all([this.dht.findProviders(contentId, { answersWithProviders: FETCH_PROVIDER_ANSWERS }), Promise.all(hintedAs.map((h) => this.routeHinted(h)))]);
    const others = await Promise.all(providers.filter((p) => !p.provider.id.equals(this.dht.id) && !hinted.some((h) => h.id.equals(p.provider.id))).map((p) => this.nearbyRoute(p.provider.id) ?? this.route(p.provider)));
    const alive = await Promise.all(others.map((p) => this.dht.isAlive(p)));
    const recorded = [...hinted, ...others.filter((_, i) => alive[i])];
    if (recorded.length > 0) return recorded;
    // a lookup that stopped at the first providers has not met the closest nodes yet
    const near = lookup.found ? (await this.dht.lookupNodes(contentId)).closest : lookup.closest;
    const closest: BulkPeer[] = near.filter((c) => !c.id.equals(this.dht.id)).slice(0, CLOSEST_ASKED);
    const asked = [...closest, ...this.nearby().filter((n) => !n.id.equals(this.dht.id) && !closest.some((c) => c.id.equals(n.id)))];
    const holds = await Promise.all(asked.map((c) => this.bulk.hasObjects(this.nearbyRoute(c.id) ?? c, [contentId]).then(([has]) => has === true, () => false)));
    return asked.filter((_, i) => holds[i]).map((c) => this.nearbyRoute(c.id) ?? c);
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
    return this.runs.run(this.transfers.create(contentId, link, out, transferId, options.cache === true));
  }

  /** One file of a shared folder: fetched as a file is, by its own manifest, from the holders of the folder. */
  private async fetchFolderFile(link: string, rel: string, out: string | undefined, transferId: string | undefined, cache: boolean): Promise<FetchInfo> {
    const problem = pathProblem(rel);
    if (problem) throw new Error(`${JSON.stringify(rel)} cannot be in a shared folder: ${problem}`);
    const folder = await this.catalog.openFolder(link);
    const entry = folder.entries.find((e) => e.kind === "file" && e.path === rel);
    if (!entry) throw new CasError("ENOTFOUND", `the shared folder ${folder.summary.name} has no file ${rel}`);
    const handle = this.transfers.create(entry.manifestId!.toString("hex"), entryLink(entry), out, transferId, cache);
    handle.holdersOf = folder.contentId;
    handle.hintsOf = link; // the folder's link: its address hints lead to the folder's sharer
    return this.runs.run(handle);
  }

  /**
   * A sharer behind NAT found through a link's hints, with what its reach record says: a hole punch
   * needs its external addresses, which hints do not carry. As the hints gave it when it answered
   * directly or has no record.
   */
  private async routeHinted(sharer: BulkPeer): Promise<BulkPeer> {
    if (!sharer.via?.length) return sharer;
    const routed = await this.route(sharer).catch(() => null);
    return routed?.reach ? { ...sharer, reach: routed.reach, via: routed.via?.length ? routed.via : sharer.via } : sharer;
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
    this.runs.run(h).catch(() => undefined); // its outcome is reported through the transfer's state
    return { ...h.info };
  }

  /** A shared file's or folder's details (content-catalog.ts). */
  info(link: string): Promise<ContentInfo> {
    return this.catalog.info(link);
  }

  /** A shared folder's tree. */
  list(link: string): Promise<FolderListingInfo> {
    return this.catalog.list(link);
  }

  /** Own shares, replicas and cache. */
  ls(): Promise<StoreListing> {
    return this.catalog.ls();
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

