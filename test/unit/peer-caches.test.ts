// The process's caches keyed by peer (contacts, node IDs, X25519 keys, pair keys) stay at their
// bound however many peers come and go: the soak's fuzzing peers, each a fresh identity naming
// made-up contacts, grew a node's heap through the whole run while these held 16,384 entries each.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Identity } from "../../node-host/security/identity";
import { PairKeys } from "../../node-host/security/pair-keys";
import { BinaryReader } from "../../node-host/util/binary";
import { readContact, senderContact } from "../../node-host/transport/contact-codec";
import { exposedGc, heldMemory } from "../helpers/held-memory";

/** A contact's wire record for the n-th made-up peer (no crypto calls: they keep memory under the test runner). */
function wireOf(n: number): Buffer {
  const wire = Buffer.alloc(32 + 1 + 4 + 2);
  wire.writeUInt32BE(n, 0);
  wire.writeUInt32BE(Math.imul(n, 0x9e3779b1) >>> 0, 28);
  wire.writeUInt8(4, 32);
  wire.set([192, 0, 2, n & 0xff], 33);
  wire.writeUInt16BE(1024 + (n % 60_000), 37);
  return wire;
}

/** What a datagram from the n-th peer costs the caches: its contact decoded, its sender contact, its pair key. */
function meet(keys: PairKeys, n: number): void {
  const contact = readContact(new BinaryReader(wireOf(n)));
  senderContact(contact.publicKey, contact.host, contact.port);
  keys.keyFor(contact.publicKey);
}

test("peers met once do not pile up in the caches; a peer met again is still known", async () => {
  const gc = exposedGc();
  const me = Identity.generate();
  const keys = new PairKeys(me.seed(), me.publicKey);
  for (let n = 0; n < 2000; n++) meet(keys, n); // the caches full, the code warm
  const before = await heldMemory(gc);
  for (let n = 2000; n < 8000; n++) meet(keys, n);
  const grown = (await heldMemory(gc)) - before;
  assert.ok(grown < 1024 * 1024, `6,000 more peers met once left ${(grown / 1024).toFixed(0)} KiB (at 16,384 entries per cache: about 7 MiB)`);

  const again = readContact(new BinaryReader(wireOf(7999)));
  assert.equal(readContact(new BinaryReader(wireOf(7999))), again, "the latest peer's contact is interned");
});
