// The lookup trace panel: a webview built from webview-ui/trace.ts, strict CSP with a nonce, no
// remote resources. One panel, reused by each Show Trace; it keeps its context when hidden and
// restores its last trace after a reload (from the webview's own state).
import * as vscode from "vscode";
import type { LookupResult, RoutingInfo } from "../node-host/rpc/api-types";
import { isFromTrace, type FromTrace, type ToTrace } from "../webview-ui/traceProtocol";
import { webviewPage, webviewPanelOptions } from "./webviewHtml";

export const TRACE_PANEL_TYPE = "peershare.lookupTrace";
export const TRACE_PANEL_TITLE = "peershare Lookup Trace";

export interface TracePanelHost {
  onMessage(message: FromTrace): void;
}

export class TracePanel {
  private static current: TracePanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  /** The last trace and routing table sent, sent again when the webview (re)loads. */
  private lastTrace: ToTrace | undefined;
  private lastRouting: ToTrace | undefined;

  /** Opens (or reveals) the panel showing a lookup and the routing table. */
  static show(extensionUri: vscode.Uri, host: TracePanelHost, result: LookupResult, routing: RoutingInfo | undefined): TracePanel {
    let p = TracePanel.current;
    if (p) p.panel.reveal(undefined, false);
    else {
      const panel = vscode.window.createWebviewPanel(TRACE_PANEL_TYPE, TRACE_PANEL_TITLE, vscode.ViewColumn.Active, webviewPanelOptions(extensionUri));
      p = TracePanel.current = new TracePanel(panel, extensionUri, host);
    }
    p.send({ type: "trace", result, routing, at: Date.now() });
    return p;
  }

  /** Re-attaches a panel VS Code restored after a reload. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, host: TracePanelHost): TracePanel {
    panel.webview.options = webviewPanelOptions(extensionUri);
    TracePanel.current?.dispose();
    return (TracePanel.current = new TracePanel(panel, extensionUri, host));
  }

  static get instance(): TracePanel | undefined {
    return TracePanel.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    host: TracePanelHost,
  ) {
    panel.iconPath = vscode.Uri.joinPath(extensionUri, "extension", "media", "activity.svg");
    panel.webview.html = TracePanel.html(panel.webview, extensionUri);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (!isFromTrace(m)) return;
        if (m.type === "ready") {
          if (this.lastTrace) void this.panel.webview.postMessage(this.lastTrace);
          if (this.lastRouting) void this.panel.webview.postMessage(this.lastRouting);
        }
        host.onMessage(m);
      }),
    );
  }

  /** Sends a message to the webview (kept to send again should the webview reload). */
  send(message: ToTrace): void {
    if (message.type === "trace") {
      this.lastTrace = message;
      this.lastRouting = undefined;
    } else if (message.type === "routing") this.lastRouting = message;
    void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    if (TracePanel.current === this) TracePanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }

  static html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
    return webviewPage(webview, extensionUri, "trace", TRACE_PANEL_TITLE, `<h1>Lookup trace</h1>
<div id="empty">No lookup yet. Run "peershare: Look Up Key" and choose Show Trace.</div>
<div id="trace" hidden>
  <section id="head" class="banner" aria-live="polite">
    <div class="text">
      <div id="outcome"></div>
      <div id="summary"></div>
      <div id="key" title="The key looked up"></div>
    </div>
    <button id="copy-key" title="Copy the key">Copy Key</button>
    <button id="again" title="Run the lookup again">Look Up Again</button>
  </section>
  <h2>Hops: each node asked, its XOR distance to the key, round trip and answer</h2>
  <div id="hops"></div>
</div>
<h2>Routing table: bucket fill by distance from this node</h2>
<div id="heat-empty">The routing table is not known yet.</div>
<div id="heat"></div>`);
  }
}
