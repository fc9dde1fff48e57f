// The set that remembers its members for a time (util/timed-set.ts), as the UDP transport's replay
// window and the DHT's checked signatures use it: what it remembers, for how long, and how much.

import { test } from "node:test";
import assert from "node:assert/strict";
import { TimedSet } from "../../node-host/util/timed-set";
import { Identity, SignatureVerifier } from "../../node-host/security/identity";

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
