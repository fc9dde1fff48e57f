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

export interface ProviderLookupSample {
  ms: number;
  /** Providers were found. */
  ok: boolean;
  /** The lookup's k closest are the network's true k closest. */
  exact: boolean;
  /** Nodes asked. */
  asked: number;
  /** CPU time of the process (user + system) during the lookup, ms (the accuracy check not included). */
  cpuMs: number;
}

export interface LookupBenchResult {
  nodes: number;
  lookups: number;
  setupMs: number;
  providers: LatencySummary & { exact: number; messagesPerLookup: number };
  value: LatencySummary;
  /** Resident set size of the process once the network was up (before any other), MiB. */
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

/** A peershare network, up and announced: one lookup at a time, then close(). */
export class PeershareNetwork {
  private constructor(
    readonly dhts: Dht[],
    private readonly keys: Buffer[],
    private readonly valueKeys: Buffer[],
    readonly setupMs: number,
  ) {}

  static async start(opts: { nodes: number; log?: (line: string) => void }): Promise<PeershareNetwork> {
    const started = performance.now();
    const dhts: Dht[] = [];
    try {
      for (let i = 0; i < opts.nodes; i++) {
        const identity = Identity.generate();
        const transport = await UdpRpc.bind({ identity, host: "127.0.0.1", port: 0, timeoutMs: 1000 });
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
      opts.log?.(`peershare: ${opts.nodes} nodes up, joined and announced in ${(setupMs / 1000).toFixed(1)} s`);
      return new PeershareNetwork(dhts, keys, valueKeys, setupMs);
    } catch (err) {
      await Promise.all(dhts.map((d) => d.transport.close()));
      throw err;
    }
  }

  private pick(): Dht {
    return this.dhts[Math.floor(Math.random() * this.dhts.length)];
  }

  /** The i-th provider lookup: from a random node, for an announced key, to convergence. */
  async providerLookup(i: number): Promise<ProviderLookupSample> {
    const from = this.pick();
    const key = this.keys[i % KEYS];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const { providers, lookup } = await from.findProviders(key);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const exact = isExactClosest(
      lookup.closest.map((c) => c.id),
      this.dhts.map((d) => d.id),
      from.id,
      key,
      from.settings.k,
    );
    return { ms, ok: providers.length > 0, exact, asked: lookup.queried.length, cpuMs: (cpu.user + cpu.system) / 1000 };
  }

  /** The i-th value lookup (it stops when the value is found). */
  async valueLookup(i: number): Promise<{ ms: number; ok: boolean }> {
    const from = this.pick();
    const t0 = performance.now();
    const { record } = await from.findValue(this.valueKeys[i % KEYS]);
    return { ms: performance.now() - t0, ok: record !== null };
  }

  close(): Promise<void[]> {
    return Promise.all(this.dhts.map((d) => d.transport.close()));
  }
}

export function summarizeProviders(samples: ProviderLookupSample[]): LookupBenchResult["providers"] {
  const ok = samples.filter((s) => s.ok).map((s) => s.ms);
  return {
    ...summary(ok, samples.length - ok.length),
    exact: samples.filter((s) => s.exact).length / samples.length,
    messagesPerLookup: samples.reduce((a, s) => a + s.asked, 0) / samples.length,
  };
}

export function summarizeValues(samples: { ms: number; ok: boolean }[]): LatencySummary {
  const ok = samples.filter((s) => s.ok).map((s) => s.ms);
  return summary(ok, samples.length - ok.length);
}

/**
 * Value lookups after provider lookups, never interleaved: a value lookup stops when found and
 * leaves queries in flight, whose answers would land in the next lookup's time.
 */
export async function measureValues(net: PeershareNetwork, lookups: number): Promise<LatencySummary> {
  const values: { ms: number; ok: boolean }[] = [];
  for (let i = 0; i < lookups; i++) values.push(await net.valueLookup(i));
  return summarizeValues(values);
}

/** Peershare alone: set up, `lookups` provider lookups, then as many value lookups, close. */
export async function runDhtLookupBench(opts: { nodes: number; lookups: number; log?: (line: string) => void }): Promise<LookupBenchResult> {
  const net = await PeershareNetwork.start(opts);
  try {
    const rssMiB = process.memoryUsage().rss / 2 ** 20;
    const providers: ProviderLookupSample[] = [];
    for (let i = 0; i < opts.lookups; i++) providers.push(await net.providerLookup(i));
    return { nodes: opts.nodes, lookups: opts.lookups, setupMs: net.setupMs, providers: summarizeProviders(providers), value: await measureValues(net, opts.lookups), rssMiB };
  } finally {
    await net.close();
  }
}

if (require.main === module) {
  const [nodes = 100, lookups = 200] = process.argv.slice(2).map(Number);
  runDhtLookupBench({ nodes, lookups, log: console.log }).then((r) => console.log(JSON.stringify(r, null, 2)));
}
