// The read-only `peershare:` file system: peershare:/<content id>/<name>?k=<key> (see shareLink.ts).
// stat asks the node for the file's details (content.info); readFile has the node fetch the file
// (content.fetch) into a folder under the extension's storage and reads it from there, showing the
// transfer's progress. VS Code picks the editor from the name: text with its language mode,
// images in the image preview, anything else in the binary fallback.
import * as vscode from "vscode";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ContentInfo, FetchInfo } from "../node-host/rpc/api-types";
import { withFetchProgress, type TransferFeed } from "./fetchProgress";
import { formatBytes, shortId } from "./format";
import { errorText } from "./nodeHost";
import { formatLink, parseContentUri, safeName, SCHEME, type ContentRef } from "./shareLink";
import { localFileName } from "../node-host/platform/local-file-name";

export interface ContentFsHost extends TransferFeed {
  /** True once the node runs; opening a `peershare:` file starts it if the window has not yet. */
  ensureRunning(): Promise<boolean>;
  info(link: string): Promise<ContentInfo>;
  fetch(link: string, out: string): Promise<FetchInfo>;
  onFetched?(info: FetchInfo, link: string): void;
}

export class ContentFileSystem implements vscode.FileSystemProvider {
  private readonly changed = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changed.event;
  private readonly infos = new Map<string, Promise<ContentInfo>>();
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

  private ref(uri: vscode.Uri): ContentRef & { name?: string } {
    const ref = parseContentUri(uri);
    if (!ref) throw vscode.FileSystemError.FileNotFound(uri);
    return ref;
  }

  /** content.info for a link, remembered once it succeeds. */
  info(ref: ContentRef): Promise<ContentInfo> {
    const link = formatLink(ref);
    let p = this.infos.get(link);
    if (!p) {
      p = this.host.ensureRunning().then((running) => {
        if (!running) throw vscode.FileSystemError.Unavailable("the peershare node is not running");
        return this.host.info(link);
      });
      this.infos.set(link, p);
      p.catch(() => this.infos.delete(link));
    }
    return p;
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
    if (!ref.name) return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0, permissions: vscode.FilePermission.Readonly };
    let info: ContentInfo;
    try {
      info = await this.info(ref);
    } catch (err) {
      throw toFsError(err, uri);
    }
    return { type: vscode.FileType.File, ctime: 0, mtime: 0, size: info.size, permissions: vscode.FilePermission.Readonly };
  }

  async readDirectory(uri: vscode.Uri): Promise<[string, vscode.FileType][]> {
    const ref = this.ref(uri);
    if (ref.name) throw vscode.FileSystemError.FileNotADirectory(uri);
    try {
      const info = await this.info(ref);
      return [[safeName(info.name, ref.contentId), vscode.FileType.File]];
    } catch (err) {
      throw toFsError(err, uri);
    }
  }

  readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const ref = this.ref(uri);
    // the name as this OS can store it (Windows changes a few); the editor tab keeps the shared name
    const file = path.join(this.cacheDir, ref.contentId, localFileName(safeName(ref.name, ref.contentId)));
    const key = `${file}\n${ref.key ?? ""}`;
    let p = this.reads.get(key);
    if (!p) {
      p = this.load(uri, ref, file).finally(() => this.reads.delete(key));
      this.reads.set(key, p);
    }
    return p;
  }

  private async load(uri: vscode.Uri, ref: ContentRef & { name?: string }, file: string): Promise<Uint8Array> {
    let info: ContentInfo;
    try {
      info = await this.info(ref);
    } catch (err) {
      throw toFsError(err, uri);
    }
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

function toFsError(err: unknown, uri: vscode.Uri): vscode.FileSystemError {
  if (err instanceof vscode.FileSystemError) return err;
  const text = errorText(err);
  if (/not ?found|no reachable node|no such/i.test(text)) return vscode.FileSystemError.FileNotFound(`peershare: ${text} (${uri.path})`);
  return vscode.FileSystemError.Unavailable(`peershare: ${text}`);
}
