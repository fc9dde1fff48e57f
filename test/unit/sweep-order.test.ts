// Which contents a repair sweep checks: a bounded slice, new contents first, then those that lost a
// holder, then those short of r, then the rest in turn, so every content comes up again.

import { test } from "node:test";
import assert from "node:assert/strict";
import { SweepOrder, SweepFacts } from "../../node-host/replication/sweep-order";

const ids = (n: number) => Array.from({ length: n }, (_, i) => i.toString(16).padStart(4, "0"));
const quiet: SweepFacts = { gone: () => false, short: () => false };

test("every content is checked within ceil(contents / slice) sweeps, and no sweep checks more than the slice", () => {
  const order = new SweepOrder();
  const held = ids(1000);
  const seen = new Map<string, number>();
  for (let sweep = 0; sweep < 10; sweep++) {
    const slice = order.next(held, 100, quiet);
    assert.ok(slice.length <= 100);
    for (const id of slice) {
      seen.set(id, (seen.get(id) ?? 0) + 1);
      order.checked(id, ["aa"]);
    }
  }
  assert.equal(seen.size, 1000);
  // and the rotation goes on from where it stopped
  const again = new Set<string>();
  for (let sweep = 0; sweep < 10; sweep++) for (const id of order.next(held, 100, quiet)) again.add(id);
  assert.equal(again.size, 1000);
});

test("contents never checked come first, then those whose holder went, then those short of r", () => {
  const order = new SweepOrder();
  const held = ids(50);
  for (const id of held.slice(0, 40)) order.checked(id, [id === "0005" ? "dead" : "alive"]);
  const slice = order.next(held, 13, { gone: (n) => n === "dead", short: (c) => c === "0009" });
  assert.deepEqual(slice.slice(0, 10), held.slice(40, 50), "the ten never checked");
  assert.deepEqual(slice.slice(10, 12), ["0005", "0009"]);
  assert.equal(slice.length, 13);
});

test("contents no longer held are forgotten", () => {
  const order = new SweepOrder();
  order.checked("0001", ["dead"]);
  assert.deepEqual(order.next(["0002"], 10, { gone: () => true, short: () => false }), ["0002"]);
  // 0001 held again later is new again: checked first
  assert.deepEqual(order.next(["0001", "0002"], 1, quiet), ["0001"]);
});
