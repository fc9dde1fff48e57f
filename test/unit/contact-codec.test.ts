// Contacts on the wire: decoding interns them (the same node at the same address is the same
// object), and never mixes up nodes or addresses.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { BinaryReader, BinaryWriter } from "../../node-host/util/binary";
import { nodeIdFromPublicKey } from "../../node-host/dht/id";
import { Contact } from "../../node-host/dht/messages";
import { encodedContact, readContact, senderContact, writeContact } from "../../node-host/transport/contact-codec";

function roundTrip(c: Contact): Contact {
  const w = new BinaryWriter();
  writeContact(w, c);
  return readContact(new BinaryReader(w.finish()));
}

const contact = (host: string, port: number, publicKey = randomBytes(32)): Contact => ({ id: nodeIdFromPublicKey(publicKey), publicKey, host, port });

test("a decoded contact is the node encoded, and the same object when it comes again", () => {
  for (const host of ["192.0.2.7", "10.1.2.3", "2001:db8::1", "::1", "fe80::1:2"]) {
    const c = contact(host, 4242);
    const a = roundTrip(c);
    assert.deepEqual({ ...a }, { ...c });
    assert.equal(roundTrip(c), a, "interned");
  }
});

test("an IPv6 address comes back as Node writes a datagram's source, however it was written", () => {
  // the address a reply comes from (rinfo.address) must equal the host the node was asked at
  const cases: [string, string][] = [
    ["2001:db8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:DB8::0:1", "2001:db8::1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["fe80::1%eth0", "fe80::1"],
    ["::ffff:192.0.2.5", "192.0.2.5"],
  ];
  for (const [written, back] of cases) assert.equal(roundTrip(contact(written, 4242)).host, back, written);
});

test("the same key at another address, or another key at the same address, is another contact", () => {
  const key = randomBytes(32);
  const a = roundTrip(contact("192.0.2.1", 1000, key));
  const moved = roundTrip(contact("192.0.2.1", 1001, key));
  assert.notEqual(moved, a);
  assert.equal(moved.port, 1001);
  const other = roundTrip(contact("192.0.2.1", 1000));
  assert.ok(!other.publicKey.equals(a.publicKey));
  assert.equal(roundTrip(contact("192.0.2.1", 1000, key)).port, 1000);
});

test("a datagram's sender is the contact decoded for the same key and address", () => {
  const c = roundTrip(contact("192.0.2.9", 7000));
  assert.equal(senderContact(Buffer.from(c.publicKey), "192.0.2.9", 7000), c);
  const elsewhere = senderContact(Buffer.from(c.publicKey), "192.0.2.10", 7000);
  assert.equal(elsewhere.host, "192.0.2.10");
  assert.ok(elsewhere.id.equals(c.id));
});

test("thousands of contacts decode to themselves (no mix-up through the caches)", () => {
  const all = Array.from({ length: 20_000 }, (_, i) => contact(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 1 + (i % 60000)));
  for (const c of all) {
    const d = roundTrip(c);
    assert.ok(d.publicKey.equals(c.publicKey) && d.host === c.host && d.port === c.port);
  }
});

test("the encodings and keys kept with contacts are memory of their own, not views of the shared buffer pool's slabs", () => {
  const made: Contact = { id: Buffer.alloc(0), publicKey: randomBytes(32), host: "192.0.2.7", port: 7420 };
  made.id = nodeIdFromPublicKey(made.publicKey);
  const wire = encodedContact(made);
  assert.equal(wire.buffer.byteLength, wire.length, "a locally made contact's cached encoding");
  const w = new BinaryWriter();
  writeContact(w, { ...made, publicKey: randomBytes(32) });
  const read = readContact(new BinaryReader(w.finish()));
  assert.equal(read.publicKey.buffer.byteLength, 32, "a decoded contact's key");
  assert.equal(encodedContact(read).buffer.byteLength, encodedContact(read).length, "a decoded contact's encoding");
});
