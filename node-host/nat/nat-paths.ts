// Bulk connections to a node behind NAT, by whichever way its NAT and this node's allow:
//
//   - "reverse": this node can be reached, so it asks the other (by a signal through its rendezvous)
//     to connect back to it over TLS, to the address its rendezvous saw the signal come from;
//   - "punch": neither NAT maps per destination, so both open one TCP connection at once, each to
//     the other's external address and a port it names (tcp-punch.ts); TLS runs over it at the
//     speed of a direct connection;
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
import { dialTlsReverse, startSessionOver, TlsBulkServer } from "../transport/tls-bulk";
import { BinaryReader, BinaryWriter } from "../util/binary";
import { HostPort, normalizeHost, readAddress, writeAddress } from "./address";
import { punchPort, punchTcp } from "./tcp-punch";
import { Signaller } from "../transport/webrtc-bulk";
import { acceptRelayed, newRelayToken, openRelayed } from "./relay-client";
import { Mapping } from "./reachability";

export type NatPath = "reverse" | "punch" | "webrtc" | "relay";

/** What a node knows of its own way out, and a peer's from its reach record. */
export interface Reach {
  reachable: boolean;
  mapping: Mapping;
  udp: boolean;
}

/**
 * The ways to try to a peer behind NAT, in order (pure: unit-tested). With a TURN server configured
 * here, WebRTC is tried even where no hole can be punched: ICE then relays through it.
 */
export function natPathsTo(self: Reach, peer: Reach, webrtcAvailable = true, turnConfigured = false): NatPath[] {
  const paths: NatPath[] = [];
  if (self.reachable) paths.push("reverse");
  const punchable = self.mapping !== "endpoint-dependent" && peer.mapping !== "endpoint-dependent";
  if (punchable) paths.push("punch");
  if (webrtcAvailable && self.udp && peer.udp && (punchable || turnConfigured)) paths.push("webrtc");
  paths.push("relay");
  return paths;
}

/** Bulk signals (first byte 2; WebRTC's descriptions start with 1): a request, and its acknowledgement. */
const SIGNAL_TAG = 2;
const Kinds = { connectBack: 1, relay: 2, punch: 3, ack: 0x80, punchAnswer: 0x83 } as const;
/** How long both ends keep trying a simultaneous open. */
const PUNCH_MS = 5000;
const ACK = Buffer.from([SIGNAL_TAG, Kinds.ack]);

/** A punch request or answer: tag, kind, then the address to connect to. */
function encodePunch(kind: number, at: HostPort): Buffer {
  const w = new BinaryWriter().u8(SIGNAL_TAG).u8(kind);
  writeAddress(w, at);
  return w.finish();
}

function decodePunch(payload: Buffer): HostPort {
  const r = new BinaryReader(payload.subarray(2));
  const at = readAddress(r);
  r.end();
  return at;
}

export function isNatSignal(payload: Buffer): boolean {
  return payload.length >= 2 && payload[0] === SIGNAL_TAG;
}

/**
 * The peer with its rendezvous nodes reached in one address family where it registered with them
 * in that family: the other end lets a punch go only to the address its signal came from.
 */
export function signalledIn(peer: BulkPeer, ipv6: boolean): BulkPeer {
  if (!peer.via) return peer;
  const registered = peer.reach?.rendezvous ?? [];
  const inFamily = (p: BulkPeer): BulkPeer => {
    if (isIpv6(p.host) === ipv6) return p;
    return registered.find((r) => r.id.equals(p.id) && isIpv6(r.host) === ipv6) ?? p;
  };
  const via = peer.via.map(inFamily);
  // a signal that arrives in the other family is declined, not passed on: those go only when no other can
  const same = via.filter((p) => isIpv6(p.host) === ipv6);
  return { ...peer, via: same.length > 0 ? same : via };
}

/** Whether a signal to `peer` can arrive in a family (through its rendezvous, or straight to it). */
function signalArrivesIn(peer: BulkPeer, ipv6: boolean): boolean {
  const via = signalledIn(peer, ipv6).via;
  return via && via.length > 0 ? isIpv6(via[0].host) === ipv6 : isIpv6(peer.host) === ipv6;
}

/**
 * The peer's external address to punch to: of a family both ends have an external address in and
 * the signal can travel in, IPv6 first (a firewall to open, no NAT to cross); null when none.
 */
export function punchTarget(peer: BulkPeer, ownExternal: (ipv6: boolean) => string | null): HostPort | null {
  const usable = (peer.reach?.external ?? []).filter((a) => ownExternal(isIpv6(a.host)) !== null);
  const signalled = usable.filter((a) => signalArrivesIn(peer, isIpv6(a.host)));
  return signalled.find((a) => isIpv6(a.host)) ?? signalled[0] ?? usable[0] ?? null;
}

function isIpv6(host: string): boolean {
  return host.includes(":");
}

export interface NatPathsOptions {
  ctx: BulkContext;
  server: TlsBulkServer | null;
  signaller: Signaller;
  /** This node's rendezvous nodes (the only relays it connects to when asked). */
  ownRendezvous: () => BulkPeer[];
  /** Memberships shown to a relay that serves only its teams' members. */
  memberships: () => Buffer[];
  /** This node's external IP address in a family (as peers see it), for a hole punch; null when not known. */
  ownExternal: (ipv6: boolean) => string | null;
  timeoutMs: number;
  /** This node's clock corrected to its peers' (relay headers are stamped with it). */
  now?: () => number;
  log?: (line: string) => void;
}

export class NatPaths {
  /** Sessions this node opened on request (connected back, or joined a relay): it serves on them. */
  private readonly served = new Set<BulkSession>();

  /** The clock relay headers are stamped with (the node's corrected one; the system's when not given). */
  private readonly now: () => number;

  constructor(private readonly o: NatPathsOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Connects to `peer` (behind NAT, with `via` rendezvous nodes) by `path`. */
  async dial(peer: BulkPeer, path: NatPath): Promise<BulkSession> {
    if (path === "reverse") return this.connectBack(peer);
    if (path === "relay") return this.relay(peer);
    if (path === "punch") return this.punch(peer);
    throw new Error(`${path} is not dialled here`);
  }

  /**
   * A TCP hole punch: this node names its external address and a port, the peer answers with its
   * own port and starts connecting; this node connects too. The peer's address must be one its
   * signed reach record names.
   */
  private async punch(peer: BulkPeer): Promise<BulkSession> {
    const theirs = peer.reach?.external ?? [];
    const target = punchTarget(peer, this.o.ownExternal);
    if (!target) throw new Error("no external address of a family both ends have");
    const ipv6 = isIpv6(target.host);
    const own = { host: this.o.ownExternal(ipv6)!, port: punchPort() };
    const answer = await this.o.signaller.signal(signalledIn(peer, ipv6), encodePunch(Kinds.punch, own));
    if (answer[0] !== SIGNAL_TAG || answer[1] !== Kinds.punchAnswer) throw new Error(`node ${toHex(peer.id).slice(0, 12)}… declined`);
    const remote = decodePunch(answer);
    if (!theirs.some((a) => normalizeHost(a.host) === normalizeHost(remote.host))) throw new Error("the answer names an address its reach record does not");
    const socket = await punchTcp(own.port, remote, PUNCH_MS);
    return startSessionOver(this.o.ctx, socket, "dialler", peer, { path: "tls-punched" });
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
        const half = openRelayed(relay, this.o.ctx.identity, peer.id, token, this.o.memberships(), this.o.timeoutMs, this.now());
        half.catch(() => undefined);
        await this.ask(peer, Buffer.concat([Buffer.from([SIGNAL_TAG, Kinds.relay]), relay.id, token]));
        return await startSessionOver(this.o.ctx, await half, "dialler", peer, { path: "relay", relay: toHex(relay.id) });
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
    if (payload[1] === Kinds.punch) return this.answerPunch(from, payload);
    if (payload[1] === Kinds.relay && payload.length === 2 + 32 + 16) {
      const relay = this.o.ownRendezvous().find((r) => r.id.equals(payload.subarray(2, 34)));
      if (!relay) return null; // only to a relay this node chose itself
      const token = Buffer.from(payload.subarray(34));
      this.serve(
        acceptRelayed(relay, this.o.ctx.identity, token, this.o.timeoutMs, this.now()).then((socket) => startSessionOver(this.o.ctx, socket, "acceptor", from, { path: "relay", relay: toHex(relay.id) })),
        "joining a relay",
      );
      return ACK;
    }
    return null;
  }

  /** The other end of a punch: only to the IP address this node's rendezvous saw the request come from. */
  private answerPunch(from: BulkPeer, payload: Buffer): Buffer | null {
    let remote: HostPort;
    try {
      remote = decodePunch(payload);
    } catch {
      return null;
    }
    const own = this.o.ownExternal(remote.host.includes(":"));
    if (!own || normalizeHost(remote.host) !== normalizeHost(from.host)) return null;
    const port = punchPort();
    this.serve(
      punchTcp(port, remote, PUNCH_MS).then((socket) => startSessionOver(this.o.ctx, socket, "acceptor", from, { path: "tls-punched" })),
      "a TCP hole punch",
    );
    return encodePunch(Kinds.punchAnswer, { host: own, port });
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
