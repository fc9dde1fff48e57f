// `npm run bench`: each figure printed beside a baseline measured in the same run (DHT lookups,
// share and fetch of one file, repair after a crash, share and fetch of folders).
//   npm run bench -- [nodes] [lookups] [sizeMiB] [repairMiB]

import { runScript } from "../scripts/run-script";
import { runDhtLookupBench } from "./dht-lookup";
import { runBittorrentDhtBaseline } from "./bittorrent-dht-baseline";
import { runTransferBench, formatTransferTable, TRANSFER_NOTES } from "./transfer";
import { runRepairBench, formatRepairTable, repairHeading, repairNotes } from "./repair";
import { runFolderBench, formatFolderTable, FOLDER_NOTES } from "./folder";

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "n/a");

async function main(): Promise<void> {
  const [nodes = 100, lookups = 200, sizeMiB = 1024, repairMiB = sizeMiB] = process.argv.slice(2).map(Number);
  const log = (line: string) => process.stdout.write(`  ${line}\n`);
  process.stdout.write(`DHT lookup latency: ${nodes} nodes on 127.0.0.1, one process, real UDP, ${lookups} sequential lookups\n`);
  const ours = await runDhtLookupBench({ nodes, lookups, log });
  const base = await runBittorrentDhtBaseline({ nodes, lookups, log });
  const rows: [string, { p50Ms: number; p99Ms: number; meanMs: number; failed: number }][] = [
    ["peershare providers (to convergence)", ours.providers],
    ["peershare value (stops when found)", ours.value],
    ["bittorrent-dht lookup (to convergence)", base],
  ];
  process.stdout.write(`\n${"".padEnd(42)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}${"mean ms".padStart(9)}${"failed".padStart(8)}\n`);
  for (const [label, r] of rows) process.stdout.write(`${label.padEnd(42)}${fmt(r.p50Ms).padStart(9)}${fmt(r.p99Ms).padStart(9)}${fmt(r.meanMs).padStart(9)}${String(r.failed).padStart(8)}\n`);
  process.stdout.write(`setup: peershare ${(ours.setupMs / 1000).toFixed(1)} s, bittorrent-dht ${(base.setupMs / 1000).toFixed(1)} s; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`);

  process.stdout.write(`\nShare and fetch: real peershare node processes on 127.0.0.1, ${sizeMiB} MiB random file\n`);
  const transferRows = await runTransferBench({ sizeMiB, log });
  process.stdout.write(`\n${formatTransferTable(transferRows)}\n\n${TRANSFER_NOTES.join("\n")}\n`);

  process.stdout.write(`\n${repairHeading(repairMiB)}\n`);
  const repair = await runRepairBench({ sizeMiB: repairMiB, log });
  process.stdout.write(`\n${formatRepairTable(repair)}\n\n${repairNotes().join("\n")}\n`);

  process.stdout.write(`\nFolders: 10,000 small files and ${sizeMiB} MiB in 1,000 files, shared and fetched by real node processes, next to cp -r and restic\n`);
  const folders = await runFolderBench({ smallFiles: 10_000, bigMiB: sizeMiB, bigFiles: 1000, log });
  process.stdout.write(`\n${formatFolderTable(folders)}\n\n${FOLDER_NOTES.join("\n")}\n`);
}

runScript(main);
