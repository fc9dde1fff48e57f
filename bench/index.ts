// `npm run bench`: each figure printed beside a baseline measured in the same run (DHT lookups,
// share and fetch of one file, repair after a crash, share and fetch of folders).
//   npm run bench -- [nodes] [lookups] [sizeMiB] [repairMiB]

import { runScript } from "../scripts/run-script";
import { formatDhtRound, runDhtComparison } from "./dht";
import { runTransferBench, formatTransferTable, TRANSFER_NOTES } from "./transfer";
import { runRepairBench, formatRepairTable, repairHeading, repairNotes } from "./repair";
import { runFolderBench, formatFolderTable, FOLDER_NOTES } from "./folder";
import { spawnSync } from "node:child_process";
import * as path from "node:path";

async function main(): Promise<void> {
  const [nodes = 100, lookups = 1000, sizeMiB = 1024, repairMiB = sizeMiB] = process.argv.slice(2).map(Number);
  const log = (line: string) => process.stdout.write(`  ${line}\n`);
  process.stdout.write(`DHT lookup latency: ${nodes} nodes on 127.0.0.1, one process, real UDP, ${lookups} sequential lookups each, alternating\n`);
  const [round] = await runDhtComparison({ nodes, lookups, log });
  process.stdout.write(`\n${formatDhtRound(round)}\npeak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`);

  process.stdout.write(`\nShare and fetch: real peershare node processes on 127.0.0.1, ${sizeMiB} MiB random file\n`);
  const transferRows = await runTransferBench({ sizeMiB, log });
  process.stdout.write(`\n${formatTransferTable(transferRows)}\n\n${TRANSFER_NOTES.join("\n")}\n`);

  process.stdout.write(`\n${repairHeading(repairMiB)}\n`);
  const repair = await runRepairBench({ sizeMiB: repairMiB, log });
  process.stdout.write(`\n${formatRepairTable(repair)}\n\n${repairNotes().join("\n")}\n`);

  process.stdout.write(`\nFolders: 10,000 small files and ${sizeMiB} MiB in 1,000 files, shared and fetched by real node processes, next to cp -r and restic\n`);
  const folders = await runFolderBench({ smallFiles: 10_000, bigMiB: sizeMiB, bigFiles: 1000, log });
  process.stdout.write(`\n${formatFolderTable(folders)}\n\n${FOLDER_NOTES.join("\n")}\n`);

  // in the network lab (root only; it says so and skips otherwise)
  process.stdout.write("\n");
  spawnSync(process.execPath, [path.join(__dirname, "nat.js")], { stdio: "inherit" });
}

runScript(main);
