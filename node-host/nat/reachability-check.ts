// Finding out how this node is reached, by asking its peers (the protocol; reachability.ts is the
// state it feeds):
//
//   1. OBSERVE to a peer's main port: the address it sees this node's datagrams come from.
//   2. DIAL_BACK: the peer sends one PROBE from its second socket, a port this node never sent
//      to, back to the address it saw. A NAT or a stateful firewall drops it; with neither it arrives.
//   3. OBSERVE to the peer's second port (only after the dial-back, which that would open): the same
//      external port as in 1 means an endpoint-independent mapping.
//
// Both ends run here: every node answers OBSERVE (on both sockets) and DIAL_BACK. A node sends a
// probe only to the address its requester's authenticated datagram came from, never to an address
// someone names, at most one per requester every few seconds, so it cannot be used to send traffic
// to a third party or to amplify it.

import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { Contact } from "../dht/messages";
import { toHex } from "../dht/id";
import { RawMessage, UdpRpc } from "../transport/udp-rpc";
import { RateLimiter } from "../util/rate-limiter";
import { LruMap } from "../util/lru";
import { HostPort, isPublicAddress } from "./address";
import { DIAL_BACK_PAYLOAD_BYTES, decodeNonce, decodeObserved, encodeDialBack, encodeObserve, encodeObserved, NatTypes } from "./nat-wire";
import { ReachabilitySnapshot, ReachabilityState } from "./reachability";

/** How long a probe may take to arrive after the peer said it sent it. */
const PROBE_WAIT_MS = 1500;
/** Peers asked in one check. */
const PEERS_PER_CHECK = 3;
/** How long a peer may take to answer OBSERVE or DIAL_BACK: nothing waits on these, so a slow peer is waited for. */
const ANSWER_MS = 3000;
/** A peer's second port is asked about again only after this long: a fresh mapping to it would let its probe through. */
const SECOND_PORT_QUIET_MS = 5 * 60_000;

export interface ReachabilityCheckOptions {
  rpc: UdpRpc;
  /** The node's second socket: answers OBSERVE and sends probes. */
  secondary: UdpRpc;
  state: ReachabilityState;
  /** Peers that may be asked (server-mode contacts from the routing table). */
  peers: () => Contact[];
  log?: (line: string) => void;
}

export class ReachabilityCheck extends EventEmitter {
  /** Nonce (hex) → resolves when its probe arrives. */
  private readonly awaitingProbe = new Map<string, () => void>();
  /** Dial-backs answered per requester: one every 5 s, bursts of 2. */
  private readonly dialBackLimit = new RateLimiter(0.2, 2, 4096);
  /** Peer (hex) → when this node last sent to its second port. */
  private readonly secondContacted = new LruMap<string, number>(256);
  private last: ReachabilitySnapshot;
  private running: Promise<void> | null = null;

  constructor(private readonly o: ReachabilityCheckOptions) {
    super();
    this.last = o.state.snapshot();
    o.rpc.extend([NatTypes.observe, NatTypes.dialBack, NatTypes.probe], (from, type, payload) => this.answer(from, type, payload));
    o.secondary.extend([NatTypes.observe], (from) => this.observedReply(from, 0));
  }

  get snapshot(): ReachabilitySnapshot {
    return this.o.state.snapshot();
  }

  private observedReply(from: Contact, secondaryPort: number): RawMessage {
    return { type: NatTypes.observed, payload: encodeObserved(from, secondaryPort) };
  }

  private answer(from: Contact, type: number, payload: Buffer): RawMessage | null {
    if (type === NatTypes.observe) return this.observedReply(from, this.o.secondary.local.port);
    if (type === NatTypes.probe) {
      this.awaitingProbe.get(decodeNonce(payload).toString("hex"))?.();
      return null;
    }
    // DIAL_BACK: padded, so the answer and the probe together weigh no more than the request
    if (payload.length < DIAL_BACK_PAYLOAD_BYTES || !this.dialBackLimit.take(toHex(from.id))) return null;
    this.o.secondary.notify({ host: from.host, port: from.port, publicKey: from.publicKey }, { type: NatTypes.probe, payload: decodeNonce(payload) });
    return { type: NatTypes.dialBackOk, payload: Buffer.alloc(0) };
  }

  /** Runs one check (joining one under way); emits "changed" with the snapshot when what is known changed. */
  check(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = null));
    return this.running;
  }

  /** Asks these peers (not in the routing table: nodes found by other means) as a check asks its own; emits "changed" as check() does. */
  async checkWith(peers: Contact[]): Promise<void> {
    await this.running?.catch(() => undefined);
    await this.run(peers);
  }

  private async run(peers: Contact[] = this.pickPeers()): Promise<void> {
    await Promise.all(peers.map((p) => this.askPeer(p).catch(() => undefined)));
    const now = this.o.state.snapshot();
    if (now.reachability !== this.last.reachability || now.mapping !== this.last.mapping || now.external?.host !== this.last.external?.host || now.external?.port !== this.last.external?.port) {
      this.last = now;
      this.emit("changed", now);
    }
  }

  /**
   * A few peers at random, those with public addresses first (their view is the internet's), and
   * one of each address family among them (a dual-stack node is reached, or not, in each).
   */
  private pickPeers(): Contact[] {
    const all = this.o.peers().sort(() => Math.random() - 0.5);
    const ranked = [...all.filter((c) => isPublicAddress(c.host)), ...all.filter((c) => !isPublicAddress(c.host))];
    const firstOf = (v6: boolean) => ranked.find((c) => c.host.includes(":") === v6);
    const picked = [firstOf(false), firstOf(true)].filter((c): c is Contact => c !== undefined);
    for (const c of ranked) if (picked.length < PEERS_PER_CHECK && !picked.includes(c)) picked.push(c);
    return picked;
  }

  private async askPeer(peer: Contact): Promise<void> {
    const { rpc, state } = this.o;
    const key = toHex(peer.id);
    const reply = await rpc.requestRaw(peer, { type: NatTypes.observe, payload: encodeObserve() }, ANSWER_MS);
    if (reply.type !== NatTypes.observed) return;
    const { seen, secondaryPort } = decodeObserved(reply.payload);
    state.observed(key, seen);
    const recentlyOpened = (this.secondContacted.get(key) ?? -Infinity) > Date.now() - SECOND_PORT_QUIET_MS;
    if (recentlyOpened) return;
    // the second port only after a dial-back that gave an answer: asking it first would open the
    // mapping the probe comes through, and a peer whose dial-back went unanswered is asked again
    if (!(await this.dialBack(peer, seen)) || secondaryPort === 0) return;
    this.secondContacted.set(key, Date.now());
    const second = await rpc.requestRaw({ ...peer, port: secondaryPort }, { type: NatTypes.observe, payload: encodeObserve() }, ANSWER_MS).catch(() => null);
    if (second?.type === NatTypes.observed) state.observed(key, decodeObserved(second.payload).seen, true);
  }

  /** Asks the peer for a dial-back; true when it sent the probe (and the verdict was recorded). */
  private async dialBack(peer: Contact, seenAs: HostPort): Promise<boolean> {
    const nonce = randomBytes(16);
    const key = nonce.toString("hex");
    const arrived = new Promise<boolean>((resolve) => {
      this.awaitingProbe.set(key, () => resolve(true));
      // after a stall of the event loop its timers run before the datagrams that arrived meanwhile
      // are read: let those in first (setImmediate runs after the poll phase)
      setTimeout(() => setImmediate(() => resolve(false)), PROBE_WAIT_MS + ANSWER_MS).unref();
    });
    try {
      const ok = await this.o.rpc.requestRaw(peer, { type: NatTypes.dialBack, payload: encodeDialBack(nonce) }, ANSWER_MS).catch(() => null);
      if (ok?.type !== NatTypes.dialBackOk) return false;
      this.o.state.dialBack(await arrived, seenAs);
      return true;
    } finally {
      this.awaitingProbe.delete(key);
    }
  }
}
