// Announcing many contents with one lookup per keyspace region: on the in-memory network with the
// real DHT code, every content announced this way is found by another node's provider lookup, and
// the lookups made are far fewer than the contents (one in all on a network smaller than k).

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Dht } from "../../node-host/dht/dht";
import { Identity } from "../../node-host/security/identity";
import { MemoryNetwork } from "../../node-host/transport/memory";
import { sameRegion } from "../../node-host/dht/provide-regions";
import { mapLimit } from "../../node-host/util/concurrency";

async function network(count: number, k: number): Promise<Dht[]> {
  const net = new MemoryNetwork();
  const nodes: Dht[] = [];
  for (let i = 0; i < count; i++) {
    const identity = Identity.generate();
    const dht = new Dht(net.createTransport(identity.publicKey, identity.id), { k }, identity);
    if (nodes.length) await dht.join([{ host: nodes[0].transport.local.host, port: nodes[0].transport.local.port }]);
    nodes.push(dht);
  }
  for (const n of nodes) await n.refreshBuckets(true);
  return nodes;
}

async function everyKeyFound(observer: Dht, provider: Dht, keys: Buffer[]): Promise<number> {
  const found = await mapLimit(keys, 8, async (key) => (await observer.findProviders(key)).providers.some((p) => p.provider.id.equals(provider.id)));
  return found.filter(Boolean).length;
}

test("on a network larger than k, 400 contents are announced with far fewer lookups, and each is found", async () => {
  const nodes = await network(80, 8);
  const keys = Array.from({ length: 400 }, () => randomBytes(32));
  const { lookups } = await nodes[1].provideMany(keys);
  assert.ok(lookups < keys.length / 4, `${lookups} lookups for ${keys.length} contents`);
  assert.equal(await everyKeyFound(nodes[57], nodes[1], keys), keys.length);
  assert.equal(nodes[1].provided.size, keys.length, "all of them are renewed by republish");
});

test("on a network smaller than k, one lookup announces every content", async () => {
  const nodes = await network(6, 8);
  const keys = Array.from({ length: 200 }, () => randomBytes(32));
  const { lookups } = await nodes[2].provideMany(keys);
  assert.equal(lookups, 1);
  assert.equal(await everyKeyFound(nodes[4], nodes[2], keys), keys.length);
});

test("a key shares a region only when the nodes found hold a part of the keyspace it falls in", () => {
  const id = (hex: string) => Buffer.from(hex.padEnd(64, "0"), "hex");
  const looked = id("f0");
  // found nodes share 1, 2 and 4 leading bits with the looked-up key: the region is 2+ bits, "11…"
  const found = [{ id: id("80") }, { id: id("c0") }, { id: id("f8") }];
  assert.equal(sameRegion(looked, id("e0"), found, 3), true);
  assert.equal(sameRegion(looked, id("a0"), found, 3), false);
  // all found at the same distance: no region beyond the key itself
  assert.equal(sameRegion(looked, id("f1"), [{ id: id("00") }, { id: id("10") }, { id: id("20") }], 3), false);
  // fewer than k found: the whole network
  assert.equal(sameRegion(looked, id("01"), found, 8), true);
});
