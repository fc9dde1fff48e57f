// Sharing and fetching folders with real `peershare start` processes on 127.0.0.1, next to baselines
// measured in the same run on the same folder:
//   - `cp -r` of the folder (no fsync: the page cache is where it ends);
//   - restic 0.14 (Debian's), the encrypted, deduplicating store a team would otherwise use:
//     `restic backup` into a fresh local repository (next to the share) and `restic restore` from it
//     (next to the fetch).
// Two folders: many small files (default 10,000 of 4-64 KiB in 100 directories) and fewer large ones
// (default 1 GiB in 1,000 files). A share runs on a fresh node with replication 1 (its own work only:
// chunk, encrypt, store, one sync of the store); a fetch runs on a second, fresh node from the sharer,
// until every file is in place (`durationMs` of `fetch --json`). Each fetched tree is checked against
// the original (SHA-256 of every file) outside the timings. Every timed step starts after a `sync`, so
// no step pays for the writeback of the one before; the steps run `runs` times, alternating, and the
// figures are medians (on a shared VM one step swung 2-3x from run to run).
//   node dist/bench/folder.js [smallFiles=10000] [bigMiB=1024] [bigFiles=1000] [runs=3]

import { execFile } from "node:child_process";
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cleanupOnExit, runScript } from "../scripts/run-script";
import { cli, cliJson, fetchOk, RunningNode, startNode, stopNode, tempDir, waitFor } from "../test/helpers/cli";
import type { NodeInfo, ShareInfo } from "../node-host/rpc/api-types";
import { mbPerSecond } from "./stats";

const KiB = 1024;
const MiB = 1024 * KiB;

export interface FolderBenchOptions {
  smallFiles: number;
  bigMiB: number;
  bigFiles: number;
  /** Times each step runs (the figures are medians); default 3. */
  runs?: number;
  log: (line: string) => void;
}

export interface FolderRow {
  folder: string;
  what: string;
  ms: number;
  bytes: number;
  files: number;
  /** CPU time (user + system, every process and thread of the step), median; absent where not measured. */
  cpuMs?: number;
  /** What the row is compared with (a row of the same folder), and the ratio of speeds (>1: faster). */
  against?: string;
  ratio?: number;
  /** The ratio aimed for, if any. */
  target?: number;
}

const NODE_SETTINGS = { healthCheckIntervalMs: 1000, offlineAfterMisses: 3, rpcTimeoutMs: 1000, replication: 1, replicaQuotaMB: 0, shareWarnMB: 0, cacheSizeMB: 16 };

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 64 << 20, timeout: 3_600_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

/**
 * Runs `step` after a `sync` (the writeback of what came before is not its cost); returns its wall
 * time, its result and the CPU time (user + system) it cost the processes it ran and the node `pid`
 * (every thread), or null where /proc does not say.
 */
async function timed<T>(step: () => Promise<T>, pid?: number): Promise<{ ms: number; cpuMs: number | null; value: T }> {
  await run("sync", []);
  const cpuBefore = cpuMs(pid);
  const started = performance.now();
  const value = await step();
  const ms = performance.now() - started;
  const cpuAfter = cpuMs(pid);
  return { ms, cpuMs: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore, value };
}

const CLOCK_TICKS_PER_S = 100; // Linux's USER_HZ

/** CPU ms of this process's ended (waited for) children, plus all of `pid`'s so far; null without /proc. */
function cpuMs(pid?: number): number | null {
  try {
    const fields = (p: string) => fs.readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1].split(" ").map(Number);
    const self = fields("self");
    const children = self[13] + self[14]; // cutime, cstime
    const node = pid === undefined ? 0 : fields(String(pid))[11] + fields(String(pid))[12]; // utime, stime
    return ((children + node) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/** A folder of `count` files of random bytes in 100 directories, sizes from `size(i)`; returns its bytes. */
function makeFolder(dir: string, count: number, size: (i: number) => number): number {
  const cipher = createCipheriv("aes-256-ctr", randomBytes(32), randomBytes(16));
  let total = 0;
  for (let i = 0; i < count; i++) {
    const sub = path.join(dir, `d${String(i % 100).padStart(2, "0")}`);
    fs.mkdirSync(sub, { recursive: true });
    const n = size(i);
    fs.writeFileSync(path.join(sub, `f${i}.bin`), cipher.update(Buffer.alloc(n)));
    total += n;
  }
  return total;
}

/** SHA-256 of every file under `dir`, by relative path. */
function digests(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else out.set(r, createHash("sha256").update(fs.readFileSync(path.join(dir, r))).digest("hex"));
    }
  };
  walk("");
  return out;
}

function sameTree(a: string, b: string): boolean {
  const x = digests(a);
  const y = digests(b);
  return x.size === y.size && [...x].every(([k, v]) => y.get(k) === v);
}

/** `peershare share DIR --json`, with no time limit but an hour's. */
async function shareSlowly(node: RunningNode, dir: string): Promise<ShareInfo> {
  const r = await cli(["share", dir, "--data-dir", node.dataDir, "--json"], 3_600_000);
  if (r.code !== 0) throw new Error(`peershare share ${dir} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ShareInfo;
}

async function resticVersion(): Promise<string | null> {
  return run("restic", ["version"]).then(
    (v) => v.trim(),
    () => null,
  );
}

export async function runFolderBench(opts: FolderBenchOptions): Promise<FolderRow[]> {
  const { log } = opts;
  const runs = opts.runs ?? 3;
  const root = tempDir("bench-folder");
  const nodes: RunningNode[] = [];
  const disarm = cleanupOnExit(() => {
    for (const n of nodes) if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill("SIGKILL");
    fs.rmSync(root, { recursive: true, force: true });
  });
  const addNode = async (name: string, bootstrap?: RunningNode) => {
    const dir = path.join(root, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(NODE_SETTINGS));
    const node = await startNode(dir, bootstrap ? [`127.0.0.1:${bootstrap.port}`] : []);
    nodes.push(node);
    if (bootstrap) await waitFor(`${name} to join`, async () => (await cliJson<NodeInfo>(node.dataDir, ["id"])).peers >= 1);
    return node;
  };
  const restic = await resticVersion();
  if (!restic) log("restic is not installed (Debian: apt-get install restic): its baselines are left out");
  else log(restic);
  const resticEnv = { ...process.env, RESTIC_PASSWORD: "peershare bench", RESTIC_CACHE_DIR: path.join(root, "restic-cache") };
  const rows: FolderRow[] = [];
  try {
    const folders: [string, number, (i: number) => number][] = [
      [`${opts.smallFiles.toLocaleString("en-US")} small files`, opts.smallFiles, () => 4 * KiB + Math.floor(Math.random() * 60 * KiB)],
      [`${opts.bigMiB} MiB in ${opts.bigFiles.toLocaleString("en-US")} files`, opts.bigFiles, () => Math.floor((opts.bigMiB * MiB) / opts.bigFiles)],
    ];
    for (const [label, count, size] of folders) {
      const src = path.join(root, `src-${count}`);
      const bytes = makeFolder(src, count, size);
      log(`${label}: ${(bytes / MiB).toFixed(0)} MiB written (load average ${loadAverage()})`);
      // each step `runs` times, the steps alternating, each run on fresh nodes and a fresh repository;
      // what a run leaves is removed only after the round, so no timed step follows a mass deletion
      const times: Record<string, number[]> = { "cp -r": [], "restic backup": [], "restic restore": [], "peershare share": [], "peershare fetch": [] };
      const cpu: Record<string, number[]> = {};
      const timeIt = async <T>(what: string, step: () => Promise<T>, pid?: number): Promise<T> => {
        const t = await timed(step, pid);
        times[what].push(t.ms);
        if (t.cpuMs !== null) (cpu[what] ??= []).push(t.cpuMs);
        return t.value;
      };
      const scratch: string[] = [];
      const place = (name: string) => {
        const dir = path.join(root, `${name}-${count}-${scratch.length}`);
        scratch.push(dir);
        return dir;
      };
      for (let i = 0; i < runs; i++) {
        await timeIt("cp -r", () => run("cp", ["-r", src, place("cp")]));
        const repo = restic ? place("restic-repo") : null;
        if (repo) {
          await run("restic", ["init", "-q", "-r", repo], resticEnv);
          await timeIt("restic backup", () => run("restic", ["backup", "-q", "-r", repo, src], resticEnv));
        }
        const sharer = await addNode(`sharer-${count}-${i}`);
        const share = await timeIt("peershare share", () => shareSlowly(sharer, src), sharer.proc.pid);
        if (share.folder?.files !== count) throw new Error(`the share holds ${share.folder?.files} files, not ${count}`);
        if (repo) await timeIt("restic restore", () => run("restic", ["restore", "-q", "-r", repo, "latest", "--target", place("restored")], resticEnv));
        const fetcher = await addNode(`fetcher-${count}-${i}`, sharer);
        const out = place("fetched");
        await run("sync", []);
        const done = await fetchOk(fetcher, share.link, out);
        times["peershare fetch"].push(done.durationMs);
        if (!sameTree(src, out)) throw new Error(`the fetched folder differs from ${src}`);
        const cpuOf = (k: string) => (cpu[k]?.length > i ? ` (CPU ${(cpu[k][i] / 1000).toFixed(2)} s)` : "");
        log(`  run ${i + 1}: ${Object.entries(times).filter(([, t]) => t.length > i).map(([k, t]) => `${k} ${(t[i] / 1000).toFixed(2)} s${cpuOf(k)}`).join(", ")}; fetched from ${done.holdersUsed} holder(s), byte-identical (load average ${loadAverage()})`);
        await Promise.all([sharer, fetcher].map((n) => stopNode(n, "SIGKILL")));
      }
      const ms = (what: string) => (times[what].length ? median(times[what]) : null);
      const row = (what: string, extra: Partial<FolderRow> = {}) => {
        const t = ms(what);
        if (t !== null) rows.push({ folder: label, what, ms: t, bytes, files: count, ...(cpu[what] ? { cpuMs: median(cpu[what]) } : {}), ...extra });
      };
      const versus = (what: string, base: string, target?: number): Partial<FolderRow> => {
        const [t, b] = [ms(what), ms(base)];
        return t !== null && b !== null ? { against: base, ratio: b / t, ...(target === undefined ? {} : { target }) } : {};
      };
      row("cp -r");
      row("restic backup");
      row("restic restore");
      const smallFiles = bytes / count < 128 * KiB;
      row("peershare share", versus("peershare share", "restic backup", smallFiles ? 1 : undefined));
      row("peershare fetch", ms("restic restore") === null ? versus("peershare fetch", "cp -r") : versus("peershare fetch", "restic restore"));
      for (const dir of [...scratch, src]) fs.rmSync(dir, { recursive: true, force: true });
    }
    return rows;
  } finally {
    await Promise.all(nodes.map((n) => stopNode(n, "SIGKILL")));
    fs.rmSync(root, { recursive: true, force: true });
    disarm();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const loadAverage = () => os.loadavg().map((x) => x.toFixed(1)).join(" ");

/** The rows as a table: seconds, MB/s, files/s, and the ratio to the row each is compared with. */
export function formatFolderTable(rows: FolderRow[]): string {
  const width = Math.max(...rows.map((r) => r.folder.length + r.what.length + 4));
  const head = `${"".padEnd(width)}${"s".padStart(8)}${"CPU s".padStart(8)}${"MB/s".padStart(8)}${"files/s".padStart(9)}  vs`;
  return [
    head,
    ...rows.map((r) => {
      const vs = r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}x ${r.against}${r.target === undefined ? "" : ` (target >= ${r.target}: ${r.ratio >= r.target ? "ok" : "MISS"})`}`;
      const cpu = r.cpuMs === undefined ? "" : (r.cpuMs / 1000).toFixed(2);
      return `${`${r.folder}: ${r.what}`.padEnd(width)}${(r.ms / 1000).toFixed(2).padStart(8)}${cpu.padStart(8)}${mbPerSecond(r.bytes, r.ms).toFixed(0).padStart(8)}${(r.files / (r.ms / 1000)).toFixed(0).padStart(9)}  ${vs}`;
    }),
  ].join("\n");
}

export const FOLDER_NOTES = [
  "ratios are speed ratios: 1.25x restic backup = the share took 0.8 of restic's time.",
  "share: wall time of `peershare share DIR --json` (walk, safe publishing, chunk + encrypt + store, one sync of the store,",
  "  manifests, provider record); fetch: durationMs of `fetch --json` until every file is fsynced and in place.",
  "cp -r and restic run on the same folder, each after a `sync`; restic into a fresh local repository each run;",
  "  the steps alternate (cp, restic backup, share, restic restore, fetch), medians of the runs.",
  "CPU s: user + system time of the step's processes (all threads; a share's node process and its CLI), from /proc.",
];

async function main(): Promise<void> {
  const [smallFiles = 10_000, bigMiB = 1024, bigFiles = 1000, runs = 3] = process.argv.slice(2).map(Number);
  const log = (line: string) => process.stdout.write(`  ${line}\n`);
  process.stdout.write(`Folders: real peershare node processes on 127.0.0.1, ${os.cpus().length} CPU(s), medians of ${runs} runs\n`);
  const rows = await runFolderBench({ smallFiles, bigMiB, bigFiles, runs, log });
  process.stdout.write(`\n${formatFolderTable(rows)}\n\n${FOLDER_NOTES.join("\n")}\n`);
}

if (require.main === module) runScript(main);
