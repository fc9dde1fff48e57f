/**
 * Baseline for the DHT lookup benchmark: WebTorrent's `bittorrent-dht`
 * (BitTorrent mainline DHT, BEP 5) with N nodes on 127.0.0.1 in one process,
 * over real UDP sockets.
 *
 * Phases:
 *   1. join    - node 0 starts alone; every later node bootstraps off node 0
 *                plus a couple of random earlier nodes and we wait for its
 *                'ready' (its self-lookup has finished).
 *   2. warm-up - every node looks up one random id, so the routing tables of
 *                the early nodes (which joined an almost empty network) fill up.
 *   3. announce - a few nodes announce a few random infohashes (the
 *                equivalent of our provider records).
 *   4. measure - sequential lookups from random nodes for random announced
 *                infohashes; latency is the time until the lookup callback
 *                fires (the traversal has converged), which is what our own
 *                lookup reports too. bench/dht.ts alternates them with
 *                peershare's, one by one; runBittorrentDhtBaseline runs them alone.
 *
 * Run directly: node dist/bench/bittorrent-dht-baseline.js [nodes] [lookups]
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { mapLimit } from "../node-host/util/concurrency";
import { percentile } from "./stats";

export interface BittorrentDhtBaselineOptions {
  nodes: number;
  lookups: number;
  log?: (line: string) => void;
}

export interface BittorrentDhtBaselineResult {
  nodes: number;
  lookups: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Lookups that errored, timed out or did not find any announcer. */
  failed: number;
  /** Join + warm-up + announce, in ms. */
  setupMs: number;
}

/** Each joining node bootstraps off node 0 plus this many random earlier nodes. */
const EXTRA_BOOTSTRAP_PEERS = 2;
/** How many distinct infohashes get announced, and by how many nodes each. */
const INFO_HASHES = 10;
const ANNOUNCERS_PER_HASH = 3;
/** How many warm-up / announce operations run at once. */
const SETUP_PARALLELISM = 8;
const JOIN_TIMEOUT_MS = 5_000;
const OP_TIMEOUT_MS = 10_000;
/** Overall bound on a run; lookups not started by then count as failed. */
const RUN_TIMEOUT_MS = 5 * 60_000;
const DESTROY_TIMEOUT_MS = 5_000;
const HOST = "127.0.0.1";

// ---------------------------------------------------------------------------
// The subset of the (untyped, ESM-only) bittorrent-dht API used here.

interface DhtPeer {
  host: string;
  port: number;
}

interface Dht {
  /** The routing table (a k-bucket tree). */
  readonly nodes: { count(): number };
  listen(port: number, address: string, onListening: () => void): void;
  address(): { port: number };
  /** Returns an abort function; `cb` fires when the traversal has converged. */
  lookup(infoHash: Buffer, cb: (err: Error | null) => void): () => void;
  /** Port 0 means "implied port": peers record our DHT port. */
  announce(infoHash: Buffer, port: number, cb: (err: Error | null) => void): void;
  destroy(cb: () => void): void;
  on(event: "peer", fn: (peer: DhtPeer, infoHash: Buffer) => void): this;
  on(event: "error" | "warning", fn: (err: Error) => void): this;
  once(event: "ready", fn: () => void): this;
  removeListener(event: "peer", fn: (peer: DhtPeer, infoHash: Buffer) => void): this;
}

type DhtConstructor = new (opts: { bootstrap: false | string[]; host: string }) => Dht;

/**
 * bittorrent-dht v11 is an ES module, so from our CommonJS output it can only
 * be loaded with import(), which tsc (module node16) leaves as-is. The
 * package ships no types: the specifier is widened to `string` so tsc types
 * the import as `any` instead of failing on the missing declarations, and the
 * result is cast to the interface above.
 */
const DHT_MODULE: string = "bittorrent-dht";

async function loadDht(): Promise<DhtConstructor> {
  const mod = (await import(DHT_MODULE)) as { default: DhtConstructor };
  return mod.default;
}

// ---------------------------------------------------------------------------
// Small helpers.

/** Resolves to `fallback` if `promise` has not settled within `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)];
}

const round = (ms: number): number => Math.round(ms * 100) / 100;

// ---------------------------------------------------------------------------
// Phases.

/** Creates one node listening on 127.0.0.1 and waits for it to be ready. */
async function startNode(DHT: DhtConstructor, bootstrap: false | string[], log: (line: string) => void): Promise<Dht> {
  const dht = new DHT({ bootstrap, host: HOST });
  dht.on("error", (err) => log(`dht error: ${err.message}`));
  dht.on("warning", () => undefined); // malformed/unexpected packets: irrelevant here
  const ready = new Promise<boolean>((resolve) => dht.once("ready", () => resolve(true)));
  // listen() must be called in the same tick as the constructor: the
  // constructor schedules its bootstrap queries on the next tick, and sending
  // on an unbound socket would bind it to a random port on all interfaces.
  await new Promise<void>((resolve) => dht.listen(0, HOST, resolve));
  if (!(await withTimeout(ready, JOIN_TIMEOUT_MS, false))) log(`node on port ${dht.address().port} not ready in time`);
  return dht;
}

/** Bootstrap list for the next node: node 0 plus a few random earlier nodes. */
function bootstrapFor(existing: Dht[]): string[] {
  const peers = new Set([existing[0]]);
  for (let i = 0; i < EXTRA_BOOTSTRAP_PEERS && peers.size < existing.length; i++) peers.add(pick(existing));
  return [...peers].map((dht) => `${HOST}:${dht.address().port}`);
}

async function joinNodes(DHT: DhtConstructor, count: number, dhts: Dht[], log: (line: string) => void): Promise<void> {
  dhts.push(await startNode(DHT, false, log));
  while (dhts.length < count) dhts.push(await startNode(DHT, bootstrapFor(dhts), log));
}

/** Runs one lookup; `found` is whether any announcer of `infoHash` was returned. */
function timedLookup(dht: Dht, infoHash: Buffer): Promise<{ ok: boolean; ms: number }> {
  return new Promise((resolve) => {
    let found = false;
    let settled = false;
    const onPeer = (_peer: DhtPeer, hash: Buffer): void => {
      if (hash.equals(infoHash)) found = true;
    };
    const start = performance.now();
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      dht.removeListener("peer", onPeer);
      resolve({ ok, ms: performance.now() - start });
    };
    const timer = setTimeout(() => {
      abort();
      finish(false);
    }, OP_TIMEOUT_MS);
    dht.on("peer", onPeer);
    const abort = dht.lookup(infoHash, (err) => finish(!err && found));
  });
}

/** Every node looks up one random id so all routing tables get populated. */
async function warmUp(dhts: Dht[]): Promise<void> {
  await mapLimit(dhts, SETUP_PARALLELISM, async (dht) => {
    await timedLookup(dht, randomBytes(20));
  });
}

/** Announces INFO_HASHES random infohashes, each from a few random nodes. */
async function announceAll(dhts: Dht[], log: (line: string) => void): Promise<Buffer[]> {
  const infoHashes = Array.from({ length: INFO_HASHES }, () => randomBytes(20));
  const jobs = infoHashes.flatMap((hash) => Array.from({ length: ANNOUNCERS_PER_HASH }, () => ({ hash, dht: pick(dhts) })));
  let failures = 0;
  await mapLimit(jobs, SETUP_PARALLELISM, async ({ hash, dht }) => {
    const announced = new Promise<boolean>((resolve) => dht.announce(hash, 0, (err) => resolve(!err)));
    if (!(await withTimeout(announced, OP_TIMEOUT_MS, false))) failures++;
  });
  if (failures > 0) log(`${failures}/${jobs.length} announces failed`);
  return infoHashes;
}

async function destroyAll(dhts: Dht[]): Promise<void> {
  const closed = Promise.all(dhts.map((dht) => new Promise<void>((resolve) => dht.destroy(resolve))));
  await withTimeout(closed.then(() => undefined), DESTROY_TIMEOUT_MS, undefined);
}

function meanTableSize(dhts: Dht[]): number {
  return dhts.reduce((sum, dht) => sum + dht.nodes.count(), 0) / dhts.length;
}

// ---------------------------------------------------------------------------

/** A baseline network, up and announced: one lookup at a time, then destroy(). */
export interface BaselineNetwork {
  setupMs: number;
  /** A lookup from a random node for a random announced infohash, to convergence. */
  lookup(): Promise<{ ok: boolean; ms: number }>;
  destroy(): Promise<void>;
}

export async function startBaselineNetwork(opts: { nodes: number; log?: (line: string) => void }): Promise<BaselineNetwork> {
  const log = opts.log ?? (() => undefined);
  const nodes = Math.max(1, Math.floor(opts.nodes));
  const DHT = await loadDht();
  const dhts: Dht[] = [];
  try {
    const setupStart = performance.now();
    await joinNodes(DHT, nodes, dhts, log);
    log(`bittorrent-dht: joined ${nodes} nodes in ${Math.round(performance.now() - setupStart)} ms`);
    await warmUp(dhts);
    log(`bittorrent-dht: warm-up done, mean routing table size ${meanTableSize(dhts).toFixed(1)}`);
    const infoHashes = await announceAll(dhts, log);
    const setupMs = performance.now() - setupStart;
    return { setupMs, lookup: () => timedLookup(pick(dhts), pick(infoHashes)), destroy: () => destroyAll(dhts) };
  } catch (err) {
    await destroyAll(dhts);
    throw err;
  }
}

export function summarizeBaseline(nodes: number, lookups: number, setupMs: number, samples: { ok: boolean; ms: number }[]): BittorrentDhtBaselineResult {
  const sorted = samples.filter((s) => s.ok).map((s) => s.ms).sort((a, b) => a - b);
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : NaN;
  return {
    nodes,
    lookups,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    meanMs: round(mean),
    failed: samples.length - sorted.length,
    setupMs: Math.round(setupMs),
  };
}

/** The baseline alone: set up, `lookups` sequential lookups (within RUN_TIMEOUT_MS), destroy. */
export async function runBittorrentDhtBaseline(opts: BittorrentDhtBaselineOptions): Promise<BittorrentDhtBaselineResult> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  const lookups = Math.max(0, Math.floor(opts.lookups));
  const net = await startBaselineNetwork(opts);
  try {
    const samples: { ok: boolean; ms: number }[] = [];
    for (let i = 0; i < lookups; i++) samples.push(Date.now() > deadline ? { ok: false, ms: 0 } : await net.lookup());
    return summarizeBaseline(opts.nodes, lookups, net.setupMs, samples);
  } finally {
    await net.destroy();
  }
}

function parseCount(arg: string | undefined, fallback: number): number {
  const n = Number(arg);
  return arg !== undefined && Number.isInteger(n) && n > 0 ? n : fallback;
}

async function main(): Promise<void> {
  const nodes = parseCount(process.argv[2], 100);
  const lookups = parseCount(process.argv[3], 200);
  const result = await runBittorrentDhtBaseline({ nodes, lookups, log: (line) => console.log(line) });
  console.log(
    `bittorrent-dht: ${result.nodes} nodes, ${result.lookups} lookups: ` +
      `p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, mean ${result.meanMs} ms, ` +
      `failed ${result.failed}, setup ${result.setupMs} ms, ` +
      `peak rss ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
