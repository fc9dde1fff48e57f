// The DHT part of `npm run bench`: peershare's lookups beside WebTorrent's bittorrent-dht, the
// same procedure on the same number of nodes in the same process. Both networks are set up (ours
// first, and the RSS read while it is alone), then their lookups alternate one by one, so that the
// load of a shared machine, which drifts from second to second, falls on both alike. `rounds` > 1
// does it that many times on fresh networks and prints every round. Each lookup's CPU time (the
// process's: both ends of every exchange run here) is printed too: it does not drift with the load.
//
//   node dist/bench/dht.js [nodes] [lookups] [rounds]

import { runScript } from "../scripts/run-script";
import { LatencySummary, LookupBenchResult, measureValues, PeershareNetwork, ProviderLookupSample, summarizeProviders, summary } from "./dht-lookup";
import { BaselineNetwork, BittorrentDhtBaselineResult, startBaselineNetwork, summarizeBaseline } from "./bittorrent-dht-baseline";

export interface DhtRound {
  ours: LookupBenchResult;
  base: BittorrentDhtBaselineResult;
  /**
   * CPU time of the process (user + system) per lookup, p50, ms: both ends of every exchange run in
   * this process, so this is what a lookup costs, whatever else the machine is doing.
   */
  cpuP50Ms: { ours: number; base: number };
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "n/a");

function row(label: string, r: LatencySummary, extra = ""): string {
  return `${label.padEnd(42)}${fmt(r.p50Ms).padStart(9)}${fmt(r.p99Ms).padStart(9)}${fmt(r.meanMs).padStart(9)}${String(r.failed).padStart(8)}${extra}`;
}

export function formatDhtRound(r: DhtRound): string {
  const { ours, base } = r;
  return [
    `${"".padEnd(42)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}${"mean ms".padStart(9)}${"failed".padStart(8)}`,
    row("peershare providers (to convergence)", ours.providers, `   exact k closest ${(ours.providers.exact * 100).toFixed(1)}%, ${ours.providers.messagesPerLookup.toFixed(1)} asked`),
    row("peershare value (stops when found)", ours.value),
    row("bittorrent-dht lookup (to convergence)", base),
    `p50 ratio peershare/bittorrent-dht ${(ours.providers.p50Ms / base.p50Ms).toFixed(2)}, p99 ratio ${(ours.providers.p99Ms / base.p99Ms).toFixed(2)}`,
    `CPU per lookup (the process's, both ends), p50: peershare ${fmt(r.cpuP50Ms.ours)} ms, bittorrent-dht ${fmt(r.cpuP50Ms.base)} ms`,
    `setup: peershare ${(ours.setupMs / 1000).toFixed(1)} s, bittorrent-dht ${(base.setupMs / 1000).toFixed(1)} s` +
      (Number.isFinite(ours.rssMiB) ? `; RSS with peershare's ${ours.nodes} nodes up (alone, fresh process) ${ours.rssMiB.toFixed(0)} MiB` : ""),
  ].join("\n");
}

export async function runDhtComparison(opts: { nodes: number; lookups: number; rounds?: number; log?: (line: string) => void }): Promise<DhtRound[]> {
  const rounds: DhtRound[] = [];
  for (let r = 0; r < (opts.rounds ?? 1); r++) {
    const round = await oneRound(opts);
    // the RSS says something only in the first round: the process keeps what earlier rounds used
    if (r > 0) round.ours.rssMiB = NaN;
    rounds.push(round);
  }
  return rounds;
}

async function oneRound(opts: { nodes: number; lookups: number; log?: (line: string) => void }): Promise<DhtRound> {
  const ours = await PeershareNetwork.start(opts);
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  let base: BaselineNetwork | null = null;
  try {
    const baseNet = (base = await startBaselineNetwork(opts));
    const providers: ProviderLookupSample[] = [];
    const baseline: { ok: boolean; ms: number }[] = [];
    const baseCpuMs: number[] = [];
    const baseLookup = async () => {
      const before = process.cpuUsage();
      const result = await baseNet.lookup();
      const used = process.cpuUsage(before);
      baseCpuMs.push((used.user + used.system) / 1000);
      return result;
    };
    for (let i = 0; i < opts.lookups; i++) {
      // alternate which goes first, so neither always follows the other's garbage
      if (i % 2 === 0) providers.push(await ours.providerLookup(i));
      baseline.push(await baseLookup());
      if (i % 2 === 1) providers.push(await ours.providerLookup(i));
    }
    const value = await measureValues(ours, opts.lookups);
    return {
      ours: { nodes: opts.nodes, lookups: opts.lookups, setupMs: ours.setupMs, providers: summarizeProviders(providers), value, rssMiB },
      base: summarizeBaseline(opts.nodes, opts.lookups, baseNet.setupMs, baseline),
      cpuP50Ms: { ours: summary(providers.map((p) => p.cpuMs), 0).p50Ms, base: summary(baseCpuMs, 0).p50Ms },
    };
  } finally {
    await ours.close();
    await base?.destroy();
  }
}

async function main(): Promise<void> {
  const [nodes = 100, lookups = 1000, rounds = 3] = process.argv.slice(2).map(Number);
  const log = (line: string) => process.stdout.write(`  ${line}\n`);
  process.stdout.write(`DHT lookup latency: ${nodes} nodes on 127.0.0.1, one process, real UDP, ${lookups} sequential lookups each, alternating, ${rounds} round(s)\n`);
  const results = await runDhtComparison({ nodes, lookups, rounds, log });
  results.forEach((r, i) => process.stdout.write(`\nround ${i + 1}\n${formatDhtRound(r)}\n`));
  process.stdout.write(`\npeak RSS of the process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`);
}

if (require.main === module) runScript(main);
