// The node's life in this window: the status bar item (peer count, or the node's state; "TLS only"
// where the node runs without WebRTC, nativeStatus.ts), a notice when the node restarts or fails,
// the `peershare.nodeRunning` context key the menus test, and the Restart Node, Show Log, Copy Node
// ID and Refresh commands.
import * as vscode from "vscode";
import type { NodeHostState } from "../nodeHost";
import { formatMs, pluralize, shortId } from "../format";
import { registerCommands } from "../commands";
import type { Services } from "../services";
import { peerCounts, type TreeNode } from "../treeModel";
import { escapeMarkdown, nativeStatusSuffix, nativeStatusTooltip } from "../nativeStatus";
import { reachText } from "../../node-host/nat/reach-text";

export function registerNodeLifecycle(context: vscode.ExtensionContext, s: Services): void {
  const status = vscode.window.createStatusBarItem("peershare.status", vscode.StatusBarAlignment.Left, 50);
  status.name = "peershare";
  status.command = { command: "peershare.peers.focus", title: "Show Peers" };
  status.show();
  context.subscriptions.push(
    status,
    s.data.onDidChange(() => renderStatusBar(status, s)),
    s.host.onState((state) => {
      announceState(state, s.log);
      void vscode.commands.executeCommand("setContext", "peershare.nodeRunning", state.kind === "running");
    }),
  );

  registerCommands(context, {
    "peershare.restartNode": async () => {
      s.log.info("restarting the node on request");
      try {
        await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: "peershare: restarting node" }, () => s.host.restart());
      } catch (err) {
        s.failed("the node did not restart", err);
      }
    },
    "peershare.showLog": () => s.log.show(),
    "peershare.copyNodeId": (arg?: unknown) => copyNodeId(s, arg),
    "peershare.refresh": async () => {
      if (!(await s.node.require())) return;
      await s.data.refresh();
    },
  });
}

function renderStatusBar(status: vscode.StatusBarItem, s: Services): void {
  const state = s.host.state;
  const info = s.data.info;
  status.backgroundColor = undefined;
  if (state.kind === "running") {
    const c = peerCounts(s.data.peers);
    status.text = `$(broadcast) ${pluralize(c.online, "peer")}${info?.nat?.reachability === "unreachable" ? " · behind NAT" : ""}${nativeStatusSuffix(info?.native)}`;
    status.tooltip = new vscode.MarkdownString(
      `**peershare** node \`${shortId(info?.id ?? "", 16)}\` on ${info?.host}:${info?.port}\n\n${c.online} of ${pluralize(c.total, "known peer")} online\n\n${escapeMarkdown(reachText(info?.nat))}${nativeStatusTooltip(info?.native)}`,
    );
  } else if (!s.node.started && state.kind === "stopped") {
    status.text = "$(circle-outline) peershare: not started";
    status.tooltip = new vscode.MarkdownString(
      "**peershare**: the node starts when you open a peershare view, run a peershare command or open a shared file.\n\nClick to open the Peers view. (`peershare.startNodeOnStartup` starts it with the window.)",
    );
  } else if (state.kind === "starting" || state.kind === "restarting") {
    status.text = "$(sync~spin) peershare";
    status.tooltip = state.kind === "restarting" ? `peershare: ${state.reason}; restarting` : "peershare: the node is starting";
  } else {
    status.text = "$(debug-disconnect) peershare";
    status.tooltip = state.kind === "failed" ? `peershare: ${state.reason}` : "peershare: the node is stopped";
    status.backgroundColor = state.kind === "failed" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
  }
}

/** A node that died and restarts, or that failed for good, is worth a notification. */
function announceState(state: NodeHostState, log: vscode.LogOutputChannel): void {
  if (state.kind === "restarting") {
    void vscode.window
      .showWarningMessage(`peershare: ${state.reason}. Restarting it in ${formatMs(state.delayMs)} (attempt ${state.attempt}).`, "Show Log")
      .then((c) => c && log.show());
  } else if (state.kind === "failed") {
    void vscode.window.showErrorMessage(`peershare: ${state.reason}. The node was not restarted.`, "Restart Node", "Show Log").then((c) => {
      if (c === "Restart Node") void vscode.commands.executeCommand("peershare.restartNode");
      else if (c === "Show Log") log.show();
    });
  }
}

/** Copy Node ID: of a row's peer or member, of an ID passed by a caller, else this node's. */
async function copyNodeId(s: Services, arg: unknown): Promise<void> {
  const fromTree = arg && typeof arg === "object" && "copyValue" in arg ? (arg as TreeNode).copyValue : undefined;
  let id = fromTree ?? (typeof arg === "string" ? arg : undefined);
  if (!id) {
    if (!(await s.node.require())) return;
    try {
      id = (await s.data.nodeInfo()).id;
    } catch (err) {
      return s.failed("could not read the node ID", err);
    }
  }
  await vscode.env.clipboard.writeText(id);
  vscode.window.showInformationMessage(`peershare: copied ${fromTree ? "peer" : "node"} ID ${shortId(id, 12)}`);
}
