// The UDP transport's replay window (transport/replay-window.ts): what it remembers, for how long,
// that it agrees with a plain map under any order of events, and that its memory does not grow.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ReplayWindow } from "../../node-host/transport/replay-window";
import { Prng } from "../fuzz/prng";
import { exposedGc, heldMemory } from "../helpers/held-memory";

const FRESH_MS = 30_000;
/** Twice the freshness window: as long as a copy of a datagram could pass the timestamp check (udp-rpc.ts). */
const KEEP_MS = 2 * FRESH_MS;

const txid = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(Math.floor(n / 0x100000000) >>> 0, 0);
  b.writeUInt32BE(n >>> 0, 4);
  return b;
};

test("a datagram is remembered for twice the freshness window, then forgotten", () => {
  const w = new ReplayWindow(1000, KEEP_MS);
  w.add(txid(1), 1_000_000);
  assert.ok(w.has(txid(1), 1_000_000 + KEEP_MS), "a replay at the last moment its timestamp could pass is caught");
  assert.ok(!w.has(txid(2), 1_000_000));
  assert.ok(!w.has(txid(1), 1_000_000 + KEEP_MS + 1), "lapsed");
  w.add(txid(3), 1_000_000 + KEEP_MS + 1);
  assert.equal(w.size, 1, "the lapsed one is dropped at the next addition");
});

test("a flood is bounded by the capacity, oldest forgotten first", () => {
  const w = new ReplayWindow(100, KEEP_MS);
  for (let i = 0; i < 1000; i++) w.add(txid(i), 5000);
  assert.equal(w.size, 100);
  assert.ok(w.has(txid(999), 5000) && w.has(txid(900), 5000) && !w.has(txid(899), 5000));
});

test("txids alike in every bit but one, or in their high half, are told apart", () => {
  const w = new ReplayWindow(4096, KEEP_MS);
  const ids = [...Array.from({ length: 32 }, (_, i) => txid(2 ** i)), ...Array.from({ length: 2000 }, (_, i) => txid(i * 0x100000000))];
  ids.forEach((id, i) => w.add(id, i));
  assert.ok(ids.every((id) => w.has(id, 3000)));
  assert.ok(!w.has(txid(3), 3000) && !w.has(txid(0x100000001), 3000));
});

test("agrees with a map of txid to time under random adds, repeats, lapses, floods and a clock that steps back", () => {
  const rng = new Prng(20261207);
  const capacity = 64;
  const w = new ReplayWindow(capacity, KEEP_MS);
  // oldest first, as the window forgets them; a txid added again leaves its earlier entry behind,
  // found no more (null) but taking room until it lapses
  const model: [string | null, number][] = [];
  const seen = { caught: 0, missed: 0, full: 0 };
  let now = 1_000_000;
  for (let step = 0; step < 50_000; step++) {
    const r = rng.float();
    if (r < 0.02) now -= rng.int(0, 5000); // a clock stepped back
    else now += rng.int(0, r < 0.03 ? 40_000 : 300);
    const id = txid(rng.int(0, 200)); // few ids: repeats are common
    const key = id.toString("hex");
    const expected = model.some(([k, at]) => k === key && now - at <= KEEP_MS);
    assert.equal(w.has(id, now), expected, `step ${step}: has`);
    seen[expected ? "caught" : "missed"]++;
    if (model.length === capacity) seen.full++;
    if (rng.float() < 0.7) {
      while (model.length > 0 && now - model[0][1] > KEEP_MS) model.shift();
      for (const entry of model) if (entry[0] === key) entry[0] = null;
      if (model.length === capacity) model.shift();
      model.push([key, now]);
      w.add(id, now);
    }
  }
  assert.ok(seen.caught > 5000 && seen.missed > 5000 && seen.full > 5000, `the run covers replays, new ids and a full window: ${JSON.stringify(seen)}`);
});

test("its memory is set when it is made: a minute of heavy traffic and a flood add nothing", async () => {
  const gc = exposedGc();
  const w = new ReplayWindow(65_536, KEEP_MS);
  const before = await heldMemory(gc);
  let now = 1_000_000;
  const rng = new Prng(7);
  const id = Buffer.alloc(8);
  for (let i = 0; i < 300_000; i++) {
    id.writeUInt32BE(rng.u32(), 0);
    id.writeUInt32BE(rng.u32(), 4);
    w.add(id, (now += 0.5)); // 2,000 a second: more than a window holds
  }
  assert.equal(w.size, 65_536);
  const grown = (await heldMemory(gc)) - before;
  assert.ok(grown < 256 * 1024, `grew ${grown} bytes (a map of txids took about 80 bytes a datagram: 5 MiB at this size)`);
});
