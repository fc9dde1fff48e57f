// Messages between the extension and the transfer panel's webview. Both sides import this
// module, so a change to the protocol is checked by the compiler on both ends.

export type NodeState = "starting" | "running" | "restarting" | "stopped" | "failed";

export interface NodeStatus {
  state: NodeState;
  /** Human-readable detail (why it stopped, when it restarts). */
  detail?: string;
  id?: string;
  host?: string;
  port?: number;
  version?: string;
  peers: number;
  onlinePeers: number;
  startedAt?: number;
}

export interface HolderProgress {
  id: string;
  /** Bytes per second currently received from (or sent to) this holder, when known. */
  rateBps?: number;
  /** How the connection reaches it: "direct TLS", "direct WebRTC", "relayed through 3f2a…". */
  route?: string;
}

export type TransferState = "queued" | "active" | "paused" | "done" | "failed" | "cancelled";

export interface TransferRow {
  id: string;
  name: string;
  direction: "download" | "upload";
  contentId: string;
  totalBytes: number;
  doneBytes: number;
  /** Bytes per second: the current rate while active, the average over the whole transfer once done. */
  rateBps: number;
  /** Nodes the transfer gets bytes from (or sends them to). */
  holders: number;
  /** Per-holder rates, when known. */
  holderDetails?: HolderProgress[];
  /** Seconds to completion, null when unknown. */
  etaSec: number | null;
  state: TransferState;
  error?: string;
  /** Where the file was written, once done. */
  path?: string;
}

export type TransferAction = "pause" | "resume" | "cancel" | "open";

/** Extension → webview. */
export type ToWebview =
  | { type: "status"; status: NodeStatus }
  | { type: "transfers"; transfers: TransferRow[] }
  | { type: "transferUpdate"; transfer: TransferRow }
  | { type: "transferRemoved"; id: string };

/** Webview → extension. */
export type FromWebview =
  | { type: "ready" }
  | { type: "transferAction"; id: string; action: TransferAction }
  | { type: "command"; command: PanelCommand };

export type PanelCommand = "restartNode" | "copyNodeId" | "showLog";

const PANEL_COMMANDS: readonly string[] = ["restartNode", "copyNodeId", "showLog"];
const ACTIONS: readonly string[] = ["pause", "resume", "cancel", "open"];

/** Validates a message received from the webview (it is untrusted input). */
export function isFromWebview(m: unknown): m is FromWebview {
  if (!m || typeof m !== "object") return false;
  const msg = m as Record<string, unknown>;
  switch (msg.type) {
    case "ready":
      return true;
    case "transferAction":
      return typeof msg.id === "string" && typeof msg.action === "string" && ACTIONS.includes(msg.action);
    case "command":
      return typeof msg.command === "string" && PANEL_COMMANDS.includes(msg.command);
    default:
      return false;
  }
}

/** Validates a message received from the extension. */
export function isToWebview(m: unknown): m is ToWebview {
  if (!m || typeof m !== "object") return false;
  const msg = m as Record<string, unknown>;
  switch (msg.type) {
    case "status":
      return !!msg.status && typeof msg.status === "object";
    case "transfers":
      return Array.isArray(msg.transfers);
    case "transferUpdate":
      return !!msg.transfer && typeof msg.transfer === "object";
    case "transferRemoved":
      return typeof msg.id === "string";
    default:
      return false;
  }
}

/** State the webview keeps across hide/show and reloads (vscode.setState). */
export interface PanelState {
  status?: NodeStatus;
  transfers: TransferRow[];
}

/** Applies a message to the panel state. Pure. */
export function reduce(state: PanelState, msg: ToWebview): PanelState {
  switch (msg.type) {
    case "status":
      return { ...state, status: msg.status };
    case "transfers":
      return { ...state, transfers: msg.transfers };
    case "transferUpdate": {
      const i = state.transfers.findIndex((t) => t.id === msg.transfer.id);
      const transfers = [...state.transfers];
      if (i >= 0) transfers[i] = msg.transfer;
      else transfers.push(msg.transfer);
      return { ...state, transfers };
    }
    case "transferRemoved":
      return { ...state, transfers: state.transfers.filter((t) => t.id !== msg.id) };
  }
}
