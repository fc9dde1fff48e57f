// Sealing the chunks of a share: per chunk the BLAKE3 of the plaintext (its digest), then for a private
// share the convergent key (HMAC of the digest), AES-256-CTR and the object id (BLAKE3 of the
// ciphertext); for a public share the digest is the id. That is up to three passes over every byte,
// so a large share runs them on a small pool of worker threads while the main thread reads and
// chunks the file.
//
// Copies: a chunk is copied once, from the chunker's window into one of the pool's reusable buffers,
// with a second reusable buffer the worker writes the ciphertext into. The pool's buffers are
// SharedArrayBuffers, so a job names them instead of transferring them: each transfer re-registers the
// buffer as new external memory of the receiving thread, and that pressure set off ~300 scavenges and
// 13 mark-compacts per GiB shared, against 55 and 1 with shared buffers. Reused buffers matter: a
// cipher over a whole chunk in one update() allocates a fresh chunk-sized output each time, and its
// page faults made it cost ~4.4 ms per MiB of CPU on the 2-core machine, against ~0.8 ms for 64 KiB
// pieces copied into a reused buffer.
//
// Where the workers' code comes from: it is evaluated from the source text of `sealChunk` and
// `sealWorkerMain` below, which use only node:crypto, node:worker_threads and the BLAKE3 package
// (loaded by the absolute path the main thread resolved), so there is no worker file to find: it runs
// the same from dist/ (tsc) and from the esbuild bundle out/node-host.js (checked with esbuild's
// node-host options, minified and not). `sealChunk` repeats the few lines of
// convergent-crypto.ts that define a chunk's key, counter block and encryption; the unit tests
// (cas-share.test.ts) check it against convergent-crypto.ts and the worker path against the in-thread
// one, byte for byte.

import * as nodeCrypto from "node:crypto";
import * as os from "node:os";
import { Worker } from "node:worker_threads";
import { chunkKeySecret, CHUNK_IV_LABEL, CRYPT_SLICE_BYTES } from "./convergent-crypto";
import { BLAKE3_PACKAGE, blake3Implementation, objectIdOf } from "./object-hash";
import { sealFileBatch, type BatchFile, type FilesJob, type FilesReply, type HeadScreen, type ReadScratch } from "./seal-files";

export interface SealedChunk {
  /** The chunk's convergent key (private shares); null for public shares. */
  key: Buffer | null;
  /** The object's bytes as stored: the ciphertext (private) or the plaintext (public). */
  data: Buffer;
  /** BLAKE3 of the stored bytes: the object id. */
  id: Buffer;
  /** BLAKE3 of the plaintext (the id, for a public share). */
  digest: Buffer;
  /** Hands the buffers back for reuse; call once the data is written (and not used any more). */
  release(): void;
}

export interface ChunkSealer {
  /**
   * Seals one chunk. `plaintext` may be reused by the caller as soon as this returns: it has been
   * copied (pool) or fully processed (in-thread) by then.
   */
  seal(plaintext: Uint8Array): Promise<SealedChunk>;
  /** Stops the workers (pending seals reject); safe to call more than once. */
  close(): Promise<void>;
}

/** A file of a batch, sealed: its one chunk (null for an empty file), and its head when it holds a screen literal. */
export interface SealedFile {
  /** Its stored bytes are a view of the batch's buffer: its own release() does nothing, the batch's frees them all. */
  chunk: SealedChunk | null;
  head: Buffer | null;
}

export interface SealedFileBatch {
  /** In the order asked; null for a file not read as walked (grown, unreadable): share it the ordinary way. */
  files: (SealedFile | null)[];
  /** Hands the batch's buffer back; call once every file's bytes are written. */
  release(): void;
}

/** Reads and seals small files (at most one chunk each) in batches. */
export interface FileBatchSealer {
  sealFiles(files: readonly BatchFile[]): Promise<SealedFileBatch>;
  close(): Promise<void>;
}

/** Where the chunk key comes from: derived from the convergence secret (private), or none (public). */
export type SealMode = { public: true } | { public: false; convergenceSecret: Uint8Array };

/**
 * Worker threads for a share on this machine: one fewer than the cores (the main thread reads and
 * chunks), at least 1, at most 3. On the 2-core reference machine: 1.
 */
export function defaultSealWorkers(): number {
  return Math.max(1, Math.min(3, os.availableParallelism() - 1));
}

/**
 * Worker threads for a folder mostly of small files: one per core, at most 4. The workers read and
 * seal them (sealFiles), so the main thread, left to store them, is idle much of the time.
 */
export function batchSealWorkers(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

// ------------------------------------------------------------------------------------------------
// the work on one chunk, the same on a worker and in-thread

/** What sealing needs besides the chunk: a structured-clonable copy goes to each worker as its workerData. */
export interface SealConfig {
  /** HMAC key of chunk keys (convergent-crypto.ts' chunkKeySecret); null for public shares. */
  chunkSecret: Uint8Array | null;
  /** The label a chunk's counter block is derived with: HMAC(key, label), its first 16 bytes. */
  ivLabel: string;
  /** Bytes fed to the cipher at a time. */
  slice: number;
}

/** What a worker needs besides: the absolute path of the BLAKE3 package, for its require(), and the folder's screen. */
interface WorkerConfig extends SealConfig {
  blake3Module: string;
  screen: HeadScreen | null;
}

/** What sealing hashes with: objectIdOf over one buffer. */
type Blake3 = (data: Uint8Array) => Buffer;

/** Bytes of the small result of sealing a chunk: key (32) | id (32) | digest (32), or id (32) alone when public. */
const META_PRIVATE = 96;
const META_PUBLIC = 32;

/**
 * Seals `plaintext` into `out` (private: its first plaintext.length bytes get the ciphertext) and
 * returns key | id | digest, or (public, `out` unused) the id alone. The same output as the chunk key
 * and cryptChunk of convergent-crypto.ts. Self-contained, as its source text also runs on the workers:
 * it uses only its arguments.
 */
function sealChunk(crypto: typeof import("node:crypto"), blake3: Blake3, config: SealConfig, plaintext: Uint8Array, out: Uint8Array): Uint8Array {
  const digest = blake3(plaintext);
  if (config.chunkSecret === null) return new Uint8Array(digest);
  const key = crypto.createHmac("sha256", config.chunkSecret).update(digest).digest();
  const iv = crypto.createHmac("sha256", key).update(config.ivLabel).digest().subarray(0, 16);
  const cipher = crypto.createCipheriv("aes-256-ctr", key, iv);
  for (let at = 0; at < plaintext.length; at += config.slice) out.set(cipher.update(plaintext.subarray(at, at + config.slice)), at);
  cipher.final(); // CTR is a stream mode: nothing is held back
  const id = blake3(out.subarray(0, plaintext.length));
  const meta = new Uint8Array(96);
  meta.set(key, 0);
  meta.set(id, 32);
  meta.set(digest, 64);
  return meta;
}

interface Job {
  kind: "chunk";
  seq: number;
  /** The plaintext in its first `length` bytes (shared memory: nothing is copied or transferred). */
  input: SharedArrayBuffer;
  /** Where the ciphertext goes (private shares; for public ones a zero-length placeholder). */
  output: SharedArrayBuffer;
  length: number;
}

interface Reply {
  kind: "chunk";
  seq: number;
  length: number;
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
  /** sealChunk's result; empty on error. */
  meta: Uint8Array;
  error?: string;
}

/**
 * A worker's whole program. It runs from source text (see WORKER_SOURCE), so it may use nothing from
 * outside its own body but its arguments.
 */
function sealWorkerMain(require: NodeJS.Require, seal: typeof sealChunk, sealFiles: typeof sealFileBatch): void {
  const { parentPort, workerData } = require("node:worker_threads") as typeof import("node:worker_threads");
  const crypto = require("node:crypto") as typeof import("node:crypto");
  const fs = require("node:fs") as typeof import("node:fs");
  const config = workerData as WorkerConfig;
  const { blake3: blake3OfBuffer } = require(config.blake3Module) as typeof import("@napi-rs/blake-hash");
  const blake3 = (data: Uint8Array) => blake3OfBuffer(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  const sealOne = (plaintext: Uint8Array, out: Uint8Array) => seal(crypto, blake3, config, plaintext, out);
  const scratch: ReadScratch = { bytes: new Uint8Array(0) };
  const port = parentPort!;
  const failure = (err: unknown) => String((err as Error)?.stack ?? err);
  const onChunk = (job: Job) => {
    let reply: Reply;
    try {
      const meta = sealOne(new Uint8Array(job.input, 0, job.length), new Uint8Array(job.output));
      reply = { kind: "chunk", seq: job.seq, length: job.length, input: job.input, output: job.output, meta };
    } catch (err) {
      reply = { kind: "chunk", seq: job.seq, length: job.length, input: job.input, output: job.output, meta: new Uint8Array(0), error: failure(err) };
    }
    port.postMessage(reply, [reply.meta.buffer as ArrayBuffer]);
  };
  const onFiles = (job: FilesJob) => {
    let reply: FilesReply;
    try {
      reply = { kind: "files", seq: job.seq, output: job.output, ...sealFiles(fs, sealOne, config, config.screen, job, scratch) };
    } catch (err) {
      reply = { kind: "files", seq: job.seq, output: job.output, lengths: new Int32Array(0), meta: new Uint8Array(0), heads: [], error: failure(err) };
    }
    port.postMessage(reply, [reply.meta.buffer as ArrayBuffer, reply.lengths.buffer as ArrayBuffer]);
  };
  port.on("message", (job: Job | FilesJob) => (job.kind === "files" ? onFiles(job) : onChunk(job)));
}

/** The workers' program as source text: no file to find, in dist/ or in the esbuild bundle. */
const WORKER_SOURCE = `"use strict";\nconst sealChunk = ${String(sealChunk)};\nconst sealFileBatch = ${String(sealFileBatch)};\n(${String(sealWorkerMain)})(require, sealChunk, sealFileBatch);\n`;

function sealConfig(mode: SealMode): SealConfig {
  const chunkSecret = mode.public ? null : new Uint8Array(chunkKeySecret(mode.convergenceSecret));
  return { chunkSecret, ivLabel: CHUNK_IV_LABEL, slice: CRYPT_SLICE_BYTES };
}

/** The SealedChunk of sealChunk's result; `data` holds the stored bytes (ciphertext, or the plaintext when public). */
function sealedChunk(meta: Uint8Array, data: Buffer, release: () => void): SealedChunk {
  // Own copies of id, key and tag (small: from Node's buffer pool), not views of the reply's buffer.
  const field = (start: number, end: number) => Buffer.from(meta.subarray(start, end));
  if (meta.length === META_PUBLIC) {
    const id = field(0, 32);
    return { key: null, data, id, digest: id, release };
  }
  if (meta.length !== META_PRIVATE) throw new Error("sealing a chunk gave a malformed result");
  return { key: field(0, 32), data, id: field(32, 64), digest: field(64, 96), release };
}

/**
 * Reusable buffers of one size (allocated on demand, kept for reuse); a larger request gets one of its
 * own. Not util/buffer-pool.ts: that one lends Buffer views in size classes, these are the whole
 * (Shared)ArrayBuffers a job names.
 */
class SealBuffers<B extends ArrayBufferLike> {
  private readonly free: B[] = [];

  constructor(
    readonly size: number,
    private readonly allocate: (bytes: number) => B,
  ) {}

  take(minBytes: number): B {
    return (minBytes <= this.size ? this.free.pop() : undefined) ?? this.allocate(Math.max(this.size, minBytes));
  }

  give(buffer: B): void {
    if (buffer.byteLength === this.size) this.free.push(buffer);
  }

  clear(): void {
    this.free.length = 0;
  }
}

/** A release() that acts once. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) fn();
    done = true;
  };
}

// ------------------------------------------------------------------------------------------------
// in-thread

/** Seals on the calling thread (small files, or when asked). `bufferBytes`: the chunker's largest chunk. */
export function inThreadSealer(mode: SealMode, bufferBytes: number): ChunkSealer {
  const config = sealConfig(mode);
  const buffers = new SealBuffers(bufferBytes, (n) => new ArrayBuffer(n));
  return {
    seal: (plaintext) => {
      try {
        // The caller reuses its view after this returns: a public chunk's stored bytes are a copy.
        const buffer = buffers.take(plaintext.length);
        const data = Buffer.from(buffer, 0, plaintext.length);
        if (config.chunkSecret === null) data.set(plaintext);
        const meta = sealChunk(nodeCrypto, objectIdOf, config, plaintext, data);
        return Promise.resolve(sealedChunk(meta, data, once(() => buffers.give(buffer))));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    close: async () => buffers.clear(),
  };
}

// ------------------------------------------------------------------------------------------------
// the pool

interface Pending {
  settle(reply: Reply | FilesReply): void;
  reject(err: Error): void;
}

interface PoolWorker {
  thread: Worker;
  /** Jobs sent and not answered. */
  load: number;
}

export interface SealPoolOptions {
  workers: number;
  /** Size of the reusable buffers: the chunker's largest chunk (a larger one gets buffers of its own). */
  bufferBytes: number;
  /** What sealFiles() looks for in each file's head (a folder share's secret screen). */
  screen?: HeadScreen;
}

/** Starts `options.workers` worker threads; close() stops them. */
export function startSealPool(mode: SealMode, options: SealPoolOptions): ChunkSealer & FileBatchSealer {
  if (!Number.isInteger(options.workers) || options.workers < 1) throw new RangeError("a seal pool has at least one worker");
  // the workers load the native BLAKE3 package by path; without it, shares seal in-thread (share.ts)
  if (!blake3Implementation().native) throw new Error(`seal workers need the native ${BLAKE3_PACKAGE}`);
  return new SealPool({ ...sealConfig(mode), blake3Module: require.resolve(BLAKE3_PACKAGE), screen: options.screen ?? null }, options);
}

const EMPTY = new SharedArrayBuffer(0);

class SealPool implements ChunkSealer, FileBatchSealer {
  private readonly workers: PoolWorker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly buffers: SealBuffers<SharedArrayBuffer>;
  private nextSeq = 0;
  private failure: Error | null = null;
  private closed: Promise<void> | null = null;

  constructor(
    private readonly config: WorkerConfig,
    options: SealPoolOptions,
  ) {
    this.buffers = new SealBuffers(options.bufferBytes, (n) => new SharedArrayBuffer(n));
    for (let i = 0; i < options.workers; i++) {
      const thread = new Worker(WORKER_SOURCE, { eval: true, workerData: config, name: "peershare-seal" });
      const worker: PoolWorker = { thread, load: 0 };
      thread.on("message", (reply: Reply | FilesReply) => this.onReply(worker, reply));
      thread.on("error", (err) => this.fail(err instanceof Error ? err : new Error(String(err))));
      thread.on("exit", (code) => {
        if (!this.closed) this.fail(new Error(`a seal worker exited (code ${code})`));
      });
      thread.unref(); // referenced only while it has work: an idle pool never keeps the process alive
      this.workers.push(worker);
    }
  }

  seal(plaintext: Uint8Array): Promise<SealedChunk> {
    const input = this.buffers.take(plaintext.length);
    new Uint8Array(input, 0, plaintext.length).set(plaintext);
    const output = this.config.chunkSecret === null ? EMPTY : this.buffers.take(plaintext.length);
    const job: Job = { kind: "chunk", seq: this.nextSeq++, input, output, length: plaintext.length };
    return this.send(job, (reply) => this.chunkOf(reply as Reply), [input, output]);
  }

  sealFiles(files: readonly BatchFile[]): Promise<SealedFileBatch> {
    const output = this.buffers.take(files.reduce((n, f) => n + f.size, 0));
    const job: FilesJob = { kind: "files", seq: this.nextSeq++, paths: files.map((f) => f.path), sizes: files.map((f) => f.size), output };
    return this.send(job, (reply) => sealedFiles(reply as FilesReply, job.sizes, this.config.chunkSecret === null, once(() => this.buffers.give(output))), [output]);
  }

  /** Posts `job` to the least loaded worker; its reply is decoded by `decode`, or `buffers` go back to the pool. */
  private send<T>(job: Job | FilesJob, decode: (reply: Reply | FilesReply) => T, buffers: SharedArrayBuffer[]): Promise<T> {
    const failure = this.failure ?? (this.closed ? new Error("the seal pool is closed") : null);
    if (failure) {
      for (const b of buffers) this.buffers.give(b);
      return Promise.reject(failure);
    }
    const worker = this.workers.reduce((a, b) => (b.load < a.load ? b : a));
    return new Promise<T>((resolve, reject) => {
      const settle = (reply: Reply | FilesReply) => {
        try {
          if (reply.error !== undefined) throw new Error(`sealing failed on a worker: ${reply.error}`);
          resolve(decode(reply));
        } catch (err) {
          for (const b of buffers) this.buffers.give(b);
          reject(err as Error);
        }
      };
      this.pending.set(job.seq, { settle, reject });
      if (worker.load++ === 0) worker.thread.ref();
      worker.thread.postMessage(job);
    });
  }

  /** A sealed chunk from its reply; the buffer with its stored bytes comes back on release(). */
  private chunkOf(reply: Reply): SealedChunk {
    const length = reply.length;
    if (this.config.chunkSecret === null) {
      // Public: the stored bytes are the plaintext, in the input buffer.
      return sealedChunk(reply.meta, Buffer.from(reply.input, 0, length), once(() => this.buffers.give(reply.input)));
    }
    const chunk = sealedChunk(reply.meta, Buffer.from(reply.output, 0, length), once(() => this.buffers.give(reply.output)));
    this.buffers.give(reply.input); // the plaintext is done with
    return chunk;
  }

  private onReply(worker: PoolWorker, reply: Reply | FilesReply): void {
    if (--worker.load === 0) worker.thread.unref();
    const pending = this.pending.get(reply.seq);
    if (!pending) return;
    this.pending.delete(reply.seq);
    pending.settle(reply);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const [seq, p] of this.pending) {
      this.pending.delete(seq);
      p.reject(this.failure);
    }
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      for (const [seq, p] of this.pending) {
        this.pending.delete(seq);
        p.reject(new Error("the seal pool was closed"));
      }
      this.buffers.clear();
      await Promise.all(this.workers.map((w) => w.thread.terminate()));
    })();
    return this.closed;
  }
}

/**
 * A batch's sealed files from its reply: each file's stored bytes are a view of the batch's buffer
 * (`output`), which goes back to the pool on release().
 */
function sealedFiles(reply: FilesReply, sizes: number[], isPublic: boolean, release: () => void): SealedFileBatch {
  const stride = isPublic ? META_PUBLIC : META_PRIVATE;
  if (reply.lengths.length !== sizes.length || reply.meta.length !== stride * sizes.length) throw new Error("sealing a batch of files gave a malformed result");
  const files: (SealedFile | null)[] = [];
  let at = 0;
  for (const [i, length] of reply.lengths.entries()) {
    const head = reply.heads[i] ? Buffer.from(reply.heads[i]!.buffer, reply.heads[i]!.byteOffset, reply.heads[i]!.length) : null;
    const chunk = length > 0 ? sealedChunk(reply.meta.subarray(i * stride, (i + 1) * stride), Buffer.from(reply.output, at, length), () => undefined) : null;
    files.push(length < 0 ? null : { chunk, head });
    at += sizes[i];
  }
  return { files, release };
}
