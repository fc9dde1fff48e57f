// For a node whose network lets no UDP through (some offices, some hotel and guest networks): its
// DHT datagrams travel over one TLS connection to a reachable node's TCP port (ALPN
// "peershare-dgram/1"), each framed by a u16 length. The reachable node takes them like datagrams
// from the connection's address, so everything addressed to the client (answers, RELAYED requests
// once it registered there as its rendezvous) goes back down the same connection; and it sends the
// client's requests for other nodes on (EGRESS), handing their sealed answers back unread.
//
// A node sends on only for clients of its own tunnels, only DHT requests, within a rate limit and
// its relay setting (a node in teams: members only), and the answer comes back to it, so it cannot be
// made to reflect or amplify traffic. The datagrams are sealed end to end as ever: the tunnel adds
// TLS only so that the network in between sees no DHT traffic to tamper with.

import * as net from "node:net";
import * as tls from "node:tls";
import { Contact } from "../dht/messages";
import { toHex } from "../dht/id";
import { Address } from "../dht/transport";
import { MAX_DATAGRAM_BYTES } from "../transport/envelope";
import { MessageTypes } from "../transport/wire";
import { RawMessage, Tunnel, UdpRpc } from "../transport/udp-rpc";
import { BinaryReader, BinaryWriter } from "../util/binary";
import { RateLimiter } from "../util/rate-limiter";
import { unmapIpv4 } from "../util/ip-address";
import { HostPort, readAddress, writeAddress } from "./address";
import { decodeInner, encodeInner, MAX_INNER_BYTES, NatTypes } from "./nat-wire";

export const TUNNEL_ALPN = "peershare-dgram/1";
export const EgressTypes = { egress: 0x10, egressed: 0x90 } as const;
/** Byte 4 of an envelope is its message type. */
const ENVELOPE_TYPE_OFFSET = 4;
/** What is sent on: DHT requests, and FORWARD to reach a node behind NAT (never RENDEZVOUS: a tunnel client registers only with its tunnel's node). */
const EGRESS_TYPES = new Set<number>([
  MessageTypes.ping,
  MessageTypes.find_node,
  MessageTypes.find_value,
  MessageTypes.store,
  MessageTypes.add_provider,
  MessageTypes.get_providers,
  MessageTypes.signal,
  MessageTypes.credentials,
  NatTypes.forward,
]);
const MAX_TUNNELS = 256;

/** Frames datagrams on a byte stream: u16 length, datagram. */
class Framer {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (datagram: Buffer) => void) {}

  push(chunk: Buffer): boolean {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 2) {
      const n = this.buffered.readUInt16BE(0);
      if (n > MAX_DATAGRAM_BYTES) return false; // not a datagram: the stream is closed
      if (this.buffered.length < 2 + n) break;
      this.onFrame(Buffer.from(this.buffered.subarray(2, 2 + n)));
      this.buffered = this.buffered.subarray(2 + n);
    }
    return true;
  }
}

function frame(datagram: Buffer): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(datagram.length);
  return Buffer.concat([head, datagram]);
}

export function encodeEgress(target: HostPort, inner: Buffer): Buffer {
  const w = new BinaryWriter();
  writeAddress(w, target);
  return w.varBytes(inner).finish();
}

export function decodeEgress(payload: Buffer): { target: HostPort; inner: Buffer } {
  const r = new BinaryReader(payload);
  const target = readAddress(r);
  const inner = Buffer.from(r.varBytes(MAX_INNER_BYTES));
  r.end();
  return { target, inner };
}

/** The reachable end: takes tunnels on its TLS port and sends its clients' requests on. */
export class TunnelServer {
  private readonly open = new Set<tls.TLSSocket>();
  /** EGRESS per client: 50 a second, bursts of 100. */
  private readonly perClient = new RateLimiter(50, 100, 4096);
  passedOn = 0;

  constructor(
    private readonly rpc: UdpRpc,
    /** Whether this node sends on for the client (its relay setting and, in teams, the client's membership). */
    private readonly allows: (client: Contact) => boolean,
  ) {
    rpc.extend([EgressTypes.egress], (from, _type, payload) => this.egress(from, payload));
  }

  get count(): number {
    return this.open.size;
  }

  /** A TLS connection that asked for the tunnel ALPN. */
  accept(socket: tls.TLSSocket): void {
    if (this.open.size >= MAX_TUNNELS) return void socket.destroy();
    const host = unmapIpv4(socket.remoteAddress ?? "");
    const port = socket.remotePort ?? 0;
    this.open.add(socket);
    const stream = this.rpc.attachStream(host, port, (datagram) => socket.write(frame(datagram)));
    const framer = new Framer(stream.receive);
    socket.on("data", (chunk: Buffer) => framer.push(chunk) || socket.destroy());
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      stream.detach();
      this.open.delete(socket);
    });
  }

  private async egress(from: Contact, payload: Buffer): Promise<RawMessage | null> {
    if (!this.rpc.isStreamAddress(from.host, from.port) || !this.perClient.take(toHex(from.id)) || !this.allows(from)) return null;
    const { target, inner } = decodeEgress(payload);
    if (!EGRESS_TYPES.has(inner[ENVELOPE_TYPE_OFFSET])) return null;
    const answer = await this.rpc.passOn(inner, target, this.rpc.timeoutMs * 2).catch(() => null);
    if (!answer) return null;
    this.passedOn++;
    return { type: EgressTypes.egressed, payload: encodeInner(answer) };
  }

  close(): void {
    for (const s of this.open) s.destroy();
  }
}

/**
 * Opens this node's tunnel to a reachable node's TCP port and routes its datagrams through it
 * (UdpRpc.tunnel); resolves once the TLS connection is up. The tunnel closes with the node, or
 * when the far end goes: then the node has no way out until it opens another.
 */
export function openTunnel(rpc: UdpRpc, peer: HostPort, timeoutMs: number): Promise<{ close: () => void; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: peer.host, port: peer.port, rejectUnauthorized: false, minVersion: "TLSv1.3", ALPNProtocols: [TUNNEL_ALPN] });
    const timer = setTimeout(() => fail(new Error(`no TLS connection to ${peer.host}:${peer.port} within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once("error", fail);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      if (socket.alpnProtocol !== TUNNEL_ALPN) return fail(new Error(`${peer.host}:${peer.port} does not take tunnels`));
      socket.off("error", fail);
      socket.on("error", () => socket.destroy());
      socket.setNoDelay(true);
      const framer = new Framer((datagram) => rpc.receiveFromTunnel(datagram));
      socket.on("data", (chunk: Buffer) => framer.push(chunk) || socket.destroy());
      const tunnel: Tunnel = {
        peer,
        write: (datagram) => void socket.write(frame(datagram)),
        egress: async (target: Address, datagram: Buffer, timeout: number) => {
          const reply = await rpc.requestRaw(peer, { type: EgressTypes.egress, payload: encodeEgress(target, datagram) }, timeout);
          if (reply.type !== EgressTypes.egressed) throw new Error("not sent on");
          return decodeInner(reply.payload);
        },
      };
      rpc.tunnel = tunnel;
      const closed = new Promise<void>((done) =>
        socket.once("close", () => {
          if (rpc.tunnel === tunnel) rpc.tunnel = null;
          done();
        }),
      );
      resolve({ close: () => socket.destroy(), closed });
    });
  });
}

/** Whether a TCP connection to host:port can be made (a node that gets no UDP answer asks this before it opens a tunnel). */
export function tcpAnswers(peer: HostPort, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: peer.host, port: peer.port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}
