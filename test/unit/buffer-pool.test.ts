// The pool of large reusable buffers (util/buffer-pool.ts).

import { test } from "node:test";
import assert from "node:assert/strict";
import { BufferPool } from "../../node-host/util/buffer-pool";

const MiB = 1024 * 1024;

test("a buffer is handed out again only after it is given back", () => {
  const pool = new BufferPool(8 * MiB, 32 * MiB);
  const a = pool.take(MiB);
  const b = pool.take(MiB);
  assert.notEqual(a.buffer, b.buffer, "two buffers out at once never share memory");
  assert.equal(a.length, MiB);
  pool.give(a);
  const c = pool.take(700 * 1024);
  assert.equal(c.buffer, a.buffer, "the given-back buffer is reused for a size of its class");
  assert.equal(c.length, 700 * 1024);
  assert.notEqual(pool.take(MiB).buffer, a.buffer, "not twice at once");
});

test("a stale or foreign view cannot give back a buffer someone else holds", () => {
  const pool = new BufferPool(8 * MiB, 32 * MiB);
  const first = pool.take(MiB);
  pool.give(first);
  const second = pool.take(MiB); // the same memory, lent again
  assert.equal(second.buffer, first.buffer);
  pool.give(first); // the first holder gives back twice: ignored
  pool.give(second.subarray(0, 10)); // another view of the memory: ignored
  pool.give(Buffer.alloc(MiB)); // never lent: ignored
  assert.notEqual(pool.take(MiB).buffer, second.buffer, "still lent to its second holder");
  assert.equal(pool.idleBytes, 0);
});

test("idle buffers are bounded in bytes, and oversized ones are never pooled", () => {
  const pool = new BufferPool(4 * MiB, 3 * MiB);
  const out = [pool.take(MiB), pool.take(MiB), pool.take(MiB), pool.take(MiB)];
  for (const b of out) pool.give(b);
  assert.equal(pool.idleBytes, 3 * MiB);
  const big = pool.take(5 * MiB);
  assert.equal(big.length, 5 * MiB);
  pool.give(big);
  assert.equal(pool.idleBytes, 3 * MiB);
});

test("a given-back buffer that nothing takes again for idleMs is dropped, without any further call", async () => {
  const pool = new BufferPool(8 * MiB, 32 * MiB, 100);
  const burst = [pool.take(4 * MiB), pool.take(4 * MiB), pool.take(MiB)];
  for (const b of burst) pool.give(b);
  assert.equal(pool.idleBytes, 9 * MiB, "kept for reuse at first");
  await new Promise((r) => setTimeout(r, 60));
  const again = pool.take(4 * MiB); // reuses the newest 4 MiB buffer
  pool.give(again);
  await new Promise((r) => setTimeout(r, 70));
  assert.equal(pool.idleBytes, 4 * MiB, "the buffers idle since the burst are gone; the one reused since is kept");
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(pool.idleBytes, 0, "and it goes too once idle as long");
});

test("trim() keeps what was given back within idleMs", () => {
  const pool = new BufferPool(8 * MiB, 32 * MiB, 1000);
  const a = pool.take(MiB);
  pool.give(a);
  pool.trim(Date.now() + 999);
  assert.equal(pool.idleBytes, MiB);
  pool.trim(Date.now() + 1000);
  assert.equal(pool.idleBytes, 0);
  assert.notEqual(pool.take(MiB).buffer, a.buffer, "a dropped buffer is not lent again");
});
