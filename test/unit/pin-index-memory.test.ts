// The store's index holds an entry per object (every chunk of every content held, cache included):
// its memory is paid per object for the node's whole life, so it is measured.

import { test } from "node:test";
import assert from "node:assert/strict";
import { addPin, PinIndex } from "../../node-host/cas/pin-index";
import { exposedGc, heldMemory } from "../helpers/held-memory";

test("an object's index entry costs under 256 bytes, pins included", async () => {
  const gc = exposedGc();
  const index = new PinIndex();
  const id = Buffer.alloc(32);
  const before = await heldMemory(gc);
  for (let i = 0; i < 20_000; i++) {
    id.writeUInt32BE(i, 28);
    const hex = id.toString("hex"); // as the store keys it
    const entry = index.upsert(hex, 1 << 20, i % 8 === 0 ? "manifest" : "chunk");
    if (i % 2 === 0) addPin(entry, "replica");
    if (i % 3 === 0) addPin(entry, "own");
  }
  const perEntry = ((await heldMemory(gc)) - before) / index.entries.size;
  assert.equal(index.entries.size, 20_000);
  assert.ok(perEntry <= 256, `an index entry costs ${perEntry.toFixed(0)} bytes (184 measured; with a Set of pins per entry it was 327)`);
});
