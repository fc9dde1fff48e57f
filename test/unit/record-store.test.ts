// The record store's bounds: one provider cannot fill it, and expiry gives its room back.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { RecordStore } from "../../node-host/dht/record-store";
import type { ProviderRecord } from "../../node-host/dht/messages";
import { nodeIdFromPublicKey } from "../../node-host/dht/id";
import { decodeRequest, encodeRequest } from "../../node-host/transport/wire";

function record(providerKey: Buffer, expires: number, key = randomBytes(32)): ProviderRecord {
  return { key, provider: { id: nodeIdFromPublicKey(providerKey), publicKey: providerKey, host: "127.0.0.1", port: 7000 }, expires, signature: randomBytes(64) };
}

test("one provider may hold at most maxPerProvider records; others still get in; expiry frees the room", () => {
  let now = 1000;
  const store = new RecordStore({ maxValues: 10, maxProviderKeys: 1000, maxProvidersPerKey: 8, maxPerProvider: 5, maxProviderRecords: 12 }, () => now);
  const greedy = randomBytes(32);
  const outcomes = Array.from({ length: 7 }, () => store.addProvider(record(greedy, 2000)));
  assert.deepEqual(outcomes, ["stored", "stored", "stored", "stored", "stored", "full", "full"]);
  const honest = randomBytes(32);
  assert.equal(store.addProvider(record(honest, 5000)), "stored");
  assert.equal(store.providerCount, 6);
  // renewing an existing record is not a new one
  const key = randomBytes(32);
  const other = randomBytes(32);
  assert.equal(store.addProvider(record(other, 5000, key)), "stored");
  assert.equal(store.addProvider(record(other, 6000, key)), "stored");
  assert.equal(store.providerCount, 7);
  now = 3000;
  store.expire();
  assert.equal(store.providerCount, 2);
  assert.equal(store.addProvider(record(greedy, 9000)), "stored");
});

test("the total is bounded whoever the providers are", () => {
  const store = new RecordStore({ maxValues: 10, maxProviderKeys: 1000, maxProvidersPerKey: 8, maxPerProvider: 5, maxProviderRecords: 12 }, () => 0);
  const results = Array.from({ length: 20 }, () => store.addProvider(record(randomBytes(32), 10)));
  assert.equal(results.filter((r) => r === "stored").length, 12);
  assert.equal(store.providerCount, 12);
});

test("by default a node holding 10,000 contents gets a record stored for each (on a network smaller than k every node takes them all)", () => {
  const store = new RecordStore(undefined, () => 0);
  const holder = randomBytes(32);
  const results = Array.from({ length: 10_000 }, () => store.addProvider(record(holder, 10)));
  assert.equal(results.filter((r) => r === "stored").length, 10_000);
});

test("a record decoded from the wire is held in memory of its own, not in slabs of the shared buffer pool", () => {
  const store = new RecordStore(undefined, () => 0);
  const provider = record(randomBytes(32), 0).provider;
  const keys: Buffer[] = [];
  for (let i = 0; i < 2000; i++) {
    const { type, payload } = encodeRequest({ type: "add_provider", record: record(provider.publicKey, 10_000) });
    const decoded = decodeRequest(type, payload, provider);
    assert.ok(decoded.type === "add_provider" && decoded.record.key.buffer.byteLength >= 8192, "decoding makes views of pool slabs (what the store must not keep)");
    assert.equal(store.addProvider(decoded.record), "stored");
    keys.push(decoded.record.key);
    Buffer.from(randomBytes(100)); // other small allocations go on between messages, as in a node
  }
  const held = keys.map((k) => store.getProviders(k)[0]);
  assert.ok(held.every((r, i) => r.key.equals(keys[i]) && r.signature.length === 64), "the records read back whole");
  const memory = new Set(held.flatMap((r) => [r.key.buffer, r.signature.buffer]));
  const bytes = [...memory].reduce((n, b) => n + b.byteLength, 0);
  assert.ok(bytes <= 2000 * 96, `2,000 records keep ${bytes} bytes of key and signature memory (96 a record at most; views of pool slabs kept whole 8 KiB slabs alive)`);
});
