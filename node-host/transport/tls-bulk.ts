// The direct path: TLS 1.3 over TCP, on the same port number as the node's UDP socket. The server
// presents a throwaway certificate (tls-cert.ts) and the client accepts any certificate: identities
// are proved by the HELLO exchange signed over the TLS exporter (bulk-handshake.ts), which fails for
// anyone but the two real endpoints of this TLS session.
//
// Two variants reach nodes behind NAT. A connection back: the node behind NAT dials, told to by a
// signal, and offers the ALPN "peershare-bulk-reverse/1"; the TLS server then takes the bulk
// dialler's part (it asked for the connection). A relayed connection: TLS runs over a TCP socket
// spliced by a relay (nat/relay-server.ts), whose handshake shares this port: the server tells it
// from TLS by its first bytes.

import * as net from "node:net";
import * as tls from "node:tls";
import { BulkPeer, SessionRoute } from "./bulk";
import { BulkConnectionError } from "./bulk-api";
import { ByteLink } from "./bulk-link";
import { BulkContext } from "./bulk-context";
import { Role } from "./bulk-handshake";
import { BulkSession, shortId } from "./bulk-session";
import { makeSelfSignedCert } from "./tls-cert";

const EXPORTER_LABEL = "peershare bulk v1";
const ALPN = ["peershare-bulk/1"];
const REVERSE_ALPN = "peershare-bulk-reverse/1";
/** A datagram tunnel (nat/datagram-tunnel.ts): handed to `tunnelHandler`. */
const TUNNEL_ALPN = "peershare-dgram/1";
/** How long a new TCP connection may take to send the bytes that tell TLS from a relay handshake. */
const FIRST_BYTES_MS = 5000;

/** Takes TCP connections whose first bytes are not TLS (the relay's handshake); null: not this node's business. */
export type RawConnectionHandler = (socket: net.Socket, first: Buffer) => boolean;

/**
 * No TLS connection to the peer: TCP refused, unreachable or silent, or something that does not
 * complete a TLS 1.3 handshake holds the port. Another path may still reach the peer.
 */
export class TlsUnavailableError extends BulkConnectionError {
  constructor(message: string) {
    super(message);
    this.name = "TlsUnavailableError";
  }
}

/**
 * Bytes of small frame parts merged into one socket write. A TLS socket given several buffers in
 * one write (corked, or writes queued behind one in progress) first copies them all into one new
 * buffer, which for a frame carrying an object is a fresh 1 MiB copy (page faults included) per
 * object; one buffer per write is encrypted in place.
 */
const MERGE_BYTES = 16 * 1024;

/**
 * A frame's parts as the buffers to write one by one: parts smaller than MERGE_BYTES are merged,
 * together with the head of a large part that follows them (so a header does not go out as a TLS
 * record and TCP segment of its own); the rest of a large part is written as it is, uncopied.
 */
export function writeBatches(parts: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for (let part of parts) {
    if (pendingBytes + part.length > MERGE_BYTES) {
      const fill = MERGE_BYTES - pendingBytes;
      out.push(Buffer.concat([...pending, part.subarray(0, fill)]));
      part = part.subarray(fill);
      pending = [];
      pendingBytes = 0;
      if (part.length > MERGE_BYTES) {
        out.push(part);
        continue;
      }
    }
    if (part.length > 0) pending.push(part);
    pendingBytes += part.length;
  }
  if (pending.length > 0) out.push(pending.length === 1 ? pending[0] : Buffer.concat(pending));
  return out;
}

/**
 * What a dialled socket reads into (tls.connect's onread): one buffer for all its received bytes,
 * instead of a new buffer, and a stream 'data' event, for each TLS record (16 KiB). Bytes that
 * arrive before the link takes them are copied and kept.
 */
class ReceiveBuffer {
  private sink: ((piece: Buffer) => void) | null = null;
  private early: Buffer[] = [];
  readonly onread: net.OnReadOpts = {
    buffer: Buffer.allocUnsafe(64 * 1024),
    callback: (n: number, buffer: Uint8Array): boolean => {
      const piece = Buffer.from(buffer.buffer, buffer.byteOffset, n);
      if (this.sink) this.sink(piece);
      else this.early.push(Buffer.from(piece));
      return true; // go on reading
    },
  };

  attach(sink: (piece: Buffer) => void): void {
    this.sink = sink;
    for (const piece of this.early.splice(0)) sink(piece);
  }
}

class TlsLink extends ByteLink {
  /** With a ReceiveBuffer, each piece is a view of its buffer, overwritten by the next read. */
  override readonly reusesPieces: boolean;

  constructor(
    private readonly socket: tls.TLSSocket,
    ctx: BulkContext,
    receiver?: ReceiveBuffer,
  ) {
    super("tls", ctx.stats.tls);
    this.reusesPieces = receiver !== undefined;
    if (receiver) receiver.attach((piece) => this.received(piece));
    else socket.on("data", (piece: Buffer) => this.received(piece));
    socket.on("error", (err) => this.close(err));
    socket.on("close", () => this.close());
  }

  /**
   * Writes each buffer once the one before has gone to the kernel, so the socket never holds two
   * (see MERGE_BYTES); the kernel's send buffer keeps the connection busy meanwhile.
   */
  protected async send(parts: Buffer[]): Promise<void> {
    for (const buffer of writeBatches(parts)) await this.writeOne(buffer);
  }

  private writeOne(buffer: Buffer): Promise<void> {
    const s = this.socket;
    return new Promise<void>((resolve, reject) => {
      const onClose = () => reject(new BulkConnectionError("connection closed while writing"));
      s.once("close", onClose);
      s.write(buffer, (err) => {
        s.off("close", onClose);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  protected destroy(): void {
    this.socket.destroy();
  }
}

const ROUTE_WORDS: Record<SessionRoute["path"], string> = { tls: "over TLS", "tls-reverse": "connected back over TLS", "tls-punched": "over TLS through a punched hole", relay: "relayed over TLS", webrtc: "over WebRTC" };

function startSession(ctx: BulkContext, socket: tls.TLSSocket, role: Role, peer: BulkPeer | null, receiver?: ReceiveBuffer, route: SessionRoute = { path: "tls" }): BulkSession {
  const label = peer ? `node ${shortId(peer.id)} ${ROUTE_WORDS[route.path]} at ${peer.host}:${peer.port}` : `TLS peer ${socket.remoteAddress}:${socket.remotePort}`;
  return new BulkSession({
    link: new TlsLink(socket, ctx, receiver),
    role,
    identity: ctx.identity,
    binding: socket.exportKeyingMaterial(32, EXPORTER_LABEL, Buffer.alloc(0)),
    expectedPeer: peer ? peer.id : null,
    stats: ctx.stats,
    verifier: ctx.verifier,
    timing: ctx.timing[role],
    label,
    route,
    window: ctx.window,
    serve: role === "acceptor" ? ctx.serve : undefined,
    credentials: ctx.credentials,
    buffers: ctx.buffers,
  });
}

export class TlsBulkServer {
  private readonly sessions = new Set<BulkSession>();
  /** Peer (hex) → the dial waiting for it to connect back. */
  private readonly reverseWaiters = new Map<string, (session: BulkSession) => void>();
  /** The relay's handshake, when this node relays (set by the node). */
  rawHandler: RawConnectionHandler | null = null;
  /** Datagram tunnels of nodes whose networks block UDP (set by the node); without it they are closed. */
  tunnelHandler: ((socket: tls.TLSSocket) => void) | null = null;

  private constructor(
    private readonly ctx: BulkContext,
    private readonly tcp: net.Server,
    private readonly tlsServer: tls.Server,
    readonly port: number,
  ) {}

  /** Listens on host:port; rejects when the port cannot be bound (the node then runs WebRTC-only). */
  static listen(ctx: BulkContext, host: string, port: number): Promise<TlsBulkServer> {
    const tlsServer = tls.createServer({
      ...tlsServerOptions(),
      ALPNProtocols: [...ALPN, REVERSE_ALPN, TUNNEL_ALPN],
      handshakeTimeout: ctx.timing.acceptor.handshakeMs,
    });
    const tcp = net.createServer({ noDelay: true });
    tcp.maxConnections = 1024;
    return new Promise((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(port, host, () => {
        tcp.off("error", reject);
        const self = new TlsBulkServer(ctx, tcp, tlsServer, (tcp.address() as net.AddressInfo).port);
        tcp.on("error", (err) => ctx.log?.(`bulk TCP server: ${err.message}`));
        tcp.on("connection", (socket) => self.route(socket));
        tlsServer.on("tlsClientError", () => ctx.stats.handshakeFailures++);
        tlsServer.on("secureConnection", (socket) => self.accept(socket));
        resolve(self);
      });
    });
  }

  /** TLS (its first byte is a handshake record, 0x16) goes to the TLS server; anything else to the relay, or is closed. */
  private route(socket: net.Socket): void {
    socket.on("error", () => socket.destroy());
    const timer = setTimeout(() => socket.destroy(), FIRST_BYTES_MS);
    socket.once("readable", () => {
      clearTimeout(timer);
      const first = socket.read() as Buffer | null;
      if (!first) return void socket.destroy();
      socket.unshift(first);
      if (first[0] === 0x16) return void this.tlsServer.emit("connection", socket);
      socket.removeAllListeners("error");
      if (this.rawHandler?.(socket, first)) return;
      this.ctx.stats.handshakeFailures++; // neither TLS nor a relay handshake
      socket.destroy();
    });
  }

  private accept(socket: tls.TLSSocket): void {
    socket.setNoDelay(true);
    if (socket.alpnProtocol === REVERSE_ALPN) return this.acceptReverse(socket);
    if (socket.alpnProtocol === TUNNEL_ALPN) return this.tunnelHandler ? this.tunnelHandler(socket) : void socket.destroy();
    this.track(startSession(this.ctx, socket, "acceptor", null));
  }

  private track(session: BulkSession): void {
    this.sessions.add(session);
    session.onClose(() => this.sessions.delete(session));
  }

  /** A node behind NAT connecting back: this node is the dialler, if it is waiting for that node. */
  private acceptReverse(socket: tls.TLSSocket): void {
    const session = startSession(this.ctx, socket, "dialler", null, undefined, { path: "tls-reverse" });
    this.track(session);
    session.ready.then(
      (peer) => {
        const waiter = this.reverseWaiters.get(peer.toString("hex"));
        if (waiter) waiter(session);
        else session.close();
      },
      () => undefined,
    );
  }

  /** Resolves with the session once `peer` connects back (after it was asked to, by a signal). */
  expectReverse(peer: Buffer, timeoutMs: number): Promise<BulkSession> {
    const key = peer.toString("hex");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.reverseWaiters.delete(key);
        reject(new BulkConnectionError(`node ${shortId(peer)} did not connect back within ${timeoutMs} ms`));
      }, timeoutMs);
      this.reverseWaiters.set(key, (session) => {
        clearTimeout(timer);
        this.reverseWaiters.delete(key);
        resolve(session);
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const s of [...this.sessions]) s.close();
    await closed;
  }
}

function tlsServerOptions(): tls.TlsOptions {
  return { ...makeSelfSignedCert(), minVersion: "TLSv1.3" };
}

/** Connects back to a node that asked for it (this node is behind NAT): it takes the dialler's part, this node serves. */
export async function dialTlsReverse(ctx: BulkContext, peer: BulkPeer, tcpConnectTimeoutMs: number): Promise<BulkSession> {
  const socket = await connectTls(peer, tcpConnectTimeoutMs, ctx.timing.acceptor.handshakeMs, null, [REVERSE_ALPN]);
  const session = startSession(ctx, socket, "acceptor", peer, undefined, { path: "tls-reverse" });
  await session.ready;
  return session;
}

/**
 * TLS over a TCP socket that reaches the peer some other way than a plain dial: spliced by a relay,
 * or a hole punched through NAT by a simultaneous open. This node's role in TLS follows its bulk
 * role (the requester dials, the other accepts), and each end checks the other's HELLO.
 */
export async function startSessionOver(ctx: BulkContext, socket: net.Socket, role: Role, peer: BulkPeer, route: SessionRoute): Promise<BulkSession> {
  const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const timer = setTimeout(() => reject(new BulkConnectionError(`no TLS handshake with ${shortId(peer.id)} (${ROUTE_WORDS[route.path]})`)), ctx.timing[role].handshakeMs);
    const done = (s: tls.TLSSocket) => {
      clearTimeout(timer);
      resolve(s);
    };
    if (role === "dialler") {
      const s = tls.connect({ socket, rejectUnauthorized: false, minVersion: "TLSv1.3", ALPNProtocols: ALPN });
      s.once("secureConnect", () => done(s));
      s.once("error", reject);
    } else {
      const s = new tls.TLSSocket(socket, { ...tlsServerOptions(), isServer: true, ALPNProtocols: ALPN });
      s.once("secure", () => done(s));
      s.once("error", reject);
    }
  });
  const session = startSession(ctx, secure, role, { ...peer, host: socket.remoteAddress ?? peer.host, port: socket.remotePort ?? peer.port }, undefined, route);
  await session.ready;
  return session;
}

/** Connects to the peer's TLS port and proves both identities; the session is ready when this resolves. */
export async function dialTls(ctx: BulkContext, peer: BulkPeer, tcpConnectTimeoutMs: number): Promise<BulkSession> {
  const receiver = new ReceiveBuffer();
  const socket = await connectTls(peer, tcpConnectTimeoutMs, ctx.timing.dialler.handshakeMs, receiver, ALPN);
  const session = startSession(ctx, socket, "dialler", peer, receiver);
  await session.ready;
  return session;
}

/**
 * TCP, then the TLS handshake, each within its own time. tls.connect dials the TCP connection itself
 * (given a connected socket instead, it would not read into `receiver`).
 */
function connectTls(peer: BulkPeer, tcpTimeoutMs: number, handshakeMs: number, receiver: ReceiveBuffer | null, alpn: string[]): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    // onread is supported by tls.connect (when it dials) but missing from its option types
    const options: tls.ConnectionOptions & { onread?: net.OnReadOpts } = { host: peer.host, port: peer.port, rejectUnauthorized: false, minVersion: "TLSv1.3", ALPNProtocols: alpn, ...(receiver ? { onread: receiver.onread } : {}) };
    const s = tls.connect(options);
    let tcpConnected = false;
    const fail = (why: string) => {
      clearTimeout(timer);
      s.destroy();
      const where = tcpConnected ? `node ${shortId(peer.id)} at ${peer.host}:${peer.port}: ${why}` : `node ${shortId(peer.id)}: no TCP connection to ${peer.host}:${peer.port} (${why})`;
      reject(new TlsUnavailableError(where));
    };
    const onError = (err: Error) => fail(err.message);
    let timer = setTimeout(() => fail(`no answer within ${tcpTimeoutMs} ms`), tcpTimeoutMs);
    s.once("connect", () => {
      tcpConnected = true;
      s.setNoDelay(true);
      clearTimeout(timer);
      timer = setTimeout(() => fail(`no TLS handshake within ${handshakeMs} ms`), handshakeMs);
    });
    s.once("error", onError);
    s.once("secureConnect", () => {
      clearTimeout(timer);
      s.off("error", onError);
      resolve(s);
    });
  });
}
