// Timeouts from measured round trips: per contact as TCP's retransmission timer, and for a contact
// never measured from the round trips measured to all.

import { test } from "node:test";
import assert from "node:assert/strict";
import { RttEstimator } from "../../node-host/dht/rtt";

const settings = () => ({ initialTimeoutMs: 1000, minTimeoutMs: 100, maxTimeoutMs: 1000 });

test("before anything is measured, requests wait the configured timeout", () => {
  const rtt = new RttEstimator(settings);
  assert.deepEqual(rtt.deadlines("a"), { lateMs: 500, giveUpMs: 1000 });
});

test("a measured contact's deadlines follow its round trips, within the bounds", () => {
  const rtt = new RttEstimator(settings);
  for (let i = 0; i < 20; i++) rtt.observe("fast", 150 + (i % 2) * 10);
  for (let i = 0; i < 20; i++) rtt.observe("slow", 400);
  const fast = rtt.deadlines("fast");
  assert.ok(fast.lateMs >= 1.25 * 150 && fast.lateMs < 250, `late after ${fast.lateMs}`);
  assert.ok(fast.giveUpMs > fast.lateMs + 150 && fast.giveUpMs < 600, `give up after ${fast.giveUpMs}`);
  assert.equal(rtt.deadlines("slow").giveUpMs, 1000, "capped at the configured timeout");
  for (let i = 0; i < 20; i++) rtt.observe("loopback", 0.3);
  assert.deepEqual(rtt.deadlines("loopback"), { lateMs: 100, giveUpMs: 200 }, "never below the minimum, the resent copy included");
  assert.equal(Math.round(rtt.srtt("slow") ?? 0), 400);
});

test("a contact never measured waits past nearly every round trip measured to the others", () => {
  const rtt = new RttEstimator(settings);
  for (let i = 0; i < 300; i++) rtt.observe(`c${i}`, 40 + (i % 100));
  const { lateMs, giveUpMs } = rtt.deadlines("stranger");
  assert.ok(lateMs >= 120 && lateMs <= 140, `late after ${lateMs} (the 90th percentile)`);
  assert.ok(giveUpMs >= 8 * 89 && giveUpMs <= 1000, `give up after ${giveUpMs}`);
});
