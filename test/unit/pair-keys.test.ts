// Pair keys: both ends derive the same MAC key, and it is the key the previous release derived
// (DER import and node:crypto's HKDF), so nodes of both releases keep authenticating each other.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from "node:crypto";
import { Identity } from "../../node-host/security/identity";
import { montgomeryPublicKey, montgomerySecret, PairKeys } from "../../node-host/security/pair-keys";

function referenceKey(own: Identity, peer: Identity): Buffer {
  const secret = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), montgomerySecret(own.seed())]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b656e032100", "hex"), montgomeryPublicKey(peer.publicKey)]), format: "der", type: "spki" });
  const shared = diffieHellman({ privateKey: secret, publicKey });
  const [a, b] = Buffer.compare(own.publicKey, peer.publicKey) < 0 ? [own.publicKey, peer.publicKey] : [peer.publicKey, own.publicKey];
  return Buffer.from(hkdfSync("sha256", shared, Buffer.from("peershare/udp-mac/v1"), Buffer.concat([a, b]), 32));
}

test("both ends derive the same pair key, the one the previous release derived", () => {
  for (let i = 0; i < 20; i++) {
    const alice = Identity.generate();
    const bob = Identity.generate();
    const fromAlice = new PairKeys(alice.seed(), alice.publicKey).keyFor(bob.publicKey);
    const fromBob = new PairKeys(bob.seed(), bob.publicKey).keyFor(alice.publicKey);
    assert.ok(fromAlice && fromBob);
    assert.deepEqual(fromAlice, fromBob);
    assert.deepEqual(fromAlice, referenceKey(alice, bob));
  }
});

test("a public key that is not a usable point gets no pair key", () => {
  const alice = Identity.generate();
  const keys = new PairKeys(alice.seed(), alice.publicKey);
  assert.equal(keys.keyFor(Buffer.alloc(32)), null, "y = 0 maps to a low-order point");
  assert.equal(keys.keyFor(Buffer.alloc(32, 0xff)), null, "y >= p is not a field element");
});
