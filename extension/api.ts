// What activate() returns: a small programmatic surface used by the extension's own
// integration tests and available to other extensions.
import type { Api, ApiMethod, ContactInfo, NodeInfo, RoutingInfo } from "../node-host/rpc/api-types";
import type { TransferRow } from "../webview-ui/protocol";
import type { NodeHostState } from "./nodeHost";
import type { Services } from "./services";
import type { TreeNode } from "./treeModel";
import { VIEW } from "./views";

export interface PeershareApi {
  /** The node-host's current state. */
  state(): NodeHostState;
  /** Starts the node if this window has not yet, and resolves with node.info once it runs (rejects after `timeoutMs`). */
  whenReady(timeoutMs?: number): Promise<NodeInfo>;
  /** Calls the node's JSON-RPC API (starting the node first if this window has not yet). */
  request<M extends ApiMethod>(method: M, params: Api[M][0]): Promise<Api[M][1]>;
  /** The data shown in the views, as of their last refresh. */
  snapshot(): {
    info?: NodeInfo;
    peers: ContactInfo[];
    routing?: RoutingInfo;
    refreshes: number;
    transfers: TransferRow[];
    shared: readonly TreeNode[];
    teams: readonly TreeNode[];
    /** The Fetch Audit view's rows. */
    audit: readonly TreeNode[];
    /** Whether this window has started its node (it starts on first use). */
    started: boolean;
  };
  /** Resolves after the next refresh of the views. */
  nextRefresh(timeoutMs?: number): Promise<void>;
  /** The node-host's process id, when running. */
  pid(): number | undefined;
}

/** The API over this window's services. */
export function createApi(s: Services): PeershareApi {
  const { host, data } = s;
  return {
    state: () => host.state,
    pid: () => host.pid,
    request: async (method, params) => {
      if (!host.isRunning) await s.node.ensure("an API call");
      return host.request(method, params);
    },
    snapshot: () => ({
      info: data.info,
      peers: data.peers,
      routing: data.routing,
      refreshes: data.refreshes,
      transfers: s.transfers.rows(),
      shared: s.views.items(VIEW.shared),
      teams: s.views.items(VIEW.teams),
      audit: s.views.items(VIEW.audit),
      started: s.node.started,
    }),
    whenReady: (timeoutMs = 30_000) =>
      new Promise<NodeInfo>((resolve, reject) => {
        s.node.use("an API call");
        const done = (v: NodeInfo | Error) => {
          clearTimeout(timer);
          sub.dispose();
          if (v instanceof Error) reject(v);
          else resolve(v);
        };
        const tryNow = () => {
          if (host.isRunning) host.request("node.info", {}).then(done, (e) => done(e instanceof Error ? e : new Error(String(e))));
        };
        const timer = setTimeout(() => done(new Error(`the node was not ready within ${timeoutMs} ms`)), timeoutMs);
        const sub = host.onReady(tryNow);
        tryNow();
      }),
    nextRefresh: (timeoutMs = 30_000) => data.nextRefresh(timeoutMs),
  };
}
