// The signed envelope every UDP datagram travels in:
//
//   magic "PS" | version u8 | type u8 | txid 8 | timestamp u64 (ms) | sender public key 32 |
//   payload length u16 | payload | Ed25519 signature 64 (over everything before it)
//
// The sender's node ID is SHA-256 of the public key, so a datagram can never claim an ID its key
// does not hash to.

import { BinaryReader, BinaryWriter, WireFormatError } from "../util/binary";
import { Identity, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "../security/identity";

export const MAX_DATAGRAM_BYTES = 1200;
export const PROTOCOL_VERSION = 1;
const MAGIC = 0x5053; // "PS"
export const ENVELOPE_OVERHEAD = 2 + 1 + 1 + 8 + 8 + PUBLIC_KEY_BYTES + 2 + SIGNATURE_BYTES;
export const MAX_PAYLOAD_BYTES = MAX_DATAGRAM_BYTES - ENVELOPE_OVERHEAD;

export interface Envelope {
  type: number;
  txid: Buffer;
  timestamp: number;
  publicKey: Buffer;
  payload: Buffer;
  /** The bytes the signature covers. */
  signed: Buffer;
  signature: Buffer;
}

export function sealEnvelope(identity: Identity, type: number, txid: Buffer, timestamp: number, payload: Buffer): Buffer {
  if (payload.length > MAX_PAYLOAD_BYTES) throw new RangeError(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  const signed = new BinaryWriter()
    .u16(MAGIC)
    .u8(PROTOCOL_VERSION)
    .u8(type)
    .bytes(txid)
    .u64(timestamp)
    .bytes(identity.publicKey)
    .varBytes(payload)
    .finish();
  return Buffer.concat([signed, identity.sign(signed)]);
}

/** Parses a datagram's structure. The caller checks the signature, freshness and replay. */
export function openEnvelope(datagram: Buffer): Envelope {
  if (datagram.length > MAX_DATAGRAM_BYTES) throw new WireFormatError("oversized");
  const r = new BinaryReader(datagram);
  if (r.u16() !== MAGIC) throw new WireFormatError("bad magic");
  const version = r.u8();
  if (version !== PROTOCOL_VERSION) throw new WireFormatError(`unsupported version ${version}`);
  const type = r.u8();
  const txid = r.bytes(8);
  const timestamp = r.u64();
  const publicKey = r.bytes(PUBLIC_KEY_BYTES);
  const payload = r.varBytes(MAX_PAYLOAD_BYTES);
  const signedLength = datagram.length - r.remaining;
  const signature = r.bytes(SIGNATURE_BYTES);
  r.end();
  return { type, txid, timestamp, publicKey, payload, signed: datagram.subarray(0, signedLength), signature };
}
