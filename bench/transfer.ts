// Share and fetch throughput of real `peershare` node processes on 127.0.0.1, each figure beside a
// baseline measured in the same run on the same machine:
//   1. share of a random file (private)         vs reading + SHA-256 in Node (1 MiB reads), and sha256sum
//   2. fetch over TLS from 1 and from 3 holders  vs a raw loopback TCP copy of the same bytes
//   3. fetch over WebRTC (bulkPath = webrtc)     vs one raw node-datachannel channel
//   4. fetch under uploadLimitMBps = 30 on every holder: 3 holders vs 1 holder
// Every node is a `peershare start` process of its own with a data dir under the temp dir, configured
// through DATA_DIR/config.json and driven with the CLI (`share`, `fetch --json`, `id --json`). Each
// fetch runs on a fresh node, so nothing is reused from an earlier one. Peak RSS is the node
// process's VmHWM (/proc/<pid>/status) read right after its step.
//   node dist/bench/transfer.js [sizeMiB=1024] [tls]     (tls: steps 1 and 2 only)
// MB/s = 10^6 bytes per second; sizes are MiB.

import { mbPerSecond } from "./stats";
import { cleanupOnExit, runScript } from "../scripts/run-script";
import { waitFor } from "../test/helpers/cli";
import { ChildProcess, execFile, spawn } from "node:child_process";
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { rawDataChannel, rawTcpCopy, rawTcpFileCopy } from "./transport-baselines";
import type { FetchInfo, LookupResult, NodeInfo, ShareInfo } from "../node-host/rpc/api-types";

const MiB = 1024 * 1024;
const ROOT = path.resolve(__dirname, "..", "..");
const BIN = path.join(ROOT, "bin", "peershare.js");
/** Upload cap of every holder in step 4, MB/s. */
const CAP_MBPS = 30;

export interface Row {
  /** What is measured, and against which baseline. */
  what: string;
  mbps: number;
  baselineMBps: number | null;
  /** mbps / baselineMBps. */
  ratio: number | null;
  /** The ratio aimed for (ratio >= target), or null when the row has no target. */
  target: number | null;
  /** Peak RSS of the node process doing the work (sharer or fetcher), MiB. */
  peakRssMiB: number | null;
}

export interface TransferBenchOptions {
  sizeMiB: number;
  log: (line: string) => void;
  /** Only the share and the TLS fetches (steps 1 and 2). */
  tlsOnly?: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const loadAverage = () => os.loadavg().map((x) => x.toFixed(1)).join(" ");

// ---------------------------------------------------------------------------------------------
// node processes

interface BenchNode {
  name: string;
  dataDir: string;
  id: string;
  port: number;
  proc: ChildProcess;
  stderrTail: () => string;
}

/** Everything this module spawned and has not seen exit: killed at the end, and on any failure. */
const live = new Set<ChildProcess>();
/** Temp dirs of runs in progress, removed by the end-of-run cleanup (or on a signal when run directly). */
const tempDirs = new Set<string>();

function track(proc: ChildProcess): ChildProcess {
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
  return proc;
}

/** For process exit and signals: kills what is still running and removes the temp dirs. */
function cleanupSync(): void {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

async function killAll(): Promise<void> {
  await Promise.all(
    [...live].map(async (p) => {
      if (p.exitCode === null && p.signalCode === null) {
        const exited = new Promise((r) => p.once("exit", r));
        p.kill("SIGKILL");
        await exited;
      }
      live.delete(p);
    }),
  );
}

/** Keeps the last `max` characters written to a stream (node logs can be long during a transfer). */
function tail(stream: NodeJS.ReadableStream, max = 16_384): () => string {
  let text = "";
  stream.on("data", (d: Buffer) => {
    text += d.toString();
    if (text.length > 2 * max) text = text.slice(-max);
  });
  return () => text.slice(-max);
}

function configure(dataDir: string, settings: Record<string, unknown>): void {
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(path.join(dataDir, "config.json"), JSON.stringify(settings));
}

/** Starts `peershare start` as its own process and waits for the JSON line that says it listens. */
async function startNode(name: string, dataDir: string, bootstrap: BenchNode | null): Promise<BenchNode> {
  const args = [BIN, "start", "--data-dir", dataDir, "--port", "0", "--host", "127.0.0.1", "--json", ...(bootstrap ? ["--bootstrap", `127.0.0.1:${bootstrap.port}`] : [])];
  // keys in a passphrase-protected file in the (temporary) data dir
  const env = { ...process.env, PEERSHARE_PASSPHRASE: "peershare bench" };
  const proc = track(spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env }));
  const stderrTail = tail(proc.stderr!);
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!out.includes("}")) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`node ${name} exited early: ${stderrTail()}`);
    if (Date.now() > deadline) throw new Error(`node ${name} did not start: ${stderrTail()}`);
    await sleep(20);
  }
  const info = JSON.parse(out) as { id: string; port: number };
  return { name, dataDir, id: info.id, port: info.port, proc, stderrTail };
}

async function stopNode(node: BenchNode): Promise<void> {
  if (node.proc.exitCode !== null || node.proc.signalCode !== null) return;
  const exited = new Promise((r) => node.proc.once("exit", r));
  node.proc.kill("SIGKILL");
  await exited;
}

interface CliOutput {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], timeoutMs = 120_000): Promise<CliOutput> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    track(child);
  });
}

async function cliJson<T>(node: BenchNode, args: string[], timeoutMs?: number): Promise<T> {
  const r = await cli([...args, "--data-dir", node.dataDir, "--json"], timeoutMs);
  if (r.code !== 0) throw new Error(`peershare ${args.join(" ")} on ${node.name} failed (${r.code}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as T;
}

/** Peak resident set of a process so far (VmHWM), MiB. */
function peakRssMiB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

interface FetchRun {
  done: FetchInfo;
  /** Wall time around the `peershare fetch` process. */
  wallMs: number;
}

/** Runs `peershare fetch LINK -o DIR/ --json` on a node and returns its done event. */
async function fetchOnce(node: BenchNode, link: string, outDir: string, timeoutMs: number): Promise<FetchRun> {
  const started = performance.now();
  const proc = track(spawn(process.execPath, [BIN, "fetch", link, "-o", outDir + path.sep, "--json", "--data-dir", node.dataDir], { stdio: ["ignore", "pipe", "pipe"] }));
  const stderrTail = tail(proc.stderr!);
  let done: FetchInfo | null = null;
  readline.createInterface({ input: proc.stdout! }).on("line", (line) => {
    try {
      const event = JSON.parse(line) as { event: string } & FetchInfo;
      if (event.event === "done") done = event;
    } catch {
      // not an event line
    }
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => proc.on("close", (c) => resolve(c)));
  clearTimeout(timer);
  const wallMs = performance.now() - started;
  if (code !== 0 || done === null) throw new Error(`fetch on ${node.name} failed (exit ${code}): ${stderrTail().trim()}\nnode log: ${node.stderrTail().slice(-2000)}`);
  return { done, wallMs };
}

// ---------------------------------------------------------------------------------------------
// files and baselines

/** Writes `mib` MiB of random bytes (an AES-256-CTR keystream under a fresh random key) and returns its SHA-256. */
async function makeRandomFile(file: string, mib: number): Promise<string> {
  const cipher = createCipheriv("aes-256-ctr", randomBytes(32), randomBytes(16));
  const zeros = Buffer.alloc(8 * MiB);
  const hash = createHash("sha256");
  const fh = await fs.promises.open(file, "w");
  try {
    for (let left = mib * MiB; left > 0; left -= zeros.length) {
      const block = cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
      hash.update(block);
      await fh.write(block);
    }
  } finally {
    await fh.close();
  }
  return hash.digest("hex");
}

/** Reads a file as a stream of 1 MiB pieces and hashes it with SHA-256. */
async function nodeSha256(file: string): Promise<{ hex: string; ms: number }> {
  const started = performance.now();
  const hash = createHash("sha256");
  for await (const piece of fs.createReadStream(file, { highWaterMark: MiB })) hash.update(piece as Buffer);
  const hex = hash.digest("hex");
  return { hex, ms: performance.now() - started };
}

/** The fastest of `runs` runs of a measurement. */
async function bestOf<T extends { ms: number }>(runs: number, measure: () => Promise<T>): Promise<T> {
  let best: T | null = null;
  for (let i = 0; i < runs; i++) {
    const r = await measure();
    if (best === null || r.ms < best.ms) best = r;
  }
  return best!;
}

function sha256sum(file: string): Promise<{ hex: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    track(
      execFile("sha256sum", [file], { maxBuffer: 1 << 20 }, (err, stdout) => {
        if (err) reject(err);
        else resolve({ hex: stdout.split(/\s+/)[0], ms: performance.now() - started });
      }),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// the benchmark

/**
 * Settings of every node: quick failure detection on loopback, a cache large enough for every file,
 * and one copy per share (replication 1, no replicas accepted): a share is measured as the sharer's
 * own work, and a node holds a file only when addHolders gives it a replica (a fetched copy is cache
 * and is not announced), so each fetch has exactly the holders this benchmark gave it.
 */
function nodeSettings(uploadLimitMBps: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  // shareWarnMB 0: files above 1 GiB (a 4 GiB run) share without the confirmation a user would get
  return { healthCheckIntervalMs: 1000, offlineAfterMisses: 3, rpcTimeoutMs: 1000, cacheSizeMB: 1_048_576, replication: 1, replicaQuotaMB: 0, shareWarnMB: 0, uploadLimitMBps, ...extra };
}

export async function runTransferBench(opts: TransferBenchOptions): Promise<Row[]> {
  const { sizeMiB, log } = opts;
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1) throw new Error(`sizeMiB must be a whole number >= 1, not ${sizeMiB}`);
  const rtcMiB = Math.min(sizeMiB, 256);
  const capMiB = Math.min(sizeMiB, 1024);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-bench-transfer-"));
  tempDirs.add(root);
  // Ctrl-C or a kill during the run: the nodes and the temp dir go with this process.
  const disarm = cleanupOnExit(cleanupSync);
  const files = path.join(root, "files");
  fs.mkdirSync(files);
  const nodes: BenchNode[] = [];
  const rows: Row[] = [];
  const fetchTimeout = (mib: number, minMBps: number) => 120_000 + ((mib * MiB) / (minMBps * 1e6)) * 1000;

  let seed: BenchNode | null = null;
  const addNode = async (name: string, settings: Record<string, unknown>): Promise<BenchNode> => {
    const dir = path.join(root, name);
    configure(dir, settings);
    const node = await startNode(name, dir, seed);
    nodes.push(node);
    if (seed) await waitFor(`${name} to join`, async () => (await cliJson<NodeInfo>(node, ["id"])).peers >= 1);
    return node;
  };
  const removeNode = async (node: BenchNode) => {
    await stopNode(node);
    fs.rmSync(node.dataDir, { recursive: true, force: true });
  };
  /** Waits until the DHT (asked from the seed) lists every one of `holders` as a provider of the content. */
  const waitForHolders = (contentId: string, holders: BenchNode[]) =>
    waitFor(`${holders.length} provider records for ${contentId.slice(0, 12)}`, async () => {
      const r = await cliJson<LookupResult>(seed!, ["dht", "lookup", contentId]);
      const ids = new Set(r.providers.map((p) => p.id));
      return holders.every((h) => ids.has(h.id));
    });
  /**
   * Two more holders of a shared file: fresh nodes that accept replicas, given theirs by sharing the
   * file again with replication 3 (the same content, so nothing new is stored on the sharer). No
   * other live node may hold any of the file (a cached copy would be taken up as a replica): the
   * rest accept no replicas (replicaQuotaMB 0), so both copies land on these two.
   */
  const addHolders = async (sharer: BenchNode, file: string, share: ShareInfo, name: string, uploadLimitMBps: number): Promise<BenchNode[]> => {
    const holders: BenchNode[] = [];
    for (const i of [1, 2]) holders.push(await addNode(`${name}-${i}`, nodeSettings(uploadLimitMBps, { replicaQuotaMB: 1_048_576 })));
    const again = await cliJson<ShareInfo>(sharer, ["share", file, "--replication", "3"], 3_600_000);
    if (again.contentId !== share.contentId || again.replicas !== 2) throw new Error(`sharing ${file} again with replication 3 made ${again.replicas} copies of ${again.contentId}, not 2 of ${share.contentId}`);
    await waitForHolders(share.contentId, [sharer, ...holders]);
    return holders;
  };
  /** Bytes a node has sent over its bulk paths (TLS and WebRTC) so far. */
  const bytesOut = async (node: BenchNode) => {
    const { stats } = await cliJson<NodeInfo>(node, ["id"]);
    return (stats.tlsBytesOut ?? 0) + (stats.webrtcBytesOut ?? 0);
  };
  /** A fetch on `node` from `holders`, checked against the file's SHA-256; the output file is removed afterwards. */
  const fetchChecked = async (node: BenchNode, holders: BenchNode[], share: ShareInfo, sha: string, timeoutMs: number): Promise<FetchRun & { rssMiB: number | null }> => {
    const outDir = path.join(root, `out-${node.name}`);
    const sentBefore = await Promise.all(holders.map(bytesOut));
    const run = await fetchOnce(node, share.link, outDir, timeoutMs);
    const rssMiB = peakRssMiB(node.proc.pid);
    const sent = (await Promise.all(holders.map(bytesOut))).map((b, i) => b - sentBefore[i]);
    const got = await nodeSha256(run.done.path);
    fs.rmSync(outDir, { recursive: true, force: true });
    if (got.hex !== sha) throw new Error(`fetch on ${node.name}: SHA-256 of the fetched file differs from the original`);
    log(
      `${node.name}: fetched ${(share.size / MiB).toFixed(0)} MiB from ${run.done.holdersUsed} holder(s): ` +
        `${mbPerSecond(share.size, run.done.durationMs).toFixed(0)} MB/s by durationMs (${(run.done.durationMs / 1000).toFixed(2)} s), ` +
        `${mbPerSecond(share.size, run.wallMs).toFixed(0)} MB/s by wall time of the CLI (${(run.wallMs / 1000).toFixed(2)} s); ` +
        `peak RSS ${rssMiB?.toFixed(0) ?? "?"} MiB; bytes identical`,
    );
    if (run.done.holdersUsed !== holders.length) log(`  note: ${holders.length} node(s) held the file but the fetch used ${run.done.holdersUsed}`);
    const sentMs = run.done.durationMs;
    log(`  sent by holder: ${holders.map((h, i) => `${h.name} ${(sent[i] / MiB).toFixed(0)} MiB (${mbPerSecond(sent[i], sentMs).toFixed(0)} MB/s)`).join(", ")}`);
    return { ...run, rssMiB };
  };

  try {
    // --- the network: a seed everyone joins through (it never shares nor fetches) and the sharer
    seed = await addNode("seed", nodeSettings(0));
    const sharer = await addNode("sharer", nodeSettings(0));

    // --- 1. share vs hashing the same bytes
    log(`writing a ${sizeMiB} MiB random file (load average ${loadAverage()})`);
    const bigFile = path.join(files, "big.bin");
    const bigSha = await makeRandomFile(bigFile, sizeMiB);
    const bigBytes = sizeMiB * MiB;
    // The file was just written: every reader finds it in the page cache, but the kernel is still
    // writing it back to disk, which slows the first reads. The best of three runs is the baseline
    // (a slowed baseline would flatter the share's ratio).
    const nodeHash = await bestOf(3, () => nodeSha256(bigFile));
    const coreutilsHash = await bestOf(3, () => sha256sum(bigFile));
    if (nodeHash.hex !== bigSha || coreutilsHash.hex !== bigSha) throw new Error("the baselines' SHA-256 of the file disagree");
    const shareStarted = performance.now();
    const bigShare = await cliJson<ShareInfo>(sharer, ["share", bigFile], 3_600_000);
    const shareMs = performance.now() - shareStarted;
    const shareRss = peakRssMiB(sharer.proc.pid);
    if (bigShare.public || bigShare.size !== bigBytes) throw new Error(`unexpected share result: ${JSON.stringify(bigShare)}`);
    const shareMBps = mbPerSecond(bigBytes, shareMs);
    const nodeHashMBps = mbPerSecond(bigBytes, nodeHash.ms);
    const coreutilsMBps = mbPerSecond(bigBytes, coreutilsHash.ms);
    log(`share: ${sizeMiB} MiB in ${(shareMs / 1000).toFixed(2)} s wall (${bigShare.chunks} chunks, announced to ${bigShare.announcedTo}); Node read+SHA-256 ${(nodeHash.ms / 1000).toFixed(2)} s; sha256sum ${(coreutilsHash.ms / 1000).toFixed(2)} s`);
    rows.push({ what: `share ${sizeMiB} MiB private / Node read+SHA-256`, mbps: shareMBps, baselineMBps: nodeHashMBps, ratio: shareMBps / nodeHashMBps, target: 0.5, peakRssMiB: shareRss });
    rows.push({ what: `share ${sizeMiB} MiB private / sha256sum`, mbps: shareMBps, baselineMBps: coreutilsMBps, ratio: shareMBps / coreutilsMBps, target: 0.5, peakRssMiB: shareRss });

    // --- 2. fetch over TLS from 1 holder, then from 3 (two fresh nodes are given replicas), next to
    // a raw TCP copy file to file (what PERF-FACTS measures WebTorrent's 0.27x against, and the
    // target's baseline) and memory to memory. Medians of three: one copy swung from 680 to 1400
    // MB/s between runs on the 2-core VM.
    const median = async (copy: () => Promise<number>) => [await copy(), await copy(), await copy()].sort((a, b) => a - b)[1];
    const tcpFileMBps = await median(() => rawTcpFileCopy(bigFile, path.join(files, "copy.bin")));
    const tcpMBps = await median(() => rawTcpCopy(bigBytes));
    log(`raw loopback TCP copy of ${sizeMiB} MiB: file to file ${tcpFileMBps.toFixed(0)} MB/s, memory to memory ${tcpMBps.toFixed(0)} MB/s (medians of 3)`);
    const fetchRows = (label: string, mbps: number, rssMiB: number | null) => {
      rows.push({ what: `${label} / raw TCP file copy`, mbps, baselineMBps: tcpFileMBps, ratio: mbps / tcpFileMBps, target: 0.3, peakRssMiB: rssMiB });
      rows.push({ what: `${label} / raw TCP memory copy`, mbps, baselineMBps: tcpMBps, ratio: mbps / tcpMBps, target: null, peakRssMiB: rssMiB });
    };
    const f1 = await addNode("fetch-1", nodeSettings(0));
    const one = await fetchChecked(f1, [sharer], bigShare, bigSha, fetchTimeout(sizeMiB, 5));
    fetchRows(`fetch TLS, ${one.done.holdersUsed} holder`, mbPerSecond(bigBytes, one.done.durationMs), one.rssMiB);

    await removeNode(f1);
    const [h1, h2] = await addHolders(sharer, bigFile, bigShare, "holder", 0);
    const f3 = await addNode("fetch-3", nodeSettings(0));
    const three = await fetchChecked(f3, [sharer, h1, h2], bigShare, bigSha, fetchTimeout(sizeMiB, 5));
    fetchRows(`fetch TLS, ${three.done.holdersUsed} holders`, mbPerSecond(bigBytes, three.done.durationMs), three.rssMiB);
    for (const n of [h1, h2, f3]) await removeNode(n);
    if (opts.tlsOnly) {
      log(`done (load average ${loadAverage()})`);
      return rows;
    }

    // --- 3. fetch over WebRTC from 1 holder vs one raw data channel
    const rtcFile = path.join(files, "rtc.bin");
    const rtcSha = await makeRandomFile(rtcFile, rtcMiB);
    const rtcShare = await cliJson<ShareInfo>(sharer, ["share", rtcFile], 3_600_000);
    fs.rmSync(rtcFile);
    const dcMBps = await rawDataChannel(rtcMiB * MiB);
    log(`raw node-datachannel channel, ${rtcMiB} MiB in 64 KiB messages: ${dcMBps.toFixed(0)} MB/s`);
    const rtc = await addNode("fetch-rtc", nodeSettings(0, { bulkPath: "webrtc" }));
    const viaRtc = await fetchChecked(rtc, [sharer], rtcShare, rtcSha, fetchTimeout(rtcMiB, 2));
    const rtcStats = (await cliJson<NodeInfo>(rtc, ["id"])).stats;
    if (rtcStats.tlsBytesIn !== 0 || rtcStats.webrtcBytesIn < rtcMiB * MiB) throw new Error(`the WebRTC fetch did not go over WebRTC: ${JSON.stringify(rtcStats)}`);
    const rtcMBps = mbPerSecond(rtcMiB * MiB, viaRtc.done.durationMs);
    rows.push({ what: `fetch WebRTC ${rtcMiB} MiB, ${viaRtc.done.holdersUsed} holder / raw datachannel`, mbps: rtcMBps, baselineMBps: dcMBps, ratio: rtcMBps / dcMBps, target: 0.8, peakRssMiB: viaRtc.rssMiB });
    await removeNode(rtc);

    // --- 4. holder parallelism: every holder capped at 30 MB/s; a fresh file from 1 holder, then from 3
    const capFile = path.join(files, "capped.bin");
    const capSha = await makeRandomFile(capFile, capMiB);
    const capSharer = await addNode("cap-sharer", nodeSettings(CAP_MBPS));
    const capShare = await cliJson<ShareInfo>(capSharer, ["share", capFile], 3_600_000);
    const c1 = await addNode("cap-fetch-1", nodeSettings(CAP_MBPS));
    const capOne = await fetchChecked(c1, [capSharer], capShare, capSha, fetchTimeout(capMiB, CAP_MBPS / 3));
    await removeNode(c1);
    const [ch1, ch2] = await addHolders(capSharer, capFile, capShare, "cap-holder", CAP_MBPS);
    fs.rmSync(capFile);
    const c3 = await addNode("cap-fetch-3", nodeSettings(CAP_MBPS));
    const capThree = await fetchChecked(c3, [capSharer, ch1, ch2], capShare, capSha, fetchTimeout(capMiB, CAP_MBPS / 3));
    const capOneMBps = mbPerSecond(capMiB * MiB, capOne.done.durationMs);
    const capThreeMBps = mbPerSecond(capMiB * MiB, capThree.done.durationMs);
    rows.push({ what: `fetch ${capMiB} MiB, cap ${CAP_MBPS} MB/s, ${capOne.done.holdersUsed} holder / cap`, mbps: capOneMBps, baselineMBps: CAP_MBPS, ratio: capOneMBps / CAP_MBPS, target: null, peakRssMiB: capOne.rssMiB });
    rows.push({ what: `fetch ${capMiB} MiB, cap ${CAP_MBPS} MB/s, ${capThree.done.holdersUsed} holders / 1 holder`, mbps: capThreeMBps, baselineMBps: capOneMBps, ratio: capThreeMBps / capOneMBps, target: 2.5, peakRssMiB: capThree.rssMiB });
    log(`done (load average ${loadAverage()})`);
    return rows;
  } finally {
    await killAll();
    fs.rmSync(root, { recursive: true, force: true });
    tempDirs.delete(root);
    disarm();
  }
}

// ---------------------------------------------------------------------------------------------
// output

const num = (x: number | null, digits = 0) => (x === null || !Number.isFinite(x) ? "-" : x.toFixed(digits));

/** The rows as a fixed-width table, one line each (no trailing newline). */
export function formatTransferTable(rows: Row[]): string {
  const width = Math.max(50, ...rows.map((r) => r.what.length + 2));
  const head = `${"".padEnd(width)}${"MB/s".padStart(8)}${"base MB/s".padStart(11)}${"ratio".padStart(8)}${"target".padStart(9)}${"".padStart(6)}${"peak RSS MiB".padStart(14)}`;
  const lines = rows.map((r) => {
    const verdict = r.target === null || r.ratio === null ? "" : r.ratio >= r.target ? "ok" : "MISS";
    return `${r.what.padEnd(width)}${num(r.mbps).padStart(8)}${num(r.baselineMBps).padStart(11)}${num(r.ratio, 2).padStart(8)}${(r.target === null ? "-" : `>= ${r.target}`).padStart(9)}${verdict.padStart(6)}${num(r.peakRssMiB).padStart(14)}`;
  });
  return [head, ...lines].join("\n");
}

/** How the figures were taken, printed under the table. */
export const TRANSFER_NOTES = [
  "share MB/s: wall time around `peershare share` (CLI call, chunk + encrypt + store with fsync + provider announce).",
  "fetch MB/s: durationMs of the `fetch --json` done event: holder lookup, manifest, chunks verified and written into the",
  "  output file as they arrive, until the file is fsynced and in place (the CLI's wall time adds its own start).",
  "baselines run in this process on the same bytes: Node stream read + SHA-256 with 1 MiB reads and sha256sum (best of 3),",
  "  raw TCP 1 MiB writes, file to socket to file without fsync (rawTcpFileCopy; the TLS target's baseline, as PERF-FACTS",
  "  measures WebTorrent's 0.27x) and memory to memory (rawTcpCopy), medians of 3; one node-datachannel channel with",
  "  64 KiB messages (rawDataChannel).",
  "WebRTC uses min(sizeMiB, 256) MiB and the capped fetches min(sizeMiB, 1024) MiB; the rate limiter lets each",
  "  holder send up to one second's worth at once, which favours the 3-holder figure slightly.",
  "peak RSS: VmHWM of the sharing / fetching node process, read right after its step.",
];

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 1024);
  const tlsOnly = process.argv[3] === "tls";
  const log = (line: string) => process.stdout.write(`  ${line}\n`);
  process.stdout.write(`Share and fetch: real peershare node processes on 127.0.0.1, ${sizeMiB} MiB random file, ${os.cpus().length} CPU(s)\n`);
  const rows = await runTransferBench({ sizeMiB, log, tlsOnly });
  process.stdout.write(`\n${formatTransferTable(rows)}\n\n${TRANSFER_NOTES.join("\n")}\n`);
}

if (require.main === module) {
  runScript(main);
}
