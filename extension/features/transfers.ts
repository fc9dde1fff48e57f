// Transfers: the Transfers panel (the node's state, and each transfer with progress, rate, holders,
// ETA and pause / resume / cancel), Show Transfers, and the status bar item counting active
// transfers. Rows come from transferModel.ts; the panel's page is transferPanel.ts.
import * as vscode from "vscode";
import type { TransferInfo } from "../../node-host/rpc/api-types";
import type { FromWebview, NodeStatus } from "../../webview-ui/protocol";
import { registerCommands } from "../commands";
import { formatMs } from "../format";
import { errorText } from "../nodeHost";
import type { Services } from "../services";
import { TRANSFER_PANEL_TYPE, TransferPanel, type TransferPanelHost } from "../transferPanel";
import { transfersStatus } from "../transferModel";
import { peerCounts } from "../treeModel";

export function registerTransfers(context: vscode.ExtensionContext, s: Services): void {
  const ui = new TransfersUi(s);
  s.data.whenStarted(() => ui.load());
  context.subscriptions.push(
    ui.item,
    s.data.onDidChange(() => TransferPanel.post({ type: "status", status: nodeStatus(s) })),
    s.host.onNotification("transfer.progress", (t) => ui.update(t)),
    vscode.window.registerWebviewPanelSerializer(TRANSFER_PANEL_TYPE, {
      deserializeWebviewPanel: async (panel) => {
        TransferPanel.revive(panel, context.extensionUri, ui.panelHost);
        s.node.use("the transfer panel");
      },
    }),
    { dispose: () => TransferPanel.instance?.dispose() },
  );
  registerCommands(context, {
    "peershare.showTransfers": () => {
      TransferPanel.show(context.extensionUri, ui.panelHost);
      s.node.use("the transfer panel");
    },
  });
}

/** The status bar item and the panel's side of its messages. */
class TransfersUi {
  readonly item = vscode.window.createStatusBarItem("peershare.transfers", vscode.StatusBarAlignment.Left, 49);
  readonly panelHost: TransferPanelHost = {
    status: () => nodeStatus(this.s),
    transfers: () => this.s.transfers.rows(),
    onMessage: (m) => void this.onPanelMessage(m),
  };

  constructor(private readonly s: Services) {
    this.item.name = "peershare transfers";
    this.item.command = { command: "peershare.showTransfers", title: "Show Transfers" };
  }

  /** Reads the node's transfers (the panel asks when it loads, and once the node is ready). */
  async load(): Promise<void> {
    if (!this.s.host.isRunning) return;
    try {
      this.s.transfers.merge(await this.s.host.request("transfer.list", {}));
    } catch (err) {
      this.s.log.warn(`transfer.list failed: ${errorText(err)}`);
      return;
    }
    TransferPanel.post({ type: "transfers", transfers: this.s.transfers.rows() });
    this.renderItem();
  }

  /** A transfer's new state (a progress notification, or the answer to an action). */
  update(t: TransferInfo): void {
    TransferPanel.post({ type: "transferUpdate", transfer: this.s.transfers.update(t) });
    this.renderItem();
  }

  private renderItem(): void {
    const t = transfersStatus(this.s.transfers.active());
    if (!t) return this.item.hide();
    this.item.text = t.text;
    this.item.tooltip = t.tooltip;
    this.item.show();
  }

  private async onPanelMessage(m: FromWebview): Promise<void> {
    if (m.type === "ready") {
      void this.load();
    } else if (m.type === "command") {
      const commands = { restartNode: "peershare.restartNode", copyNodeId: "peershare.copyNodeId", showLog: "peershare.showLog" } as const;
      void vscode.commands.executeCommand(commands[m.command]);
    } else if (m.type === "transferAction") {
      if (m.action === "open") {
        const p = this.s.transfers.get(m.id)?.path;
        if (p) void vscode.commands.executeCommand("vscode.open", vscode.Uri.file(p));
        return;
      }
      if (!(await this.s.node.require())) return;
      this.s.host.request(`transfer.${m.action}`, { id: m.id }).then(
        (t) => {
          this.s.log.info(`transfer ${m.id}: ${m.action} → ${t.state}`);
          this.update(t);
        },
        (err) => this.s.failed(`could not ${m.action} the transfer`, err),
      );
    }
  }
}

/** The node's state as the panel's banner shows it. */
function nodeStatus(s: Services): NodeStatus {
  const state = s.host.state;
  const info = s.data.info;
  const counts = peerCounts(s.data.peers);
  const base = { peers: counts.total, onlinePeers: counts.online };
  switch (state.kind) {
    case "running":
      return { ...base, state: "running", id: info?.id, host: info?.host, port: info?.port, version: info?.version, startedAt: info?.startedAt };
    case "starting":
      return { ...base, state: "starting", detail: state.attempt ? `attempt ${state.attempt + 1}` : undefined };
    case "restarting":
      return { ...base, state: "restarting", detail: `${state.reason}; restarting in ${formatMs(state.delayMs)}` };
    case "failed":
      return { ...base, state: "failed", detail: state.reason };
    case "stopped":
      return { ...base, state: "stopped" };
  }
}
