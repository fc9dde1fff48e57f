import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff, DEFAULT_BACKOFF } from "../../../extension/backoff";

const noJitter = { ...DEFAULT_BACKOFF, jitter: 0 };

test("delays grow exponentially up to the cap", () => {
  const b = new Backoff({ ...noJitter, initialMs: 1000, factor: 2, maxMs: 10_000, maxAttempts: 0 });
  const delays = Array.from({ length: 6 }, () => {
    const d = b.onExit(100);
    assert.equal(d.restart, true);
    return d.restart ? d.delayMs : -1;
  });
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 10_000, 10_000]);
});

test("a process that stayed up long enough starts the sequence over", () => {
  const b = new Backoff({ ...noJitter, resetAfterMs: 60_000 });
  b.onExit(10);
  b.onExit(10);
  const d = b.onExit(120_000);
  assert.deepEqual(d, { restart: true, delayMs: noJitter.initialMs, attempt: 1 });
});

test("gives up after maxAttempts quick crashes, and reset() forgets them", () => {
  const b = new Backoff({ ...noJitter, maxAttempts: 3 });
  assert.equal(b.onExit(0).restart, true);
  assert.equal(b.onExit(0).restart, true);
  assert.equal(b.onExit(0).restart, true);
  assert.deepEqual(b.onExit(0), { restart: false, attempt: 4 });
  b.reset();
  assert.equal(b.attempt, 0);
  assert.equal(b.onExit(0).restart, true);
});

test("jitter stays within its fraction and under the cap", () => {
  const lo = new Backoff({ ...DEFAULT_BACKOFF, jitter: 0.1 }, () => 0);
  const hi = new Backoff({ ...DEFAULT_BACKOFF, jitter: 0.1 }, () => 0.999999);
  assert.equal(lo.delayFor(1), 900);
  assert.equal(hi.delayFor(1), 1100);
  assert.ok(hi.delayFor(50) <= DEFAULT_BACKOFF.maxMs);
});
