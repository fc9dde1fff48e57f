// The DHT part of `npm run bench`: peershare's lookups beside WebTorrent's bittorrent-dht, the
// same procedure on the same number of nodes in the same process, one after the other. On a shared
// machine the load drifts, so `rounds` > 1 alternates the two that many times (fresh networks each
// time) and prints every round: compare within a round, read the spread across rounds.
//
//   node dist/bench/dht.js [nodes] [lookups] [rounds]

import { runScript } from "../scripts/run-script";
import { LatencySummary, LookupBenchResult, runDhtLookupBench } from "./dht-lookup";
import { BittorrentDhtBaselineResult, runBittorrentDhtBaseline } from "./bittorrent-dht-baseline";

export interface DhtRound {
  ours: LookupBenchResult;
  base: BittorrentDhtBaselineResult;
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
    `setup: peershare ${(ours.setupMs / 1000).toFixed(1)} s, bittorrent-dht ${(base.setupMs / 1000).toFixed(1)} s; RSS with peershare's ${ours.nodes} nodes up ${ours.rssMiB.toFixed(0)} MiB`,
  ].join("\n");
}

export async function runDhtComparison(opts: { nodes: number; lookups: number; rounds?: number; log?: (line: string) => void }): Promise<DhtRound[]> {
  const rounds: DhtRound[] = [];
  for (let i = 0; i < (opts.rounds ?? 1); i++) {
    const ours = await runDhtLookupBench(opts);
    const base = await runBittorrentDhtBaseline(opts);
    rounds.push({ ours, base });
  }
  return rounds;
}

async function main(): Promise<void> {
  const [nodes = 100, lookups = 200, rounds = 3] = process.argv.slice(2).map(Number);
  const log = (line: string) => process.stdout.write(`  ${line}\n`);
  process.stdout.write(`DHT lookup latency: ${nodes} nodes on 127.0.0.1, one process, real UDP, ${lookups} sequential lookups, ${rounds} round(s)\n`);
  const results = await runDhtComparison({ nodes, lookups, rounds, log });
  results.forEach((r, i) => process.stdout.write(`\nround ${i + 1}\n${formatDhtRound(r)}\n`));
  process.stdout.write(`\npeak RSS of the process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`);
}

if (require.main === module) runScript(main);
