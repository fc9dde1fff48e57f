// The NAT path: one ordered, reliable node-datachannel data channel per connection, set up by a
// single signalling exchange (offer in a request, answer in its reply) over the signed DHT. The DHT
// authenticates both messages, so each DTLS fingerprint is bound to its sender's node ID; the HELLO
// exchange then also signs both fingerprints over the open channel (bulk-handshake.ts), one
// signature per connection, so the channel itself proves the identities as the TLS path does.

import type { DataChannel, PeerConnection } from "node-datachannel";
import { Id, sha256 } from "../dht/id";
import { BulkPeer } from "./bulk";
import { BulkConnectionError } from "./bulk-api";
import { BulkContext } from "./bulk-context";
import { Role } from "./bulk-handshake";
import { BulkSession, shortId } from "./bulk-session";
import { closeQuietly, DataChannelLink, guard } from "./webrtc-link";
import { compactFromSdp, CompactDescription, decodeSignal, encodeSignal, sdpFromCompact, SignalKind } from "./webrtc-signal-codec";
import type { WebRtcModule } from "./webrtc-module";

/** Carries signalling to a peer and back (the DHT's signed `signal` request in the product). */
export interface Signaller {
  signal(peer: BulkPeer, payload: Buffer): Promise<Buffer>;
  /** Registers the answerer; `from` is authenticated by the signalling layer. null = refused. */
  onSignal(handler: (from: BulkPeer, payload: Buffer) => Promise<Buffer | null>): void;
}

export interface WebRtcOptions {
  iceServers: string[];
  /** More ICE servers for a connection with this peer (STUN at reachable peershare nodes, when either end is behind NAT). */
  iceServersFor?: (peer: BulkPeer) => string[];
  /** Whole set-up, signalling to verified HELLO. ~17-43% of DTLS handshakes lose ~1 s to a retry. */
  connectTimeoutMs: number;
  /** Longest wait for candidate gathering; an unreachable STUN server can stall it for >12 s. */
  gatherTimeoutMs: number;
  /** Most data channels accepted at once (each costs ~250 KiB and a UDP port). */
  maxAccepted: number;
}

export const DEFAULT_WEBRTC_OPTIONS: WebRtcOptions = { iceServers: [], connectTimeoutMs: 10_000, gatherTimeoutMs: 3000, maxAccepted: 256 };

/** Largest DHT signalling payload (transport/wire.ts MAX_SIGNAL_BYTES). */
const MAX_SIGNAL_BYTES = 1000;
const CHANNEL_LABEL = "peershare-bulk/1";
const BINDING_CONTEXT = Buffer.from("peershare bulk webrtc v1\0");

function channelBinding(offer: CompactDescription, answer: CompactDescription): Buffer {
  return sha256(BINDING_CONTEXT, offer.fingerprint, answer.fingerprint);
}

/** Connections one peer may have accepted at once (a node dials a peer once and reuses it). */
const MAX_ACCEPTED_PER_PEER = 8;

export class WebRtcBulk {
  private readonly sessions = new Set<BulkSession>();
  private readonly connecting = new Set<PeerConnection>();
  private accepted = 0;
  /** Accepted connections (connecting or open) per peer (hex): one peer cannot take every slot. */
  private readonly acceptedFrom = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly ctx: BulkContext,
    private readonly signaller: Signaller,
    private readonly opts: WebRtcOptions,
    /** node-datachannel (webrtc-module.ts), loaded by the caller. */
    private readonly rtc: WebRtcModule,
  ) {
    signaller.onSignal((from, payload) => this.answer(from, payload));
  }

  /**
   * Opens a data channel to the peer and proves both identities over it. A set-up that fails fast
   * (before the timeout) is tried once more: on loopback ~5% of DTLS handshakes fail at once with
   * "certificate verify failed" / "unknown CA" in libdatachannel 0.24.5, and a fresh connection works.
   */
  async dial(peer: BulkPeer): Promise<BulkSession> {
    const deadline = Date.now() + this.opts.connectTimeoutMs;
    try {
      return await this.attempt(peer, this.opts.connectTimeoutMs);
    } catch (err) {
      const left = deadline - Date.now();
      if ((err as Error).name === "PeerIdentityError" || left < 1000 || this.closed) throw err;
      this.ctx.log?.(`${(err as Error).message}; trying once more`);
      return this.attempt(peer, left);
    }
  }

  private async attempt(peer: BulkPeer, timeoutMs: number): Promise<BulkSession> {
    if (this.closed) throw new BulkConnectionError("bulk transport closed");
    const pc = this.newPeerConnection(`bulk-to-${shortId(peer.id)}`, peer);
    const dc = pc.createDataChannel(CHANNEL_LABEL);
    const link = new DataChannelLink(pc, dc, this.ctx.stats.webrtc, this.ctx.log);
    const what = `node ${shortId(peer.id)} over WebRTC`;
    const setUp = async () => {
      const offer = await this.localDescription(pc, "offer");
      const answer = decodeSignal(await this.signaller.signal(peer, encodeSignal(offer, MAX_SIGNAL_BYTES)), "answer");
      pc.setRemoteDescription(sdpFromCompact(answer), "answer");
      await link.opened;
      const session = this.startSession(link, "dialler", channelBinding(offer, answer), peer.id, what);
      await session.ready;
      return session;
    };
    try {
      return await withTimeout(setUp(), timeoutMs, `no data channel within ${timeoutMs} ms`);
    } catch (err) {
      link.close();
      const e = err as Error;
      throw e.name === "PeerIdentityError" ? e : new BulkConnectionError(`${what}: ${e.message}`);
    } finally {
      this.connecting.delete(pc);
    }
  }

  /** Answers an offer: a new connection whose channel must open within the connect timeout. */
  private async answer(from: BulkPeer, payload: Buffer): Promise<Buffer | null> {
    const peerKey = from.id.toString("hex");
    const fromPeer = this.acceptedFrom.get(peerKey) ?? 0;
    if (this.closed || this.accepted >= this.opts.maxAccepted || fromPeer >= MAX_ACCEPTED_PER_PEER) return null;
    let offer: CompactDescription;
    try {
      offer = decodeSignal(payload, "offer");
    } catch {
      return null;
    }
    this.accepted++;
    this.acceptedFrom.set(peerKey, fromPeer + 1);
    const pc = this.newPeerConnection(`bulk-from-${shortId(from.id)}`, from);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.accepted--;
      const left = (this.acceptedFrom.get(peerKey) ?? 1) - 1;
      if (left > 0) this.acceptedFrom.set(peerKey, left);
      else this.acceptedFrom.delete(peerKey);
      this.connecting.delete(pc);
    };
    const giveUp = setTimeout(() => abandon(), this.opts.connectTimeoutMs);
    giveUp.unref();
    const abandon = () => {
      if (!this.connecting.has(pc)) return;
      clearTimeout(giveUp);
      this.ctx.stats.handshakeFailures++;
      closeQuietly(null, pc, this.ctx.log);
      release();
    };
    // A set-up that fails (DTLS, ICE) frees its resources at once rather than at the timeout.
    pc.onStateChange(guard(this.ctx.log, (state) => (state === "failed" || state === "closed") && abandon()));
    let answer: CompactDescription | null = null;
    let channel: DataChannel | null = null;
    const start = () => {
      if (!answer || !channel) return;
      clearTimeout(giveUp);
      this.connecting.delete(pc);
      const link = new DataChannelLink(pc, channel, this.ctx.stats.webrtc, this.ctx.log);
      this.startSession(link, "acceptor", channelBinding(offer, answer), from.id, `node ${shortId(from.id)} over WebRTC`).onClose(release);
    };
    pc.onDataChannel(
      guard(this.ctx.log, (dc: DataChannel) => {
        if (channel || dc.getLabel() !== CHANNEL_LABEL) return void closeQuietly(dc, pc, this.ctx.log);
        channel = dc;
        start(); // the answer is known unless the channel raced the reply
      }),
    );
    try {
      pc.setRemoteDescription(sdpFromCompact(offer), "offer");
      answer = await this.localDescription(pc, "answer");
      const reply = encodeSignal(answer, MAX_SIGNAL_BYTES);
      start();
      return reply;
    } catch (err) {
      this.ctx.log?.(`refused WebRTC offer from ${shortId(from.id)}: ${(err as Error).message}`);
      clearTimeout(giveUp);
      closeQuietly(null, pc, this.ctx.log);
      release();
      return null;
    }
  }

  private newPeerConnection(name: string, peer: BulkPeer): PeerConnection {
    const pc = new this.rtc.PeerConnection(name, { iceServers: [...this.opts.iceServers, ...(this.opts.iceServersFor?.(peer) ?? [])] });
    this.connecting.add(pc);
    return pc;
  }

  private startSession(link: DataChannelLink, role: Role, binding: Buffer, peer: Id, label: string): BulkSession {
    const session = new BulkSession({
      link,
      role,
      identity: this.ctx.identity,
      binding,
      expectedPeer: peer,
      stats: this.ctx.stats,
      verifier: this.ctx.verifier,
      timing: this.ctx.timing[role],
      label,
      window: this.ctx.window,
      serve: role === "acceptor" ? this.ctx.serve : undefined,
      credentials: this.ctx.credentials,
      buffers: this.ctx.buffers,
    });
    this.sessions.add(session);
    session.onClose(() => this.sessions.delete(session));
    return session;
  }

  /** The local description once candidate gathering completes (or its timeout passes). */
  private async localDescription(pc: PeerConnection, kind: SignalKind): Promise<CompactDescription> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.opts.gatherTimeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      pc.onGatheringStateChange(guard(this.ctx.log, (state) => state === "complete" && done()));
      if (pc.gatheringState() === "complete") done();
    });
    const local = pc.localDescription();
    if (!local) throw new Error("no local description");
    return compactFromSdp(kind, local.sdp);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of [...this.sessions]) s.close();
    for (const pc of [...this.connecting]) closeQuietly(null, pc, this.ctx.log);
    this.connecting.clear();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
