// Lookup latency of peershare's DHT: N nodes on 127.0.0.1 in one process, each with its own real
// UDP socket and Ed25519 identity (every datagram authenticated), measured the same way as the
// bittorrent-dht baseline: join, announce provider records, then sequential lookups from random
// nodes for announced keys, timed until the lookup has converged. Each provider lookup's k closest
// are checked against the true k closest of the network.

import { randomBytes } from "node:crypto";
import { Identity } from "../node-host/security/identity";
import { UdpRpc } from "../node-host/transport/udp-rpc";
import { Dht } from "../node-host/dht/dht";
import { compareDistance, Id } from "../node-host/dht/id";
import { mapLimit } from "../node-host/util/concurrency";
import { percentile, mean } from "./stats";

export interface LatencySummary {
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  failed: number;
}

export interface LookupBenchResult {
  nodes: number;
  lookups: number;
  setupMs: number;
  providers: LatencySummary & { exact: number; messagesPerLookup: number };
  value: LatencySummary;
  /** Resident set size of the process once the network is up and the lookups are done, MiB. */
  rssMiB: number;
}

const KEYS = 10;
const PROVIDERS_PER_KEY = 3;

export function summary(samples: number[], failed: number): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  return { p50Ms: percentile(s, 50), p99Ms: percentile(s, 99), meanMs: mean(s), failed };
}

/** True when `found` lists exactly the `k` nodes of `all` (other than `self`) closest to `target`. */
export function isExactClosest(found: Id[], all: Id[], self: Id, target: Id, k: number): boolean {
  const expected = all.filter((id) => !id.equals(self)).sort((a, b) => compareDistance(a, b, target)).slice(0, k);
  return found.length === expected.length && found.every((id, i) => id.equals(expected[i]));
}

async function startNetwork(nodes: number): Promise<Dht[]> {
  const dhts: Dht[] = [];
  for (let i = 0; i < nodes; i++) {
    const identity = Identity.generate();
    const transport = await UdpRpc.bind({ identity, host: "127.0.0.1", port: 0, timeoutMs: 1000 });
    const dht = new Dht(transport, {}, identity);
    if (dhts.length) {
      const via = [dhts[0], dhts[Math.floor(Math.random() * dhts.length)]].map((d) => ({ host: "127.0.0.1", port: d.transport.local.port }));
      await dht.join(via);
    }
    dhts.push(dht);
  }
  return dhts;
}

export async function runDhtLookupBench(opts: { nodes: number; lookups: number; log?: (line: string) => void }): Promise<LookupBenchResult> {
  const log = opts.log ?? (() => undefined);
  const started = performance.now();
  let dhts: Dht[] = [];
  try {
    dhts = await startNetwork(opts.nodes);
    // early joiners met an almost empty network: one lookup each fills their tables
    await mapLimit(dhts, 8, (d) => d.lookupNodes(randomBytes(32)));
    const keys = Array.from({ length: KEYS }, () => randomBytes(32));
    await mapLimit(keys, 4, async (key) => {
      for (let p = 0; p < PROVIDERS_PER_KEY; p++) await dhts[Math.floor(Math.random() * dhts.length)].provide(key);
    });
    const valueKeys: Buffer[] = [];
    for (let v = 0; v < KEYS; v++) valueKeys.push((await dhts[Math.floor(Math.random() * dhts.length)].putValue(`bench-${v}`, randomBytes(64))).key);
    const setupMs = performance.now() - started;
    log(`peershare: ${opts.nodes} nodes up, joined and announced in ${(setupMs / 1000).toFixed(1)} s`);

    const ids = dhts.map((d) => d.id);
    const providerTimes: number[] = [];
    const valueTimes: number[] = [];
    let providerFailed = 0;
    let valueFailed = 0;
    let exact = 0;
    let asked = 0;
    for (let i = 0; i < opts.lookups; i++) {
      const from = dhts[Math.floor(Math.random() * dhts.length)];
      const key = keys[i % KEYS];
      const t0 = performance.now();
      const { providers, lookup } = await from.findProviders(key);
      if (providers.length > 0) providerTimes.push(performance.now() - t0);
      else providerFailed++;
      asked += lookup.queried.length;
      if (isExactClosest(lookup.closest.map((c) => c.id), ids, from.id, key, from.settings.k)) exact++;
      const t1 = performance.now();
      const { record } = await from.findValue(valueKeys[i % KEYS]);
      if (record) valueTimes.push(performance.now() - t1);
      else valueFailed++;
    }
    return {
      nodes: opts.nodes,
      lookups: opts.lookups,
      setupMs,
      providers: { ...summary(providerTimes, providerFailed), exact: exact / opts.lookups, messagesPerLookup: asked / opts.lookups },
      value: summary(valueTimes, valueFailed),
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    };
  } finally {
    await Promise.all(dhts.map((d) => d.transport.close()));
  }
}

if (require.main === module) {
  const [nodes = 100, lookups = 200] = process.argv.slice(2).map(Number);
  runDhtLookupBench({ nodes, lookups, log: console.log }).then((r) => console.log(JSON.stringify(r, null, 2)));
}
