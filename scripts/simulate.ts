// Simulation: the DHT code on an in-memory network of many nodes (default 10,000).
// Prints hops per lookup (median, p99), the fraction of lookups that find the true k closest,
// and messages per lookup: with no churn, right after 20% of the nodes die, and after the
// survivors' health checks have run.
//
//   npm run simulate -- [nodes] [lookups]

import { randomBytes } from "node:crypto";
import { buildNetwork, SimNode } from "./sim-network";
import { compareDistance, Id } from "../node-host/dht/id";
import { percentile } from "../bench/stats";

const K = 20;
const ALPHA = 3;

interface Round {
  label: string;
  hopsP50: number;
  hopsP99: number;
  exact: number;
  messagesPerLookup: number;
}

function closestIds(ids: Id[], target: Id, n: number): string {
  return [...ids].sort((a, b) => compareDistance(a, b, target)).slice(0, n).map((x) => x.toString("hex")).join();
}

async function measure(label: string, live: SimNode[], lookups: number, messages: () => number): Promise<Round> {
  const ids = live.map((n) => n.dht.id);
  const hops: number[] = [];
  let exact = 0;
  const before = messages();
  for (let i = 0; i < lookups; i++) {
    const from = live[Math.floor(Math.random() * live.length)].dht;
    const target = randomBytes(32);
    const outcome = await from.lookupNodes(target);
    hops.push(outcome.hops);
    const expected = closestIds(ids.filter((id) => !id.equals(from.id)), target, K);
    if (outcome.closest.map((c) => c.id.toString("hex")).join() === expected) exact++;
  }
  hops.sort((a, b) => a - b);
  return { label, hopsP50: percentile(hops, 50), hopsP99: percentile(hops, 99), exact: exact / lookups, messagesPerLookup: (messages() - before) / lookups };
}

export async function main(count = 10_000, lookups = 500): Promise<Round[]> {
  const started = performance.now();
  process.stdout.write(`building a network of ${count} nodes (k=${K}, alpha=${ALPHA}) on the in-memory transport...\n`);
  const { network, nodes } = await buildNetwork(count, { k: K, alpha: ALPHA, offlineAfterMisses: 2 }, 32, (n) =>
    process.stdout.write(`  ${n} joined\n`),
  );
  process.stdout.write(`built in ${((performance.now() - started) / 1000).toFixed(1)} s, ${network.messages} messages\n`);
  const messages = () => network.messages;
  const rounds = [await measure("no churn", nodes, lookups, messages)];

  const shuffled = [...nodes].sort(() => Math.random() - 0.5);
  const killed = shuffled.slice(0, Math.floor(count * 0.2));
  for (const n of killed) n.transport.down = true;
  const live = shuffled.slice(killed.length);
  rounds.push(await measure("20% killed, at once", live, lookups, messages));
  for (const n of live) n.dht.settings.healthCheckIntervalMs = 0; // every contact is due for a check
  for (let round = 0; round < 2; round++) await Promise.all(live.map((n) => n.dht.checkHealth(10_000)));
  for (const n of live) n.dht.settings.healthCheckIntervalMs = 60_000;
  rounds.push(await measure("20% killed, after 2 health checks", live, lookups, messages));

  process.stdout.write(`\n${count} nodes, ${lookups} lookups per row, k=${K}, alpha=${ALPHA}\n`);
  process.stdout.write(`${"case".padEnd(36)}hops p50  hops p99  exact k closest  messages/lookup\n`);
  for (const r of rounds) {
    process.stdout.write(`${r.label.padEnd(36)}${String(r.hopsP50).padEnd(10)}${String(r.hopsP99).padEnd(10)}${(r.exact * 100).toFixed(1).padStart(6)}%         ${r.messagesPerLookup.toFixed(1)}\n`);
  }
  return rounds;
}

if (require.main === module) {
  const [nodes, lookups] = process.argv.slice(2).map(Number);
  main(nodes || undefined, lookups || undefined).then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
