// What the extension knows of its node, for the views: its info, peers, routing table and store
// listing. refresh() reads them together (on the Refresh command, a little after the node reports
// changed peers, and once a started node is ready) and then fires onDidChange, on which every
// feature renders; so does each change of the node's state. A feature with data of its own (the
// Teams view's teams, the Fetch Audit view's log) adds a refresher that runs with every refresh.
import * as vscode from "vscode";
import type { ContactInfo, NodeInfo, RoutingInfo, StoreListing } from "../node-host/rpc/api-types";
import { debounce } from "./debounce";
import { errorText, type NodeHost } from "./nodeHost";

export class NodeData implements vscode.Disposable {
  /** node.info, read when the node is ready (undefined while it does not run). */
  info: NodeInfo | undefined;
  peers: ContactInfo[] = [];
  routing: RoutingInfo | undefined;
  /** content.ls: what the store holds. */
  listing: StoreListing | undefined;
  /** Refreshes done so far. */
  refreshes = 0;

  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires after each refresh and each change of the node's state: time to render. */
  readonly onDidChange = this.changed.event;
  private readonly refreshers: (() => Promise<void>)[] = [];
  private readonly startHooks: (() => Promise<void>)[] = [];
  private readonly refreshWaiters = new Set<() => void>();
  private readonly refreshSoon = debounce(() => void this.refresh(), 300, 1500);
  private readonly subscriptions: { dispose(): void }[];

  constructor(
    private readonly host: NodeHost,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions = [
      host.onState((s) => {
        if (s.kind !== "running") this.info = undefined;
        this.changed.fire();
      }),
      host.onReady(() => void this.started()),
      host.onNotification("peers.changed", () => this.refreshSoon()),
    ];
  }

  /** Runs `refresher` with every refresh, beside the node's own requests; it must not reject. */
  addRefresher(refresher: () => Promise<void>): void {
    this.refreshers.push(refresher);
  }

  /** Runs `hook` each time a (re)started node is ready and the views have been refreshed, hooks in the order added. */
  whenStarted(hook: () => Promise<void>): void {
    this.startHooks.push(hook);
  }

  /** Tells every feature to render what it has (at activation: each view's first state). */
  render(): void {
    this.changed.fire();
  }

  /** Reads peers, routing table and listing (and the refreshers' data), then renders; never rejects. */
  async refresh(): Promise<void> {
    if (!this.host.isRunning) return this.render();
    try {
      const [peers, routing, listing] = await Promise.all([
        this.host.request("dht.peers", {}),
        this.host.request("dht.routing", {}),
        this.host.request("content.ls", {}).catch((err) => {
          this.log.warn(`content.ls failed: ${errorText(err)}`);
          return this.listing;
        }),
        ...this.refreshers.map((r) => r()),
      ]);
      this.peers = peers;
      this.routing = routing;
      this.listing = listing;
      if (this.info) this.info = { ...this.info, peers: peers.length };
    } catch (err) {
      this.log.warn(`refresh failed: ${errorText(err)}`);
    }
    this.refreshes++;
    this.render();
    for (const w of [...this.refreshWaiters]) w();
  }

  /** Reads the store's listing again (after a share or fetch), then renders. */
  async refreshListing(): Promise<void> {
    if (!this.host.isRunning) return;
    try {
      this.listing = await this.host.request("content.ls", {});
    } catch (err) {
      this.log.warn(`content.ls failed: ${errorText(err)}`);
    }
    this.render();
  }

  /** Reads the routing table again (for the lookup trace's heat map); the last one known if that fails. */
  async refreshRouting(): Promise<RoutingInfo | undefined> {
    if (!this.host.isRunning) return this.routing;
    try {
      this.routing = await this.host.request("dht.routing", {});
    } catch (err) {
      this.log.warn(`dht.routing failed: ${errorText(err)}`);
    }
    return this.routing;
  }

  /** node.info, asked of the node if not known yet. */
  async nodeInfo(): Promise<NodeInfo> {
    return (this.info ??= await this.host.request("node.info", {}));
  }

  /** Resolves after the next refresh; rejects after `timeoutMs`. */
  nextRefresh(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const w = () => {
        clearTimeout(timer);
        this.refreshWaiters.delete(w);
        resolve();
      };
      const timer = setTimeout(() => {
        this.refreshWaiters.delete(w);
        reject(new Error(`no refresh within ${timeoutMs} ms`));
      }, timeoutMs);
      this.refreshWaiters.add(w);
    });
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) s.dispose();
    this.refreshSoon.cancel();
    this.refreshWaiters.clear();
    this.changed.dispose();
  }

  /** A (re)started node is ready: its info, a refresh, then the features' start hooks. */
  private async started(): Promise<void> {
    try {
      this.info = await this.host.request("node.info", {});
    } catch (err) {
      this.log.warn(`node.info failed: ${errorText(err)}`);
    }
    await this.refresh();
    for (const hook of this.startHooks) await hook();
  }
}
