// The clock correction learned from peers' answers: the median of the peers heard from, none for
// small differences, at most 10 minutes, and a plain sentence (logged once per change) when off.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ClockOffset, clockProblem, clockStatusText } from "../../node-host/transport/clock-offset";

const peer = (i: number) => Buffer.alloc(32, i);

test("the correction is the median of the peers' offsets: one peer far off does not move it", () => {
  let local = 1_000_000_000;
  const lines: string[] = [];
  const clock = new ClockOffset((l) => lines.push(l), () => local);
  // our clock 5 minutes behind four peers; a fifth peer is 3 hours ahead of everyone
  for (let i = 0; i < 4; i++) clock.answered(peer(i), local + 300_000 + i * 10, 20);
  clock.answered(peer(9), local + 300_000 + 3 * 3600_000, 20);
  assert.ok(Math.abs(clock.status().correctionMs - 300_010) <= 30);
  assert.ok(Math.abs(clock.now() - (local + 300_010)) <= 30);
  assert.match(clockProblem(clock.status())!, /^clock: this computer's clock is 5 min 0 s behind its peers' \(median of 5\); corrected/);
  assert.equal(lines.length, 1, "logged once, not at every answer");
  local += 1000;
  clock.answered(peer(1), local + 300_000, 20);
  assert.equal(lines.length, 1);
  assert.equal(clockStatusText(clock.status()), null, "the status bar stays quiet while it is corrected");
});

test("a second of round-trip noise is no correction; beyond 10 minutes it is clamped and said plainly", () => {
  const local = 2_000_000_000;
  const near = new ClockOffset(() => undefined, () => local);
  near.answered(peer(1), local + 900, 40);
  assert.equal(near.status().correctionMs, 0);
  assert.equal(clockProblem(near.status()), null);

  const lines: string[] = [];
  const far = new ClockOffset((l) => lines.push(l), () => local);
  far.answered(peer(1), local + 2 * 3600_000, 40);
  assert.equal(far.status().correctionMs, 600_000);
  assert.match(lines[0], /2 h 0 min behind its peers' .*more than the 10 minutes peershare corrects for/);
  assert.equal(clockStatusText(far.status()), "clock 2 h 0 min behind");
});
