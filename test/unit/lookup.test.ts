import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { buildNetwork } from "../../scripts/sim-network";
import { compareDistance } from "../../node-host/dht/id";

const K = 10;

function trueClosest(ids: Buffer[], target: Buffer, n: number): string[] {
  return [...ids].sort((a, b) => compareDistance(a, b, target)).slice(0, n).map((x) => x.toString("hex"));
}

test("iterative lookups on a 300-node in-memory network find the true k closest", async () => {
  const { nodes } = await buildNetwork(300, { k: K, alpha: 3 });
  const ids = nodes.map((n) => n.dht.id);
  let exact = 0;
  const runs = 40;
  for (let i = 0; i < runs; i++) {
    const from = nodes[Math.floor(Math.random() * nodes.length)].dht;
    const target = randomBytes(32);
    const { closest, hops } = await from.lookupNodes(target);
    const expected = trueClosest(ids.filter((id) => !id.equals(from.id)), target, K);
    if (JSON.stringify(closest.map((c) => c.id.toString("hex"))) === JSON.stringify(expected)) exact++;
    assert.ok(hops <= 8, `a lookup in 300 nodes took ${hops} hops`);
  }
  assert.ok(exact / runs >= 0.95, `only ${exact}/${runs} lookups found the exact k closest`);
});

test("after health checks, lookups find the true k closest live nodes when a fifth of the nodes died", async () => {
  const { nodes } = await buildNetwork(300, { k: K, alpha: 3, offlineAfterMisses: 2 });
  for (const n of nodes.slice(0, 60)) n.transport.down = true;
  const live = nodes.slice(60);
  for (const n of live) n.dht.settings.healthCheckIntervalMs = 0; // every contact is due for a check
  // two rounds of checks: dead contacts are dropped and replacements promoted
  for (let round = 0; round < 2; round++) await Promise.all(live.map((n) => n.dht.checkHealth(1000)));
  const liveIds = live.map((n) => n.dht.id);
  let exact = 0;
  for (let i = 0; i < 20; i++) {
    const from = live[Math.floor(Math.random() * live.length)].dht;
    const target = randomBytes(32);
    const { closest } = await from.lookupNodes(target);
    if (JSON.stringify(closest.map((c) => c.id.toString("hex"))) === JSON.stringify(trueClosest(liveIds.filter((id) => !id.equals(from.id)), target, K))) exact++;
  }
  assert.ok(exact >= 18, `only ${exact}/20 lookups found the exact k live closest`);
});
