import { test } from "node:test";
import assert from "node:assert/strict";
import { Maintenance } from "../../node-host/maintenance";
import { defaultConfig } from "../../node-host/config";
import { jittered } from "../../node-host/util/jitter";
import type { Dht } from "../../node-host/dht/dht";
import { Scheduler } from "../../scripts/sim/scheduler";

test("jittered spreads a delay uniformly over ±spread of itself, never below its minimum", () => {
  assert.equal(jittered(1000, 0.25, 1, () => 0), 750);
  assert.equal(jittered(1000, 0.25, 1, () => 0.5), 1000);
  assert.equal(jittered(1000, 0.25, 1, () => 0.999999), 1250);
  assert.equal(jittered(100, 0.25, 90, () => 0), 90);
  const draws = Array.from({ length: 2000 }, () => jittered(1000));
  assert.ok(draws.every((d) => d >= 750 && d <= 1250));
  assert.ok(draws.filter((d) => d < 1000).length > 800 && draws.filter((d) => d > 1000).length > 800, "both sides of the interval");
});

test("maintenance runs each job again and again on its interval, and not once stopped", async () => {
  // an in-process stand-in for the DHT: the built-in jobs find nothing to do; virtual time, so a
  // busy machine cannot bunch the runs up
  const dht = { table: { size: 1 }, checkHealth: async () => {}, refreshBuckets: async () => {}, republish: async () => {}, join: async () => ({ reached: 0 }) } as unknown as Dht;
  const clock = new Scheduler();
  const runs: number[] = [];
  const maintenance = new Maintenance(dht, defaultConfig(), () => {}, [{ name: "sweep", intervalMs: () => 20, run: async () => void runs.push(clock.time) }], clock);
  maintenance.start([]);
  await clock.run(400);
  await maintenance.stop();
  const counted = runs.length;
  assert.ok(counted >= 16 && counted <= 27, `ran ${counted} times in 400 ms at a 20 ms ± 25% interval`);
  const gaps = runs.slice(1).map((t, i) => t - runs[i]);
  assert.ok(gaps.every((g) => g >= 15 && g <= 25), `every gap within 20 ms ± 25%: ${gaps.map((g) => g.toFixed(0)).join(" ")}`);
  await clock.run(500);
  assert.equal(runs.length, counted, "no run after stop()");
});

test("a bootstrap contact that answers but gives no contacts (a DHT client itself) counts as answered: UDP works", async () => {
  const lines: string[] = [];
  const dht = { table: { size: 0 }, join: async () => ({ reached: 1 }) } as unknown as Dht;
  const maintenance = new Maintenance(dht, defaultConfig(), (l) => lines.push(l));
  assert.equal(maintenance.bootstrapAnswered, false);
  await maintenance.join();
  assert.equal(maintenance.bootstrapAnswered, false, "no bootstrap contacts configured: nothing answered");
  maintenance.start([{ host: "127.0.0.1", port: 1 }]);
  await new Promise((r) => setTimeout(r, 20));
  await maintenance.stop();
  assert.equal(maintenance.bootstrapAnswered, true);
  assert.ok(!lines.some((l) => l.includes("no bootstrap contact answered")));
});
