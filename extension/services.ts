// The services every feature module is handed: the output channel, the settings, the node (its
// process, API and lazy start), what is known of it (NodeData), the workspace's share history,
// the transfers, the `peershare:` file system and the tree views. Features talk to each other
// only through these: each renders from NodeData's onDidChange and reaches the node through `host`.
import * as vscode from "vscode";
import * as path from "node:path";
import { ContentFileSystem } from "./contentFs";
import { showFailure } from "./failures";
import { transferFeed } from "./fetchProgress";
import { NodeData } from "./nodeData";
import type { NodeHost } from "./nodeHost";
import { NodeLauncher } from "./nodeLauncher";
import { ShareHistory } from "./shareHistory";
import { TransferSet } from "./transferModel";
import { TreeViews } from "./views";
import { WorkspaceSettings } from "./workspaceSettings";

/** content.fetch and content.share may take long (large files, slow holders). */
export const LONG_REQUEST_MS = 24 * 3600_000;

export interface Services {
  readonly log: vscode.LogOutputChannel;
  readonly settings: WorkspaceSettings;
  /** The node-host process and its JSON-RPC API. */
  readonly host: NodeHost;
  /** Starts the node on first use; `require()` for a command that needs it. */
  readonly node: NodeLauncher;
  /** What the views show of the node; fires when they should render. */
  readonly data: NodeData;
  readonly history: ShareHistory;
  /** Transfers seen in this window (the transfer panel's rows). */
  readonly transfers: TransferSet;
  /** The read-only `peershare:` file system (shared files in editor tabs). */
  readonly files: ContentFileSystem;
  readonly views: TreeViews;
  /** Logs and shows a failure; a fetch every holder refused offers to join a team (then `retry`). */
  failed(what: string, err: unknown, retry?: () => unknown): void;
}

/** Builds the services of this window; starts no node. */
export async function createServices(context: vscode.ExtensionContext): Promise<Services> {
  const log = vscode.window.createOutputChannel("peershare", { log: true });
  context.subscriptions.push(log);
  const settings = new WorkspaceSettings();
  const storage = context.storageUri ?? context.globalStorageUri;
  const node = await NodeLauncher.create(context, storage, settings, log);
  const host = node.host;
  const data = new NodeData(host, log);
  const files = new ContentFileSystem(
    {
      ...transferFeed(host),
      ensureRunning: () => node.ensure("a peershare: file is opened"),
      info: (link) => host.request("content.info", { link }),
      list: (link) => host.request("content.list", { link }, LONG_REQUEST_MS),
      // the editor's copy goes when the window closes; the store's stays
      fetch: (link, out, rel) => host.request("content.fetch", { link, out, cache: true, ...(rel === undefined ? {} : { path: rel }) }, LONG_REQUEST_MS),
    },
    path.join(storage.fsPath, "open"),
  );
  // A peershare view showing is a use of peershare: the node starts.
  const views = new TreeViews((view) => {
    if (!node.started) node.use(`the ${view.title ?? "peershare"} view is shown`);
  });
  context.subscriptions.push(data, views, { dispose: () => void host.stop() });
  return {
    log,
    settings,
    host,
    node,
    data,
    history: new ShareHistory(context.workspaceState, () => data.refreshListing()),
    transfers: new TransferSet(),
    files,
    views,
    failed: (what, err, retry) => showFailure(log, what, err, retry),
  };
}
