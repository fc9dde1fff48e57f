// A node's bulk endpoint: serves its objects (and accepts pushed replicas) over TLS and WebRTC, and
// fetches or pushes objects as a client. A peer is dialled over TLS when its TCP port answers within
// a short timeout and completes a TLS handshake, and over WebRTC otherwise (remembered for a while,
// so an unreachable peer does not cost a TCP timeout per connection). A peer that completes TLS but
// fails the identity check is an error, not a reason to try another path: whoever holds that
// address is not the node we want, and the caller should try another holder.

import type * as tls from "node:tls";
import { Id, toHex } from "../dht/id";
import { Identity, SignatureVerifier } from "../security/identity";
import { BufferPool } from "../util/buffer-pool";
import { LruMap } from "../util/lru";
import { BulkClient, BulkPath, BulkPeer, ObjectNotFoundError, ObjectSource } from "./bulk";
import { AccessDeniedError, BulkConnectionError, BulkRemoteError, BulkStats, CredentialExchange, newBulkStats, ObjectSink, PutResult } from "./bulk-api";
import { BulkContext } from "./bulk-context";
import { SessionPool } from "./bulk-pool";
import { Audience, BulkRequest, ErrorCodes, MAX_OBJECT_BYTES } from "./bulk-protocol";
import { BulkSession, DEFAULT_WINDOW, OutgoingRequest, Reply, ServeHandler } from "./bulk-session";
import { dialTls, RawConnectionHandler, TlsUnavailableError, TlsBulkServer } from "./tls-bulk";
import { DEFAULT_WEBRTC_OPTIONS, Signaller, WebRtcBulk } from "./webrtc-bulk";
import { loadWebRtc } from "./webrtc-module";
import { isNatSignal, NatPaths, natPathsTo, Reach } from "../nat/nat-paths";

export interface BulkNodeOptions {
  identity: Identity;
  /** This node's clock corrected to its peers' (transport/clock-offset.ts); Date.now when not given. */
  now?: () => number;
  /** Where the TLS server listens: the node's UDP host and port number. */
  host: string;
  port: number;
  source: ObjectSource;
  /** Accepts replicas pushed by peers; without it PUT_OBJECT is answered "unsupported". */
  sink?: ObjectSink;
  signaller: Signaller;
  /** Team memberships shown to peers and learnt from theirs; without it the node shows none. */
  credentials?: CredentialExchange;
  /** Use WebRTC for every outgoing connection (a node setting; also how tests cover that path). */
  forceWebRtc?: boolean;
  /** A connection with nothing in flight for this long is closed (default 30 s; acceptors wait twice as long). */
  idleMs?: number;
  iceServers?: string[];
  /** Requests in flight per connection (default 16). */
  window?: number;
  /** A connection with requests pending that receives nothing, not even PONGs, for this long is dropped (default 4 s). */
  stallMs?: number;
  /** How long TCP may take to connect before the peer counts as unreachable (default 1.5 s). */
  tcpConnectTimeoutMs?: number;
  /** TLS handshake plus HELLO exchange (default 5 s). */
  handshakeMs?: number;
  /** WebRTC set-up from offer to verified HELLO (default 10 s). */
  webrtcConnectTimeoutMs?: number;
  /**
   * Whether a peer answers over UDP now. After its TCP port refused a connection, a peer that does
   * not is taken to be down (killed, restarting) and no WebRTC connection is tried; one that does
   * has no TCP listener and is reached over WebRTC. Without it, WebRTC is always tried.
   */
  answersPing?: (peer: BulkPeer) => Promise<boolean>;
  /** How this node itself is reached (nat/): decides the ways to a peer behind NAT. Default: reachable, no NAT. */
  selfReach?: () => Reach;
  /** This node's rendezvous nodes, while it is behind NAT. */
  ownRendezvous?: () => BulkPeer[];
  /** This node's external IP address in a family, as peers see it (for TCP hole punching). */
  ownExternal?: (ipv6: boolean) => string | null;
  /** STUN servers for a WebRTC connection with this peer. */
  iceServersFor?: (peer: BulkPeer) => string[];
  /** Takes TCP connections to the bulk port that are not TLS (a relay's handshake); false: closed. */
  onRawConnection?: RawConnectionHandler;
  /** Takes datagram tunnels (TLS with ALPN peershare-dgram/1) of nodes whose networks block UDP. */
  onTunnel?: (socket: tls.TLSSocket) => void;
  log?: (msg: string) => void;
}

export interface BulkNodeClient extends BulkClient {
  /** Pushes a replica; "refused" when the peer's policy declines it. */
  putObject(peer: BulkPeer, id: Buffer, bytes: Buffer, signal?: AbortSignal): Promise<PutResult>;
  /** Which of `ids` the peer holds; `replication` > 0 offers the content ids[0] names, for `audience` (see ObjectSink). */
  hasObjects(peer: BulkPeer, ids: Buffer[], replication?: number, audience?: Audience, signal?: AbortSignal): Promise<boolean[]>;
  /** Closes every connection, so the next ones show this node's current credentials. */
  reconnect(): Promise<void>;
}

/** Ids asked about per HAS_OBJECTS request (a manifest may list far more chunks). */
const HAS_BATCH = 4096;

export interface BulkNode {
  client: BulkNodeClient;
  /** False when the TCP port could not be bound: the node is reachable over WebRTC only. */
  tcpListening: boolean;
  /** The bound TCP port (equal to `port` unless that was 0), or null. */
  tcpPort: number | null;
  tcpError: string | null;
  /** Whether WebRTC data channels can be used here (node-datachannel loads); if not, why: TLS only. */
  webrtc: { available: true } | { available: false; reason: string };
  stats: BulkStats;
  /** Outgoing connections open or opening. */
  readonly connections: number;
  close(): Promise<void>;
}

const WEBRTC_MEMORY_MS = 5 * 60_000;
/**
 * What an object to send is read into (one more byte and it is read into a buffer of its own): most
 * chunks fit, the largest ones and big manifests do not.
 */
const READ_BUFFER_BYTES = 4 * 1024 * 1024;
/** Most bytes of pooled object buffers kept while unused. */
const OBJECT_BUFFERS_IDLE_BYTES = 32 * 1024 * 1024;

export async function createBulkNode(opts: BulkNodeOptions): Promise<BulkNode> {
  const idleMs = opts.idleMs ?? 30_000;
  const stats = newBulkStats();
  // every object the protocol allows may be received into (and sent from) a pooled buffer
  const buffers = new BufferPool(MAX_OBJECT_BYTES, OBJECT_BUFFERS_IDLE_BYTES);
  const timing = { stallMs: opts.stallMs ?? 4000, handshakeMs: opts.handshakeMs ?? 5000 };
  const ctx: BulkContext = {
    identity: opts.identity,
    stats,
    verifier: new SignatureVerifier(),
    window: opts.window ?? DEFAULT_WINDOW,
    serve: serveHandler(opts.source, buffers, opts.sink),
    credentials: opts.credentials,
    buffers,
    log: opts.log,
    // Acceptors wait longer before closing an idle connection, so the dialler (which knows when it
    // is done) normally closes first and no request is sent into a connection that is closing.
    timing: { dialler: { ...timing, idleMs }, acceptor: { ...timing, idleMs: idleMs * 2 } },
  };

  let server: TlsBulkServer | null = null;
  let tcpError: string | null = null;
  try {
    server = await TlsBulkServer.listen(ctx, opts.host, opts.port);
    server.rawHandler = opts.onRawConnection ?? null;
    server.tunnelHandler = opts.onTunnel ?? null;
  } catch (err) {
    tcpError = (err as Error).message;
    opts.log?.(`bulk: TCP port ${opts.port} unavailable (${tcpError}); serving over WebRTC only`);
  }
  // signals asking for a connection back or to a relay go to natPaths, WebRTC descriptions to webrtc
  let webrtcAnswer: Parameters<Signaller["onSignal"]>[0] | null = null;
  const toWebRtc: Signaller = { signal: (peer, payload) => opts.signaller.signal(peer, payload), onSignal: (h) => (webrtcAnswer = h) };
  const rtc = loadWebRtc();
  // Without node-datachannel: no data channels either way (offers are answered "not accepted").
  const webrtc = rtc.ok
    ? new WebRtcBulk(
        ctx,
        toWebRtc,
        {
          ...DEFAULT_WEBRTC_OPTIONS,
          iceServers: opts.iceServers ?? [],
          iceServersFor: opts.iceServersFor,
          connectTimeoutMs: opts.webrtcConnectTimeoutMs ?? DEFAULT_WEBRTC_OPTIONS.connectTimeoutMs,
        },
        rtc.module,
      )
    : null;
  const whyNoWebRtc = rtc.ok ? "" : rtc.reason;
  if (!webrtc) opts.log?.(`bulk: WebRTC unavailable (${whyNoWebRtc}); TLS only${opts.forceWebRtc ? ` (bulkPath "webrtc" cannot apply)` : ""}`);
  const natPaths = new NatPaths({
    ctx,
    server,
    signaller: opts.signaller,
    ownRendezvous: opts.ownRendezvous ?? (() => []),
    memberships: () => ctx.credentials?.own().memberships ?? [],
    ownExternal: opts.ownExternal ?? (() => null),
    timeoutMs: opts.webrtcConnectTimeoutMs ?? DEFAULT_WEBRTC_OPTIONS.connectTimeoutMs,
    now: opts.now,
    log: opts.log,
  });
  opts.signaller.onSignal(async (from, payload) => (isNatSignal(payload) ? natPaths.answer(from, payload) : (webrtcAnswer?.(from, payload) ?? null)));
  const selfReach = opts.selfReach ?? (() => ({ reachable: true, mapping: "none" as const, udp: true }));

  /** A peer behind NAT: each way its NAT and ours allow, in order, until one connects. */
  const dialBehindNat = async (peer: BulkPeer): Promise<BulkSession> => {
    const errors: string[] = [];
    const turn = (opts.iceServers ?? []).some((url) => /^turns?:/i.test(url));
    for (const path of natPathsTo(selfReach(), peer.reach ?? { reachable: false, mapping: "unknown", udp: true }, true, turn)) {
      try {
        if (path !== "webrtc") return await natPaths.dial(peer, path);
        if (!webrtc) throw new Error(`unavailable on this node (${whyNoWebRtc})`);
        return await webrtc.dial(peer);
      } catch (err) {
        errors.push(`${path}: ${(err as Error).message}`);
        opts.log?.(`node ${toHex(peer.id).slice(0, 12)}… (behind NAT): ${path} failed (${(err as Error).message}); trying the next way`);
      }
    }
    throw new BulkConnectionError(`node ${toHex(peer.id).slice(0, 12)}… (behind NAT) could not be reached: ${errors.join("; ")}`);
  };

  const preferWebRtc = new LruMap<string, number>(4096);
  const dial = async (peer: BulkPeer): Promise<BulkSession> => {
    if (peer.reach && !peer.reach.reachable) return dialBehindNat(peer);
    const key = toHex(peer.id);
    const until = preferWebRtc.get(key);
    if (!webrtc) return dialTlsOnly(ctx, peer, opts.tcpConnectTimeoutMs ?? 1500, whyNoWebRtc);
    if (!opts.forceWebRtc && !(until && until > Date.now())) {
      try {
        return await dialTls(ctx, peer, opts.tcpConnectTimeoutMs ?? 1500);
      } catch (err) {
        if (!(err instanceof TlsUnavailableError)) throw err;
        // refused and silent: the peer's node is down, and WebRTC would only wait out its timeout
        if (err.refused && opts.answersPing && !(await opts.answersPing(peer))) throw err;
        preferWebRtc.set(key, Date.now() + WEBRTC_MEMORY_MS);
      }
    }
    return webrtc.dial(peer);
  };
  const pool = new SessionPool(dial);

  const call = async (peer: BulkPeer, req: OutgoingRequest, signal?: AbortSignal) => (await pool.get(peer)).request(req, signal);
  const client: BulkNodeClient = {
    async getObject(peer, id, signal) {
      const res = await call(peer, { type: "get", objectId: id }, signal);
      if (res.type === "object") return res.bytes;
      if (res.type === "not_found") throw new ObjectNotFoundError(id);
      throw remoteError(peer.id, res);
    },
    async putObject(peer, id, bytes, signal) {
      const res = await call(peer, { type: "put", objectId: id, bytes }, signal);
      if (res.type === "ok") return "stored";
      if (res.type === "error" && res.code === ErrorCodes.refused) return "refused";
      throw remoteError(peer.id, res);
    },
    async hasObjects(peer, ids, replication = 0, audience = { kind: "unstated" }, signal) {
      const out: boolean[] = [];
      for (let i = 0; i < ids.length; i += HAS_BATCH) {
        const batch = ids.slice(i, i + HAS_BATCH);
        // every batch carries the offer's content id first, so the peer can tell what it is for
        const objectIds = replication > 0 && i > 0 ? [ids[0], ...batch] : batch;
        const res = await call(peer, { type: "has", replication, audience, objectIds }, signal);
        if (res.type !== "have") throw remoteError(peer.id, res);
        const skip = objectIds.length - batch.length;
        for (let j = 0; j < batch.length; j++) out.push((res.bits[(j + skip) >> 3] & (0x80 >> ((j + skip) & 7))) !== 0);
      }
      return out;
    },
    release(bytes) {
      ctx.buffers.give(bytes);
    },
    async pathTo(peer): Promise<BulkPath> {
      return (await pool.get(peer)).path;
    },
    routeOf(peer) {
      return pool.current(toHex(peer))?.route ?? null;
    },
    async reconnect() {
      await pool.close();
    },
    async close() {
      await pool.close();
    },
  };

  return {
    client,
    tcpListening: server !== null,
    tcpPort: server?.port ?? null,
    tcpError,
    webrtc: rtc.ok ? { available: true } : { available: false, reason: rtc.reason },
    stats,
    get connections() {
      return pool.size;
    },
    async close() {
      await client.close();
      natPaths.close();
      await Promise.all([server?.close(), webrtc?.close()]);
    },
  };
}

/** TLS, the only path where WebRTC does not load: a peer not reachable over TCP cannot be reached. */
async function dialTlsOnly(ctx: BulkContext, peer: BulkPeer, timeoutMs: number, whyNoWebRtc: string): Promise<BulkSession> {
  try {
    return await dialTls(ctx, peer, timeoutMs);
  } catch (err) {
    if (!(err instanceof TlsUnavailableError)) throw err;
    throw new BulkConnectionError(`${err.message}; WebRTC, the way to peers behind NAT, is unavailable on this node (${whyNoWebRtc})`);
  }
}

function serveHandler(source: ObjectSource, buffers: BufferPool, sink?: ObjectSink): ServeHandler {
  return async (peer, req) => {
    try {
      return req.type === "get" ? await serveGet(source, buffers, peer, req.objectId) : await serveReplication(sink, peer, req);
    } catch (err) {
      if (err instanceof AccessDeniedError) return { type: "error", code: ErrorCodes.forbidden, text: err.message };
      throw err;
    }
  };
}

/** An object read into a pooled buffer, which goes back to the pool once the reply is sent. */
async function serveGet(source: ObjectSource, buffers: BufferPool, peer: Id, id: Buffer): Promise<Reply> {
  const into = buffers.take(READ_BUFFER_BYTES);
  const giveBack = () => buffers.give(into);
  try {
    const bytes = await source.getObject(peer, id, into);
    if (bytes && bytes.length <= MAX_OBJECT_BYTES) return { type: "object", bytes, sent: giveBack };
    giveBack();
    return bytes ? { type: "error", code: ErrorCodes.tooLarge, text: "object too large to send" } : { type: "not_found" };
  } catch (err) {
    giveBack();
    throw err;
  }
}

async function serveReplication(sink: ObjectSink | undefined, peer: Id, req: Exclude<BulkRequest, { type: "get" }>): Promise<Reply> {
  if (!sink || (req.type === "has" && !sink.offer)) return { type: "error", code: ErrorCodes.unsupported, text: "this node does not accept replicas" };
  if (req.type === "has") return { type: "have", bits: packBits(await sink.offer!(peer, req.objectIds, req.replication, req.audience)) };
  const result = await sink.putObject(peer, req.objectId, req.bytes);
  return result === "stored" ? { type: "ok" } : { type: "error", code: ErrorCodes.refused, text: "replica refused" };
}

function packBits(flags: boolean[]): Buffer {
  const bits = Buffer.alloc(Math.ceil(flags.length / 8));
  flags.forEach((f, i) => {
    if (f) bits[i >> 3] |= 0x80 >> (i & 7);
  });
  return bits;
}

function remoteError(peer: Id, res: { type: string; code?: number; text?: string }): Error {
  if (res.type === "error" && res.code === ErrorCodes.forbidden) return new AccessDeniedError(`node ${toHex(peer).slice(0, 12)}… refused: ${res.text}`);
  if (res.type === "error") return new BulkRemoteError(res.code ?? 0, `node ${toHex(peer).slice(0, 12)}…: ${res.text}`);
  return new BulkRemoteError(0, `node ${toHex(peer).slice(0, 12)}… answered ${res.type}`);
}
