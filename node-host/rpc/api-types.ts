// The JSON-RPC 2.0 API of a node-host: method names, parameters and results.
// The CLI (over the local socket) and the VS Code extension (over stdio) use exactly these.
// IDs and keys are 64 lowercase hex digits; times are milliseconds since the epoch.

export interface ContactInfo {
  id: string;
  host: string;
  port: number;
  /** Milliseconds since the epoch when this node last heard from the contact (0 = never). */
  lastSeen: number;
  /** Smoothed round-trip time in ms, or null when not measured yet. */
  rttMs: number | null;
  /** online: answered its last check; suspect: missed some; offline: missed the configured number. */
  state: "online" | "suspect" | "offline";
  /** Consecutive failed requests. */
  failures: number;
}

export interface NodeInfo {
  id: string;
  publicKey: string;
  host: string;
  port: number;
  dataDir: string;
  version: string;
  pid: number;
  startedAt: number;
  peers: number;
  stats: Record<string, number>;
}

export interface BucketInfo {
  /** Bucket index: 255 - length of the common prefix with this node's ID (255 holds the far half). */
  index: number;
  contacts: (ContactInfo & { distance: string })[];
  replacements: number;
  lastRefreshed: number;
}

export interface RoutingInfo {
  self: string;
  k: number;
  size: number;
  buckets: BucketInfo[];
}

export interface LookupHop {
  id: string;
  host: string;
  port: number;
  /** XOR distance of the node to the key, hex. */
  distance: string;
  /** The round of the lookup in which this node was asked (1 = asked from the own routing table). */
  hop: number;
  rttMs: number | null;
  ok: boolean;
}

export interface ValueRecordInfo {
  key: string;
  publisher: string;
  name: string;
  value: string;
  /** Encoding of `value`: utf8 when the bytes are valid UTF-8 text, else base64. */
  encoding: "utf8" | "base64";
  seq: number;
  expires: number;
}

export interface ProviderInfo {
  id: string;
  host: string;
  port: number;
  expires: number;
}

export interface LookupResult {
  key: string;
  value: ValueRecordInfo | null;
  providers: ProviderInfo[];
  closest: ContactInfo[];
  hops: number;
  queried: LookupHop[];
  durationMs: number;
}

export interface ClosestResult {
  key: string;
  closest: (ContactInfo & { distance: string })[];
  hops: number;
  queried: number;
  durationMs: number;
}

export interface PutResult {
  key: string;
  name: string;
  storedOn: number;
  seq: number;
  expires: number;
}

export type ConfigValues = Record<string, number | string | string[]>;

export interface ConfigSetResult {
  key: string;
  value: number | string | string[];
  /** True when the running node applied it at once; false when it takes effect at the next start. */
  appliedLive: boolean;
}

/** Method name → [params, result]. */
export interface Api {
  "node.info": [Record<string, never>, NodeInfo];
  "node.stop": [Record<string, never>, { stopping: true }];
  "dht.peers": [Record<string, never>, ContactInfo[]];
  "dht.routing": [Record<string, never>, RoutingInfo];
  "dht.lookup": [{ key: string }, LookupResult];
  "dht.closest": [{ key: string; n?: number }, ClosestResult];
  "dht.put": [{ name: string; value: string }, PutResult];
  "dht.get": [{ key: string }, ValueRecordInfo];
  "config.get": [{ key?: string }, ConfigValues];
  "config.set": [{ key: string; value: string }, ConfigSetResult];
}

export type ApiMethod = keyof Api;

/** Notifications sent by the node-host (no reply expected). */
export interface Notifications {
  /** The routing table or a peer's state changed; the payload is a hint, fetch dht.peers for the full list. */
  "peers.changed": { peers: number };
}

/** JSON-RPC error codes this API uses besides the standard ones. */
export const RpcErrors = {
  Unauthorized: -32001,
  NotFound: -32004,
  Timeout: -32008,
  InvalidArgument: -32602,
  Failed: -32000,
} as const;
