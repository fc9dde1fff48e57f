// One authenticated bulk connection, on either path: the HELLO exchange, then pipelined requests
// (dialler) or served requests (acceptor). Requests are answered by request id; the dialler keeps at
// most `window` in flight (a request aborted by its caller keeps its slot until the peer answers, so
// the peer's view of the window stays true). A malformed or unexpected frame closes the connection
// and is counted; so do a failed handshake, a stall (requests pending, and nothing received for
// stallMs, not even the PONG to the PINGs sent every quarter of that) and idleness (nothing pending
// for idleMs).

import { Id, toHex } from "../dht/id";
import { BulkPath, SessionRoute } from "./bulk";
import { Identity, SignatureVerifier } from "../security/identity";
import { BulkConnectionError, BulkStats, CredentialExchange, PeerIdentityError } from "./bulk-api";
import { checkHello, makeHello, Role } from "./bulk-handshake";
import { ByteLink } from "./bulk-link";
import { BufferPool } from "../util/buffer-pool";
import { BulkMessage, BulkRequest, BulkResponse, encodeMessage, ErrorCodes, FrameDecoder, isRequest, MAX_FRAME_BYTES, MAX_HELLO_FRAME_BYTES, ProtocolError } from "./bulk-protocol";

/** Most requests an acceptor takes in flight on one connection; more is a protocol error. */
export const MAX_SERVED_IN_FLIGHT = 64;
export const DEFAULT_WINDOW = 16;

type Without<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type OutgoingRequest = Without<BulkRequest, "requestId">;
/** A response to send; `sent` is called once the transport no longer needs its bytes (sent, or failed). */
export type Reply = Without<BulkResponse, "requestId"> & { sent?: () => void };
export type ServeHandler = (peer: Id, request: BulkRequest) => Promise<Reply>;

export interface SessionTiming {
  idleMs: number;
  stallMs: number;
  handshakeMs: number;
}

export interface SessionOptions {
  link: ByteLink;
  role: Role;
  identity: Identity;
  /** Channel-binding bytes from the transport (see bulk-handshake.ts). */
  binding: Buffer;
  /** The identity the peer must prove; null to learn it (a TLS acceptor). */
  expectedPeer: Id | null;
  stats: BulkStats;
  verifier: SignatureVerifier;
  timing: SessionTiming;
  /** How the peer is named in errors. */
  label: string;
  /** How the connection reaches the peer (default: its link's path). */
  route?: SessionRoute;
  window?: number;
  /** Acceptor: answers the peer's requests. */
  serve?: ServeHandler;
  /** Team credentials shown in HELLO and learnt from the peer's. */
  credentials?: CredentialExchange;
  /**
   * Where large received objects are put (see FrameDecoder); the requester gives the buffer back.
   * Also what the caller may take buffers from for objects it sends (see BulkNode).
   */
  buffers?: BufferPool;
}

interface Pending {
  resolve: (r: BulkResponse) => void;
  reject: (err: Error) => void;
  /** The caller gave up; the slot stays taken until the peer answers. */
  abandoned: boolean;
  detach: () => void;
}

export class BulkSession {
  readonly ready: Promise<Id>;
  readonly path: BulkPath;
  readonly route: SessionRoute;
  peerId: Id | null = null;
  closed = false;

  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  private readonly waiters: { go: () => void; fail: (err: Error) => void }[] = [];
  private readonly closeListeners: ((err?: Error) => void)[] = [];
  private readonly window: number;
  private readonly createdAt = Date.now();
  private readonly timer: NodeJS.Timeout;
  private slotsInUse = 0;
  private serving = 0;
  private nextRequestId = 1;
  private lastRx = Date.now();
  private lastActivity = Date.now();
  private lastPing = 0;
  private settleReady!: { resolve: (id: Id) => void; reject: (err: Error) => void };

  constructor(private readonly o: SessionOptions) {
    this.path = o.link.path;
    this.route = o.route ?? { path: o.link.path };
    this.window = Math.max(1, o.window ?? DEFAULT_WINDOW);
    this.decoder = new FrameDecoder(MAX_HELLO_FRAME_BYTES, o.buffers, o.link.reusesPieces);
    this.ready = new Promise<Id>((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.ready.catch(() => undefined); // observed through request() or by the dialler
    const t = o.timing;
    const tick = Math.min(1000, Math.max(25, Math.min(t.idleMs, t.stallMs / 2, t.handshakeMs) / 4));
    this.timer = setInterval(() => this.onTick(), tick);
    this.timer.unref();
    o.link.start(
      (piece) => this.onData(piece),
      (err) => this.close(err),
    );
    this.writeFrame(makeHello(o.identity, o.role, o.binding, o.credentials?.own()));
  }

  get inFlight(): number {
    return this.role === "dialler" ? this.slotsInUse : this.serving;
  }

  private get role(): Role {
    return this.o.role;
  }

  onClose(listener: (err?: Error) => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  /** Sends a request and resolves with the peer's response (dialler side). */
  async request(req: OutgoingRequest, signal?: AbortSignal): Promise<BulkResponse> {
    if (this.role !== "dialler") throw new Error("only the dialling side sends requests");
    this.lastActivity = Date.now(); // before any await, so the idle timer cannot close under this call
    await this.ready;
    await this.acquireSlot(signal);
    if (this.closed) throw this.closedError();
    const requestId = this.nextRequestId;
    this.nextRequestId = this.nextRequestId === 0xffffffff ? 1 : this.nextRequestId + 1;
    if (this.pending.size === 0) this.lastRx = Date.now(); // the stall clock starts with the first pending request
    this.lastActivity = Date.now();
    return new Promise<BulkResponse>((resolve, reject) => {
      const onAbort = () => {
        p.abandoned = true;
        reject(abortError(signal));
      };
      const p: Pending = { resolve, reject, abandoned: false, detach: () => signal?.removeEventListener("abort", onAbort) };
      this.pending.set(requestId, p);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.writeFrame({ ...req, requestId } as BulkRequest);
    });
  }

  close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const failure = this.closedError(err);
    this.settleReady.reject(err instanceof PeerIdentityError ? err : failure);
    for (const p of this.pending.values()) {
      p.detach();
      if (!p.abandoned) p.reject(failure);
    }
    this.pending.clear();
    for (const w of this.waiters.splice(0)) w.fail(failure);
    this.decoder.dispose();
    this.o.link.close(err);
    for (const l of this.closeListeners.splice(0)) l(err);
  }

  private closedError(cause?: Error): Error {
    const why = cause ? `: ${cause.message}` : "";
    return new BulkConnectionError(`${this.o.label}: connection closed${why}`);
  }

  private writeFrame(m: BulkMessage, sent?: () => void): void {
    this.o.link
      .write(encodeMessage(m))
      .catch((err: Error) => this.close(err))
      .finally(sent);
  }

  private acquireSlot(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.slotsInUse < this.window) {
      this.slotsInUse++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortError(signal));
      };
      const waiter = {
        go: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        fail: (err: Error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Hands a freed slot to the next waiter, or returns it. */
  private releaseSlot(): void {
    const next = this.waiters.shift();
    if (next) next.go();
    else this.slotsInUse--;
  }

  private onData(piece: Buffer): void {
    const now = Date.now();
    this.lastRx = now;
    this.lastActivity = now;
    try {
      for (const m of this.decoder.push(piece)) {
        if (this.closed) return;
        this.dispatch(m);
      }
    } catch (err) {
      if (err instanceof ProtocolError) this.o.stats.protocolErrors++;
      else this.o.stats.handshakeFailures++; // checkHello's PeerIdentityError
      this.close(err as Error);
    }
  }

  private dispatch(m: BulkMessage): void {
    if (m.type === "hello") {
      if (this.peerId) throw new ProtocolError("second HELLO");
      const peerRole: Role = this.role === "dialler" ? "acceptor" : "dialler";
      this.peerId = checkHello(m, peerRole, this.o.binding, this.o.expectedPeer, this.o.verifier);
      // learnt before the peer's first request can be served (requests follow HELLO on the stream)
      this.o.credentials?.received(this.peerId, m.publicKey, { memberships: m.memberships, revocations: m.revocations });
      this.decoder.maxFrameBytes = MAX_FRAME_BYTES; // a proven peer may send objects
      this.settleReady.resolve(this.peerId);
      return;
    }
    if (!this.peerId) throw new ProtocolError(`${m.type} before HELLO`);
    if (m.type === "ping") return this.writeFrame({ type: "pong", requestId: 0 });
    if (m.type === "pong") return; // its arrival already counted as activity
    if (isRequest(m)) {
      if (this.role !== "acceptor" || !this.o.serve) throw new ProtocolError(`unexpected ${m.type} request`);
      if (this.serving >= MAX_SERVED_IN_FLIGHT) throw new ProtocolError("too many requests in flight");
      void this.serveOne(this.peerId, m);
      return;
    }
    const p = this.pending.get(m.requestId);
    if (!p) throw new ProtocolError(`response to unknown request ${m.requestId}`);
    this.pending.delete(m.requestId);
    this.releaseSlot();
    p.detach();
    if (!p.abandoned) p.resolve(m);
    else if (m.type === "object") this.o.buffers?.give(m.bytes); // nobody will read it
  }

  private async serveOne(peer: Id, req: BulkRequest): Promise<void> {
    this.serving++;
    let reply: Reply;
    try {
      reply = await this.o.serve!(peer, req);
    } catch {
      reply = { type: "error", code: ErrorCodes.internal, text: "internal error" };
    }
    // Counted out before the reply is queued: the dialler can only send another request after
    // reading this reply, so the acceptor's count never exceeds the dialler's window.
    this.serving--;
    this.lastActivity = Date.now();
    this.o.stats.requestsServed++;
    const { sent, ...response } = reply;
    if (!this.closed) this.writeFrame({ ...response, requestId: req.requestId } as BulkResponse, sent);
    else sent?.();
  }

  private onTick(): void {
    const now = Date.now();
    const t = this.o.timing;
    if (!this.peerId) {
      if (now - this.createdAt > t.handshakeMs) {
        this.o.stats.handshakeFailures++;
        this.close(new BulkConnectionError(`no identity handshake within ${t.handshakeMs} ms`));
      }
    } else if (this.pending.size > 0 && now - this.lastRx > t.stallMs) {
      this.o.stats.stalls++;
      this.close(new BulkConnectionError(`nothing received for ${t.stallMs} ms with requests pending`));
    } else if (this.pending.size > 0 && now - this.lastRx > t.stallMs / 4 && now - this.lastPing > t.stallMs / 4) {
      this.lastPing = now;
      this.writeFrame({ type: "ping", requestId: 0 });
    } else if (this.inFlight === 0 && this.waiters.length === 0 && now - this.lastActivity > t.idleMs) {
      this.o.stats.idleCloses++;
      this.close();
    }
  }
}

function abortError(signal?: AbortSignal): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException("the operation was aborted", "AbortError");
}

/** Short printable form of a node ID for messages. */
export function shortId(id: Id): string {
  return `${toHex(id).slice(0, 12)}…`;
}
