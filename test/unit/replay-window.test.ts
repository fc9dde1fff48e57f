// The replay window of the UDP transport (transport/replay-window.ts): what it remembers, for how
// long, and how much of it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ReplayWindow } from "../../node-host/transport/replay-window";

const FRESH_MS = 30_000;

test("a datagram is remembered for twice the freshness window (as long as a copy could pass the timestamp check), then forgotten", () => {
  const w = new ReplayWindow(1000, FRESH_MS);
  w.remember("a", 1_000_000);
  assert.ok(w.has("a", 1_000_000 + 2 * FRESH_MS), "a replay at the last moment its timestamp could pass is caught");
  assert.ok(!w.has("b", 1_000_000));
  assert.ok(!w.has("a", 1_000_000 + 2 * FRESH_MS + 1), "lapsed");
});

test("steady traffic holds the window at what one window's traffic takes, far below the capacity", () => {
  const w = new ReplayWindow(65_536, FRESH_MS);
  let now = 1_000_000;
  // 100 datagrams a second for 20 minutes
  for (let i = 0; i < 120_000; i++) {
    now += 10;
    w.remember(`d${i}`, now);
  }
  assert.ok(w.size <= (2 * FRESH_MS) / 10 + 1, `holds ${w.size}: one 60 s window's worth (6,001 at most)`);
  assert.ok(w.has("d119999", now) && w.has(`d${120_000 - 6000}`, now), "the last minute's datagrams are all still caught");
});

test("a flood is bounded by the capacity, oldest forgotten first", () => {
  const w = new ReplayWindow(100, FRESH_MS);
  for (let i = 0; i < 1000; i++) w.remember(`d${i}`, 5000);
  assert.equal(w.size, 100);
  assert.ok(w.has("d999", 5000) && w.has("d900", 5000) && !w.has("d899", 5000));
});

test("a clock that stepped back keeps entries longer, never shorter", () => {
  const w = new ReplayWindow(1000, FRESH_MS);
  w.remember("before-step", 100_000);
  w.remember("after-step", 40_000); // the clock went back a minute
  w.remember("later", 40_000 + 2 * FRESH_MS);
  assert.ok(w.has("before-step", 40_000 + 2 * FRESH_MS), "what was seen before the step is still caught");
  assert.ok(w.has("after-step", 40_000 + 2 * FRESH_MS), "and what was seen after it, for its whole window");
  assert.equal(w.size, 3);
});
