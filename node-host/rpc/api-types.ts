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
  /** "lan": the peer announces itself on this node's LAN (LAN discovery); absent: known from a bootstrap contact or DHT traffic only. */
  via?: "lan";
  /** How the open bulk connection to it (if any) reaches it: see TransferInfo.routes. */
  route?: { path: "tls" | "tls-reverse" | "tls-punched" | "webrtc" | "relay"; relay?: string };
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
  /** Where the node's secrets are kept: the OS keychain, a key file under a passphrase, a key file without one (mode 0600), or memory (a throwaway one-off node). */
  keyStore: { kind: "keychain" | "passphrase-file" | "key-file" | "memory"; location: string };
  /** The parts that need native code and whether they loaded (absent from nodes of 0.1.0). */
  native?: NativeStatus;
  /** How others reach this node (absent from older nodes). */
  nat?: NatInfo;
  /** The node process's memory (absent from older nodes). */
  memory?: MemoryInfo;
  /** How far this computer's clock is from its peers' (absent from older nodes). */
  clock?: ClockInfo;
  /** The Mainline rendezvous (setting rendezvous = "mainline"), while it runs; null when off (absent from older nodes). */
  mainline?: MainlineInfo | null;
}

/** The Mainline rendezvous of a node: the Mainline DHT nodes it knows, its rounds, and the peershare nodes found there that answered. */
export interface MainlineInfo {
  mainlineNodes: number;
  rounds: number;
  found: { id: string; host: string; port: number; team: string }[];
  lastRoundAt: number | null;
}

/** This computer's clock against its peers' (node-host/transport/clock-offset.ts). */
export interface ClockInfo {
  /** Our clock minus the peers' median, ms (negative: behind); null before any peer answered. */
  offsetMs: number | null;
  /** The correction peershare applies to its messages, ms (0: none; at most 10 minutes either way). */
  correctionMs: number;
  /** Peers the median is taken over. */
  peers: number;
  /** A sentence when the clock is off (corrected or not); null when it is in step. */
  problem: string | null;
}

/** A node process's memory, as Node.js counts it (process.memoryUsage()). */
export interface MemoryInfo {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Memory of Buffers and other objects outside the JS heap. */
  externalBytes: number;
  /** The part of `externalBytes` held by ArrayBuffers and Buffers (absent from older nodes). */
  arrayBuffersBytes?: number;
  /**
   * JS heap in use just after the last full garbage collection: what the node's objects take,
   * without garbage not yet collected (null before the first one; absent from older nodes).
   */
  heapAfterGcBytes?: number | null;
}

/** What a node runs without where a native package does not load (platform without its binary, broken install). */
export interface NativeStatus {
  /** WebRTC data channels (node-datachannel); unavailable: bulk transfers over TLS only. */
  webrtc: { available: true } | { available: false; reason: string };
  /** BLAKE3 from @napi-rs/blake-hash; if not, the JavaScript BLAKE3 (the same ids, slower). */
  blake3: { native: true } | { native: false; reason: string };
}

export interface NatInfo {
  /** "reachable": a dial-back from a port it never sent to arrived; "unreachable": behind NAT or a firewall that drops it; "unknown" until checked. */
  reachability: "unknown" | "reachable" | "unreachable";
  /** The address peers see this node's datagrams come from. */
  external: { host: string; port: number } | null;
  /** What its NAT does: "none", "endpoint-independent" (hole punching works), "endpoint-dependent" (it needs a relay), or "unknown". */
  mapping: "unknown" | "none" | "endpoint-independent" | "endpoint-dependent";
  /** The reachable nodes requests to this node go through, while it is behind NAT. */
  rendezvous: { id: string; host: string; port: number }[];
  /** Nodes behind NAT that use this node as their rendezvous. */
  rendezvousClients: number;
  forwarded: number;
  /** Bulk connections this node relays for others: open now, opened in all, refused, bytes passed. */
  relay: { circuits: number; circuitsOpened: number; refused: number; bytesRelayed: number };
  /** Where this node's DHT traffic goes over TCP because its network blocks UDP (absent or null: it has UDP). */
  tunnel?: { host: string; port: number } | null;
  /** Nodes whose DHT traffic comes to this node over TCP. */
  tunnelClients?: number;
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
  /** Not answered yet when the lookup ended (it had what it needed): not a failure. */
  pending?: boolean;
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
  /** Of `closest`, how many were counted alive from the node's own table (heard from lately) without being asked. */
  vouched?: number;
  durationMs: number;
}

export interface ClosestResult {
  key: string;
  closest: (ContactInfo & { distance: string })[];
  hops: number;
  queried: number;
  /** As in LookupResult. */
  vouched?: number;
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

export interface ShareInfo {
  contentId: string;
  /** peershare://<id>#k=<key> for private shares; peershare://<id> for public ones; with "&h=<hints>" (or "#h=…") unless asked without. */
  link: string;
  /** The link without address hints (what `ls` lists: hints go stale). */
  linkWithoutHints: string;
  name: string;
  size: number;
  chunks: number;
  public: boolean;
  /** The teams whose members may read it (names); empty for public shares and nodes in no team. */
  teams: string[];
  /** Bytes newly written to the store (0 when everything was there already). */
  bytesWritten: number;
  /** Nodes that accepted this node's provider record. */
  announcedTo: number;
  /** The replication factor asked for, and the other nodes that now hold a full copy. */
  replication: number;
  replicas: number;
  /** "folder" for a shared folder (`size` is then all its files together); absent from older nodes: a file. */
  kind?: "file" | "folder";
  /** A shared folder's files and directories, and what the share left out (with why). */
  folder?: { files: number; dirs: number; leftOut: LeftOutEntry[] };
}

/** A file or directory a folder share left out, or a fetch refused to write, and why. */
export interface LeftOutEntry {
  /** "/"-separated, relative to the folder. */
  path: string;
  reason: string;
}

/** One file or directory of a shared folder (`peershare ls LINK`, VS Code's Explorer). */
export interface FolderEntryInfo {
  path: string;
  kind: "file" | "dir";
  size: number;
  executable: boolean;
  /** Why a fetch would not write it (a name that could escape the target, a case clash); absent when it would. */
  refused?: string;
}

export interface FolderListingInfo {
  contentId: string;
  name: string;
  files: number;
  dirs: number;
  size: number;
  public: boolean;
  /** Sorted by path. */
  entries: FolderEntryInfo[];
}

export type TransferState = "running" | "paused" | "done" | "failed" | "cancelled";

export interface TransferInfo {
  id: string;
  contentId: string;
  name: string;
  direction: "download";
  state: TransferState;
  bytesDone: number;
  bytesTotal: number;
  /** Bytes per second. */
  rate: number;
  holders: number;
  /** How each holder with an open connection is reached: "tls" (direct), "tls-reverse" (it connected back from behind NAT), "webrtc", or "relay" through the node `relay`. */
  routes?: { node: string; path: "tls" | "tls-reverse" | "tls-punched" | "webrtc" | "relay"; relay?: string }[];
  etaMs: number | null;
  startedAt: number;
  /** When the transfer ended (done, failed or cancelled). */
  finishedAt?: number;
  /** Holders that sent at least one chunk (known once done). */
  holdersUsed?: number;
  /** Where the file was written, once done. */
  path?: string;
  error?: string;
  /** What became of each of the link's address hints (links without hints: absent). */
  hints?: HintOutcome[];
}

/** One address hint of a link or invite: used (its node answered under the key the hints name) or skipped, and why. */
export interface HintOutcome {
  /** What it says, e.g. "direct 203.0.113.10:7420", "rendezvous 198.51.100.7:7420". */
  hint: string;
  outcome: "used" | "skipped";
  reason: string;
}

export interface FetchInfo {
  transferId: string;
  contentId: string;
  name: string;
  path: string;
  size: number;
  bytesFetched: number;
  bytesReused: number;
  holdersUsed: number;
  /** How the holders that sent chunks were reached (see TransferInfo.routes). */
  routes?: TransferInfo["routes"];
  /** Holders dropped for sending bytes that failed verification (node IDs). */
  badHolders: string[];
  /** From the start of the fetch until the file is in place (fsynced and renamed). */
  durationMs: number;
  /** A shared folder (`path` is its directory): its files, those fetched now and those found complete already, and the entries refused. */
  folder?: { files: number; dirs: number; filesFetched: number; filesKept: number; refused: LeftOutEntry[] };
}

export interface ContentInfo {
  contentId: string;
  name: string;
  size: number;
  mediaType: string;
  chunks: number;
  public: boolean;
  /** "folder" for a shared folder (`size`: its files together; `chunks`: its objects); absent from older nodes: a file. */
  kind?: "file" | "folder";
  files?: number;
  dirs?: number;
}

export interface HolderStatus {
  id: string;
  host: string;
  port: number;
  /** This node itself. */
  self: boolean;
  /** Answered a ping just now. */
  live: boolean;
  /** Holds the manifest and every chunk (asked of live holders); null when it could not be told. */
  complete: boolean | null;
  /** Why its copy does not count toward r (a share made for teams, and this holder showed no membership of them); absent when it counts. */
  notCounted?: string;
}

export interface ContentStatus {
  contentId: string;
  /** The replication factor r the content should have. */
  replication: number;
  /** Nodes with a provider record for the content, live or not. */
  holders: HolderStatus[];
  /** How many holders are live and hold every object (a holder that cannot say counts). */
  liveHolders: number;
  /** True when at least r such holders are live. */
  met: boolean;
  /** Why this node's last attempt to bring it to r copies fell short (e.g. "too few live members of team \"core\""); null when it did not, or it made none. */
  shortfall?: string | null;
  /** This node's repair work on the content. */
  repair?: RepairState;
}

export interface RepairState {
  /** This node is checking or copying the content right now (a sweep, a share's first copies, a hand-off, Repair Now). */
  busy: boolean;
  /** When this node's last repair sweep ended, and when the next is due (ms since the epoch); null before the first. */
  lastSweepAt: number | null;
  nextSweepAt: number | null;
}

export interface StoredContent {
  contentId: string;
  name: string | null;
  size: number;
  pins: string[];
  /** Its distinct chunks, and how many of them this node holds (0: the manifest only, e.g. after a fetch that was not cached). */
  chunks: number;
  chunksHeld: number;
  /** For this node's own shares: the share link and when it was shared. */
  link?: string;
  sharedAt?: number;
  /** "folder" for a shared folder (`chunks`: all its objects); absent: a file. */
  kind?: "folder";
}

export interface StoreListing {
  contents: StoredContent[];
  objects: number;
  bytes: number;
  cacheBytes: number;
  cacheLimitBytes: number;
}

export type TeamRole = "read" | "write";

/** Why a share asks for confirmation first. */
export interface PublishWarning {
  kind: "git-ignored" | "secret" | "large";
  message: string;
}

export interface TeamSummary {
  name: string;
  /** The team's public key (64 hex): its identity. */
  teamKey: string;
  /** This node's role in it. */
  role: TeamRole;
  /** This node holds the team key: it can invite and revoke. */
  admin: boolean;
  /** When this node's membership ends (ms since the epoch). */
  expires: number;
  membersSeen: number;
  revoked: number;
}

/** A team joined: and, when the invite carried address hints, what became of each, and the bootstrap contacts kept. */
export interface TeamJoined extends TeamSummary {
  hints?: HintOutcome[];
  /** HOST:PORT contacts added to the bootstrap setting (nodes of the invite's hints that answered). */
  bootstrapAdded?: string[];
}

export interface TeamInvite {
  /**
   * The invite string to give the teammate: a secret until it expires. Whoever holds it can join,
   * unless it was made for one node (`forNode`).
   */
  invite: string;
  team: string;
  role: TeamRole;
  expires: number;
  /** The only node (ID, hex) that can join with it; null for any holder of the invite. */
  forNode: string | null;
}

export interface TeamMember {
  nodeId: string;
  role: TeamRole;
  self: boolean;
  revoked: boolean;
  expires: number;
  /** When this node last saw the member prove its membership; null for itself. */
  lastSeen: number | null;
}

export interface AuditEntryInfo {
  seq: number;
  time: number;
  contentId: string;
  /** The node that asked. */
  node: string;
  outcome: "served" | "refused";
}

export interface AuditListing {
  entries: AuditEntryInfo[];
  /** Every entry's hash chain and signature check out. */
  intact: boolean;
  /** The first entry that does not (edited, reordered or removed before it), or null. */
  firstBadSeq: number | null;
}

export interface RepairReport {
  contentId: string;
  replication: number;
  /** Live holders keeping every object before the repair (this node included). */
  holdersBefore: number;
  /** New complete copies made, and the bytes sent for them. */
  copies: number;
  bytes: number;
  /** Why r was not reached (e.g. "too few live members of team \"core\""); null when it was, or nothing was needed. */
  shortfall: string | null;
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
  /** `replication` defaults to the node's setting. */
  /**
   * `teams`: names (or key prefixes) of the node's teams that may read it; default all of them.
   * The link carries this node's address hints unless `hints` is false.
   * Without `force`, a file that is git-ignored, looks like a secret or is over the size limit is not
   * shared: the call fails with NeedsConfirmation, whose data is { warnings: PublishWarning[] }.
   * `confirmed` (those warnings were accepted) shares it then; for a folder (a git-ignored folder, or
   * files over the limit together) it still leaves out its git-ignored and secret-looking files,
   * which only `force` shares.
   */
  "content.share": [{ path: string; public?: boolean; replication?: number; teams?: string[]; force?: boolean; confirmed?: boolean; hints?: boolean }, ShareInfo];
  /** Copies a content this node holds to more nodes now, until r live nodes keep it (within one sweep's budget). */
  "content.repair": [{ link: string }, RepairReport];
  /** Which live nodes hold a content (by ID or link) and whether it has its r copies. */
  "content.status": [{ link: string }, ContentStatus];
  /**
   * Fetches into `out` (a directory, or a file path); default: the data dir's downloads/. A folder
   * goes into `out` itself (created if missing; with a trailing separator, into `out` under its
   * name), or downloads/<its name>. With `path`, only that file
   * of a shared folder is fetched (into `out` as a file would be).
   * `transferId` (optional, 1-64 of [A-Za-z0-9_-]) names the transfer in transfer.progress events.
   */
  "content.fetch": [{ link: string; out?: string; transferId?: string; cache?: boolean; path?: string }, FetchInfo];
  "content.info": [{ link: string }, ContentInfo];
  /** A share link (or content ID) with this node's address hints as they are now (the hints it had are replaced). */
  "content.link": [{ link: string }, { link: string }];
  /** A shared folder's tree, from its folder manifest alone (no file is fetched). */
  "content.list": [{ link: string }, FolderListingInfo];
  "content.ls": [Record<string, never>, StoreListing];
  "content.verify": [Record<string, never>, { checked: number; corrupt: string[] }];
  "content.gc": [Record<string, never>, { freedBytes: number }];
  "transfer.list": [Record<string, never>, TransferInfo[]];
  "transfer.cancel": [{ id: string }, TransferInfo];
  "transfer.pause": [{ id: string }, TransferInfo];
  "transfer.resume": [{ id: string }, TransferInfo];
  /** Who asked for this node's own shares (all, or one content by ID or link), newest last. */
  "audit.list": [{ content?: string }, AuditListing];
  "team.create": [{ name: string }, TeamSummary];
  /** `expiresInMs` defaults to 7 days; only the node that created the team can invite. */
  /** With address hints, unless `hints` is false. */
  "team.invite": [{ team?: string; role?: TeamRole; expiresInMs?: number; forNode?: string; hints?: boolean }, TeamInvite];
  /** Follows the invite's address hints, if it has any (the nodes that answer become bootstrap contacts). */
  "team.join": [{ invite: string }, TeamJoined];
  "team.list": [Record<string, never>, TeamSummary[]];
  "team.members": [{ team?: string }, TeamMember[]];
  "team.revoke": [{ team?: string; nodeId: string }, { team: string; revoked: string; seq: number }];
}

export type ApiMethod = keyof Api;

/** Notifications sent by the node-host (no reply expected). */
export interface Notifications {
  /** The routing table or a peer's state changed; the payload is a hint, fetch dht.peers for the full list. */
  "peers.changed": { peers: number };
  /** A transfer started, progressed (at most a few times a second) or ended. */
  "transfer.progress": TransferInfo;
}

/** JSON-RPC error codes this API uses besides the standard ones. */
export const RpcErrors = {
  Unauthorized: -32001,
  /** A peer refused by its access policy (e.g. not a member of the content's team). */
  Forbidden: -32003,
  /** The request needs the user's confirmation (retry with force: true); data says why. */
  NeedsConfirmation: -32010,
  NotFound: -32004,
  Timeout: -32008,
  InvalidArgument: -32602,
  Failed: -32000,
} as const;
