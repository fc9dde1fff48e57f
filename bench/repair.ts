// Repair after a crash: 12 real `peershare start` processes on 127.0.0.1 with replication 3 hold
// sizeMiB of random files, shared round-robin from every node (so the copies are spread over all
// twelve). Once every file has 3 live holders, the node holding the most bytes is killed with
// SIGKILL, and the survivors' repair sweeps copy its files to other nodes. Measured:
//   - time from the kill until every file again has r live holders that hold all of it, as
//     `content.status` on a survivor reports it (the killed node excluded: a holder counts a peer as
//     live, without pinging it, for a health-check interval after last hearing from it);
//   - detection: from the kill to the first survivor starting a repair copy (the time-stamped
//     "repair: … copying" line of its log); copying: from then until the last file is back at r;
//   - bytes lost: what the killed node stored (`content.ls` bytes: its shares and replicas, as
//     stored: ciphertext plus manifests; it fetched nothing, so it held no cache);
//   - repair traffic: the bytes the survivors' repair sweeps report pushing (their logs), and the
//     bytes the survivors sent over their bulk paths (TLS and WebRTC stats of `node.info`, so frame
//     and TLS record overhead included, and the few KiB the status polling moves).
// Every node is configured through DATA_DIR/config.json with the settings printed under the table.
//   node dist/bench/repair.js [sizeMiB=1024]

import { createCipheriv, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cleanupOnExit, runScript } from "../scripts/run-script";
import { RunningNode, startNode, stopNode, tempDir, waitFor } from "../test/helpers/cli";
import { connectLocal } from "../node-host/rpc/local-socket";
import { mapLimit } from "../node-host/util/concurrency";
import type { ContentStatus, NodeInfo, ShareInfo, StoreListing } from "../node-host/rpc/api-types";
import { mbPerSecond, percentile } from "./stats";

const MiB = 1024 * 1024;
const NODES = 12;
const R = 3;
/** Files the size is split into (fewer when the size is smaller than this many MiB). */
const FILES = 16;

/** Node settings: the ones that bound detection and repair are printed with the figures. */
export const REPAIR_SETTINGS = {
  replication: R,
  healthCheckIntervalMs: 2000,
  offlineAfterMisses: 2,
  rpcTimeoutMs: 1000,
  repairIntervalMs: 5000,
  repairMBPerSweep: 256,
  replicaQuotaMB: 1_048_576,
  cacheSizeMB: 1024,
  uploadLimitMBps: 0,
};

export interface RepairBenchOptions {
  sizeMiB: number;
  log: (line: string) => void;
}

export interface RepairBenchResult {
  sizeMiB: number;
  files: number;
  /** Files the killed node held, and their plaintext bytes. */
  filesLost: number;
  plainBytesLost: number;
  /** What the killed node stored (ciphertext and manifests). */
  bytesLost: number;
  /** Kill → every file at r live holders again, ms. */
  restoreMs: number;
  /** Kill → the first repair copy started on a survivor, ms (null: none was logged). */
  detectMs: number | null;
  /** Each lost file: kill → its repair copy started (null: not logged), and kill → back at r, ms. */
  perFile: { contentId: string; startMs: number | null; atRMs: number }[];
  /** Bytes the survivors' repair sweeps report pushing. */
  repairBytes: number;
  /** Copies the sweeps completed, and copies that failed and went to another node. */
  repairCopies: number;
  failedCopies: number;
  /** Bytes the survivors sent over TLS and WebRTC from the kill until repair was over. */
  bulkBytesOut: number;
  /** Time to share every file with its first r-1 copies, ms. */
  shareMs: number;
  killed: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const alive = (n: RunningNode) => n.proc.exitCode === null && n.proc.signalCode === null;

/** Writes `bytes` random bytes (an AES-256-CTR keystream under a fresh key). */
async function makeRandomFile(file: string, bytes: number): Promise<void> {
  const cipher = createCipheriv("aes-256-ctr", randomBytes(32), randomBytes(16));
  const zeros = Buffer.alloc(8 * MiB);
  const fh = await fs.promises.open(file, "w");
  try {
    for (let left = bytes; left > 0; left -= zeros.length) await fh.write(cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left)));
  } finally {
    await fh.close();
  }
}

type Client = Awaited<ReturnType<typeof connectLocal>>;

/** Log lines of a node written after `from` characters of its stderr, with their time stamps. */
function logLines(node: RunningNode, from: number): { at: number; text: string }[] {
  return node
    .stderr()
    .slice(from)
    .split("\n")
    .map((line) => /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ at: Date.parse(m[1]), text: m[2] }));
}

export async function runRepairBench(opts: RepairBenchOptions): Promise<RepairBenchResult> {
  const { sizeMiB, log } = opts;
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1) throw new Error(`sizeMiB must be a whole number >= 1, not ${sizeMiB}`);
  const root = tempDir("bench-repair");
  const nodes: RunningNode[] = [];
  const clients = new Map<RunningNode, Client>();
  // Ctrl-C or a kill during the run: the nodes and the temp dir go with this process
  const cleanupSync = () => {
    for (const n of nodes) if (alive(n)) n.proc.kill("SIGKILL");
    fs.rmSync(root, { recursive: true, force: true });
  };
  const disarm = cleanupOnExit(cleanupSync);
  const client = async (n: RunningNode) => {
    let c = clients.get(n);
    if (!c) clients.set(n, (c = await connectLocal(n.dataDir)));
    return c;
  };
  const info = async (n: RunningNode) => (await client(n)).call("node.info", {}) as Promise<NodeInfo>;
  const bulkOut = async (n: RunningNode) => {
    const { stats } = await info(n);
    return (stats.tlsBytesOut ?? 0) + (stats.webrtcBytesOut ?? 0);
  };

  try {
    // --- the network
    const addNode = async (name: string) => {
      const dir = path.join(root, name);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(REPAIR_SETTINGS));
      const node = await startNode(dir, nodes.length ? [`127.0.0.1:${nodes[0].port}`] : []);
      nodes.push(node);
      return node;
    };
    await addNode("n0");
    for (let i = 1; i < NODES; i++) await addNode(`n${i}`);
    await waitFor("every node to know every other", async () => (await Promise.all(nodes.map(info))).every((i) => i.peers >= NODES - 1), 30_000, 250);
    log(`${NODES} nodes up and joined (load average ${os.loadavg().map((x) => x.toFixed(1)).join(" ")})`);

    // --- sizeMiB of random files, each shared from the next node in turn
    const files = Math.min(FILES, sizeMiB);
    const total = sizeMiB * MiB;
    const sizes = Array.from({ length: files }, (_, i) => Math.floor(total / files) + (i < total % files ? 1 : 0));
    const filesDir = path.join(root, "files");
    fs.mkdirSync(filesDir);
    const paths = sizes.map((_, i) => path.join(filesDir, `f${String(i).padStart(2, "0")}.bin`));
    const shareStarted = performance.now();
    // two at a time: each share hashes, encrypts and stores its file and pushes two copies
    const shares = await mapLimit(paths.map((file, i) => ({ file, i })), 2, async ({ file, i }) => {
      await makeRandomFile(file, sizes[i]);
      const sharer = nodes[i % NODES];
      const from = sharer.stderr().length;
      const share = (await (await client(sharer)).call("content.share", { path: file, replication: R }, 1_800_000)) as ShareInfo;
      fs.rmSync(file);
      if (share.replicas !== R - 1) {
        log(`note: ${share.name} was copied to ${share.replicas} node(s) on share, not ${R - 1}; the repair sweep completes it before the kill`);
        for (const l of logLines(sharer, from)) if (l.text.startsWith("copy of ")) log(`  ${l.text}`);
      }
      return share;
    });
    const shareMs = performance.now() - shareStarted;
    log(`${files} files, ${sizeMiB} MiB, shared with their first copies in ${(shareMs / 1000).toFixed(1)} s`);

    // --- every file at r live holders that hold all of it
    const status = async (observer: RunningNode, contentIds: string[]) => {
      const c = await client(observer);
      return Promise.all(contentIds.map((id) => c.call("content.status", { link: id }) as Promise<ContentStatus>));
    };
    const holding = (st: ContentStatus, dead: string | null) => st.holders.filter((h) => h.live && h.complete !== false && h.id !== dead).map((h) => h.id);
    const ids = shares.map((s) => s.contentId);
    const initial = await waitFor("every file at r live holders", async () => {
      const all = await status(nodes[NODES - 1], ids);
      return all.every((st) => holding(st, null).length >= R) && all;
    }, 600_000, 1000);

    // --- the victim: the node holding the most; it fetched nothing, so all it stores is shares and replicas
    const held = new Map<string, number>();
    for (const [i, st] of initial.entries()) for (const h of holding(st, null)) held.set(h, (held.get(h) ?? 0) + shares[i].size);
    const victim = nodes.reduce((best, n) => ((held.get(n.id) ?? 0) > (held.get(best.id) ?? 0) ? n : best));
    const lostIdx = initial.map((st, i) => (holding(st, null).includes(victim.id) ? i : -1)).filter((i) => i >= 0);
    const lostIds = lostIdx.map((i) => ids[i]);
    const listing = (await (await client(victim)).call("content.ls", {})) as StoreListing;
    const bytesLost = listing.bytes;
    const survivors = nodes.filter((n) => n !== victim);
    const observer = survivors.reduce((best, n) => ((held.get(n.id) ?? 0) < (held.get(best.id) ?? 0) ? n : best));
    const logFrom = new Map(survivors.map((n) => [n, n.stderr().length]));
    const outBefore = await Promise.all(survivors.map(bulkOut));
    log(`killing n${nodes.indexOf(victim)} ${victim.id.slice(0, 12)}… (held ${lostIdx.length} of ${files} files, ${(bytesLost / MiB).toFixed(1)} MiB stored); status polled on ${observer.id.slice(0, 12)}…`);

    // --- the kill, then poll until every lost file has r live holders again (the victim excluded)
    clients.get(victim)?.close();
    clients.delete(victim);
    const killedAt = Date.now();
    await stopNode(victim, "SIGKILL");
    const restoredAt = new Map<string, number>();
    const deadline = killedAt + 600_000;
    while (restoredAt.size < lostIds.length) {
      if (Date.now() > deadline) throw new Error(`${lostIds.length - restoredAt.size} file(s) still below r after 600 s`);
      const pending = lostIds.filter((id) => !restoredAt.has(id));
      const all = await status(observer, pending);
      const now = Date.now();
      for (const st of all) if (holding(st, victim.id).length >= R) restoredAt.set(st.contentId, now);
      await sleep(250);
    }
    const restoreMs = Math.max(...restoredAt.values()) - killedAt;
    // repair traffic: wait until the sweeps are done (no repair line for two repair intervals)
    const repairLines = () => survivors.flatMap((n) => logLines(n, logFrom.get(n)!).filter((l) => l.text.startsWith("repair: ") || l.text.startsWith("copy of ")));
    await waitFor("repair to go quiet", async () => {
      const last = Math.max(0, ...repairLines().map((l) => l.at));
      return Date.now() - last > 2 * REPAIR_SETTINGS.repairIntervalMs;
    }, 120_000, 500);
    const bulkBytesOut = (await Promise.all(survivors.map(bulkOut))).reduce((a, b, i) => a + b - outBefore[i], 0);
    const lines = repairLines();
    const name = new Map(nodes.map((n, i) => [n, `n${i}`]));
    for (const { node, l } of survivors.flatMap((n) => logLines(n, logFrom.get(n)!).map((l) => ({ node: n, l }))).sort((a, b) => a.l.at - b.l.at)) {
      if (l.text.startsWith("repair: ") || l.text.startsWith("copy of ")) log(`+${((l.at - killedAt) / 1000).toFixed(1)} s ${name.get(node)}: ${l.text}`);
    }
    // "repair: <12 hex>… has N of F live holders; copying to K more": the first one per file
    const startOf = new Map<string, number>();
    for (const l of lines) {
      const m = /^repair: ([0-9a-f]{12})… has \d+ of \d+ live holders; copying to \d+ more$/.exec(l.text);
      const id = m && lostIds.find((c) => c.startsWith(m[1]));
      if (id && !startOf.has(id)) startOf.set(id, l.at);
      else if (id) startOf.set(id, Math.min(startOf.get(id)!, l.at));
    }
    const starts = [...startOf.values()];
    let repairBytes = 0;
    let repairCopies = 0;
    for (const l of lines) {
      const m = /^repair: (\d+) new copy\(ies\), (\d+) bytes$/.exec(l.text);
      if (m) {
        repairCopies += Number(m[1]);
        repairBytes += Number(m[2]);
      }
    }
    const failedCopies = lines.filter((l) => l.text.startsWith("copy of ")).length;
    return {
      sizeMiB,
      files,
      filesLost: lostIdx.length,
      plainBytesLost: lostIdx.reduce((n, i) => n + shares[i].size, 0),
      bytesLost,
      restoreMs,
      detectMs: starts.length ? Math.min(...starts) - killedAt : null,
      perFile: lostIds.map((id) => ({ contentId: id, startMs: startOf.has(id) ? startOf.get(id)! - killedAt : null, atRMs: restoredAt.get(id)! - killedAt })),
      repairBytes,
      repairCopies,
      failedCopies,
      bulkBytesOut,
      shareMs,
      killed: victim.id,
    };
  } finally {
    for (const c of clients.values()) c.close();
    await Promise.all(nodes.map((n) => stopNode(n, "SIGKILL")));
    fs.rmSync(root, { recursive: true, force: true });
    disarm();
  }
}

// ---------------------------------------------------------------------------------------------
// output

const s = (ms: number | null) => (ms === null || !Number.isFinite(ms) ? "-" : `${(ms / 1000).toFixed(1)} s`);
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
/** "min / p50 / max" of some times in ms. */
const spread = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return sorted.length ? `${s(sorted[0])} / ${s(percentile(sorted, 50))} / ${s(sorted[sorted.length - 1])}` : "-";
};

/** The figures as a two-column table (no trailing newline). */
export function formatRepairTable(r: RepairBenchResult): string {
  const copyMs = r.detectMs === null ? null : r.restoreMs - r.detectMs;
  const started = r.perFile.filter((f) => f.startMs !== null) as { startMs: number; atRMs: number }[];
  const rows: [string, string][] = [
    ["files the killed node held", `${r.filesLost} of ${r.files} (${mib(r.plainBytesLost)} of file data)`],
    ["bytes lost (what the killed node stored)", `${mib(r.bytesLost)} (${r.bytesLost} B)`],
    ["kill -> every file at r live holders", s(r.restoreMs)],
    ["  kill -> first repair copy starts", s(r.detectMs)],
    ["  first copy starts -> last file at r", s(copyMs)],
    ["per file, min / p50 / max:", ""],
    ["  detection: kill -> its repair copy starts", spread(started.map((f) => f.startMs))],
    ["  copying: copy starts -> file at r", spread(started.map((f) => f.atRMs - f.startMs))],
    ["  total: kill -> file at r", spread(r.perFile.map((f) => f.atRMs))],
    ["repair bytes pushed (survivors' repair logs)", `${mib(r.repairBytes)} (${r.repairBytes} B) = ${(r.repairBytes / r.bytesLost).toFixed(3)} x lost`],
    ["bulk bytes sent by survivors (TLS/WebRTC stats)", `${mib(r.bulkBytesOut)} (${r.bulkBytesOut} B) = ${(r.bulkBytesOut / r.bytesLost).toFixed(3)} x lost`],
    ["repair copies made / failed and retried elsewhere", `${r.repairCopies} / ${r.failedCopies}`],
    ["repair bytes / (first copy starts -> last file at r)", copyMs ? `${mbPerSecond(r.repairBytes, copyMs).toFixed(0)} MB/s` : "-"],
  ];
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${k.padEnd(width)}${v}`).join("\n");
}

/** The settings that bound the figures, and how they were taken; printed under the table. */
export function repairNotes(): string[] {
  const c = REPAIR_SETTINGS;
  return [
    `settings of every node: replication ${c.replication}, healthCheckIntervalMs ${c.healthCheckIntervalMs}, offlineAfterMisses ${c.offlineAfterMisses}, ` +
      `rpcTimeoutMs ${c.rpcTimeoutMs}, repairIntervalMs ${c.repairIntervalMs}, repairMBPerSweep ${c.repairMBPerSweep}.`,
    `detection is bounded by healthCheckIntervalMs (a peer heard from that recently counts as live without a ping) + rpcTimeoutMs`,
    `  (the ping that finds it dead) + repairIntervalMs (the next sweep) + the sweep's lookups; offlineAfterMisses ${c.offlineAfterMisses} missed`,
    `  requests drop the dead node from routing tables (lookups stop waiting on it).`,
    `copying is rate-limited to repairMBPerSweep MiB per sweep per repairing node, sweeps at most every repairIntervalMs:`,
    `  <= ${((c.repairMBPerSweep * MiB) / 1e6 / (c.repairIntervalMs / 1000)).toFixed(0)} MB/s per node when a sweep is shorter than the interval; the holder of a file closest to its ID repairs it.`,
    `times: the kill is SIGKILL; "at r" is content.status on a survivor showing r live holders holding every chunk, the killed`,
    `  node excluded, polled every 250 ms (a poll takes a lookup and pings, so "at r" lags by up to a poll); a copy's start is the`,
    `  repairing node's time-stamped log line. A sweep visits its files one after another, each with a provider lookup and a node`,
    `  lookup that wait out rpcTimeoutMs on the dead node until it is dropped, so later files of a sweep start later.`,
    `bytes lost: the killed node's store (ciphertext + manifests of its shares and replicas); repair bytes: object bytes pushed;`,
    `  bulk bytes: everything the survivors sent over TLS/WebRTC from the kill until repair went quiet (framing and TLS included).`,
    `${NODES} node processes and this one share ${os.cpus().length} CPU(s) with whatever else runs; the times move with the load.`,
  ];
}

/** The heading printed above the bench's log lines. */
export function repairHeading(sizeMiB: number): string {
  return `Repair after a crash: ${NODES} peershare node processes on 127.0.0.1, r = ${R}, ${sizeMiB} MiB in ${Math.min(FILES, sizeMiB)} files shared from every node, the biggest holder SIGKILLed`;
}

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 1024);
  const log = (line: string) => process.stdout.write(`  ${line}\n`);
  process.stdout.write(`${repairHeading(sizeMiB)}\n`);
  const result = await runRepairBench({ sizeMiB, log });
  process.stdout.write(`\n${formatRepairTable(result)}\n\n${repairNotes().join("\n")}\n`);
}

if (require.main === module) {
  runScript(main);
}
