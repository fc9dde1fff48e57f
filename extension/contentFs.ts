// The read-only `peershare:` file system (URIs: see shareLink.ts).
//   - A shared file, peershare:/<content id>/<name>?k=<key>: stat asks the node for the file's details
//     (content.info); readFile has the node fetch the file (content.fetch) into a folder under the
//     extension's storage and reads it from there, showing the transfer's progress. VS Code picks the
//     editor from the name: text with its language mode, images in the image preview, anything else
//     in the binary fallback.
//   - A shared folder, peershare:/<content id>?k=<key> (a workspace folder: Open Shared Folder), and
//     every path in it: stat and readDirectory answer from the folder's listing (content.list: its
//     folder manifest, no file fetched), so the Explorer shows the whole tree at once; readFile
//     fetches that one file (content.fetch with its path), from whichever holders of the folder are
//     up, with its progress in the Transfers panel and the status bar.
import * as vscode from "vscode";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ContentInfo, FetchInfo, FolderListingInfo } from "../node-host/rpc/api-types";
import { withFetchProgress, type TransferFeed } from "./fetchProgress";
import { FolderTree } from "./folderTree";
import { formatBytes, shortId } from "./format";
import { errorText } from "./nodeHost";
import { formatLink, parseContentUri, safeName, SCHEME, type ContentRef, type ContentUriRef } from "./shareLink";
import { localFileName } from "../node-host/platform/local-file-name";

export interface ContentFsHost extends TransferFeed {
  /** True once the node runs; opening a `peershare:` file starts it if the window has not yet. */
  ensureRunning(): Promise<boolean>;
  info(link: string): Promise<ContentInfo>;
  /** A shared folder's listing. */
  list(link: string): Promise<FolderListingInfo>;
  /** Fetches a shared file to `out`; with `rel`, the file at that path of a shared folder. */
  fetch(link: string, out: string, rel?: string): Promise<FetchInfo>;
  onFetched?(info: FetchInfo, link: string): void;
}

/** Folder listings kept (a listing of 100,000 entries is a few MB). */
const TREES_KEPT = 8;

export class ContentFileSystem implements vscode.FileSystemProvider {
  private readonly changed = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changed.event;
  private readonly infos = new Map<string, Promise<ContentInfo>>();
  private readonly trees = new Map<string, Promise<FolderTree>>();
  private readonly reads = new Map<string, Promise<Uint8Array>>();

  constructor(
    private readonly host: ContentFsHost,
    /** Fetched files land in `<cacheDir>/<content id>/<name>`. */
    private readonly cacheDir: string,
  ) {}

  static register(context: vscode.ExtensionContext, fsys: ContentFileSystem): void {
    context.subscriptions.push(vscode.workspace.registerFileSystemProvider(SCHEME, fsys, { isCaseSensitive: true, isReadonly: true }), fsys.changed);
  }

  /** Removes files fetched for the editor by earlier sessions (the node's store keeps the chunks). */
  clearCache(): void {
    fs.rmSync(this.cacheDir, { recursive: true, force: true });
  }

  private ref(uri: vscode.Uri): ContentUriRef {
    const ref = parseContentUri(uri);
    if (!ref) throw vscode.FileSystemError.FileNotFound(uri);
    return ref;
  }

  /** content.info for a link, remembered once it succeeds. */
  info(ref: ContentRef): Promise<ContentInfo> {
    return remembered(this.infos, formatLink(ref), Infinity, (link) => this.whenRunning(() => this.host.info(link)));
  }

  /** A shared folder's tree, remembered once read (the last few folders). */
  tree(ref: ContentRef): Promise<FolderTree> {
    return remembered(this.trees, formatLink(ref), TREES_KEPT, (link) => this.whenRunning(async () => new FolderTree(await this.host.list(link))));
  }

  private async whenRunning<T>(call: () => Promise<T>): Promise<T> {
    if (!(await this.host.ensureRunning())) throw vscode.FileSystemError.Unavailable("the peershare node is not running");
    return call();
  }

  /** info() under a "looking up" notification (a command about to open or compare the file). */
  infoWithProgress(ref: ContentRef): Thenable<ContentInfo> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `peershare: looking up ${shortId(ref.contentId, 12)}` }, () => this.info(ref));
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    const ref = this.ref(uri);
    const stat = (type: vscode.FileType, size = 0): vscode.FileStat => ({ type, ctime: 0, mtime: 0, size, permissions: vscode.FilePermission.Readonly });
    const item = await this.inFolder(uri, ref);
    if (item === undefined) throw vscode.FileSystemError.FileNotFound(uri);
    if (item !== null) return item.kind === "dir" ? stat(vscode.FileType.Directory) : stat(vscode.FileType.File, item.size);
    if (!ref.name) return stat(vscode.FileType.Directory);
    return stat(vscode.FileType.File, (await this.infoOf(uri, ref)).size);
  }

  async readDirectory(uri: vscode.Uri): Promise<[string, vscode.FileType][]> {
    const ref = this.ref(uri);
    if ((await this.infoOf(uri, ref)).kind === "folder") {
      const children = (await this.treeOf(uri, ref)).children(ref.path);
      if (!children) throw vscode.FileSystemError.FileNotADirectory(uri);
      return children.map(([name, item]) => [name, item.kind === "dir" ? vscode.FileType.Directory : vscode.FileType.File]);
    }
    if (ref.name) throw vscode.FileSystemError.FileNotADirectory(uri);
    return [[safeName((await this.infoOf(uri, ref)).name, ref.contentId), vscode.FileType.File]];
  }

  /** What a URI names in a shared folder: null when the content is a shared file, undefined when the folder has no such path. */
  private async inFolder(uri: vscode.Uri, ref: ContentUriRef): Promise<{ kind: "file" | "dir"; size: number } | null | undefined> {
    if ((await this.infoOf(uri, ref)).kind !== "folder") return null;
    return (await this.treeOf(uri, ref)).lookup(ref.path);
  }

  private async infoOf(uri: vscode.Uri, ref: ContentRef): Promise<ContentInfo> {
    try {
      return await this.info(ref);
    } catch (err) {
      throw toFsError(err, uri);
    }
  }

  private async treeOf(uri: vscode.Uri, ref: ContentRef): Promise<FolderTree> {
    try {
      return await this.tree(ref);
    } catch (err) {
      throw toFsError(err, uri);
    }
  }

  readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const ref = this.ref(uri);
    const key = `${uri.path}\n${ref.key ?? ""}`;
    let p = this.reads.get(key);
    if (!p) {
      p = this.load(uri, ref).finally(() => this.reads.delete(key));
      this.reads.set(key, p);
    }
    return p;
  }

  private async load(uri: vscode.Uri, ref: ContentUriRef): Promise<Uint8Array> {
    const item = await this.inFolder(uri, ref);
    if (item === undefined) throw vscode.FileSystemError.FileNotFound(uri);
    if (item?.kind === "dir") throw vscode.FileSystemError.FileIsADirectory(uri);
    if (item) return this.loadFolderFile(uri, ref, ref.path!, item.size);
    const info = await this.infoOf(uri, ref);
    // the name as this OS can store it (Windows changes a few); the editor tab keeps the shared name
    const file = path.join(this.cacheDir, ref.contentId, localFileName(safeName(ref.name, ref.contentId)));
    const have = fs.statSync(file, { throwIfNoEntry: false });
    if (have?.isFile() && have.size === info.size) return fs.promises.readFile(file);
    const link = formatLink(ref);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    try {
      const title = `peershare: fetching ${info.name || shortId(ref.contentId, 12)} (${formatBytes(info.size)})`;
      await withFetchProgress(this.host, title, ref.contentId, async () => {
        const r = await this.host.fetch(link, file);
        this.host.onFetched?.(r, link);
      });
    } catch (err) {
      throw toFsError(err, uri);
    }
    return fs.promises.readFile(file);
  }

  /**
   * One file of a shared folder: fetched into `<cacheDir>/<folder's content id>/<its path>` (a path
   * from the folder's tree, which holds none a fetch would refuse), unless it is there already.
   * Its progress shows in the Transfers panel and the status bar.
   */
  private async loadFolderFile(uri: vscode.Uri, ref: ContentUriRef, rel: string, size: number): Promise<Uint8Array> {
    const file = path.join(this.cacheDir, ref.contentId, ...rel.split("/"));
    const have = fs.statSync(file, { throwIfNoEntry: false });
    if (have?.isFile() && have.size === size) return fs.promises.readFile(file);
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const link = formatLink(ref);
    try {
      const title = `peershare: fetching ${path.posix.basename(rel)} (${formatBytes(size)})`;
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title }, () => this.host.fetch(link, file, rel));
      this.host.onFetched?.(r, link);
    } catch (err) {
      throw toFsError(err, uri);
    }
    return fs.promises.readFile(file);
  }

  createDirectory(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
  writeFile(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
  delete(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
  rename(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }
}

/** A remembered promise by key (a failed one is forgotten); at most `max` kept, the oldest dropped first. */
function remembered<T>(cache: Map<string, Promise<T>>, key: string, max: number, make: (key: string) => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (!p) {
    p = make(key);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
    if (cache.size > max) cache.delete(cache.keys().next().value!);
  }
  return p;
}

function toFsError(err: unknown, uri: vscode.Uri): vscode.FileSystemError {
  if (err instanceof vscode.FileSystemError) return err;
  const text = errorText(err);
  if (/not ?found|no reachable node|no such/i.test(text)) return vscode.FileSystemError.FileNotFound(`peershare: ${text} (${uri.path})`);
  return vscode.FileSystemError.Unavailable(`peershare: ${text}`);
}
