// The relay's handshake on a node's TCP port, told apart from TLS by its first four bytes:
//
//   "PSR1" | kind u8 (1 connect, 2 accept) | length u16 | body
//   connect body: requester public key 32 | target node ID 32 | token 16 | timestamp u64
//                 | u8 count, memberships (u16 length each) | signature 64
//   accept body:  acceptor public key 32 | token 16 | timestamp u64 | signature 64
//
// Each side signs its header with the relay's node ID in front (so a header cannot be replayed to
// another relay); the relay answers one status byte (0 ok, else refused), then only passes bytes
// through: the two ends run TLS between themselves over it and prove their identities end to end.

import { ID_BYTES } from "../dht/id";
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "../security/identity";
import { BinaryReader, BinaryWriter, WireFormatError } from "../util/binary";

export const RELAY_MAGIC = Buffer.from("PSR1");
export const TOKEN_BYTES = 16;
export const MAX_RELAY_HEADER_BYTES = 8 * 1024;
const MAX_MEMBERSHIPS = 16;
const MAX_MEMBERSHIP_BYTES = 1024;
const SIGNING_CONTEXT = Buffer.from("peershare relay v1\0");

export const RelayStatus = { ok: 0, refused: 1, busy: 2, noPeer: 3 } as const;

export interface ConnectHeader {
  kind: "connect";
  publicKey: Buffer;
  target: Buffer;
  token: Buffer;
  timestamp: number;
  memberships: Buffer[];
  signature: Buffer;
}

export interface AcceptHeader {
  kind: "accept";
  publicKey: Buffer;
  token: Buffer;
  timestamp: number;
  signature: Buffer;
}

export type RelayHeader = ConnectHeader | AcceptHeader;

/** The header's body without its signature: what is signed, after the context and the relay's ID. */
function unsignedBody(h: Omit<ConnectHeader, "signature"> | Omit<AcceptHeader, "signature">): Buffer {
  const w = new BinaryWriter().bytes(h.publicKey);
  if (h.kind === "connect") {
    w.bytes(h.target).bytes(h.token).u64(h.timestamp).u8(h.memberships.length);
    for (const m of h.memberships) w.varBytes(m);
  } else {
    w.bytes(h.token).u64(h.timestamp);
  }
  return w.finish();
}

/** What the signature covers. */
export function signedPart(relay: Buffer, h: Omit<ConnectHeader, "signature"> | Omit<AcceptHeader, "signature">): Buffer {
  return Buffer.concat([SIGNING_CONTEXT, relay, unsignedBody(h)]);
}

export function encodeRelayHeader(h: RelayHeader): Buffer {
  const body = Buffer.concat([unsignedBody(h), h.signature]);
  const head = Buffer.alloc(7);
  RELAY_MAGIC.copy(head, 0);
  head[4] = h.kind === "connect" ? 1 : 2;
  head.writeUInt16BE(body.length, 5);
  return Buffer.concat([head, body]);
}

/** The header's total length once its first 7 bytes are in, or null when they are not a relay header. */
export function relayHeaderLength(first: Buffer): number | null {
  if (first.length < 7 || !first.subarray(0, 4).equals(RELAY_MAGIC)) return null;
  const length = 7 + first.readUInt16BE(5);
  return length <= MAX_RELAY_HEADER_BYTES ? length : null;
}

export function decodeRelayHeader(bytes: Buffer): RelayHeader {
  const r = new BinaryReader(bytes);
  if (!r.bytes(4).equals(RELAY_MAGIC)) throw new WireFormatError("not a relay header");
  const kind = r.u8();
  if (r.u16() !== r.remaining) throw new WireFormatError("relay header length");
  const publicKey = Buffer.from(r.bytes(PUBLIC_KEY_BYTES));
  let header: RelayHeader;
  if (kind === 1) {
    const target = Buffer.from(r.bytes(ID_BYTES));
    const token = Buffer.from(r.bytes(TOKEN_BYTES));
    const timestamp = r.u64();
    const n = r.u8();
    if (n > MAX_MEMBERSHIPS) throw new WireFormatError("too many memberships");
    const memberships = Array.from({ length: n }, () => Buffer.from(r.varBytes(MAX_MEMBERSHIP_BYTES)));
    header = { kind: "connect", publicKey, target, token, timestamp, memberships, signature: Buffer.from(r.bytes(SIGNATURE_BYTES)) };
  } else if (kind === 2) {
    const token = Buffer.from(r.bytes(TOKEN_BYTES));
    const timestamp = r.u64();
    header = { kind: "accept", publicKey, token, timestamp, signature: Buffer.from(r.bytes(SIGNATURE_BYTES)) };
  } else {
    throw new WireFormatError(`unknown relay header kind ${kind}`);
  }
  r.end();
  return header;
}
