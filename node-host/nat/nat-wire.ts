// The NAT traversal messages: request and response types of their own on the DHT's authenticated
// envelope (transport/envelope.ts), handled beside the DHT rather than by it. A node of an older
// release drops these types as unknown, so a request to it times out: nothing here depends on an
// answer from one.
//
//   OBSERVE    padding 16            → OBSERVED   address as seen | secondary port u16 (0: none)
//   DIAL_BACK  nonce 16 | padding    → DIAL_BACK_OK; then one PROBE {nonce} from the peer's secondary socket
//   RENDEZVOUS flags u8              → RENDEZVOUS_OK address as seen | keep-alive s u16 | ttl s u16
//   FORWARD    target id 32 | inner  → FORWARDED inner response (both complete envelopes, sealed end to end)
//   RELAYED    origin address | inner → RELAYED_REPLY inner response
//
// Requests are padded so that no answer is larger than the request that asked for it.

import { BinaryReader, BinaryWriter, WireFormatError } from "../util/binary";
import { ID_BYTES } from "../dht/id";
import { MAX_DATAGRAM_BYTES } from "../transport/envelope";
import { HostPort, readAddress, writeAddress } from "./address";

export const NatTypes = {
  observe: 0x0a,
  dialBack: 0x0b,
  probe: 0x0c,
  rendezvous: 0x0d,
  forward: 0x0e,
  relayed: 0x0f,
  observed: 0x8a,
  dialBackOk: 0x8b,
  rendezvousOk: 0x8d,
  forwarded: 0x8e,
  relayedReply: 0x8f,
} as const;

export const NAT_REQUEST_TYPES: number[] = [NatTypes.observe, NatTypes.dialBack, NatTypes.probe, NatTypes.rendezvous, NatTypes.forward, NatTypes.relayed];

export const NONCE_BYTES = 16;
/** A DIAL_BACK request is at least this long, so the answer and the probe together weigh no more. */
export const DIAL_BACK_PAYLOAD_BYTES = 160;
/** The largest datagram carried inside FORWARD or RELAYED (what fits with the outer envelope). */
export const MAX_INNER_BYTES = MAX_DATAGRAM_BYTES - 160;

export const RendezvousFlags = { register: 0, leave: 1 } as const;

export function encodeObserve(): Buffer {
  return Buffer.alloc(NONCE_BYTES);
}

export function encodeObserved(seen: HostPort, secondaryPort: number): Buffer {
  const w = new BinaryWriter();
  writeAddress(w, seen);
  return w.u16(secondaryPort).finish();
}

export function decodeObserved(payload: Buffer): { seen: HostPort; secondaryPort: number } {
  const r = new BinaryReader(payload);
  const seen = readAddress(r);
  const secondaryPort = r.u16();
  r.end();
  return { seen, secondaryPort };
}

export function encodeDialBack(nonce: Buffer): Buffer {
  const out = Buffer.alloc(DIAL_BACK_PAYLOAD_BYTES);
  nonce.copy(out, 0, 0, NONCE_BYTES);
  return out;
}

/** The nonce of a DIAL_BACK request, or of a PROBE. */
export function decodeNonce(payload: Buffer, minLength = NONCE_BYTES): Buffer {
  if (payload.length < minLength || payload.length > MAX_DATAGRAM_BYTES) throw new WireFormatError("bad nonce payload");
  return Buffer.from(payload.subarray(0, NONCE_BYTES));
}

export function encodeRendezvous(flags: number): Buffer {
  // padded like OBSERVE: the answer carries an address
  return Buffer.concat([Buffer.from([flags]), Buffer.alloc(NONCE_BYTES)]);
}

export function decodeRendezvous(payload: Buffer): number {
  if (payload.length < 1 || payload.length > 64) throw new WireFormatError("bad rendezvous request");
  return payload[0];
}

export interface RendezvousTerms {
  seen: HostPort;
  keepAliveSeconds: number;
  ttlSeconds: number;
}

export function encodeRendezvousOk(t: RendezvousTerms): Buffer {
  const w = new BinaryWriter();
  writeAddress(w, t.seen);
  return w.u16(t.keepAliveSeconds).u16(t.ttlSeconds).finish();
}

export function decodeRendezvousOk(payload: Buffer): RendezvousTerms {
  const r = new BinaryReader(payload);
  const seen = readAddress(r);
  const keepAliveSeconds = r.u16();
  const ttlSeconds = r.u16();
  r.end();
  if (keepAliveSeconds === 0 || ttlSeconds === 0) throw new WireFormatError("zero rendezvous timer");
  return { seen, keepAliveSeconds, ttlSeconds };
}

export function encodeForward(target: Buffer, inner: Buffer): Buffer {
  return new BinaryWriter().bytes(target).varBytes(inner).finish();
}

export function decodeForward(payload: Buffer): { target: Buffer; inner: Buffer } {
  const r = new BinaryReader(payload);
  const target = Buffer.from(r.bytes(ID_BYTES));
  const inner = Buffer.from(r.varBytes(MAX_INNER_BYTES));
  r.end();
  return { target, inner };
}

export function encodeRelayed(origin: HostPort, inner: Buffer): Buffer {
  const w = new BinaryWriter();
  writeAddress(w, origin);
  return w.varBytes(inner).finish();
}

export function decodeRelayed(payload: Buffer): { origin: HostPort; inner: Buffer } {
  const r = new BinaryReader(payload);
  const origin = readAddress(r);
  const inner = Buffer.from(r.varBytes(MAX_INNER_BYTES));
  r.end();
  return { origin, inner };
}

/** FORWARDED and RELAYED_REPLY: one inner datagram. */
export function encodeInner(inner: Buffer): Buffer {
  return new BinaryWriter().varBytes(inner).finish();
}

export function decodeInner(payload: Buffer): Buffer {
  const r = new BinaryReader(payload);
  const inner = Buffer.from(r.varBytes(MAX_DATAGRAM_BYTES));
  r.end();
  return inner;
}
