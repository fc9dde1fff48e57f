// Both ends of a relayed connection (relay-server.ts): the requester opens its half naming the
// target and a fresh token, the target opens its half with the same token once told of it (by a
// signal through its rendezvous). Each resolves with a plain TCP socket that carries nothing but
// the two ends' bytes from then on.

import * as net from "node:net";
import { randomBytes } from "node:crypto";
import { Identity } from "../security/identity";
import { BulkPeer } from "../transport/bulk";
import { encodeRelayHeader, RelayStatus, signedPart, TOKEN_BYTES } from "./relay-wire";

const STATUS_TEXT: Record<number, string> = {
  [RelayStatus.refused]: "the relay refused",
  [RelayStatus.busy]: "the relay is busy",
  [RelayStatus.noPeer]: "the other end did not arrive at the relay",
};

export class RelayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RelayError";
  }
}

export function newRelayToken(): Buffer {
  return randomBytes(TOKEN_BYTES);
}

/**
 * The requester's half: resolves once the target has joined (the relay's "ok"). `now` is the
 * node's clock corrected to its peers' (transport/clock-offset.ts): the relay checks the header's
 * timestamp against its own.
 */
export function openRelayed(relay: BulkPeer, identity: Identity, target: Buffer, token: Buffer, memberships: Buffer[], timeoutMs: number, now = Date.now()): Promise<net.Socket> {
  const unsigned = { kind: "connect" as const, publicKey: identity.publicKey, target, token, timestamp: now, memberships };
  const header = encodeRelayHeader({ ...unsigned, signature: identity.sign(signedPart(relay.id, unsigned)) });
  return connectAndWait(relay, header, timeoutMs);
}

/** The target's half (`now` as for openRelayed). */
export function acceptRelayed(relay: BulkPeer, identity: Identity, token: Buffer, timeoutMs: number, now = Date.now()): Promise<net.Socket> {
  const unsigned = { kind: "accept" as const, publicKey: identity.publicKey, token, timestamp: now };
  const header = encodeRelayHeader({ ...unsigned, signature: identity.sign(signedPart(relay.id, unsigned)) });
  return connectAndWait(relay, header, timeoutMs);
}

function connectAndWait(relay: BulkPeer, header: Buffer, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: relay.host, port: relay.port });
    const fail = (why: string) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new RelayError(`relay ${relay.host}:${relay.port}: ${why}`));
    };
    const timer = setTimeout(() => fail(`no circuit within ${timeoutMs} ms`), timeoutMs);
    socket.once("error", (err) => fail(err.message));
    socket.once("close", () => fail("closed"));
    socket.once("connect", () => {
      socket.setNoDelay(true);
      socket.write(header);
    });
    const onData = (chunk: Buffer) => {
      socket.off("data", onData);
      socket.pause();
      if (chunk[0] !== RelayStatus.ok) return fail(STATUS_TEXT[chunk[0]] ?? `status ${chunk[0]}`);
      clearTimeout(timer);
      socket.removeAllListeners("error");
      socket.removeAllListeners("close");
      socket.on("error", () => socket.destroy()); // the TLS session over it sees the close
      if (chunk.length > 1) socket.unshift(chunk.subarray(1));
      resolve(socket);
    };
    socket.on("data", onData);
  });
}
