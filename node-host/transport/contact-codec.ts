// Contacts on the wire: public key (32) | family (4 or 6) | address (4 or 16) | port (u16).
//
// Replies carry up to 20 contacts each, nearly all of them nodes this process has seen before, and
// every datagram names its sender. Decoding interns them: a node at the same address comes back as
// the same Contact object, so a reply costs no key copies, no ID hashing and no address strings,
// and the routing table does not keep a fresh 32-byte slice of Node's shared buffer pool per
// contact (each such slice kept a whole 8 KiB pool slab alive: tens of MiB over 100 nodes). Contact
// objects are never changed after they are made; a node at a new address is a new object. Each
// contact's encoding is cached beside it, so encoding a reply copies bytes.

import * as net from "node:net";
import { BinaryReader, BinaryWriter, WireFormatError } from "../util/binary";
import { nodeIdFromPublicKey } from "../dht/id";
import { Contact } from "../dht/messages";
import { PUBLIC_KEY_BYTES } from "../security/identity";
import { RecentCache } from "../util/recent-cache";

/** Latest contact seen per public key (latin1), across every transport in the process. */
const interned = new RecentCache<string, Contact>(16_384);
const encodings = new WeakMap<Contact, Buffer>();

function ipv6ToBytes(host: string): Buffer {
  const [head, tail = ""] = host.split("::");
  const parse = (s: string) => (s ? s.split(":").map((h) => parseInt(h, 16)) : []);
  const a = parse(head);
  const b = parse(tail);
  const groups = host.includes("::") ? [...a, ...new Array(8 - a.length - b.length).fill(0), ...b] : a;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g & 0xffff, i * 2));
  return out;
}

function bytesToIpv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(":");
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
  wire = w.u16(c.port).finish();
  encodings.set(c, wire);
  return wire;
}

export function writeContact(w: BinaryWriter, c: Contact): void {
  w.bytes(encodedContact(c));
}

/** A copy of `bytes` in memory of its own (not a slice of the shared pool that would pin a slab). */
function ownCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

function makeContact(publicKeyView: Buffer, host: string, port: number, wire?: Buffer): Contact {
  const publicKey = ownCopy(publicKeyView);
  const contact: Contact = { id: nodeIdFromPublicKey(publicKey), publicKey, host, port };
  if (wire) encodings.set(contact, ownCopy(wire));
  interned.set(publicKey.toString("latin1"), contact);
  return contact;
}

function sameAddress(wire: Buffer, family: number, address: Buffer, port: number): boolean {
  if (wire[PUBLIC_KEY_BYTES] !== family || wire.length !== PUBLIC_KEY_BYTES + 1 + address.length + 2) return false;
  for (let i = 0; i < address.length; i++) if (wire[PUBLIC_KEY_BYTES + 1 + i] !== address[i]) return false;
  return wire.readUInt16BE(wire.length - 2) === port;
}

export function readContact(r: BinaryReader): Contact {
  const publicKey = r.bytes(PUBLIC_KEY_BYTES);
  const family = r.u8();
  if (family !== 4 && family !== 6) throw new WireFormatError(`unknown address family ${family}`);
  const address = r.bytes(family === 4 ? 4 : 16);
  const port = r.u16();
  if (port === 0) throw new WireFormatError("port 0");
  const known = interned.get(publicKey.toString("latin1"));
  if (known && sameAddress(encodedContact(known), family, address, port)) return known;
  const host = family === 4 ? `${address[0]}.${address[1]}.${address[2]}.${address[3]}` : bytesToIpv6(address);
  return makeContact(publicKey, host, port, Buffer.concat([publicKey, Buffer.of(family), address, Buffer.of(port >> 8, port & 0xff)]));
}

/** The contact for an authenticated datagram's sender: its key, and the address it came from. */
export function senderContact(publicKey: Buffer, host: string, port: number): Contact {
  const known = interned.get(publicKey.toString("latin1"));
  if (known && known.port === port && known.host === host) return known;
  return makeContact(publicKey, host, port);
}
