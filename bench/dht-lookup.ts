// Lookup latency of peershare's DHT: N nodes on 127.0.0.1 in one process, each with its own real
// UDP socket and Ed25519 identity (every datagram signed and verified), measured the same way as
// the bittorrent-dht baseline: join, announce provider records, then sequential lookups from
// random nodes for announced keys, timed until the lookup has converged.

import { randomBytes } from "node:crypto";
import { Identity } from "../node-host/security/identity";
import { UdpRpc } from "../node-host/transport/udp-rpc";
import { Dht } from "../node-host/dht/dht";
import { mapLimit } from "../node-host/util/concurrency";
import { percentile, mean } from "./stats";

export interface LookupBenchResult {
  nodes: number;
  lookups: number;
  setupMs: number;
  providers: { p50Ms: number; p99Ms: number; meanMs: number; failed: number };
  value: { p50Ms: number; p99Ms: number; meanMs: number; failed: number };
}

const KEYS = 10;
const PROVIDERS_PER_KEY = 3;

function summary(samples: number[], failed: number) {
  const s = [...samples].sort((a, b) => a - b);
  return { p50Ms: percentile(s, 50), p99Ms: percentile(s, 99), meanMs: mean(s), failed };
}

export async function runDhtLookupBench(opts: { nodes: number; lookups: number; log?: (line: string) => void }): Promise<LookupBenchResult> {
  const log = opts.log ?? (() => undefined);
  const started = performance.now();
  const dhts: Dht[] = [];
  try {
    for (let i = 0; i < opts.nodes; i++) {
      const transport = await UdpRpc.bind({ identity: Identity.generate(), host: "127.0.0.1", port: 0, timeoutMs: 1000 });
      const identity = (transport as unknown as { identity: Identity }).identity;
      const dht = new Dht(transport, {}, identity);
      if (dhts.length) {
        const via = [dhts[0], dhts[Math.floor(Math.random() * dhts.length)]].map((d) => ({ host: "127.0.0.1", port: d.transport.local.port }));
        await dht.join(via);
      }
      dhts.push(dht);
    }
    // early joiners met an almost empty network: one lookup each fills their tables
    await mapLimit(dhts, 8, (d) => d.lookupNodes(randomBytes(32)));
    const keys = Array.from({ length: KEYS }, () => randomBytes(32));
    await mapLimit(keys, 4, async (key) => {
      for (let p = 0; p < PROVIDERS_PER_KEY; p++) await dhts[Math.floor(Math.random() * dhts.length)].provide(key);
    });
    const valueKeys: Buffer[] = [];
    for (let v = 0; v < KEYS; v++) valueKeys.push((await dhts[Math.floor(Math.random() * dhts.length)].putValue(`bench-${v}`, randomBytes(64))).key);
    const setupMs = performance.now() - started;
    log(`ours: ${opts.nodes} nodes up, joined and announced in ${(setupMs / 1000).toFixed(1)} s`);

    const providerTimes: number[] = [];
    const valueTimes: number[] = [];
    let providerFailed = 0;
    let valueFailed = 0;
    for (let i = 0; i < opts.lookups; i++) {
      const from = dhts[Math.floor(Math.random() * dhts.length)];
      const t0 = performance.now();
      const { providers } = await from.findProviders(keys[i % KEYS]);
      if (providers.length > 0) providerTimes.push(performance.now() - t0);
      else providerFailed++;
      const t1 = performance.now();
      const { record } = await from.findValue(valueKeys[i % KEYS]);
      if (record) valueTimes.push(performance.now() - t1);
      else valueFailed++;
    }
    return { nodes: opts.nodes, lookups: opts.lookups, setupMs, providers: summary(providerTimes, providerFailed), value: summary(valueTimes, valueFailed) };
  } finally {
    await Promise.all(dhts.map((d) => d.transport.close()));
  }
}

if (require.main === module) {
  const [nodes = 100, lookups = 200] = process.argv.slice(2).map(Number);
  runDhtLookupBench({ nodes, lookups, log: console.log }).then((r) => console.log(JSON.stringify(r, null, 2)));
}
