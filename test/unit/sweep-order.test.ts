// Which contents a repair sweep checks: a bounded slice, contents that lost a holder first, then new
// contents, then those short of r, then the rest in turn, so every content comes up again.

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

test("contents whose holder went come first, then those never checked, then those short of r", () => {
  const order = new SweepOrder();
  const held = ids(50);
  for (const id of held.slice(0, 40)) order.checked(id, [id === "0005" ? "dead" : "alive"]);
  const slice = order.next(held, 13, { gone: (n) => n === "dead", short: (c) => c === "0009" });
  assert.equal(slice[0], "0005", "the content that lost a holder");
  assert.deepEqual(slice.slice(1, 11), held.slice(40, 50), "the ten never checked");
  assert.equal(slice[11], "0009");
  assert.equal(slice.length, 13);
});

test("a lost copy is checked at the next sweep even while thousands of contents wait for their first check", () => {
  const order = new SweepOrder();
  const held = ids(5000);
  order.checked("0007", ["dead"]);
  const slice = order.next(held, 200, { gone: (n) => n === "dead", short: () => false });
  assert.equal(slice[0], "0007");
  assert.equal(slice.length, 200);
});

test("contents no longer held are forgotten", () => {
  const order = new SweepOrder();
  order.checked("0001", ["dead"]);
  assert.deepEqual(order.next(["0002"], 10, { gone: () => true, short: () => false }), ["0002"]);
  // 0001 held again later is new again: checked first
  assert.deepEqual(order.next(["0001", "0002"], 1, quiet), ["0001"]);
});
