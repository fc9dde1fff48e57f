// The transfer panel: a webview built from webview-ui/, strict CSP with a nonce, no remote
// resources; it keeps its context when hidden and restores its state after a reload.
import * as vscode from "vscode";
import { isFromWebview, type FromWebview, type NodeStatus, type ToWebview, type TransferRow } from "../webview-ui/protocol";
import { webviewPage, webviewPanelOptions } from "./webviewHtml";

export const TRANSFER_PANEL_TYPE = "peershare.transfers";

export interface TransferPanelHost {
  status(): NodeStatus;
  transfers(): TransferRow[];
  onMessage(message: FromWebview): void;
}

export class TransferPanel {
  private static current: TransferPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  static show(extensionUri: vscode.Uri, host: TransferPanelHost): TransferPanel {
    if (TransferPanel.current) {
      TransferPanel.current.panel.reveal();
      return TransferPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(TRANSFER_PANEL_TYPE, "peershare Transfers", vscode.ViewColumn.Active, webviewPanelOptions(extensionUri));
    return (TransferPanel.current = new TransferPanel(panel, extensionUri, host));
  }

  /** Re-attaches a panel VS Code restored after a reload. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, host: TransferPanelHost): TransferPanel {
    panel.webview.options = webviewPanelOptions(extensionUri);
    TransferPanel.current?.dispose();
    return (TransferPanel.current = new TransferPanel(panel, extensionUri, host));
  }

  static get instance(): TransferPanel | undefined {
    return TransferPanel.current;
  }

  /** Sends a message to the open panel, if any. */
  static post(message: ToWebview): void {
    void TransferPanel.current?.panel.webview.postMessage(message);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly host: TransferPanelHost,
  ) {
    panel.iconPath = vscode.Uri.joinPath(extensionUri, "extension", "media", "activity.svg");
    panel.webview.html = TransferPanel.html(panel.webview, extensionUri);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (!isFromWebview(m)) return;
        if (m.type === "ready") {
          this.panel.webview.postMessage({ type: "status", status: this.host.status() } satisfies ToWebview);
          this.panel.webview.postMessage({ type: "transfers", transfers: this.host.transfers() } satisfies ToWebview);
        }
        this.host.onMessage(m);
      }),
    );
  }

  dispose(): void {
    if (TransferPanel.current === this) TransferPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }

  static html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
    return webviewPage(webview, extensionUri, "main", "peershare Transfers", `<h1>Transfers</h1>
<section id="status" class="banner" data-state="starting" aria-live="polite">
  <div class="text">
    <div id="status-headline">Connecting to the node…</div>
    <div id="status-detail"></div>
    <div id="node-id"></div>
  </div>
  <button data-command="copyNodeId" title="Copy this node's ID">Copy Node ID</button>
  <button data-command="restartNode" title="Restart the node">Restart Node</button>
  <button data-command="showLog" title="Show the node's log">Show Log</button>
</section>
<h2>Active and recent transfers</h2>
<div id="transfers-empty">No transfers yet. Downloads and uploads of shared files will appear here with their progress.</div>
<table id="transfers-table" hidden>
  <colgroup><col class="c-name"><col class="c-progress"><col class="c-rate"><col class="c-holders"><col class="c-eta"><col class="c-state"><col class="c-actions"></colgroup>
  <thead><tr><th>File</th><th>Progress</th><th>Rate</th><th>Holders</th><th>ETA</th><th>State</th><th></th></tr></thead>
  <tbody id="transfers-body"></tbody>
</table>`);
  }
}
