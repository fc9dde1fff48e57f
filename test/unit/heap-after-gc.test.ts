// The heap figure node.info reports (platform/heap-after-gc.ts): what is kept, not garbage waiting
// for the collector.

import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { heapAfterGc, watchHeapAfterGc } from "../../node-host/platform/heap-after-gc";

setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;
const MiB = 1024 * 1024;
const settle = () => new Promise((r) => setTimeout(r, 50)); // gc entries reach observers asynchronously

function objects(mib: number): object[] {
  return Array.from({ length: mib * 8192 }, (_, i) => ({ i, s: `entry ${i}` }));
}

test("the heap after a full collection follows what is kept, and not the garbage made since", async () => {
  watchHeapAfterGc();
  collect();
  await settle();
  const base = heapAfterGc();
  assert.ok(base !== null && base > 0);
  let kept: object[] | null = objects(16);
  collect();
  await settle();
  const withKept = heapAfterGc()!;
  assert.ok(withKept - base > 8 * MiB, `kept objects count: ${((withKept - base) / MiB).toFixed(1)} MiB more`);
  for (let i = 0; i < 4; i++) objects(4); // garbage, not collected fully yet
  assert.equal(heapAfterGc(), withKept, "garbage made since the last full collection does not count");
  kept = null;
  collect();
  await settle();
  assert.ok(heapAfterGc()! < withKept - 8 * MiB, "what is no longer kept stops counting at the next full collection");
  assert.equal(kept, null);
});
