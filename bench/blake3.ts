// Object hashing speed where the native BLAKE3 does not load: the JavaScript BLAKE3 (the fallback,
// node-host/cas/blake3-js.ts) beside the native package and node:crypto's SHA-256, over the same
// random bytes in 1 MiB pieces (a chunk's size), interleaved run by run so load changes hit all alike.
//   node dist/bench/blake3.js [sizeMiB=256] [runs=3]
// MB/s = 10^6 bytes per second; the median of the runs.

import { createHash, randomBytes } from "node:crypto";
import { blake3 } from "@napi-rs/blake-hash";
import { runScript } from "../scripts/run-script";
import { mbPerSecond } from "./stats";
import { blake3Js } from "../node-host/cas/blake3-js";

const MiB = 1024 * 1024;

const HASHES: [string, (piece: Buffer) => unknown][] = [
  ["BLAKE3, native (@napi-rs/blake-hash)", (piece) => blake3(piece)],
  ["BLAKE3, JavaScript (the fallback)", (piece) => blake3Js(piece)],
  ["SHA-256, node:crypto", (piece) => createHash("sha256").update(piece).digest()],
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 256);
  const runs = Number(process.argv[3] ?? 3);
  const pieces = Array.from({ length: 16 }, () => randomBytes(MiB)); // cycled: the data stays in cache alike for all
  const rates = HASHES.map(() => [] as number[]);
  for (let run = 0; run < runs; run++) {
    HASHES.forEach(([, hash], i) => {
      const started = performance.now();
      for (let n = 0; n < sizeMiB; n++) hash(pieces[n % pieces.length]);
      rates[i].push(mbPerSecond(sizeMiB * MiB, performance.now() - started));
    });
  }
  process.stdout.write(`Hashing ${sizeMiB} MiB in 1 MiB pieces, median of ${runs} runs:\n`);
  HASHES.forEach(([name], i) => process.stdout.write(`  ${name.padEnd(38)} ${median(rates[i]).toFixed(0).padStart(6)} MB/s\n`));
}

runScript(main);
