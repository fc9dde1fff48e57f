// The authenticated envelope every UDP datagram travels in:
//
//   magic "PS" | version u8 | auth u8 | type u8 | txid 8 | timestamp u64 (ms) | sender public key 32 |
//   payload length u16 | payload | tag
//
// The tag covers everything before it. It is an Ed25519 signature (64 bytes, auth = 0) when the
// sender does not know the receiver's key yet (a bootstrap ping), and otherwise an HMAC-SHA256
// truncated to 16 bytes (auth = 1) under the pair key both nodes derive from their identities
// (security/pair-keys.ts). The sender's node ID is SHA-256 of its public key, so a datagram can
// never claim an ID its key does not hash to.

import { BinaryReader, WireFormatError } from "../util/binary";
import { Identity, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "../security/identity";
import { MAC_BYTES, macOf } from "../security/pair-keys";

export const MAX_DATAGRAM_BYTES = 1200;
export const PROTOCOL_VERSION = 1;
const MAGIC = 0x5053; // "PS"
const HEADER_BYTES = 2 + 1 + 1 + 1 + 8 + 8 + PUBLIC_KEY_BYTES + 2;
const ENVELOPE_OVERHEAD = HEADER_BYTES + SIGNATURE_BYTES;
/** The largest payload, sized for the longer (signature) tag so any message fits either way. */
export const MAX_PAYLOAD_BYTES = MAX_DATAGRAM_BYTES - ENVELOPE_OVERHEAD;

export type AuthKind = "signature" | "mac";
const AUTH_CODES: Record<AuthKind, number> = { signature: 0, mac: 1 };

export interface Envelope {
  auth: AuthKind;
  type: number;
  txid: Buffer;
  timestamp: number;
  publicKey: Buffer;
  payload: Buffer;
  /** The bytes the tag covers. */
  signed: Buffer;
  tag: Buffer;
}

/**
 * Seals a datagram: with a MAC when `pairKey` is given, else with an Ed25519 signature. Written in
 * place into one buffer of the datagram's size (a growing writer, then a copy for the tag, cost
 * more than the MAC itself).
 */
export function sealEnvelope(identity: Identity, type: number, txid: Buffer, timestamp: number, payload: Buffer, pairKey?: Buffer | null): Buffer {
  if (payload.length > MAX_PAYLOAD_BYTES) throw new RangeError(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  const signedLength = HEADER_BYTES + payload.length;
  const datagram = Buffer.allocUnsafe(signedLength + (pairKey ? MAC_BYTES : SIGNATURE_BYTES));
  let at = datagram.writeUInt16BE(MAGIC, 0);
  at = datagram.writeUInt8(PROTOCOL_VERSION, at);
  at = datagram.writeUInt8(pairKey ? AUTH_CODES.mac : AUTH_CODES.signature, at);
  at = datagram.writeUInt8(type, at);
  at += txid.copy(datagram, at, 0, 8);
  at = datagram.writeBigUInt64BE(BigInt(timestamp), at);
  at += identity.publicKey.copy(datagram, at);
  at = datagram.writeUInt16BE(payload.length, at);
  payload.copy(datagram, at);
  const signed = datagram.subarray(0, signedLength);
  (pairKey ? macOf(pairKey, signed) : identity.sign(signed)).copy(datagram, signedLength);
  return datagram;
}

/** Parses a datagram's structure. The caller checks the tag, freshness and replay. */
export function openEnvelope(datagram: Buffer): Envelope {
  if (datagram.length > MAX_DATAGRAM_BYTES) throw new WireFormatError("oversized");
  const r = new BinaryReader(datagram);
  if (r.u16() !== MAGIC) throw new WireFormatError("bad magic");
  const version = r.u8();
  if (version !== PROTOCOL_VERSION) throw new WireFormatError(`unsupported version ${version}`);
  const authCode = r.u8();
  if (authCode !== AUTH_CODES.signature && authCode !== AUTH_CODES.mac) throw new WireFormatError(`unknown auth ${authCode}`);
  const auth: AuthKind = authCode === AUTH_CODES.mac ? "mac" : "signature";
  const type = r.u8();
  const txid = r.bytes(8);
  const timestamp = r.u64();
  const publicKey = r.bytes(PUBLIC_KEY_BYTES);
  const payload = r.varBytes(MAX_PAYLOAD_BYTES);
  const signedLength = datagram.length - r.remaining;
  const tag = r.bytes(auth === "mac" ? MAC_BYTES : SIGNATURE_BYTES);
  r.end();
  return { auth, type, txid, timestamp, publicKey, payload, signed: datagram.subarray(0, signedLength), tag };
}
