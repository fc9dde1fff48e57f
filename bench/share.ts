// Share throughput in one process: shareFile of a random file into a fresh store, beside the issue's
// baseline, reading + SHA-256 of the same file in Node (a stream with 1 MiB reads), measured just
// before each share so both see the same load. No node process, CLI or DHT: the store's own work.
//   node dist/bench/share.js [sizeMiB=1024] [runs=3] [--public] [--workers=N,M,...]
// --workers lists the seal-pool sizes to compare (0 = everything on the main thread); the runs of
// the different sizes are interleaved, so a load change on a shared machine hits them alike.
// MB/s = 10^6 bytes per second; sizes are MiB. Peak RSS is this process's VmHWM after each share
// (it never goes down, so it is the peak of everything so far, including the file's writing).

import { runScript } from "../scripts/run-script";
import { mbPerSecond } from "./stats";
import { ContentStore } from "../node-host/cas/content-store";
import { shareFile } from "../node-host/cas/share";
import { defaultSealWorkers } from "../node-host/cas/seal-pool";
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const MiB = 1024 * 1024;

/** Writes `mib` MiB of random bytes (an AES-256-CTR keystream under a fresh key). */
async function makeRandomFile(file: string, mib: number): Promise<void> {
  const cipher = createCipheriv("aes-256-ctr", randomBytes(32), randomBytes(16));
  const zeros = Buffer.alloc(8 * MiB);
  const fh = await fs.promises.open(file, "w");
  try {
    for (let left = mib * MiB; left > 0; left -= zeros.length) await fh.write(cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left)));
  } finally {
    await fh.close();
  }
}

/** The baseline: the file as a stream of 1 MiB pieces through SHA-256. */
async function readAndHashMs(file: string): Promise<number> {
  const started = performance.now();
  const hash = createHash("sha256");
  for await (const piece of fs.createReadStream(file, { highWaterMark: MiB })) hash.update(piece as Buffer);
  hash.digest();
  return performance.now() - started;
}

function peakRssMiB(): number {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const positional = args.filter((a) => !a.startsWith("--"));
  const sizeMiB = Number(positional[0] ?? 1024);
  const runs = Number(positional[1] ?? 3);
  const isPublic = args.includes("--public");
  const workersArg = args.find((a) => a.startsWith("--workers="));
  const workerCounts = workersArg ? workersArg.slice("--workers=".length).split(",").map(Number) : [defaultSealWorkers()];
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-bench-share-"));
  const cleanup = () => fs.rmSync(root, { recursive: true, force: true });
  process.once("exit", cleanup);
  const file = path.join(root, "big.bin");
  await makeRandomFile(file, sizeMiB);
  const bytes = sizeMiB * MiB;
  process.stdout.write(
    `shareFile of a ${sizeMiB} MiB random file (${isPublic ? "public" : "private"}) into a fresh store, ${os.cpus().length} CPU(s), ` +
      `load average ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}\n`,
  );
  const results = new Map<number, { share: number[]; base: number[]; ratio: number[] }>(workerCounts.map((w) => [w, { share: [], base: [], ratio: [] }]));
  for (let run = 1; run <= runs; run++) {
    for (const workers of workerCounts) {
      const baseMBps = mbPerSecond(bytes, await readAndHashMs(file));
      const store = await ContentStore.open(path.join(root, `store-${run}-${workers}`));
      const started = performance.now();
      const shared = await shareFile(store, file, { public: isPublic, sealWorkers: workers });
      const shareMBps = mbPerSecond(bytes, performance.now() - started);
      await store.close();
      fs.rmSync(store.dir, { recursive: true, force: true });
      const r = results.get(workers)!;
      r.share.push(shareMBps);
      r.base.push(baseMBps);
      r.ratio.push(shareMBps / baseMBps);
      process.stdout.write(
        `  run ${run}, ${workers} seal worker(s): share ${shareMBps.toFixed(0)} MB/s (${shared.manifest.chunks.length} chunks), ` +
          `read+SHA-256 ${baseMBps.toFixed(0)} MB/s, ratio ${(shareMBps / baseMBps).toFixed(2)}, peak RSS ${peakRssMiB().toFixed(0)} MiB\n`,
      );
    }
  }
  process.stdout.write(`\n${"seal workers".padEnd(14)}${"share MB/s (min-max)".padStart(24)}${"read+hash MB/s".padStart(18)}${"ratio (min-max)".padStart(20)}\n`);
  const range = (xs: number[], digits: number) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;
  for (const [workers, r] of results) {
    process.stdout.write(`${String(workers).padEnd(14)}${range(r.share, 0).padStart(24)}${median(r.base).toFixed(0).padStart(18)}${range(r.ratio, 2).padStart(20)}\n`);
  }
  process.stdout.write(`medians over ${runs} run(s); target ratio >= 0.5; peak RSS ${peakRssMiB().toFixed(0)} MiB; load average now ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}\n`);
}

runScript(main);
