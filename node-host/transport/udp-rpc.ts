// The DHT's RPC transport over real UDP: signed datagrams, request/response matching by
// transaction id, timeouts and retries. Whatever arrives, the socket handler never throws:
// a datagram that is malformed, oversized, stale, replayed, badly signed or unexpected is dropped
// and counted in `stats`.

import * as dgram from "node:dgram";
import * as dns from "node:dns";
import * as net from "node:net";
import { unmapIpv4 } from "../util/ip-address";
import { canSendTo } from "./address-families";
import { Address, Reply, RequestHandler, RequestOptions, RpcTimeoutError, RpcTransport } from "../dht/transport";
import { Contact, Request, Response } from "../dht/messages";
import { Identity, SignatureVerifier } from "../security/identity";
import { LruMap } from "../util/lru";
import { PairKeys, macOf } from "../security/pair-keys";
import { timingSafeEqual } from "node:crypto";
import { RateLimiter } from "../util/rate-limiter";
import { Envelope, MAX_DATAGRAM_BYTES, MAX_PAYLOAD_BYTES, openEnvelope, sealEnvelope } from "./envelope";
import { senderContact } from "./contact-codec";
import { matchKey, replyTxid, requestTxid, SenderFlags, senderFlags } from "./txid";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, isResponseType } from "./wire";
import { WireFormatError } from "../util/binary";
import { ClockOffset } from "./clock-offset";
import { ReplayWindow } from "./replay-window";
import { answersStale, staleAnswer } from "./stale-answer";

/** A request type handled beside the DHT (NAT traversal, nat/): raw payload in, raw response (or nothing) out. */
export type ExtensionHandler = (from: Contact, type: number, payload: Buffer) => RawMessage | null | Promise<RawMessage | null>;

export interface RawMessage {
  type: number;
  payload: Buffer;
}

export interface RawReply extends RawMessage {
  from: Contact;
  rttMs: number;
}

/** Answers a datagram that is not a peershare envelope (a STUN request); returns the bytes to send back to its source, or null. */
export type ForeignHandler = (datagram: Buffer, source: { host: string; port: number }) => Buffer | null;

/** Sends a sealed datagram to `to` through one of its rendezvous nodes and returns the wrapped reply datagram (set by nat/). */
export type Forwarder = (via: Address, target: Address, datagram: Buffer, timeoutMs: number) => Promise<Buffer>;

/**
 * Where this node's datagrams go when its network lets no UDP through (nat/datagram-tunnel.ts): a
 * stream to one reachable node, which sends them on (`egress`) and brings back the answers.
 */
export interface Tunnel {
  /** The node at the other end, as this node addresses it. */
  peer: { host: string; port: number };
  write(datagram: Buffer): void;
  /** Sends a sealed request to `target` through the tunnel's node; resolves with the answer datagram. */
  egress(target: Address, datagram: Buffer, timeoutMs: number): Promise<Buffer>;
}

/** Every envelope starts with "PS"; a datagram that does not is someone else's protocol (STUN's first byte is 0 or 1). */
const ENVELOPE_FIRST_BYTE = 0x50;
/** Where an envelope's txid lies: after magic (2), version, auth and type (transport/envelope.ts). */
const TXID_START = 5;
const TXID_END = TXID_START + 8;

export interface UdpRpcOptions {
  identity: Identity;
  host: string;
  port: number;
  timeoutMs?: number;
  /** Requests whose timestamp is further than this from our (corrected) clock are dropped as stale. */
  freshnessMs?: number;
  /** This node's clock, corrected by what peers' answers say (clock-offset.ts). */
  clock?: ClockOffset;
  maxPending?: number;
  /** Datagrams per second accepted from one source address:port (with a burst of twice that). */
  perSourceRate?: number;
  log?: (msg: string) => void;
}

export type UdpStats = Record<
  | "received"
  | "sent"
  | "requestsHandled"
  | "droppedMalformed"
  | "droppedOversized"
  | "droppedStale"
  | "droppedReplayed"
  | "droppedBadSignature"
  | "signaturesChecked"
  | "macsChecked"
  | "droppedUnexpected"
  | "droppedRateLimited"
  | "requestTimeouts"
  | "handlerErrors"
  | "sendErrors",
  number
>;

/**
 * The socket's address lookup. The DHT sends to IP literals only, which dns.lookup answers on the
 * next tick: one tick and closure per datagram sent. This answers them at once (anything else
 * still goes to dns.lookup).
 */
function literalLookup(hostname: string, options: dns.LookupOneOptions, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const literal = net.isIP(hostname);
  if (literal) callback(null, hostname, literal);
  else dns.lookup(hostname, options, callback);
}

/** A timer this late (or later) means the event loop stalled: the request gets the time back. */
const STALL_MS = 50;
/** Most datagrams remembered against replays (a flood's bound; otherwise each is kept for a time). */
const REPLAY_WINDOW_CAPACITY = 65_536;

interface Pending {
  to: Address;
  resolve: (reply: Reply | RawReply) => void;
  /** A datagram this node sent on for a tunnel client: its answer is handed back as it came, unread. */
  passThrough?: (datagram: Buffer) => void;
  sentAt: number;
  /** An extension request: its response is handed over undecoded. */
  raw: boolean;
  /** Sent through a rendezvous node: the response arrives wrapped, not from the peer's address. */
  forwarded: boolean;
}

export class UdpRpc implements RpcTransport {
  readonly stats: UdpStats = {
    received: 0,
    sent: 0,
    requestsHandled: 0,
    droppedMalformed: 0,
    droppedOversized: 0,
    droppedStale: 0,
    droppedReplayed: 0,
    droppedBadSignature: 0,
    signaturesChecked: 0,
    macsChecked: 0,
    droppedUnexpected: 0,
    droppedRateLimited: 0,
    requestTimeouts: 0,
    handlerErrors: 0,
    sendErrors: 0,
  };
  local: Contact;
  /** The address the socket is bound to (0.0.0.0 or :: when it listens on every interface). */
  readonly boundHost: string;
  timeoutMs: number;

  private handler: RequestHandler = () => null;
  private readonly extensions = new Map<number, ExtensionHandler>();
  private foreign: ForeignHandler | null = null;
  /** Takers of foreign datagrams (the Mainline DHT's KRPC messages), asked before `foreign`. */
  private readonly taps: { claims: (datagram: Buffer) => boolean; take: (datagram: Buffer, source: { host: string; port: number }) => void }[] = [];
  /** How a request reaches a peer that names rendezvous nodes (Address.via); set by the NAT layer. */
  forwarder: Forwarder | null = null;
  /** This node's own way out when UDP is blocked; null while it sends UDP itself. */
  tunnel: Tunnel | null = null;
  /** Addresses of tunnel clients ("host|port"): what is sent to them goes down their stream. */
  private readonly streams = new Map<string, (datagram: Buffer) => void>();
  private readonly pending = new Map<string, Pending>();
  private readonly verifier = new SignatureVerifier();
  private readonly pairKeys: PairKeys;
  /**
   * Datagrams taken lately. One is taken only while its timestamp is within freshnessMs of the
   * clock, so a copy of it can pass that check only until 2 × freshnessMs after the original was
   * first seen: each is remembered that long.
   */
  private readonly seen: ReplayWindow;
  private readonly limiter: RateLimiter;
  private readonly freshnessMs: number;
  readonly clock: ClockOffset;
  /** Sources told lately that their timestamps are stale (at most one answer a second each). */
  private readonly staleTold = new LruMap<string, number>(1024);
  private readonly maxPending: number;
  /** Sender flags carried in every txid this node sends (txid.ts). */
  private flags = 0;
  private closed = false;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly identity: Identity,
    opts: UdpRpcOptions,
  ) {
    const addr = socket.address();
    this.boundHost = addr.address;
    const wildcard = opts.host === "0.0.0.0" || opts.host === "::";
    this.local = { id: identity.id, publicKey: identity.publicKey, host: wildcard ? "127.0.0.1" : unmapIpv4(addr.address), port: addr.port };
    this.pairKeys = new PairKeys(identity.seed(), identity.publicKey);
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.freshnessMs = opts.freshnessMs ?? 30_000;
    this.seen = new ReplayWindow(REPLAY_WINDOW_CAPACITY, 2 * this.freshnessMs);
    this.clock = opts.clock ?? new ClockOffset(opts.log);
    this.maxPending = opts.maxPending ?? 4096;
    const rate = opts.perSourceRate ?? 2000;
    this.limiter = new RateLimiter(rate, rate * 2);
    socket.on("message", (msg, rinfo) => this.onDatagram(msg, rinfo.address, rinfo.port));
    // after bind, errors are those of sends (to an unreachable network, say): counted, and logged
    // at the 1st, 2nd, 4th, 8th... so that a long outage does not flood the log
    socket.on("error", (err) => {
      const n = ++this.stats.sendErrors;
      if ((n & (n - 1)) === 0) opts.log?.(`udp socket error (${n} so far): ${err.message}`);
    });
  }

  /**
   * Binds the socket: IPv4 for an IPv4 host (0.0.0.0 included), IPv6 for an IPv6 one, and both for
   * "::" (one dual-stack socket, IPv4 peers seen as ::ffff:a.b.c.d and told apart below).
   */
  static bind(opts: UdpRpcOptions): Promise<UdpRpc> {
    return new Promise((resolve, reject) => {
      const v6 = net.isIPv6(opts.host);
      const socket = dgram.createSocket({ type: v6 ? "udp6" : "udp4", ipv6Only: false, recvBufferSize: 4 << 20, lookup: literalLookup });
      const onError = (err: Error) => reject(err);
      socket.once("error", onError);
      socket.bind(opts.port, opts.host, () => {
        socket.off("error", onError);
        resolve(new UdpRpc(socket, opts.identity, opts));
      });
    });
  }

  onRequest(handler: RequestHandler): void {
    this.handler = handler;
  }

  setClientMode(on: boolean): void {
    this.flags = on ? this.flags | SenderFlags.client : this.flags & ~SenderFlags.client;
  }

  /** Hands requests of these types to `handler` instead of the DHT. */
  extend(types: number[], handler: ExtensionHandler): void {
    for (const t of types) this.extensions.set(t, handler);
  }

  /** Answers datagrams that are not envelopes (STUN binding requests on the DHT port). */
  onForeignDatagram(handler: ForeignHandler): void {
    this.foreign = handler;
  }

  /**
   * Hands the foreign datagrams `claims` recognises to `take` (another protocol sharing this port:
   * the Mainline DHT's bencoded KRPC); the per-source rate limit has applied. Returns the remover.
   */
  tapForeign(claims: (datagram: Buffer) => boolean, take: (datagram: Buffer, source: { host: string; port: number }) => void): () => void {
    const tap = { claims, take };
    this.taps.push(tap);
    return () => {
      const i = this.taps.indexOf(tap);
      if (i >= 0) this.taps.splice(i, 1);
    };
  }

  /** Sends a datagram of another protocol from this socket (what a tap answers or asks). */
  sendForeign(datagram: Buffer, to: { host: string; port: number }): void {
    if (datagram.length > 0 && datagram[0] === ENVELOPE_FIRST_BYTE) return void this.stats.sendErrors++; // never something that reads as an envelope
    this.send(datagram, to.host, to.port);
  }

  /** An extension request; resolves with its undecoded response. */
  requestRaw(to: Address, message: RawMessage, timeoutMs = this.timeoutMs): Promise<RawReply> {
    return this.attempt(to, message, timeoutMs, true) as Promise<RawReply>;
  }

  /** Sends one extension request that expects no answer (a dial-back probe). */
  notify(to: Address, message: RawMessage): void {
    if (this.closed) return;
    const pairKey = to.publicKey ? this.pairKeys.keyFor(to.publicKey) : null;
    this.send(sealEnvelope(this.identity, message.type, requestTxid(this.flags), this.clock.now(), message.payload, pairKey), to.host, to.port);
  }

  request(to: Address, req: Request, options: RequestOptions = {}): Promise<Reply> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    if (!options.retries) return this.attemptCorrected(to, req, timeoutMs);
    return this.requestRetried(to, req, timeoutMs, 1 + options.retries);
  }

  /** One request; sent once more when the peer found its timestamp stale (its answer has corrected our clock). */
  private attemptCorrected(to: Address, req: Request, timeoutMs: number): Promise<Reply> {
    return (this.attempt(to, req, timeoutMs) as Promise<Reply>).then((reply) => (answersStale(reply.response) ? (this.attempt(to, req, timeoutMs) as Promise<Reply>) : reply));
  }

  private async requestRetried(to: Address, req: Request, timeoutMs: number, attempts: number): Promise<Reply> {
    for (let i = 1; ; i++) {
      try {
        return await this.attemptCorrected(to, req, timeoutMs);
      } catch (err) {
        if (i >= attempts || !(err instanceof RpcTimeoutError)) throw err;
      }
    }
  }

  private attempt(to: Address, req: Request | RawMessage, timeoutMs: number, raw = false): Promise<Reply | RawReply> {
    if (this.closed) return Promise.reject(new Error("transport closed"));
    if (this.pending.size >= this.maxPending) return Promise.reject(new Error("too many requests in flight"));
    const txid = requestTxid(this.flags);
    const key = matchKey(txid);
    const { type, payload } = raw ? (req as RawMessage) : encodeRequest(req as Request);
    // a MAC when we know who we are talking to; a signature for a first contact by address only
    const pairKey = to.publicKey ? this.pairKeys.keyFor(to.publicKey) : null;
    const datagram = sealEnvelope(this.identity, type, txid, this.clock.now(), payload, pairKey);
    const forwarded = (to.via?.length ?? 0) > 0 && this.forwarder !== null;
    const egress = !forwarded && this.tunnel !== null && !this.isTunnelPeer(to.host, to.port);
    if (!forwarded && !egress && !canSendTo(to.host)) {
      this.stats.sendErrors++;
      return Promise.reject(new Error(`no ${net.isIPv4(unmapIpv4(to.host)) ? "IPv4" : "IPv6"} address on this host to reach ${to.host}:${to.port}`));
    }
    // through a rendezvous (or the tunnel's node) the answer takes two more hops
    const wait = forwarded || egress ? timeoutMs * 3 : timeoutMs;
    return new Promise<Reply | RawReply>((resolve, reject) => {
      const sentAt = performance.now();
      let timer: NodeJS.Timeout;
      let extended = false;
      // Timeouts are short now (a few of the peer's round trips), so a stall of this process (a
      // long GC, a busy machine) must not make a live peer look dead:
      // - a timer that fires STALL_MS or more after its time gives the peer that much more, once;
      // - after a stall, timers run before the datagrams that arrived meanwhile are read, so the
      //   timeout waits for setImmediate, which runs after the poll phase has read them.
      const expire = (dueAt: number) => {
        const late = performance.now() - dueAt;
        if (late >= STALL_MS && !extended) {
          extended = true;
          const dueAgain = performance.now() + late;
          timer = setTimeout(() => expire(dueAgain), late);
          return;
        }
        setImmediate(() => {
          if (!this.pending.delete(key)) return;
          this.stats.requestTimeouts++;
          reject(new RpcTimeoutError(to, raw ? `message 0x${type.toString(16)}` : (req as Request).type));
        });
      };
      timer = setTimeout(() => expire(sentAt + wait), wait);
      this.pending.set(key, {
        to,
        sentAt,
        raw,
        forwarded: forwarded || egress,
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
      });
      if (forwarded) void this.sendVia(to, datagram, wait);
      else if (egress) void this.tunnel!.egress(to, datagram, wait).then((inner) => this.receiveInner(inner, to), () => undefined);
      else this.send(datagram, to.host, to.port);
    });
  }

  private isTunnelPeer(host: string, port: number): boolean {
    return this.tunnel !== null && this.tunnel.peer.port === port && unmapIpv4(this.tunnel.peer.host) === unmapIpv4(host);
  }

  /** A tunnel client's stream: what arrives is taken like datagrams from host:port, and what goes there is written to it. */
  attachStream(host: string, port: number, write: (datagram: Buffer) => void): { receive: (datagram: Buffer) => void; detach: () => void } {
    const key = `${host}|${port}`;
    this.streams.set(key, write);
    return { receive: (datagram) => this.onDatagram(datagram, host, port), detach: () => this.streams.delete(key) };
  }

  /** Whether host:port is a tunnel client's (its stream's) address. */
  isStreamAddress(host: string, port: number): boolean {
    return this.streams.has(`${host}|${port}`);
  }

  /** Takes a datagram that came down this node's own tunnel (from the tunnel's node). */
  receiveFromTunnel(datagram: Buffer): void {
    if (this.tunnel) this.onDatagram(datagram, this.tunnel.peer.host, this.tunnel.peer.port);
  }

  /**
   * Sends a tunnel client's sealed request on to `to` and resolves with the answer datagram as it
   * comes (it is sealed for the client, not for this node, so it is matched by its transaction ID
   * and source and handed back unread).
   */
  passOn(datagram: Buffer, to: { host: string; port: number }, timeoutMs: number): Promise<Buffer> {
    let env: Envelope;
    try {
      env = openEnvelope(datagram);
    } catch {
      return Promise.reject(new Error("not a datagram"));
    }
    const key = matchKey(env.txid);
    if (this.pending.has(key) || this.pending.size >= this.maxPending) return Promise.reject(new Error("busy"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(key)) reject(new RpcTimeoutError(to, "passed-on request"));
      }, timeoutMs);
      this.pending.set(key, {
        to,
        sentAt: performance.now(),
        raw: true,
        forwarded: false,
        resolve: () => undefined,
        passThrough: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
      });
      this.send(datagram, to.host, to.port);
    });
  }

  /** Tries the peer's rendezvous nodes in turn; the first wrapped answer is taken in like a datagram from the peer. */
  private async sendVia(to: Address, datagram: Buffer, timeoutMs: number): Promise<void> {
    for (const via of to.via!) {
      try {
        const inner = await this.forwarder!(via, to, datagram, timeoutMs / to.via!.length);
        this.receiveInner(inner, to);
        return;
      } catch {
        // that rendezvous did not answer or no longer serves the peer: try the next
      }
    }
  }

  /** A datagram that came wrapped (from a rendezvous node): checked like any other, answered into `reply`. */
  receiveInner(datagram: Buffer, source: { host: string; port: number }, reply?: (answer: Buffer) => void): void {
    const opened = this.open(datagram, source.host, source.port);
    if (!opened) return;
    if (isResponseType(opened.env.type)) this.onResponse(opened.env, opened.from);
    else if (reply) this.onRequestDatagram(opened.env, opened.from, reply);
    else this.stats.droppedUnexpected++;
  }

  /** Sends a datagram; a failed send is reported as the socket's "error" event (counted there). */
  private send(datagram: Buffer, host: string, port: number): void {
    const stream = this.streams.get(`${host}|${port}`);
    if (stream) return stream(datagram);
    if (this.isTunnelPeer(host, port)) return this.tunnel!.write(datagram);
    // a dual-stack socket sends to IPv4 peers at their IPv4-mapped address; an IPv4 one cannot reach IPv6 at all
    const family = net.isIPv6(this.boundHost) ? 6 : 4;
    if (family === 4 && net.isIPv6(host)) return void this.stats.sendErrors++;
    const to = family === 6 && net.isIPv4(host) ? `::ffff:${host}` : host;
    try {
      this.socket.send(datagram, port, to);
      this.stats.sent++;
    } catch {
      this.stats.sendErrors++;
    }
  }

  private onDatagram(msg: Buffer, rawHost: string, port: number): void {
    this.stats.received++;
    const host = unmapIpv4(rawHost);
    if (msg.length > MAX_DATAGRAM_BYTES) {
      this.stats.droppedOversized++;
      return;
    }
    if (!this.limiter.take(`${host}:${port}`)) {
      this.stats.droppedRateLimited++;
      return;
    }
    if (msg.length > 0 && msg[0] !== ENVELOPE_FIRST_BYTE) return this.onForeign(msg, host, port);
    if (this.passedBack(msg, host, port)) return;
    const opened = this.open(msg, host, port);
    if (!opened) return;
    if (isResponseType(opened.env.type)) this.onResponse(opened.env, opened.from);
    else this.onRequestDatagram(opened.env, opened.from, (answer) => this.send(answer, host, port));
  }

  /** The answer to a request passed on for a tunnel client (passOn): handed back unread. */
  private passedBack(msg: Buffer, host: string, port: number): boolean {
    if (msg.length < TXID_END) return false;
    const p = this.pending.get(matchKey(msg.subarray(TXID_START, TXID_END)));
    if (!p?.passThrough || p.to.port !== port || unmapIpv4(p.to.host) !== host) return false;
    this.pending.delete(matchKey(msg.subarray(TXID_START, TXID_END)));
    p.passThrough(Buffer.from(msg));
    return true;
  }

  private onForeign(msg: Buffer, host: string, port: number): void {
    const tap = this.taps.find((t) => t.claims(msg));
    if (tap) {
      try {
        tap.take(Buffer.from(msg), { host, port });
      } catch {
        this.stats.droppedMalformed++;
      }
      return;
    }
    let answer: Buffer | null = null;
    try {
      answer = this.foreign?.(msg, { host, port }) ?? null;
    } catch {
      answer = null;
    }
    if (answer) this.send(answer, host, port);
    else this.stats.droppedMalformed++;
  }

  /** Parses and authenticates a datagram from host:port; null (and counted) when it must be dropped. */
  private open(msg: Buffer, host: string, port: number): { env: Envelope; from: Contact } | null {
    let env: Envelope;
    try {
      env = openEnvelope(msg);
    } catch {
      this.stats.droppedMalformed++;
      return null;
    }
    const now = this.clock.now();
    // an answer needs no freshness: it is taken only as the answer to a request of ours in flight
    if (!isResponseType(env.type) && Math.abs(now - env.timestamp) > this.freshnessMs) {
      this.stats.droppedStale++;
      this.answerStale(env, host, port);
      return null;
    }
    // The txid alone: its last 6 bytes are random, so no sender can foresee another's
    if (this.seen.has(env.txid, now)) {
      this.stats.droppedReplayed++;
      return null;
    }
    const from = senderContact(env.publicKey, host, port); // not trusted before authentic() says so
    if (!this.authentic(env, from)) {
      this.stats.droppedBadSignature++;
      return null;
    }
    this.seen.add(env.txid, now);
    if (from.id.equals(this.local.id)) {
      this.stats.droppedUnexpected++;
      return null;
    }
    return { env, from };
  }

  /**
   * Tells the sender of an authentic request that its timestamp is stale, in an answer stamped with
   * our clock, from which it learns how far off its own is (and retries). At most once a second per
   * source; never for what fails authentication.
   */
  private answerStale(env: Envelope, host: string, port: number): void {
    const source = `${host}:${port}`;
    const now = Date.now();
    if ((this.staleTold.get(source) ?? 0) > now - 1000 || !this.authentic(env, senderContact(env.publicKey, host, port))) return;
    this.staleTold.set(source, now);
    const { type, payload } = encodeResponse(staleAnswer(), MAX_PAYLOAD_BYTES);
    this.send(sealEnvelope(this.identity, type, replyTxid(env.txid, this.flags), this.clock.now(), payload, this.pairKeys.keyFor(env.publicKey)), host, port);
  }

  /** Whether the datagram's tag is right for its sender (`from`: the contact its key claims). */
  private authentic(env: Envelope, from: Contact): boolean {
    if (env.auth === "signature") {
      this.stats.signaturesChecked++;
      return this.verifier.verify(env.publicKey, env.signed, env.tag);
    }
    this.stats.macsChecked++;
    const key = this.pairKeys.keyFor(from.publicKey);
    return key !== null && timingSafeEqual(macOf(key, env.signed), env.tag);
  }

  private onResponse(env: Envelope, from: Contact): void {
    const key = matchKey(env.txid);
    const p = this.pending.get(key);
    // A reply must come from the node we meant to ask and, unless it came through a rendezvous node, from the address we asked.
    const wrongAddress = p && !p.forwarded && (p.to.port !== from.port || p.to.host !== from.host);
    if (!p || wrongAddress || (p.to.id && !p.to.id.equals(from.id))) {
      this.stats.droppedUnexpected++;
      return;
    }
    const rttMs = performance.now() - p.sentAt;
    this.clock.answered(env.publicKey, env.timestamp, rttMs);
    if (p.raw) {
      this.pending.delete(key);
      p.resolve({ from, type: env.type, payload: Buffer.from(env.payload), rttMs });
      return;
    }
    let response: Response;
    try {
      response = decodeResponse(env.type, env.payload);
    } catch {
      this.stats.droppedMalformed++;
      return;
    }
    this.pending.delete(key);
    p.resolve({ from, response, rttMs, client: (senderFlags(env.txid, true) & SenderFlags.client) !== 0 });
  }

  private onRequestDatagram(env: Envelope, from: Contact, reply: (answer: Buffer) => void): void {
    const extension = this.extensions.get(env.type);
    if (extension) return this.onExtensionRequest(extension, env, from, reply);
    let req: Request;
    try {
      req = decodeRequest(env.type, env.payload, from);
    } catch {
      this.stats.droppedMalformed++;
      return;
    }
    this.stats.requestsHandled++;
    const sender = { client: (senderFlags(env.txid, false) & SenderFlags.client) !== 0 };
    const txid = replyTxid(env.txid, this.flags);
    // Most requests are answered at once (FIND_NODE, GET_PROVIDERS, PING): answered in this turn,
    // without a promise; only an async handler's answer waits for it.
    let answer: Response | null | Promise<Response | null>;
    try {
      answer = this.handler(from, req, sender);
    } catch {
      this.stats.handlerErrors++;
      return;
    }
    if (answer instanceof Promise) {
      answer.then(
        (response) => this.answer(response, txid, from, reply),
        () => this.stats.handlerErrors++,
      );
    } else this.answer(answer, txid, from, reply);
  }

  private answer(response: Response | null, txid: Buffer, to: Contact, reply: (answer: Buffer) => void): void {
    if (!response || this.closed) return;
    try {
      const { type, payload } = encodeResponse(response, MAX_PAYLOAD_BYTES);
      reply(sealEnvelope(this.identity, type, txid, this.clock.now(), payload, this.pairKeys.keyFor(to.publicKey)));
    } catch {
      this.stats.handlerErrors++;
    }
  }

  private onExtensionRequest(handler: ExtensionHandler, env: Envelope, from: Contact, reply: (answer: Buffer) => void): void {
    this.stats.requestsHandled++;
    const txid = replyTxid(env.txid, this.flags);
    const payload = Buffer.from(env.payload);
    Promise.resolve()
      .then(() => handler(from, env.type, payload))
      .then((response) => {
        if (!response || this.closed) return;
        reply(sealEnvelope(this.identity, response.type, txid, this.clock.now(), response.payload, this.pairKeys.keyFor(from.publicKey)));
      })
      .catch((err: unknown) => {
        // a payload the extension cannot parse is a malformed datagram, not a fault of the handler
        if (err instanceof WireFormatError) this.stats.droppedMalformed++;
        else this.stats.handlerErrors++;
      });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
