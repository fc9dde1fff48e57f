// Contacts on the wire: public key (32) | family (4 or 6) | address (4 or 16) | port (u16).
//
// Replies carry up to 25 contacts each, nearly all of them nodes this process has seen before, and
// every datagram names its sender. Decoding interns them: a node at the same address comes back as
// the same Contact object, so a reply costs no key copies, no ID hashing and no address strings,
// and the routing table does not keep a fresh 32-byte slice of Node's shared buffer pool per
// contact (each such slice kept a whole 8 KiB pool slab alive: tens of MiB over 100 nodes). Contact
// objects are never changed after they are made; a node at a new address is a new object. Each
// contact's encoding is cached beside it, so encoding a reply copies bytes. An IPv6 address is
// written back as Node writes a datagram's source (RFC 5952's short form), so that the reply of a
// node learned from someone's answer comes from the very address it was asked at.

import * as net from "node:net";
import { BinaryReader, BinaryWriter, WireFormatError } from "../util/binary";
import { nodeIdFromPublicKey } from "../dht/id";
import { Contact } from "../dht/messages";
import { PUBLIC_KEY_BYTES } from "../security/identity";
import { PEER_CACHE_ENTRIES, RecentCache } from "../util/recent-cache";
import { ownCopy } from "../util/own-bytes";
import { ipBytes, ipText, unmapIpv4 } from "../util/ip-address";

// Both maps are keyed by a hash of the bytes (a small integer: no string to build per contact of
// every reply) and checked against the bytes on a hit; a collision is a miss.
/** Latest contact seen per public key, across every transport in the process. */
const byKey = new RecentCache<number, Contact>(PEER_CACHE_ENTRIES);
/** Contacts by their whole wire record: what a reply's contacts are looked up by. */
const byRecord = new RecentCache<number, Contact>(PEER_CACHE_ENTRIES);

/** FNV-1a of buf[start, end), cut to a small integer. */
function hashOf(buf: Buffer, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h & 0x3fffffff;
}

/** Whether `buf` holds the bytes of `part` at `start`. */
function holds(buf: Buffer, start: number, part: Buffer): boolean {
  if (start + part.length > buf.length) return false;
  for (let i = 0; i < part.length; i++) if (buf[start + i] !== part[i]) return false;
  return true;
}
const encodings = new WeakMap<Contact, Buffer>();

/**
 * An IPv6 host's 16 bytes. A zone index (fe80::1%eth0) means nothing to another machine and is left
 * out.
 */
function ipv6ToBytes(host: string): Buffer {
  const bytes = ipBytes(host.split("%")[0]);
  if (!bytes || bytes.length !== 16) throw new WireFormatError(`not an IPv6 address: ${host}`);
  return bytes;
}

/** The contact's wire form (cached per contact object). */
export function encodedContact(c: Contact): Buffer {
  let wire = encodings.get(c);
  if (wire) return wire;
  const w = new BinaryWriter().bytes(c.publicKey);
  if (net.isIPv6(c.host)) w.u8(6).bytes(ipv6ToBytes(c.host));
  else {
    w.u8(4);
    for (const part of c.host.split(".")) w.u8(Number(part));
  }
  wire = ownCopy(w.u16(c.port).finish()); // kept as long as the contact: not a view of a pool slab
  encodings.set(c, wire);
  return wire;
}

export function writeContact(w: BinaryWriter, c: Contact): void {
  w.bytes(encodedContact(c));
}

function makeContact(publicKeyView: Buffer, host: string, port: number, wire?: Buffer): Contact {
  const publicKey = ownCopy(publicKeyView);
  const contact: Contact = { id: nodeIdFromPublicKey(publicKey), publicKey, host, port };
  if (wire) encodings.set(contact, ownCopy(wire));
  byKey.set(hashOf(publicKey, 0, PUBLIC_KEY_BYTES), contact);
  return contact;
}

export function readContact(r: BinaryReader): Contact {
  const start = r.skip(PUBLIC_KEY_BYTES + 1);
  const buf = r.buffer;
  const family = buf[start + PUBLIC_KEY_BYTES];
  if (family !== 4 && family !== 6) throw new WireFormatError(`unknown address family ${family}`);
  const addressAt = r.skip(family === 4 ? 4 : 16);
  const port = r.u16();
  if (port === 0) throw new WireFormatError("port 0");
  const end = addressAt + (family === 4 ? 4 : 16) + 2;
  const recordHash = hashOf(buf, start, end);
  const seen = byRecord.get(recordHash);
  if (seen && holds(buf, start, encodedContact(seen))) return seen;
  // the same node at the same address may be known already, from its own datagrams
  const known = byKey.get(hashOf(buf, start, start + PUBLIC_KEY_BYTES));
  let contact: Contact;
  if (known && holds(buf, start, encodedContact(known))) contact = known;
  else {
    const address = buf.subarray(addressAt, addressAt + (family === 4 ? 4 : 16));
    const host = family === 4 ? `${address[0]}.${address[1]}.${address[2]}.${address[3]}` : unmapIpv4(ipText(address));
    contact = makeContact(buf.subarray(start, start + PUBLIC_KEY_BYTES), host, port, buf.subarray(start, end));
  }
  byRecord.set(recordHash, contact);
  return contact;
}

/** The contact for an authenticated datagram's sender: its key, and the address it came from. */
export function senderContact(publicKey: Buffer, host: string, port: number): Contact {
  const known = byKey.get(hashOf(publicKey, 0, PUBLIC_KEY_BYTES));
  if (known && known.port === port && known.host === host && holds(publicKey, 0, known.publicKey)) return known;
  return makeContact(publicKey, host, port);
}
