// Bulk connections to a node behind NAT, by whichever way its NAT and this node's allow:
//
//   - "reverse": this node can be reached, so it asks the other (by a signal through its rendezvous)
//     to connect back to it over TLS, to the address its rendezvous saw the signal come from;
//   - "webrtc": both can send UDP and neither NAT maps per destination, so ICE punches a hole (the
//     WebRTC path, its STUN servers being reachable peershare nodes);
//   - "relay": otherwise, or when the others fail, a rendezvous node of the other end passes the
//     bytes of one TCP connection from each end (relay-server.ts), TLS running end to end over it.
//
// The other end's half of each runs here too: a signal asking for a connection back or to a relay
// is followed only to addresses it can trust without taking anyone's word: the one its own
// rendezvous node saw the signal come from, and its own rendezvous nodes.

import { toHex } from "../dht/id";
import { BulkPeer } from "../transport/bulk";
import { BulkContext } from "../transport/bulk-context";
import { BulkSession } from "../transport/bulk-session";
import { dialTlsReverse, startRelayedSession, TlsBulkServer } from "../transport/tls-bulk";
import { Signaller } from "../transport/webrtc-bulk";
import { acceptRelayed, newRelayToken, openRelayed } from "./relay-client";
import { Mapping } from "./reachability";

export type NatPath = "reverse" | "webrtc" | "relay";

/** What a node knows of its own way out, and a peer's from its reach record. */
export interface Reach {
  reachable: boolean;
  mapping: Mapping;
  udp: boolean;
}

/** The ways to try to a peer behind NAT, in order (pure: unit-tested). */
export function natPathsTo(self: Reach, peer: Reach, webrtcAvailable = true): NatPath[] {
  const paths: NatPath[] = [];
  if (self.reachable) paths.push("reverse");
  const punchable = self.mapping !== "endpoint-dependent" && peer.mapping !== "endpoint-dependent";
  if (webrtcAvailable && self.udp && peer.udp && punchable) paths.push("webrtc");
  paths.push("relay");
  return paths;
}

/** Bulk signals (first byte 2; WebRTC's descriptions start with 1): a request, and its acknowledgement. */
const SIGNAL_TAG = 2;
const Kinds = { connectBack: 1, relay: 2, ack: 0x80 } as const;
const ACK = Buffer.from([SIGNAL_TAG, Kinds.ack]);

export function isNatSignal(payload: Buffer): boolean {
  return payload.length >= 2 && payload[0] === SIGNAL_TAG;
}

export interface NatPathsOptions {
  ctx: BulkContext;
  server: TlsBulkServer | null;
  signaller: Signaller;
  /** This node's rendezvous nodes (the only relays it connects to when asked). */
  ownRendezvous: () => BulkPeer[];
  /** Memberships shown to a relay that serves only its teams' members. */
  memberships: () => Buffer[];
  timeoutMs: number;
  log?: (line: string) => void;
}

export class NatPaths {
  /** Sessions this node opened on request (connected back, or joined a relay): it serves on them. */
  private readonly served = new Set<BulkSession>();

  constructor(private readonly o: NatPathsOptions) {}

  /** Connects to `peer` (behind NAT, with `via` rendezvous nodes) by `path`. */
  async dial(peer: BulkPeer, path: NatPath): Promise<BulkSession> {
    if (path === "reverse") return this.connectBack(peer);
    if (path === "relay") return this.relay(peer);
    throw new Error(`${path} is not dialled here`);
  }

  private async connectBack(peer: BulkPeer): Promise<BulkSession> {
    if (!this.o.server) throw new Error("this node has no TCP port to be connected back to");
    const arrived = this.o.server.expectReverse(peer.id, this.o.timeoutMs);
    arrived.catch(() => undefined);
    await this.ask(peer, Buffer.from([SIGNAL_TAG, Kinds.connectBack]));
    return arrived;
  }

  private async relay(peer: BulkPeer): Promise<BulkSession> {
    const relays = peer.via ?? [];
    let last: Error = new Error(`node ${toHex(peer.id).slice(0, 12)}… names no relay`);
    for (const relay of relays) {
      const token = newRelayToken();
      try {
        const half = openRelayed(relay, this.o.ctx.identity, peer.id, token, this.o.memberships(), this.o.timeoutMs);
        half.catch(() => undefined);
        await this.ask(peer, Buffer.concat([Buffer.from([SIGNAL_TAG, Kinds.relay]), relay.id, token]));
        return await startRelayedSession(this.o.ctx, await half, "dialler", peer, relay);
      } catch (err) {
        last = err as Error;
      }
    }
    throw last;
  }

  private async ask(peer: BulkPeer, request: Buffer): Promise<void> {
    const answer = await this.o.signaller.signal(peer, request);
    if (!answer.equals(ACK)) throw new Error(`node ${toHex(peer.id).slice(0, 12)}… declined`);
  }

  /** The other end: a request to connect back or to join a relay; the acknowledgement, or null to decline. */
  answer(from: BulkPeer, payload: Buffer): Buffer | null {
    if (payload[1] === Kinds.connectBack && payload.length === 2) {
      // to the address this node's rendezvous saw the request come from, nowhere else
      this.serve(dialTlsReverse(this.o.ctx, { id: from.id, publicKey: from.publicKey, host: from.host, port: from.port }, this.o.timeoutMs), "connecting back");
      return ACK;
    }
    if (payload[1] === Kinds.relay && payload.length === 2 + 32 + 16) {
      const relay = this.o.ownRendezvous().find((r) => r.id.equals(payload.subarray(2, 34)));
      if (!relay) return null; // only to a relay this node chose itself
      const token = Buffer.from(payload.subarray(34));
      this.serve(
        acceptRelayed(relay, this.o.ctx.identity, token, this.o.timeoutMs).then((socket) => startRelayedSession(this.o.ctx, socket, "acceptor", from, relay)),
        "joining a relay",
      );
      return ACK;
    }
    return null;
  }

  private serve(opening: Promise<BulkSession>, what: string): void {
    opening.then(
      (session) => {
        this.served.add(session);
        session.onClose(() => this.served.delete(session));
      },
      (err: Error) => this.o.log?.(`${what} failed: ${err.message}`),
    );
  }

  close(): void {
    for (const s of [...this.served]) s.close();
  }
}
