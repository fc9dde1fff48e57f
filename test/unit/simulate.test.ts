// A small run of the simulator (scripts/simulate.ts): the product's DHT code on 300 simulated
// nodes with internet-like round trips, loss, NAT and churn. It holds the accuracy targets at this
// scale (with margins for 60 lookups a row), and it is repeatable for a seed. The 10,000-node
// figures come from `npm run simulate`.

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseArgs, simulate, SimResult } from "../../scripts/simulate";

const run = (args: string[]): Promise<SimResult> => simulate(parseArgs(args));

test("300 simulated nodes: lookups find the exact k closest, every value and every live holder, with and without churn", async () => {
  const r = await run(["300", "60", "--seed", "7"]);
  assert.ok(r.rtt.p50 > 60 && r.rtt.p50 < 80 && r.rtt.p99 > 300, `round trips as the model says: ${JSON.stringify(r.rtt)}`);
  for (const p of r.phases) {
    assert.ok(p.nodes.okShare >= 0.9, `${p.name}: ${(p.nodes.okShare * 100).toFixed(0)}% of lookups found the exact k closest`);
    assert.ok(p.values.okShare >= 0.98, `${p.name}: ${(p.values.okShare * 100).toFixed(0)}% of value lookups found the value`);
    assert.ok(p.providers.okShare >= 0.95, `${p.name}: ${(p.providers.okShare * 100).toFixed(0)}% of provider lookups found every live holder`);
    assert.ok(p.nodes.messagesPerLookup <= 56, `${p.name}: ${p.nodes.messagesPerLookup} messages per lookup`);
  }
  const calm = r.phases[0];
  assert.ok(calm.nodes.p50Ms < 8 * r.rtt.p50, `no churn: p50 ${calm.nodes.p50Ms.toFixed(0)} ms`);
  assert.ok(calm.values.p50Ms < 3 * r.rtt.p50, `no churn: value lookups p50 ${calm.values.p50Ms.toFixed(0)} ms`);
  // a fetch's provider lookup stops at the first answers that name holders, not at convergence
  assert.ok(calm.providers.p50Ms < calm.nodes.p50Ms, `no churn: provider lookups p50 ${calm.providers.p50Ms.toFixed(0)} ms, FIND_NODE ${calm.nodes.p50Ms.toFixed(0)} ms`);
});

test("a simulation is the same for the same seed", async () => {
  const strip = (r: SimResult) => JSON.stringify({ ...r, seconds: 0 });
  const [a, b] = [await run(["120", "20", "--seed", "3"]), await run(["120", "20", "--seed", "3"])];
  assert.equal(strip(a), strip(b));
  assert.notEqual(strip(await run(["120", "20", "--seed", "4"])), strip(a), "and differs for another seed");
});
