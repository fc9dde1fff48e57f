// Asks a STUN server which address and port a UDP socket's datagrams arrive from (its mapping on
// the NATs between): a Binding request, retransmitted on a doubling timer a bounded number of
// times, answered by the success response that carries the same transaction ID from that server.
//
// StunClient does not read a socket itself: whoever owns the socket (and tells STUN datagrams
// from its own with isStunMessage) hands it what arrives. stunBinding() does both for a socket
// nobody else reads.

import type * as dgram from "node:dgram";
import * as net from "node:net";
import { BINDING_ERROR, BINDING_SUCCESS, decodeStun, encodeBindingRequest, isStunMessage, newTransactionId, StunAddress } from "./stun";
import { unmapIpv4 } from "../util/ip-address";

export interface StunServer {
  /** An IP address (no name lookup here). */
  address: string;
  port: number;
}

export interface BindingOptions {
  /** Wait for the first retransmission; each later one waits twice as long. Default 250 ms. */
  rtoMs?: number;
  /** How many times the request is sent at most, the first one included. Default 4. */
  maxSends?: number;
  /** Give up after this long in all. Default 3000 ms. */
  timeoutMs?: number;
  /** A SOFTWARE attribute for the request. */
  software?: string;
}

/** Sends a datagram to an address (a dgram socket's send, or a test's), calling `done` with its outcome. */
export type SendDatagram = (datagram: Buffer, address: string, port: number, done: (err?: Error | null) => void) => void;

export class StunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StunError";
  }
}

interface Pending {
  server: StunServer;
  resolve: (mapped: StunAddress) => void;
  reject: (err: Error) => void;
  timers: NodeJS.Timeout[];
}

/** Binding transactions in flight on one socket. */
export class StunClient {
  /** At most this many transactions at once: a new one past it fails at once. */
  static readonly MAX_PENDING = 32;
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly send: SendDatagram) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** The server-reflexive address of the socket as `server` sees it; rejects with a StunError. */
  binding(server: StunServer, options: BindingOptions = {}): Promise<StunAddress> {
    const { rtoMs = 250, maxSends = 4, timeoutMs = 3000 } = options;
    if (!net.isIP(server.address)) return Promise.reject(new StunError(`a STUN server needs an IP address, not ${server.address}`));
    if (this.pending.size >= StunClient.MAX_PENDING) return Promise.reject(new StunError(`${StunClient.MAX_PENDING} STUN requests already in flight`));
    const transactionId = newTransactionId();
    const request = encodeBindingRequest(transactionId, { software: options.software });
    const key = transactionId.toString("hex");
    return new Promise<StunAddress>((resolve, reject) => {
      const entry: Pending = { server, resolve, reject, timers: [] };
      this.pending.set(key, entry);
      const failed = (err: Error) => this.settle(key, new StunError(`cannot send to ${server.address}:${server.port}: ${err.message}`));
      const transmit = () => {
        try {
          this.send(request, server.address, server.port, (err) => err && failed(err));
        } catch (err) {
          failed(err as Error);
        }
      };
      entry.timers.push(setTimeout(() => this.settle(key, new StunError(`no STUN answer from ${server.address}:${server.port} in ${timeoutMs} ms`)), timeoutMs));
      // sends now, then at rto, 3·rto, 7·rto, …: each wait twice the one before
      for (let i = 1, at = rtoMs; i < maxSends && at < timeoutMs; i++, at = rtoMs * (2 ** i - 1)) entry.timers.push(setTimeout(transmit, at));
      transmit();
    });
  }

  /**
   * Offers a datagram that arrived on the socket. True when it was the answer to a request in
   * flight (a success response settles it; an error response fails it); false otherwise.
   */
  handle(datagram: Buffer, from: { address: string; port: number }): boolean {
    if (!isStunMessage(datagram)) return false;
    const msg = decodeStun(datagram);
    if (!msg) return false;
    const key = msg.transactionId.toString("hex");
    const entry = this.pending.get(key);
    if (!entry || unmapIpv4(from.address) !== unmapIpv4(entry.server.address) || from.port !== entry.server.port) return false;
    // a response with attributes it must understand and does not is discarded (RFC 8489 §6.3.1)
    if (msg.unknownRequired.length > 0) return false;
    if (msg.type === BINDING_ERROR) this.settle(key, new StunError(`STUN server ${from.address}:${from.port} answered with an error`));
    else if (msg.type !== BINDING_SUCCESS) return false;
    else if (!msg.mappedAddress) this.settle(key, new StunError(`STUN server ${from.address}:${from.port} named no mapped address`));
    else this.settle(key, msg.mappedAddress);
    return true;
  }

  /** Fails every request in flight. */
  close(): void {
    for (const key of [...this.pending.keys()]) this.settle(key, new StunError("STUN client closed"));
  }

  private settle(key: string, outcome: StunAddress | Error): void {
    const entry = this.pending.get(key);
    if (!entry) return;
    this.pending.delete(key);
    for (const t of entry.timers) clearTimeout(t);
    if (outcome instanceof Error) entry.reject(outcome);
    else entry.resolve(outcome);
  }
}

/** One Binding transaction from a socket that nothing else reads STUN answers from. */
export async function stunBinding(socket: dgram.Socket, server: StunServer, options: BindingOptions = {}): Promise<StunAddress> {
  const client = new StunClient((datagram, address, port, done) => socket.send(datagram, port, address, done));
  const onMessage = (datagram: Buffer, rinfo: dgram.RemoteInfo) => void client.handle(datagram, rinfo);
  socket.on("message", onMessage);
  try {
    return await client.binding(server, options);
  } finally {
    socket.off("message", onMessage);
    client.close();
  }
}
