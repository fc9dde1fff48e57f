import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { RoutingTable } from "../../node-host/dht/routing-table";
import { bucketIndex, compareDistance, nodeIdFromPublicKey } from "../../node-host/dht/id";
import { Contact } from "../../node-host/dht/messages";

function contact(seed?: Buffer): Contact {
  const publicKey = seed ?? randomBytes(32);
  return { id: nodeIdFromPublicKey(publicKey), publicKey, host: "127.0.0.1", port: 1 + publicKey[0] };
}

test("bucket invariants hold under any sequence of updates, failures and removals", () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant("update" as const), n: fc.integer({ min: 0, max: 59 }) }),
    fc.record({ kind: fc.constant("remove" as const), n: fc.integer({ min: 0, max: 59 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 6 }), (ops, k) => {
      const self = randomBytes(32);
      const pool = Array.from({ length: 60 }, () => contact());
      const table = new RoutingTable(self, k);
      for (const o of ops) {
        if (o.kind === "update") table.update(pool[o.n]);
        else table.remove(pool[o.n].id);
      }
      const entries = table.entries();
      assert.equal(entries.length, table.size);
      const seen = new Set<string>();
      for (const b of table.bucketsInUse()) {
        assert.ok(b.entries.length <= k, "bucket over k");
        for (const e of b.entries) {
          assert.equal(bucketIndex(self, e.contact.id), b.index, "contact in the wrong bucket");
          assert.ok(!e.contact.id.equals(self));
          const key = e.contact.id.toString("hex");
          assert.ok(!seen.has(key), "duplicate contact");
          seen.add(key);
        }
      }
    }),
  );
});

test("buckets keep least-recently-seen order and a full bucket names its oldest contact", () => {
  const self = Buffer.alloc(32); // all zero: every ID with a leading 1 bit falls in bucket 255
  const table = new RoutingTable(self, 3);
  const far = () => {
    let c = contact();
    while ((c.id[0] & 0x80) === 0) c = contact();
    return c;
  };
  const [a, b, c, d] = [far(), far(), far(), far()];
  for (const x of [a, b, c]) assert.equal(table.update(x).kind, "added");
  table.update(a); // a seen again: moves to the tail
  const full = table.update(d);
  assert.equal(full.kind, "full");
  assert.ok(full.kind === "full" && full.leastRecentlySeen.contact.id.equals(b.id));
  // b did not answer: removing it promotes d from the replacement cache
  table.remove(b.id);
  assert.ok(table.get(d.id), "replacement promoted");
  assert.equal(table.get(b.id), undefined);
});

test("the table never holds its own ID", () => {
  const me = contact();
  const table = new RoutingTable(me.id, 20);
  assert.equal(table.update(me).kind, "self");
  assert.equal(table.size, 0);
});

test("closest returns the n nearest contacts in the table, nearest first", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 30 }), (n) => {
      const table = new RoutingTable(randomBytes(32), 20);
      const all = Array.from({ length: 200 }, () => contact());
      for (const c of all) table.update(c);
      const inTable = table.entries().map((e) => e.contact);
      const target = randomBytes(32);
      const expected = [...inTable].sort((x, y) => compareDistance(x.id, y.id, target)).slice(0, n);
      assert.deepEqual(table.closest(target, n).map((c) => c.id.toString("hex")), expected.map((c) => c.id.toString("hex")));
    }),
    { numRuns: 30 },
  );
});

test("recordFailure counts consecutive misses and an update resets them", () => {
  const table = new RoutingTable(randomBytes(32), 20);
  const c = contact();
  table.update(c);
  assert.equal(table.recordFailure(c.id), 1);
  assert.equal(table.recordFailure(c.id), 2);
  table.update(c, 5);
  assert.equal(table.get(c.id)?.failures, 0);
  assert.equal(table.get(c.id)?.rttMs, 5);
});

test("closest leaves out contacts whose last request failed, unless too few others are known", () => {
  const table = new RoutingTable(randomBytes(32), 20);
  const all = Array.from({ length: 30 }, () => contact());
  for (const c of all) table.update(c);
  const target = randomBytes(32);
  const nearest = table.closest(target, 5);
  table.recordFailure(nearest[0].id);
  const again = table.closest(target, 5);
  assert.ok(!again.some((c) => c.id.equals(nearest[0].id)), "the failing contact is left out");
  assert.deepEqual(again.slice(0, 4).map((c) => c.id.toString("hex")), nearest.slice(1).map((c) => c.id.toString("hex")));
  assert.ok(table.closest(target, table.size).some((c) => c.id.equals(nearest[0].id)), "asked for every contact, it is there");
  table.update(nearest[0]);
  assert.ok(table.closest(target, 5)[0].id.equals(nearest[0].id), "heard from again, it is back");
});

test("closest ranks contacts whose IDs agree on their first bytes by the whole distance", () => {
  const self = Buffer.alloc(32, 0xff);
  const table = new RoutingTable(self, 20);
  const shared = randomBytes(7); // every contact's ID starts with these 7 bytes: their 48-bit keys tie
  const contacts = Array.from({ length: 15 }, () => {
    const id = Buffer.concat([shared, randomBytes(25)]);
    return { id, publicKey: randomBytes(32), host: "127.0.0.1", port: 1 + id[31] };
  });
  for (const c of contacts) table.update(c);
  for (let i = 0; i < 20; i++) {
    const target = Buffer.concat([shared, randomBytes(25)]);
    const expected = [...contacts].sort((a, b) => compareDistance(a.id, b.id, target)).slice(0, 10);
    assert.deepEqual(table.closest(target, 10).map((c) => c.id.toString("hex")), expected.map((c) => c.id.toString("hex")));
  }
});
