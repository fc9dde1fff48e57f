// Sealing small files in batches on the seal pool's workers (seal-pool.ts). A folder of 10,000 small
// files is 10,000 shares of one chunk, and a worker trip per file cost more than sealing it, so the
// main thread did it all itself: open, read and close through libuv's thread pool, the secret screen's
// search of the head, BLAKE3 twice, the chunk key and AES-CTR; 1.6x restic's CPU, on one core. A batch
// hands a worker many files in one message: it reads each with synchronous calls (no thread-pool
// trips), looks for the screen's literals in its head, and seals it with sealChunk into one shared
// buffer for the whole batch. The main thread is left the screen's verdict on the rare flagged file,
// storing the objects and the manifests.
//
// `sealFileBatch` runs from its source text on the workers (see seal-pool.ts): it uses only its
// arguments.

import type { SealConfig } from "./seal-pool";

/** The screen's part a worker runs: which heads hold one of `literals` (the rest need no content check). */
export interface HeadScreen {
  literals: Uint8Array[];
  /** Bytes of a file's head searched. */
  headBytes: number;
}

/** A file of a batch: where it is and its size when it was walked (its stored bytes get that much room). */
export interface BatchFile {
  path: string;
  size: number;
}

export interface FilesJob {
  kind: "files";
  seq: number;
  paths: string[];
  sizes: number[];
  /** Each file's stored bytes at the sum of the sizes before it. */
  output: SharedArrayBuffer;
}

export interface FilesReply {
  kind: "files";
  seq: number;
  output: SharedArrayBuffer;
  /** Each file's length, or -1 when it is not what the walk found (grown, unreadable). */
  lengths: Int32Array;
  /** sealChunk's result for each file, at a stride of its length for the mode (empty for -1 files). */
  meta: Uint8Array;
  /** The plaintext head of each file that holds a screen literal, else null. */
  heads: (Uint8Array | null)[];
  error?: string;
}

/** The worker's own reusable read buffer (a batch's largest file, plus one byte to see it grew). */
export interface ReadScratch {
  bytes: Uint8Array;
}

type Seal = (plaintext: Uint8Array, out: Uint8Array) => Uint8Array;

/**
 * Reads and seals each file of `job` (see the top of this file). A file read whole in at most its
 * walked size is sealed as the share of that one chunk would be; one that grew or cannot be read is
 * left (-1) to the caller, which shares it the ordinary way (and so reports its error).
 */
export function sealFileBatch(fs: typeof import("node:fs"), seal: Seal, config: SealConfig, screen: HeadScreen | null, job: FilesJob, scratch: ReadScratch): Omit<FilesReply, "seq" | "output" | "kind"> {
  const stride = config.chunkSecret === null ? 32 : 96;
  const lengths = new Int32Array(job.paths.length);
  const meta = new Uint8Array(stride * job.paths.length);
  const heads: (Uint8Array | null)[] = [];
  const output = new Uint8Array(job.output);
  let at = 0;
  for (let i = 0; i < job.paths.length; i++) {
    const size = job.sizes[i];
    if (scratch.bytes.length < size + 1) scratch.bytes = new Uint8Array(size + 1);
    let n = -1;
    try {
      const fd = fs.openSync(job.paths[i], "r");
      try {
        n = 0;
        for (let got = -1; got !== 0 && n <= size; n += got) got = fs.readSync(fd, scratch.bytes, n, size + 1 - n, n);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      n = -1;
    }
    lengths[i] = n <= size ? n : -1;
    heads.push(null);
    if (lengths[i] >= 0) {
      const plaintext = scratch.bytes.subarray(0, n);
      if (screen) {
        const head = Buffer.from(plaintext.buffer, plaintext.byteOffset, Math.min(n, screen.headBytes));
        if (screen.literals.some((l) => head.indexOf(l) >= 0)) heads[i] = new Uint8Array(head); // a copy: the scratch is reused
      }
      const out = output.subarray(at, at + n);
      if (config.chunkSecret === null) out.set(plaintext);
      if (n > 0) meta.set(seal(plaintext, out), i * stride);
    }
    at += size;
  }
  return { lengths, meta, heads };
}
