// The record store's bounds: one provider cannot fill it, and expiry gives its room back.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { RecordStore } from "../../node-host/dht/record-store";
import type { ProviderRecord } from "../../node-host/dht/messages";
import { nodeIdFromPublicKey } from "../../node-host/dht/id";
import { decodeRequest, encodeRequest } from "../../node-host/transport/wire";
import { exposedGc, heldMemory } from "../helpers/held-memory";

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

test("a provider record decoded from the wire costs at most 512 bytes held, and reads back whole", async () => {
  const gc = exposedGc();
  const providers = Array.from({ length: 4 }, () => record(randomBytes(32), 0).provider);
  const sent = Array.from({ length: 5000 }, () => providers.map((p) => ({ ...record(p.publicKey, 10_000), key: randomBytes(32) })));
  const other = Buffer.alloc(100, 7);
  const before = await heldMemory(gc);
  const store = new RecordStore(undefined, () => 0);
  for (const [i, perKey] of sent.entries()) {
    for (const [j, r] of perKey.entries()) {
      const { type, payload } = encodeRequest({ type: "add_provider", record: { ...r, key: sent[i][0].key } });
      const decoded = decodeRequest(type, payload, { ...providers[j], id: Buffer.from(providers[j].id), publicKey: Buffer.from(providers[j].publicKey) });
      assert.ok(decoded.type === "add_provider" && store.addProvider(decoded.record) === "stored");
      Buffer.from(other); // other small allocations go on between messages, as in a node
    }
  }
  const perRecord = ((await heldMemory(gc)) - before) / store.providerCount;
  assert.equal(store.providerCount, 20_000);
  assert.ok(perRecord <= 512, `a record held costs ${perRecord.toFixed(0)} bytes of heap and buffers (about 200 measured; an object per record, with its own Buffers and its own copy of the sender's contact, cost about 1,500; views of pool slabs kept whole 8 KiB slabs alive)`);
  for (const [i, perKey] of sent.slice(0, 100).entries()) {
    const held = store.getProviders(sent[i][0].key);
    assert.equal(held.length, 4);
    for (const [j] of perKey.entries()) {
      const got = held.find((h) => h.provider.id.equals(providers[j].id))!;
      assert.ok(got.signature.equals(perKey[j].signature) && got.expires === 10_000 && got.key.equals(sent[i][0].key) && got.provider.port === 7000);
    }
  }
});

test("a provider's records carry the address it last announced from", () => {
  const store = new RecordStore(undefined, () => 0);
  const first = record(randomBytes(32), 10);
  const second = { ...record(first.provider.publicKey, 20), provider: { ...first.provider, host: "192.0.2.7", port: 9000 } };
  store.addProvider(first);
  store.addProvider(second);
  for (const key of [first.key, second.key]) assert.deepEqual(store.getProviders(key).map((p) => `${p.provider.host}:${p.provider.port}`), ["192.0.2.7:9000"]);
  assert.deepEqual([...store.heldProviders()].map((p) => p.expires).sort(), [10, 20]);
});

