// The rendezvous side of a reachable node: nodes behind NAT register with it and keep their NAT
// mapping to it open with keep-alives; any node may then reach such a client through it. A FORWARD
// names a registered client and carries a complete datagram sealed end to end for it; the server
// passes it on in a RELAYED request (the client's mapping lets it in) and hands back the client's
// sealed answer. It reads neither; it forwards only to registered clients, only the request types
// that reach a client is for (PING, SIGNAL), within rate limits, and the answer goes back to the
// requester's own address, so it cannot be made to send traffic to anyone else.

import { Contact } from "../dht/messages";
import { toHex } from "../dht/id";
import { MessageTypes } from "../transport/wire";
import { RawMessage, UdpRpc } from "../transport/udp-rpc";
import { LruMap } from "../util/lru";
import { RateLimiter } from "../util/rate-limiter";
import { decodeForward, decodeInner, decodeRendezvous, encodeInner, encodeRelayed, encodeRendezvousOk, NatTypes, RendezvousFlags } from "./nat-wire";

/** How often clients send keep-alives: well under the 30 s many NATs keep an idle UDP mapping. */
export const KEEPALIVE_SECONDS = 25;
/** A client not heard from for this long is dropped. */
const CLIENT_TTL_SECONDS = 75;
/** Byte 4 of an envelope is its message type (transport/envelope.ts). */
const ENVELOPE_TYPE_OFFSET = 4;
const FORWARDABLE = new Set<number>([MessageTypes.ping, MessageTypes.signal]);

interface Client {
  contact: Contact;
  expires: number;
}

export interface RendezvousServerOptions {
  rpc: UdpRpc;
  /** Clients served at once (the least recently heard from goes first). */
  maxClients?: number;
  /** Whether this node serves as a rendezvous at all right now (only a reachable node does). */
  serving: () => boolean;
  now?: () => number;
}

export class RendezvousServer {
  private readonly clients: LruMap<string, Client>;
  /** FORWARDs per requester: 20 a second, bursts of 40. */
  private readonly perRequester = new RateLimiter(20, 40, 4096);
  /** RELAYED per client: 50 a second, bursts of 100. */
  private readonly perClient = new RateLimiter(50, 100, 4096);
  private readonly now: () => number;
  forwardedCount = 0;
  refusedCount = 0;

  constructor(private readonly o: RendezvousServerOptions) {
    this.clients = new LruMap(o.maxClients ?? 512);
    this.now = o.now ?? Date.now;
    o.rpc.extend([NatTypes.rendezvous, NatTypes.forward], (from, type, payload) => (type === NatTypes.rendezvous ? this.register(from, payload) : this.forward(from, payload)));
  }

  /** Clients registered and not expired. */
  get clientCount(): number {
    const now = this.now();
    let n = 0;
    for (const [, c] of this.clients.entries()) if (c.expires > now) n++;
    return n;
  }

  /** Where a registered client is reached from here (its NAT's mapping toward this node), or null. */
  clientAddress(id: Buffer): { host: string; port: number } | null {
    const c = this.clients.get(toHex(id));
    return c && c.expires > this.now() ? { host: c.contact.host, port: c.contact.port } : null;
  }

  private register(from: Contact, payload: Buffer): RawMessage | null {
    if (!this.o.serving()) return null;
    const key = toHex(from.id);
    if (decodeRendezvous(payload) === RendezvousFlags.leave) {
      this.clients.delete(key);
      return null;
    }
    this.clients.set(key, { contact: from, expires: this.now() + CLIENT_TTL_SECONDS * 1000 });
    return { type: NatTypes.rendezvousOk, payload: encodeRendezvousOk({ seen: from, keepAliveSeconds: KEEPALIVE_SECONDS, ttlSeconds: CLIENT_TTL_SECONDS }) };
  }

  private async forward(from: Contact, payload: Buffer): Promise<RawMessage | null> {
    const { target, inner } = decodeForward(payload);
    const client = this.clients.get(toHex(target));
    const refuse = () => {
      this.refusedCount++;
      return { type: NatTypes.forwarded, payload: encodeInner(Buffer.alloc(0)) }; // "not served here"
    };
    if (!client || client.expires <= this.now() || !FORWARDABLE.has(inner[ENVELOPE_TYPE_OFFSET])) return refuse();
    if (!this.perRequester.take(toHex(from.id)) || !this.perClient.take(toHex(target))) return null;
    const reply = await this.o.rpc.requestRaw(client.contact, { type: NatTypes.relayed, payload: encodeRelayed(from, inner) }).catch(() => null);
    if (reply?.type !== NatTypes.relayedReply) return null;
    this.forwardedCount++;
    return { type: NatTypes.forwarded, payload: encodeInner(decodeInner(reply.payload)) };
  }
}
