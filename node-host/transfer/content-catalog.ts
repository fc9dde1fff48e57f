// What the store and the network say about shared contents: a file's or folder's details (info), a
// folder's tree (list), and the store's listing of its contents (ls: each shared file or folder
// once, never a folder's parts or file manifests on their own). Manifests not in the store are
// fetched from the content's holders and kept as cache.

import { ContentStore, decodeManifest, openManifest, parseShareLink, CasError } from "../cas";
import { contentRoots } from "../cas/content-roots";
import { contentObjects, manifestLinks } from "../cas/manifest-links";
import { isFolderManifest, readFolder, type OpenFolder } from "../cas/open-folder";
import { pathProblem } from "../cas/folder-path";
import { ContentInfo, FolderListingInfo, StoredContent, StoreListing } from "../rpc/api-types";
import type { BulkPeer } from "../transport/bulk";
import type { BulkNodeClient } from "../transport/bulk-client";
import { manifestObject } from "./fetcher";
import { FetchError, FetchRefusedError, Holders } from "./holders";

/** What ls() shows of one of this node's own shares. */
export interface OwnShareView {
  link: string;
  name: string;
  size: number;
  sharedAt: number;
}

export class ContentCatalog {
  constructor(
    private readonly store: ContentStore,
    private readonly bulk: BulkNodeClient,
    /** For a link: the holders of its content (ContentService.findHolders, with the sharer its address hints lead to). */
    private readonly holdersFor: (link: string) => () => Promise<BulkPeer[]>,
    /** This node's own share with that content ID (hex), if it is one. */
    private readonly ownShare: (contentId: string) => OwnShareView | undefined,
  ) {}

  /** A shared file's or folder's details, from its manifest in the store or fetched from a holder. */
  async info(link: string): Promise<ContentInfo> {
    const { contentId, key } = parseShareLink(link);
    const bytes = await this.lookUp(link, (holders) => manifestObject(this.store, this.bulk, holders, Buffer.from(contentId, "hex")));
    if (isFolderManifest(bytes)) {
      const f = await this.openFolder(link);
      const { summary } = f;
      return { contentId, name: summary.name, size: summary.size, mediaType: "inode/directory", chunks: f.objectIds.length, public: f.mode === "public", kind: "folder", files: summary.files, dirs: summary.dirs };
    }
    const m = decodeManifest(bytes, key);
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
  openFolder(link: string): Promise<OpenFolder> {
    return this.lookUp(link, (holders) => readFolder(link, (id) => manifestObject(this.store, this.bulk, holders, id)));
  }

  /**
   * Runs `get` with the content's holders (looked up only when needed) and turns its failure into
   * what a look-up reports: a refusal when every holder refused, else "no reachable node holds it".
   */
  private async lookUp<T>(link: string, get: (holders: Holders) => Promise<T>): Promise<T> {
    const { contentId } = parseShareLink(link);
    const find = this.holdersFor(link);
    try {
      return await get(new Holders(() => find(), 0));
    } catch (err) {
      if (err instanceof FetchRefusedError || !(err instanceof FetchError)) throw err;
      throw new CasError("ENOTFOUND", `no reachable node holds ${contentId}`);
    }
  }

  /** Own shares, replicas and cache: each shared file or folder once (a folder's parts and files are in it). */
  async ls(): Promise<StoreListing> {
    const objects = this.store.ls();
    const manifests = objects.filter((x) => x.kind === "manifest");
    const roots = new Set((await contentRoots(this.store, manifests.map((o) => o.id), (id) => this.ownShare(id.toString("hex")) !== undefined)).map((id) => id.toString("hex")));
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
    const mine = this.ownShare(hex);
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
}
