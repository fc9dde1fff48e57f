// A fetch in a progress notification: the bar follows the node's transfer.progress for the
// content, and Cancel cancels that transfer. Used by Fetch by Hash and by the `peershare:` file
// system when an editor opens a shared file.
import * as vscode from "vscode";
import type { TransferInfo } from "../node-host/rpc/api-types";
import { formatBytes } from "./format";
import type { NodeHost } from "./nodeHost";

/** The node's transfers as a fetch's progress needs them. */
export interface TransferFeed {
  onTransfer(listener: (t: TransferInfo) => void): { dispose(): void };
  cancel(transferId: string): Promise<unknown>;
}

/** The transfers of a node-host. */
export function transferFeed(host: NodeHost): TransferFeed {
  return {
    onTransfer: (listener) => host.onNotification("transfer.progress", listener),
    cancel: (id) => host.request("transfer.cancel", { id }),
  };
}

/** Reports a transfer of `contentId` as progress increments; returns the transfer's ID once seen. */
export function followTransfer(
  feed: Pick<TransferFeed, "onTransfer">,
  contentId: string,
  progress: vscode.Progress<{ message?: string; increment?: number }>,
): { id(): string | undefined; dispose(): void } {
  let id: string | undefined;
  let reported = 0;
  const sub = feed.onTransfer((t) => {
    if (t.contentId !== contentId || (id && t.id !== id)) return;
    if (!id && t.state !== "running") return;
    id = t.id;
    const pct = t.bytesTotal > 0 ? Math.min(100, (t.bytesDone / t.bytesTotal) * 100) : 0;
    const message = t.bytesTotal > 0 ? `${formatBytes(t.bytesDone)} of ${formatBytes(t.bytesTotal)}${t.holders ? ` from ${t.holders} holder${t.holders === 1 ? "" : "s"}` : ""}` : "finding holders…";
    progress.report({ message, increment: pct > reported ? pct - reported : undefined });
    reported = Math.max(reported, pct);
  });
  return { id: () => id, dispose: () => sub.dispose() };
}

/** Runs `fetch` (a fetch of `contentId`) under a cancellable notification titled `title`. */
export function withFetchProgress<T>(feed: TransferFeed, title: string, contentId: string, fetch: () => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const follow = followTransfer(feed, contentId, progress);
    const cancel = token.onCancellationRequested(() => {
      const id = follow.id();
      if (id) void feed.cancel(id).catch(() => undefined);
    });
    try {
      return await fetch();
    } finally {
      cancel.dispose();
      follow.dispose();
    }
  });
}
