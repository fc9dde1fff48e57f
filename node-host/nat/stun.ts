// STUN (RFC 8489) Binding messages: what a node needs to learn the address its NAT maps it to, and
// to tell that address to others who ask, on the same UDP port as its DHT datagrams.
//
//   0                   1                   2                   3
//   |0 0|   message type (14 bits)  |   length of the attributes    |
//   |                  magic cookie 0x2112A442                      |
//   |                  transaction ID (96 bits)                     |
//   | attributes: type u16, length u16, value, padded to 4 bytes …   |
//
// The DHT's datagrams start with "PS" (0x50 0x53): their first two bits are 01, never 00, so
// isStunMessage() tells the two apart at a glance. Decoding never throws: a malformed message is
// null. Only the Binding method is spoken; no authentication (MESSAGE-INTEGRITY is not checked:
// a mapped address is a hint that the DHT's own signed traffic confirms or not).

import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { ipBytes, ipText, unmapIpv4 } from "../util/ip-address";

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_BYTES = 20;
export const TRANSACTION_ID_BYTES = 12;

/** Message types (method and class interleaved, RFC 8489 §5). */
export const BINDING_REQUEST = 0x0001;
export const BINDING_INDICATION = 0x0011;
export const BINDING_SUCCESS = 0x0101;
export const BINDING_ERROR = 0x0111;

const ATTR_MAPPED_ADDRESS = 0x0001;
const ATTR_MESSAGE_INTEGRITY = 0x0008;
const ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001c;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_SOFTWARE = 0x8022;
const ATTR_FINGERPRINT = 0x8028;
const FINGERPRINT_XOR = 0x5354554e;
const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;
/** SOFTWARE holds fewer than 128 characters, at most 763 bytes of UTF-8 (RFC 8489 §14.14). */
const MAX_SOFTWARE_CHARS = 127;
const MAX_SOFTWARE_BYTES = 763;

/**
 * The largest Binding success response bindingResponseFor() builds: header, an IPv6
 * XOR-MAPPED-ADDRESS and a FINGERPRINT. With a 20-byte request that is at most 2.6 times the
 * bytes asked for, to the requester's own address only: no use to an amplification attack.
 */
export const MAX_BINDING_RESPONSE_BYTES = HEADER_BYTES + 4 + 20 + 8;

/** A transport address as STUN carries it. */
export interface StunAddress {
  family: 4 | 6;
  address: string;
  port: number;
}

export interface StunMessage {
  /** The 14-bit message type: BINDING_REQUEST, BINDING_SUCCESS, … (other methods decode too). */
  type: number;
  transactionId: Buffer;
  /** XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from a server that sends only that (RFC 3489 style). */
  mappedAddress?: StunAddress;
  software?: string;
  /** A FINGERPRINT was present (and, since the message decoded, matched). */
  fingerprint: boolean;
  /**
   * Comprehension-required attribute types (below 0x8000) this codec does not interpret, in order:
   * a server answers such a request with an error, and a client discards such a response.
   */
  unknownRequired: number[];
}

export interface EncodeOptions {
  /** A SOFTWARE attribute naming the agent: under 128 characters. */
  software?: string;
}

/** A fresh random 96-bit transaction ID. */
export function newTransactionId(): Buffer {
  return randomBytes(TRANSACTION_ID_BYTES);
}

/**
 * Whether a datagram is framed as a STUN message: first two bits 0, the magic cookie in bytes 4–7,
 * and a length that is a multiple of 4 and covers exactly the rest of the datagram.
 */
export function isStunMessage(buf: Uint8Array): boolean {
  if (buf.length < HEADER_BYTES || (buf[0] & 0xc0) !== 0) return false;
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const length = view.readUInt16BE(2);
  return view.readUInt32BE(4) === MAGIC_COOKIE && length % 4 === 0 && HEADER_BYTES + length === buf.length;
}

/** A Binding request, with a FINGERPRINT. */
export function encodeBindingRequest(transactionId: Buffer, options: EncodeOptions = {}): Buffer {
  return encode(BINDING_REQUEST, transactionId, softwareAttrs(options));
}

/** A Binding success response telling the requester the address its request came from, with a FINGERPRINT. */
export function encodeBindingSuccess(transactionId: Buffer, mapped: StunAddress, options: EncodeOptions = {}): Buffer {
  return encode(BINDING_SUCCESS, transactionId, [...softwareAttrs(options), [ATTR_XOR_MAPPED_ADDRESS, xorAddress(mapped, transactionId)]]);
}

/**
 * What a node answers to a datagram it recognised as STUN (isStunMessage) from `source`: a Binding
 * success response naming that source, or null when no answer is due (not a well-formed Binding
 * request, or one with attributes it must understand and does not). The caller MUST send the
 * response to `source` itself and nowhere else (an address named inside a request would turn the
 * node into a reflector), and should rate-limit per source like any other request.
 */
export function bindingResponseFor(request: Buffer, source: { address: string; port: number }): Buffer | null {
  const msg = decodeStun(request);
  if (!msg || msg.type !== BINDING_REQUEST || msg.unknownRequired.length > 0) return null;
  const address = unmapIpv4(source.address); // an IPv4 peer of a dual-stack socket
  const family = net.isIPv4(address) ? 4 : net.isIPv6(address) ? 6 : null;
  if (family === null || address.includes("%") || !isPort(source.port)) return null;
  return encodeBindingSuccess(msg.transactionId, { family, address, port: source.port });
}

/** Decodes a STUN message; null when it is malformed or its FINGERPRINT does not match. */
export function decodeStun(buf: Buffer): StunMessage | null {
  if (!isStunMessage(buf)) return null;
  const msg: StunMessage = { type: buf.readUInt16BE(0), transactionId: Buffer.from(buf.subarray(8, HEADER_BYTES)), fingerprint: false, unknownRequired: [] };
  let mapped: StunAddress | undefined;
  let xorMapped: StunAddress | undefined;
  let integrityAt = -1; // attributes after MESSAGE-INTEGRITY are ignored, bar FINGERPRINT (RFC 8489 §14.5)
  for (let at = HEADER_BYTES; at < buf.length; ) {
    if (msg.fingerprint) return null; // FINGERPRINT must be the last attribute
    if (at + 4 > buf.length) return null;
    const type = buf.readUInt16BE(at);
    const length = buf.readUInt16BE(at + 2);
    const start = at + 4;
    const end = start + length;
    if (end > buf.length) return null;
    const value = buf.subarray(start, end);
    at = start + padded(length);
    if (type === ATTR_FINGERPRINT) {
      if (length !== 4 || value.readUInt32BE(0) !== fingerprintOf(buf, start - 4)) return null;
      msg.fingerprint = true;
    } else if (integrityAt >= 0 && type !== ATTR_MESSAGE_INTEGRITY_SHA256) {
      continue;
    } else if (type === ATTR_XOR_MAPPED_ADDRESS) {
      xorMapped ??= readAddress(value, msg.transactionId, true) ?? undefined;
      if (!xorMapped) return null;
    } else if (type === ATTR_MAPPED_ADDRESS) {
      mapped ??= readAddress(value, msg.transactionId, false) ?? undefined;
      if (!mapped) return null;
    } else if (type === ATTR_SOFTWARE) {
      if (length > MAX_SOFTWARE_BYTES) return null;
      msg.software = value.toString("utf8");
    } else {
      if (type === ATTR_MESSAGE_INTEGRITY) integrityAt = start;
      if (type < 0x8000 && msg.unknownRequired.length < 16) msg.unknownRequired.push(type);
    }
  }
  const address = xorMapped ?? mapped;
  if (address) msg.mappedAddress = address;
  return msg;
}

// ---- encoding ---------------------------------------------------------------

type Attribute = [type: number, value: Buffer];

function softwareAttrs(options: EncodeOptions): Attribute[] {
  if (options.software === undefined) return [];
  const chars = [...options.software].length;
  const value = Buffer.from(options.software, "utf8");
  if (chars > MAX_SOFTWARE_CHARS || value.length > MAX_SOFTWARE_BYTES) throw new RangeError("SOFTWARE must be under 128 characters");
  return [[ATTR_SOFTWARE, value]];
}

/** The message with its attributes (zero-padded) and a FINGERPRINT last. */
function encode(type: number, transactionId: Buffer, attributes: Attribute[]): Buffer {
  if (transactionId.length !== TRANSACTION_ID_BYTES) throw new RangeError(`a transaction ID has ${TRANSACTION_ID_BYTES} bytes`);
  const bodyBytes = attributes.reduce((n, [, v]) => n + 4 + padded(v.length), 0) + 8;
  const out = Buffer.alloc(HEADER_BYTES + bodyBytes);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(bodyBytes, 2);
  out.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(out, 8);
  let at = HEADER_BYTES;
  for (const [attrType, value] of attributes) {
    out.writeUInt16BE(attrType, at);
    out.writeUInt16BE(value.length, at + 2);
    value.copy(out, at + 4);
    at += 4 + padded(value.length);
  }
  out.writeUInt16BE(ATTR_FINGERPRINT, at);
  out.writeUInt16BE(4, at + 2);
  out.writeUInt32BE(fingerprintOf(out, at), at + 4);
  return out;
}

/** (XOR-)MAPPED-ADDRESS's value: a zero byte, the family, the port, the address. */
function xorAddress(a: StunAddress, transactionId: Buffer): Buffer {
  if (!isPort(a.port)) throw new RangeError(`bad port ${a.port}`);
  const raw = ipBytes(a.address);
  if (raw?.length !== (a.family === 4 ? 4 : 16)) throw new RangeError(`not an IPv${a.family} address: ${a.address}`);
  const out = Buffer.alloc(4 + raw.length);
  out[1] = a.family === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  out.writeUInt16BE(a.port ^ (MAGIC_COOKIE >>> 16), 2);
  xorInto(raw, xorKey(transactionId)).copy(out, 4);
  return out;
}

// ---- decoding ---------------------------------------------------------------

function readAddress(value: Buffer, transactionId: Buffer, xored: boolean): StunAddress | null {
  if (value.length < 4) return null;
  const family = value[1] === FAMILY_IPV4 ? 4 : value[1] === FAMILY_IPV6 ? 6 : null;
  if (family === null || value.length !== 4 + (family === 4 ? 4 : 16)) return null;
  const port = value.readUInt16BE(2) ^ (xored ? MAGIC_COOKIE >>> 16 : 0);
  let raw = value.subarray(4);
  if (xored) raw = xorInto(Buffer.from(raw), xorKey(transactionId));
  return { family, address: ipText(raw), port };
}

// ---- helpers ----------------------------------------------------------------

function padded(length: number): number {
  return (length + 3) & ~3;
}

function isPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port < 65536;
}

/** The magic cookie then the transaction ID: what X-Address is XORed with (an IPv4 one uses the first 4 bytes). */
function xorKey(transactionId: Buffer): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(key, 4);
  return key;
}

function xorInto(bytes: Buffer, key: Buffer): Buffer {
  for (let i = 0; i < bytes.length; i++) bytes[i] ^= key[i];
  return bytes;
}

/**
 * FINGERPRINT's value for a message whose FINGERPRINT attribute starts at `at`: CRC-32 of the
 * bytes before it, with the header's length counting up to the FINGERPRINT's end, XOR 0x5354554e.
 */
function fingerprintOf(message: Buffer, at: number): number {
  const covered = Buffer.from(message.subarray(0, at));
  covered.writeUInt16BE(at + 8 - HEADER_BYTES, 2);
  return (crc32(covered) ^ FINGERPRINT_XOR) >>> 0;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO-HDLC, as in zlib), computed here: zlib.crc32 is missing from Node before 20.15. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
