import { test } from "node:test";
import assert from "node:assert/strict";
import { RecentCache } from "../../node-host/util/recent-cache";

test("a recent cache holds at most its capacity and keeps the entries used lately", () => {
  const cache = new RecentCache<number, string>(10);
  cache.set(0, "v0");
  for (let i = 1; i < 100; i++) {
    cache.set(i, `v${i}`);
    assert.equal(cache.get(0), "v0", `reading 0 after every set keeps it (set ${i})`);
    assert.ok(cache.size <= 10, `size ${cache.size} after ${i + 1} sets`);
  }
  assert.equal(cache.get(0), "v0", "the entry used all along is still there");
  assert.equal(cache.get(1), undefined, "an entry not used since long ago is gone");
  assert.equal(cache.get(99), "v99", "the newest entry is there");
});

test("a key set twice is held once, with its newest value", () => {
  const cache = new RecentCache<string, number>(4);
  cache.set("a", 1);
  cache.set("b", 2);
  cache.set("c", 3); // "a" and "b" move to the old generation
  cache.set("a", 4);
  assert.equal(cache.get("a"), 4);
  assert.equal(cache.size, 3);
});
