// The client side of rendezvous, for a node that others cannot reach: it registers with a few
// reachable nodes, keeps its NAT mapping to each open with a keep-alive (the registration, renewed
// every 25 s), replaces one that stops answering, and answers the requests they relay to it. Only
// RELAYED requests from its own rendezvous nodes are taken; the datagram inside is checked like any
// other (authenticated end to end by its sender) and answered through the same node.

import { EventEmitter } from "node:events";
import { Contact } from "../dht/messages";
import { toHex } from "../dht/id";
import { Address } from "../dht/transport";
import { RawMessage, UdpRpc } from "../transport/udp-rpc";
import { jittered } from "../util/jitter";
import { isPublicAddress } from "./address";
import { decodeInner, decodeRelayed, decodeRendezvousOk, encodeForward, encodeInner, encodeRendezvous, NatTypes, RendezvousFlags } from "./nat-wire";

/** Rendezvous nodes kept at once. */
const WANTED = 2;
/** A node that refused or did not answer is not asked again for this long (it may not know yet that it is reachable). */
const AVOID_MS = 10_000;

export interface RendezvousClientOptions {
  rpc: UdpRpc;
  /** Reachable nodes that may serve (server-mode contacts of the routing table). */
  candidates: () => Contact[];
  log?: (line: string) => void;
}

export class RendezvousClient extends EventEmitter {
  private readonly servers = new Map<string, { contact: Contact; keepAliveMs: number }>();
  /** Nodes that refused or stopped answering lately: not asked again for a while. */
  private readonly avoid = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private active = false;
  private maintaining = false;
  private lastRound = 0;

  constructor(private readonly o: RendezvousClientOptions) {
    super();
    o.rpc.extend([NatTypes.relayed], (from, _type, payload) => this.answerRelayed(from, payload));
  }

  /** The rendezvous nodes in use, best first. */
  get via(): Contact[] {
    return [...this.servers.values()].map((s) => s.contact);
  }

  /** Starts (or keeps) registering; resolves once the first round of registrations is done. */
  async start(): Promise<void> {
    this.active = true;
    await this.maintain();
  }

  /** Leaves every rendezvous node and stops. */
  async stop(): Promise<void> {
    this.active = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const servers = this.via;
    this.servers.clear();
    for (const s of servers) this.o.rpc.notify(s, { type: NatTypes.rendezvous, payload: encodeRendezvous(RendezvousFlags.leave) });
    if (servers.length) this.emit("changed", this.via);
  }

  /**
   * Runs a round now (at most every 2 s) when one of the rendezvous nodes is no longer among the
   * candidates (it left, or became a client), or when fewer than WANTED serve and a new candidate
   * turned up.
   */
  refill(): void {
    if (!this.active || this.maintaining || Date.now() - this.lastRound < 2000) return;
    const candidates = this.o.candidates().map((c) => toHex(c.id));
    const lost = [...this.servers.keys()].some((k) => !candidates.includes(k));
    const fresh = this.servers.size < WANTED && candidates.some((k) => !this.servers.has(k) && (this.avoid.get(k) ?? 0) < Date.now());
    if (!lost && !fresh) return;
    if (this.timer) clearTimeout(this.timer);
    void this.maintain();
  }

  /** Renews every registration, drops the ones that fail or are no longer candidates, and fills up to WANTED. */
  private async maintain(): Promise<void> {
    if (!this.active) return;
    this.maintaining = true;
    this.lastRound = Date.now();
    const before = this.via.map((c) => toHex(c.id)).join();
    const candidates = new Set(this.o.candidates().map((c) => toHex(c.id)));
    for (const key of [...this.servers.keys()]) if (!candidates.has(key)) this.servers.delete(key);
    await Promise.all(this.via.map((c) => this.register(c)));
    for (const c of this.pickNew(WANTED - this.servers.size)) await this.register(c);
    if (this.via.map((c) => toHex(c.id)).join() !== before) this.emit("changed", this.via);
    this.maintaining = false;
    const everyMs = Math.min(...[...this.servers.values()].map((s) => s.keepAliveMs), 25_000);
    if (this.active) {
      this.timer = setTimeout(() => void this.maintain(), jittered(this.servers.size ? everyMs : 5000, 0.1));
      this.timer.unref();
    }
  }

  private pickNew(n: number): Contact[] {
    if (n <= 0) return [];
    const now = Date.now();
    const fresh = this.o.candidates().filter((c) => !this.servers.has(toHex(c.id)) && (this.avoid.get(toHex(c.id)) ?? 0) < now);
    // public addresses first: a node on the same LAN cannot help anyone outside it
    return [...fresh.filter((c) => isPublicAddress(c.host)), ...fresh.filter((c) => !isPublicAddress(c.host))].slice(0, n);
  }

  private async register(c: Contact): Promise<void> {
    const key = toHex(c.id);
    try {
      const reply = await this.o.rpc.requestRaw(c, { type: NatTypes.rendezvous, payload: encodeRendezvous(RendezvousFlags.register) });
      if (reply.type !== NatTypes.rendezvousOk) throw new Error("refused");
      const terms = decodeRendezvousOk(reply.payload);
      this.servers.set(key, { contact: c, keepAliveMs: terms.keepAliveSeconds * 1000 });
    } catch {
      if (this.servers.delete(key)) this.o.log?.(`rendezvous ${key.slice(0, 12)}… stopped answering`);
      this.avoid.set(key, Date.now() + AVOID_MS);
    }
  }

  /** A request relayed by one of this node's rendezvous nodes: answered through it, or not at all. */
  private answerRelayed(from: Contact, payload: Buffer): Promise<RawMessage | null> | null {
    if (!this.servers.has(toHex(from.id))) return null;
    const { origin, inner } = decodeRelayed(payload);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), this.o.rpc.timeoutMs);
      this.o.rpc.receiveInner(inner, origin, (answer) => {
        clearTimeout(timer);
        resolve({ type: NatTypes.relayedReply, payload: encodeInner(answer) });
      });
    });
  }
}

/** Not served by that rendezvous node (the client left it, or it never registered there). */
export class NotAtRendezvousError extends Error {
  constructor(via: Address) {
    super(`${via.host}:${via.port} is not a rendezvous for that node`);
    this.name = "NotAtRendezvousError";
  }
}

/** UdpRpc's forwarder: a sealed datagram through one rendezvous node, and the sealed answer back. */
export function forwardThrough(rpc: UdpRpc) {
  return async (via: Address, target: Address, datagram: Buffer, timeoutMs: number): Promise<Buffer> => {
    if (!target.id) throw new Error("a forwarded request needs the target's node ID");
    const reply = await rpc.requestRaw(via, { type: NatTypes.forward, payload: encodeForward(target.id, datagram) }, timeoutMs);
    const inner = reply.type === NatTypes.forwarded ? decodeInner(reply.payload) : Buffer.alloc(0);
    if (inner.length === 0) throw new NotAtRendezvousError(via);
    return inner;
  };
}
