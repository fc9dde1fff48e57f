// The set that remembers its members for a time (util/timed-set.ts), as the signature memos use it
// (and as the UDP replay window did, whose figures these tests keep): what it remembers, for how
// long, and how much.

import { test } from "node:test";
import assert from "node:assert/strict";
import { TimedSet } from "../../node-host/util/timed-set";
import { Identity, SignatureVerifier } from "../../node-host/security/identity";
import { randomBytes } from "node:crypto";
import { nodeIdFromPublicKey } from "../../node-host/dht/id";
import { createProviderRecord, createValueRecord, validateProviderRecord, validateValueRecord } from "../../node-host/dht/records";

const FRESH_MS = 30_000;
/** The replay window's keep time: twice the freshness window (udp-rpc.ts). */
const KEEP_MS = 2 * FRESH_MS;

test("a datagram is remembered for twice the freshness window (as long as a copy could pass the timestamp check), then forgotten", () => {
  const w = new TimedSet(1000, KEEP_MS);
  w.add("a", 1_000_000);
  assert.ok(w.has("a", 1_000_000 + 2 * FRESH_MS), "a replay at the last moment its timestamp could pass is caught");
  assert.ok(!w.has("b", 1_000_000));
  assert.ok(!w.has("a", 1_000_000 + 2 * FRESH_MS + 1), "lapsed");
});

test("steady traffic holds the window at what one window's traffic takes, far below the capacity", () => {
  const w = new TimedSet(65_536, KEEP_MS);
  let now = 1_000_000;
  // 100 datagrams a second for 20 minutes
  for (let i = 0; i < 120_000; i++) {
    now += 10;
    w.add(`d${i}`, now);
  }
  assert.ok(w.size <= (2 * FRESH_MS) / 10 + 1, `holds ${w.size}: one 60 s window's worth (6,001 at most)`);
  assert.ok(w.has("d119999", now) && w.has(`d${120_000 - 6000}`, now), "the last minute's datagrams are all still caught");
});

test("a flood is bounded by the capacity, oldest forgotten first", () => {
  const w = new TimedSet(100, KEEP_MS);
  for (let i = 0; i < 1000; i++) w.add(`d${i}`, 5000);
  assert.equal(w.size, 100);
  assert.ok(w.has("d999", 5000) && w.has("d900", 5000) && !w.has("d899", 5000));
});

test("a clock that stepped back keeps entries longer, never shorter", () => {
  const w = new TimedSet(1000, KEEP_MS);
  w.add("before-step", 100_000);
  w.add("after-step", 40_000); // the clock went back a minute
  w.add("later", 40_000 + 2 * FRESH_MS);
  assert.ok(w.has("before-step", 40_000 + 2 * FRESH_MS), "what was seen before the step is still caught");
  assert.ok(w.has("after-step", 40_000 + 2 * FRESH_MS), "and what was seen after it, for its whole window");
  assert.equal(w.size, 3);
});

test("a checked signature is taken as valid again only for the time given, then checked anew", () => {
  let now = 1_000_000;
  const verifier = new SignatureVerifier(16, 100, 60_000, () => now);
  const signer = Identity.generate();
  const data = Buffer.from("a provider record");
  const signature = signer.sign(data);
  assert.ok(verifier.verify(signer.publicKey, data, signature));
  assert.equal(verifier.remembered, 1, "remembered once checked");
  now += 60_001;
  assert.ok(verifier.verify(signer.publicKey, data, signature), "still valid when checked again");
  for (let i = 0; i < 10; i++) verifier.verify(signer.publicKey, Buffer.from(`other ${i}`), signer.sign(Buffer.from(`other ${i}`)));
  now += 60_001;
  verifier.verify(signer.publicKey, data, signature);
  assert.equal(verifier.remembered, 1, "the lapsed ones are gone: the memo holds what the last minute checked");
  assert.ok(!verifier.verify(signer.publicKey, data, Buffer.alloc(64)), "a bad signature is never taken");
});

test("a provider record's signature is checked when it is stored and not remembered; a value record's is", () => {
  const verifier = new SignatureVerifier(16, 100, 60_000);
  const signer = Identity.generate();
  const self = { id: nodeIdFromPublicKey(signer.publicKey), publicKey: signer.publicKey, host: "127.0.0.1", port: 7000 };
  const now = Date.now();
  const provider = createProviderRecord(signer, self, randomBytes(32), now + 60_000);
  assert.equal(validateProviderRecord(provider, verifier, now), null);
  assert.equal(validateProviderRecord({ ...provider, expires: provider.expires + 1 }, verifier, now), "bad signature", "the signature covers the expiry");
  assert.equal(verifier.remembered, 0, "nothing kept for a record never checked again");
  assert.equal(validateValueRecord(createValueRecord(signer, "name", Buffer.from("v"), 1, now + 60_000), verifier, now), null);
  assert.equal(verifier.remembered, 1, "a value record recurs in lookup replies: its check is remembered");
});
