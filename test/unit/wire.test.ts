import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { Identity, SignatureVerifier } from "../../node-host/security/identity";
import { MAX_DATAGRAM_BYTES, openEnvelope, sealEnvelope } from "../../node-host/transport/envelope";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, MessageTypes } from "../../node-host/transport/wire";
import { WireFormatError } from "../../node-host/util/binary";
import { Contact, Request, Response } from "../../node-host/dht/messages";
import { createProviderRecord, createValueRecord, validateValueRecord } from "../../node-host/dht/records";
import { MAX_PAYLOAD_BYTES } from "../../node-host/transport/envelope";
import { macOf, PairKeys } from "../../node-host/security/pair-keys";

const alice = Identity.generate();
const self: Contact = { id: alice.id, publicKey: alice.publicKey, host: "127.0.0.1", port: 7420 };

function contact(host = "10.1.2.3"): Contact {
  const id = Identity.generate();
  return { id: id.id, publicKey: id.publicKey, host, port: 1000 + Math.floor(Math.random() * 60000) };
}

test("every request and response survives encode and decode", () => {
  const now = Date.now();
  const requests: Request[] = [
    { type: "ping" },
    { type: "leave" },
    { type: "find_node", target: randomBytes(32) },
    { type: "find_value", key: randomBytes(32) },
    { type: "get_providers", key: randomBytes(32) },
    { type: "store", record: createValueRecord(alice, "name", Buffer.from("value"), 7, now + 1000) },
    { type: "add_provider", record: createProviderRecord(alice, self, randomBytes(32), now + 1000) },
    { type: "signal", payload: randomBytes(900) },
  ];
  for (const req of requests) {
    const { type, payload } = encodeRequest(req);
    assert.deepEqual(decodeRequest(type, payload, self), req);
  }
  const responses: Response[] = [
    { type: "pong" },
    { type: "stored" },
    { type: "nodes", contacts: [contact(), contact("::1"), contact("fe80::1:2")] },
    { type: "value", record: createValueRecord(alice, "n", randomBytes(100), 1, now + 5000) },
    { type: "providers", providers: [createProviderRecord(alice, self, Buffer.alloc(32, 1), now + 1000)], contacts: [contact()] },
    { type: "error", code: 2, message: "bad signature" },
    { type: "signal", payload: randomBytes(1000) },
  ];
  for (const res of responses) {
    const { type, payload } = encodeResponse(res, MAX_PAYLOAD_BYTES);
    const back = decodeResponse(type, payload);
    if (res.type === "nodes" && back.type === "nodes") {
      // IPv6 comes back in the short form Node gives a datagram's source
      assert.deepEqual(back.contacts.map((c) => c.id), res.contacts.map((c) => c.id));
      assert.deepEqual(back.contacts.map((c) => c.host), res.contacts.map((c) => c.host));
    } else assert.deepEqual(back, res);
  }
});

test("a NODES reply with more contacts than fit is cut to fit one datagram", () => {
  const many = Array.from({ length: 40 }, () => contact());
  const { type, payload } = encodeResponse({ type: "nodes", contacts: many }, MAX_PAYLOAD_BYTES);
  const sealed = sealEnvelope(alice, type, randomBytes(8), Date.now(), payload);
  assert.ok(sealed.length <= MAX_DATAGRAM_BYTES);
  const back = decodeResponse(type, payload);
  assert.ok(back.type === "nodes" && back.contacts.length >= 20, "k = 20 IPv4 contacts fit");
});

test("envelopes are signed: any flipped bit fails verification", () => {
  const verifier = new SignatureVerifier();
  const sealed = sealEnvelope(alice, MessageTypes.ping, randomBytes(8), Date.now(), Buffer.from("x"));
  const env = openEnvelope(sealed);
  assert.ok(verifier.verify(env.publicKey, env.signed, env.tag));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: sealed.length * 8 - 1 }), (bit) => {
      const bad = Buffer.from(sealed);
      bad[bit >> 3] ^= 1 << (bit & 7);
      try {
        const e = openEnvelope(bad);
        assert.equal(verifier.verify(e.publicKey, e.signed, e.tag), false);
      } catch (err) {
        assert.ok(err instanceof WireFormatError);
      }
    }),
  );
});

test("pair-key MACs: the receiver derives the same key; another key or a flipped bit fails", () => {
  const bob = Identity.generate();
  const mallory = Identity.generate();
  const aliceKeys = new PairKeys(alice.seed(), alice.publicKey);
  const bobKeys = new PairKeys(bob.seed(), bob.publicKey);
  const malloryKeys = new PairKeys(mallory.seed(), mallory.publicKey);
  const key = aliceKeys.keyFor(bob.publicKey)!;
  assert.ok(key.equals(bobKeys.keyFor(alice.publicKey)!), "both ends derive one key");
  const sealed = sealEnvelope(alice, MessageTypes.ping, randomBytes(8), Date.now(), Buffer.from("hi"), key);
  const env = openEnvelope(sealed);
  assert.equal(env.auth, "mac");
  assert.ok(sealed.length < 100, "a MAC is far shorter than a signature");
  assert.ok(macOf(bobKeys.keyFor(env.publicKey)!, env.signed).equals(env.tag));
  // mallory can claim to be alice, but cannot make alice's tag for bob
  const forged = sealEnvelope(alice, MessageTypes.ping, randomBytes(8), Date.now(), Buffer.from("hi"), malloryKeys.keyFor(bob.publicKey));
  const f = openEnvelope(forged);
  assert.equal(macOf(bobKeys.keyFor(f.publicKey)!, f.signed).equals(f.tag), false);
  const flipped = Buffer.from(sealed);
  flipped[20] ^= 4;
  const g = openEnvelope(flipped);
  assert.equal(macOf(bobKeys.keyFor(g.publicKey)!, g.signed).equals(g.tag), false);
  assert.equal(bobKeys.keyFor(Buffer.alloc(32, 0xff)), null, "a key that is not a curve point gives no pair key");
});

test("random and truncated bytes only ever raise WireFormatError", () => {
  const sealed = sealEnvelope(alice, MessageTypes.find_node, randomBytes(8), Date.now(), randomBytes(32));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1300 }), fc.integer({ min: 0, max: 255 }), (bytes, type) => {
      for (const input of [Buffer.from(bytes), sealed.subarray(0, bytes.length % sealed.length)]) {
        for (const parse of [() => openEnvelope(input), () => decodeRequest(type, input, self), () => decodeResponse(type, input)]) {
          try {
            parse();
          } catch (err) {
            assert.ok(err instanceof WireFormatError, `unexpected ${(err as Error).name}: ${(err as Error).message}`);
          }
        }
      }
    }),
    { numRuns: 2000 },
  );
});

test("records: a value signed by its publisher validates; a changed value, an expired one or a foreign signature does not", () => {
  const verifier = new SignatureVerifier();
  const now = Date.now();
  const rec = createValueRecord(alice, "notes", Buffer.from("hello"), 1, now + 60_000);
  assert.equal(validateValueRecord(rec, verifier, now), null);
  assert.equal(validateValueRecord({ ...rec, value: Buffer.from("hellO") }, verifier, now), "bad signature");
  assert.equal(validateValueRecord(rec, verifier, now + 120_000), "expired");
  const mallory = Identity.generate();
  assert.equal(validateValueRecord({ ...rec, publisher: mallory.publicKey }, verifier, now), "bad signature");
  assert.throws(() => createValueRecord(alice, "big", Buffer.alloc(801), 1, now + 1000), /at most 800 bytes/);
});
