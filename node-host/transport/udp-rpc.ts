// The DHT's RPC transport over real UDP: signed datagrams, request/response matching by
// transaction id, timeouts and retries. Whatever arrives, the socket handler never throws:
// a datagram that is malformed, oversized, stale, replayed, badly signed or unexpected is dropped
// and counted in `stats`.

import * as dgram from "node:dgram";
import * as dns from "node:dns";
import * as net from "node:net";
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

export interface UdpRpcOptions {
  identity: Identity;
  host: string;
  port: number;
  timeoutMs?: number;
  /** Datagrams whose timestamp is further than this from our clock are dropped as stale. */
  freshnessMs?: number;
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

interface Pending {
  to: Address;
  resolve: (reply: Reply) => void;
  sentAt: number;
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
  timeoutMs: number;

  private handler: RequestHandler = () => null;
  private readonly pending = new Map<string, Pending>();
  private readonly verifier = new SignatureVerifier();
  private readonly pairKeys: PairKeys;
  private readonly seen = new LruMap<string, number>(65_536);
  private readonly limiter: RateLimiter;
  private readonly freshnessMs: number;
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
    this.local = { id: identity.id, publicKey: identity.publicKey, host: opts.host === "0.0.0.0" ? "127.0.0.1" : addr.address, port: addr.port };
    this.pairKeys = new PairKeys(identity.seed(), identity.publicKey);
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.freshnessMs = opts.freshnessMs ?? 30_000;
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

  static bind(opts: UdpRpcOptions): Promise<UdpRpc> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: "udp4", recvBufferSize: 4 << 20, lookup: literalLookup });
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

  request(to: Address, req: Request, options: RequestOptions = {}): Promise<Reply> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    if (!options.retries) return this.attempt(to, req, timeoutMs);
    return this.requestRetried(to, req, timeoutMs, 1 + options.retries);
  }

  private async requestRetried(to: Address, req: Request, timeoutMs: number, attempts: number): Promise<Reply> {
    for (let i = 1; ; i++) {
      try {
        return await this.attempt(to, req, timeoutMs);
      } catch (err) {
        if (i >= attempts || !(err instanceof RpcTimeoutError)) throw err;
      }
    }
  }

  private attempt(to: Address, req: Request, timeoutMs: number): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error("transport closed"));
    if (this.pending.size >= this.maxPending) return Promise.reject(new Error("too many requests in flight"));
    const txid = requestTxid(this.flags);
    const key = matchKey(txid);
    const { type, payload } = encodeRequest(req);
    // a MAC when we know who we are talking to; a signature for a first contact by address only
    const pairKey = to.publicKey ? this.pairKeys.keyFor(to.publicKey) : null;
    const datagram = sealEnvelope(this.identity, type, txid, Date.now(), payload, pairKey);
    return new Promise<Reply>((resolve, reject) => {
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
          reject(new RpcTimeoutError(to, req.type));
        });
      };
      timer = setTimeout(() => expire(sentAt + timeoutMs), timeoutMs);
      this.pending.set(key, {
        to,
        sentAt,
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
      });
      this.send(datagram, to.host, to.port);
    });
  }

  /** Sends a datagram; a failed send is reported as the socket's "error" event (counted there). */
  private send(datagram: Buffer, host: string, port: number): void {
    try {
      this.socket.send(datagram, port, host);
      this.stats.sent++;
    } catch {
      this.stats.sendErrors++;
    }
  }

  private onDatagram(msg: Buffer, host: string, port: number): void {
    this.stats.received++;
    if (msg.length > MAX_DATAGRAM_BYTES) {
      this.stats.droppedOversized++;
      return;
    }
    if (!this.limiter.take(`${host}:${port}`)) {
      this.stats.droppedRateLimited++;
      return;
    }
    let env: Envelope;
    try {
      env = openEnvelope(msg);
    } catch {
      this.stats.droppedMalformed++;
      return;
    }
    const now = Date.now();
    if (Math.abs(now - env.timestamp) > this.freshnessMs) {
      this.stats.droppedStale++;
      return;
    }
    // The txid alone: its last 6 bytes are random, so no sender can foresee another's, and it is 8
    // bytes where key + txid in hex was 80 characters per remembered datagram.
    const replayKey = env.txid.toString("latin1");
    if (this.seen.has(replayKey)) {
      this.stats.droppedReplayed++;
      return;
    }
    const from = senderContact(env.publicKey, host, port); // not trusted before authentic() says so
    if (!this.authentic(env, from)) {
      this.stats.droppedBadSignature++;
      return;
    }
    this.seen.set(replayKey, now);
    if (from.id.equals(this.local.id)) {
      this.stats.droppedUnexpected++;
      return;
    }
    if (isResponseType(env.type)) this.onResponse(env, from);
    else this.onRequestDatagram(env, from);
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
    // A reply must come from the address we asked, and from the node we meant to ask.
    if (!p || p.to.port !== from.port || p.to.host !== from.host || (p.to.id && !p.to.id.equals(from.id))) {
      this.stats.droppedUnexpected++;
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
    p.resolve({ from, response, rttMs: performance.now() - p.sentAt, client: (senderFlags(env.txid, true) & SenderFlags.client) !== 0 });
  }

  private onRequestDatagram(env: Envelope, from: Contact): void {
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
        (response) => this.reply(response, txid, from),
        () => this.stats.handlerErrors++,
      );
    } else this.reply(answer, txid, from);
  }

  private reply(response: Response | null, txid: Buffer, to: Contact): void {
    if (!response || this.closed) return;
    try {
      const { type, payload } = encodeResponse(response, MAX_PAYLOAD_BYTES);
      this.send(sealEnvelope(this.identity, type, txid, Date.now(), payload, this.pairKeys.keyFor(to.publicKey)), to.host, to.port);
    } catch {
      this.stats.handlerErrors++;
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
