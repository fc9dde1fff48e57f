// What activate() returns: a small programmatic surface used by the extension's own
// integration tests and available to other extensions.
import type { Api, ApiMethod, ContactInfo, NodeInfo, RoutingInfo } from "../node-host/rpc/api-types";
import type { TransferRow } from "../webview-ui/protocol";
import type { NodeHostState } from "./nodeHost";
import type { TreeNode } from "./treeModel";

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
