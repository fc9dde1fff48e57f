// Chunking benchmark: how much of an edited file still deduplicates against the original, and how
// fast each chunker runs, for the fixed-size and the content-defined (FastCDC) chunker.
// Run: node dist/bench/chunking.js   (MB = 10^6 bytes)

import { createCipheriv, createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { contentDefinedChunker, fixedSizeChunker, MiB, type Chunker } from "../node-host/cas/chunker";

const FILE_SIZE = 64 * MiB;

/** Deterministic pseudo-random bytes (an AES-CTR keystream), so every run measures the same file. */
function pseudoRandom(size: number, seed: string): Buffer {
  const key = createHash("sha256").update(seed).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

/** The original plus edits a user makes: small insertions near the start and the middle, an overwrite. */
function editedCopy(original: Buffer): Buffer {
  const mid = original.length >> 1;
  const edited = Buffer.concat([
    original.subarray(0, 1000),
    Buffer.from("abc"),
    original.subarray(1000, mid),
    Buffer.from("hello"),
    original.subarray(mid),
  ]);
  pseudoRandom(4096, "overwrite").copy(edited, Math.floor(edited.length * 0.75));
  return edited;
}

interface ChunkStats {
  hashes: Map<string, number>; // chunk hash -> chunk size
  count: number;
  seconds: number;
}

async function chunkFile(chunker: Chunker, file: string): Promise<ChunkStats> {
  const hashes = new Map<string, number>();
  let count = 0;
  const started = process.hrtime.bigint();
  const fh = await fs.promises.open(file, "r");
  try {
    for await (const chunk of chunker.chunkViews(fh)) {
      count++;
      hashes.set(createHash("sha256").update(chunk).digest("hex"), chunk.length);
    }
  } finally {
    await fh.close();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { hashes, count, seconds };
}

/** Time spent on the chunk hashes is not the chunker's: measure it alone and subtract it. */
async function hashOnlySeconds(file: string): Promise<number> {
  return (await chunkFile(fixedSizeChunker(MiB), file)).seconds;
}

export async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-bench-chunking-"));
  try {
    const original = pseudoRandom(FILE_SIZE, "original");
    const edited = editedCopy(original);
    const originalFile = path.join(dir, "original.bin");
    const editedFile = path.join(dir, "edited.bin");
    fs.writeFileSync(originalFile, original);
    fs.writeFileSync(editedFile, edited);

    await hashOnlySeconds(originalFile); // warm up the page cache and the JIT
    const baseline = await hashOnlySeconds(editedFile);
    const rows: string[][] = [["chunker", "chunks", "shared bytes", "dedup ratio", "MB/s"]];
    for (const chunker of [fixedSizeChunker(), contentDefinedChunker()]) {
      const a = await chunkFile(chunker, originalFile);
      const b = await chunkFile(chunker, editedFile);
      let shared = 0;
      for (const [hash, size] of b.hashes) if (a.hashes.has(hash)) shared += size;
      const chunkingSeconds = Math.max(b.seconds - baseline, 1e-6);
      rows.push([
        chunker.name,
        String(b.count),
        `${(shared / MiB).toFixed(1)} MiB`,
        `${((100 * shared) / edited.length).toFixed(1)}%`,
        rate(edited.length / 1e6 / chunkingSeconds),
      ]);
    }
    console.log(`edited ${FILE_SIZE / MiB} MiB file: 3 bytes inserted near the start, 5 in the middle, 4 KiB overwritten`);
    console.log("(MB/s: chunking alone, read + SHA-256 of the chunks subtracted)");
    printTable(rows);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Rates far above the baseline are within its noise: print a bound, not a made-up figure. */
function rate(mbPerSecond: number): string {
  return mbPerSecond > 5000 ? "> 5000" : mbPerSecond.toFixed(0);
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => r[col].length)));
  for (const row of rows) console.log(row.map((cell, col) => cell.padEnd(widths[col])).join("  "));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
