// The Peers view (each known peer: state, round-trip time, last seen) and the Routing Table view
// (buckets, contacts, distance), with Show Routing Table. Rows come from treeModel.ts.
import * as vscode from "vscode";
import { registerCommands } from "../commands";
import type { Services } from "../services";
import { peerCounts, peerNodes, routingNodes, routingSummary } from "../treeModel";
import { VIEW } from "../views";

export function registerPeerViews(context: vscode.ExtensionContext, s: Services): void {
  const peers = s.views.create(VIEW.peers);
  const routing = s.views.create(VIEW.routing, true);

  const render = () => {
    const now = Date.now();
    const running = s.host.isRunning;
    const { routing: table } = s.data;
    peers.provider.set(running ? peerNodes(s.data.peers, now) : []);
    routing.provider.set(running && table ? routingNodes(table, now) : []);
    const notRunning = s.node.notRunningMessage();
    peers.view.message = notRunning;
    routing.view.message = notRunning;
    const c = peerCounts(s.data.peers);
    peers.view.description = running ? `${c.online}/${c.total} online` : undefined;
    peers.view.badge = undefined;
    routing.view.description = running && table ? routingSummary(table) : undefined;
  };
  context.subscriptions.push(s.data.onDidChange(render));

  registerCommands(context, {
    "peershare.showRoutingTable": async () => {
      await vscode.commands.executeCommand(`${VIEW.routing}.focus`);
    },
  });
}
