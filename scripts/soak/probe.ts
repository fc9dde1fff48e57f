// One look at a node process, from outside and through its API: resident memory, CPU time and open
// file descriptors from /proc, the JS heap from `node.info`, the store's size from its objects
// directory, each journal's size against the bound its compaction keeps, and the DHT record counts.

import * as fs from "node:fs";
import * as path from "node:path";
import { Fleet, SoakNode } from "./fleet";

export interface JournalSize {
  file: string;
  bytes: number;
  lines: number;
  /** Bytes the journal's live entries take (the last line of each key that is not a deletion). */
  liveBytes: number;
  /** Largest size its compaction lets it reach. */
  boundBytes: number;
}

export interface Sample {
  at: number;
  node: string;
  pid: number;
  rssBytes: number;
  heapUsedBytes: number | null;
  /** JS heap just after the node's last full garbage collection (null before the first). */
  heapAfterGcBytes: number | null;
  /** The rest of the node's own memory figures (process.memoryUsage()), null when it did not answer. */
  heapTotalBytes: number | null;
  externalBytes: number | null;
  arrayBuffersBytes: number | null;
  /** Resident anonymous memory (heap, malloc, stacks), and resident pages of mapped files and shared memory, from /proc. */
  rssAnonBytes: number;
  rssFileBytes: number;
  rssShmemBytes: number;
  fds: number;
  /** CPU seconds (user + system) the process has used since it started. */
  cpuSeconds: number;
  storeBytes: number;
  storeObjects: number;
  journals: JournalSize[];
  values: number | null;
  providers: number | null;
}

/** A journal is compacted once it holds twice its live bytes and at least 64 KiB (util/json-journal.ts). */
const COMPACT_FACTOR = 2;
const COMPACT_MIN_BYTES = 64 * 1024;
/** The fetch audit keeps the newest 5,000–10,000 entries (security/audit-log.ts). */
export const AUDIT_MAX_LINES = 10_000;
const CLOCK_TICKS = 100;

export async function sample(fleet: Fleet, node: SoakNode): Promise<Sample | null> {
  const pid = node.proc?.pid;
  if (pid === undefined) return null;
  const proc = procStats(pid);
  if (!proc) return null;
  const info = await fleet.call(node, "node.info", {}, 10_000).catch(() => null);
  const store = dirSize(path.join(node.dataDir, "store", "objects"));
  return {
    at: Date.now(),
    node: node.name,
    pid,
    ...proc,
    heapUsedBytes: info?.memory?.heapUsedBytes ?? null,
    heapAfterGcBytes: info?.memory?.heapAfterGcBytes ?? null,
    heapTotalBytes: info?.memory?.heapTotalBytes ?? null,
    externalBytes: info?.memory?.externalBytes ?? null,
    arrayBuffersBytes: info?.memory?.arrayBuffersBytes ?? null,
    storeBytes: store.bytes,
    storeObjects: store.files,
    journals: journalsOf(node.dataDir),
    values: info?.stats.values ?? null,
    providers: info?.stats.providers ?? null,
  };
}

type ProcStats = Pick<Sample, "rssBytes" | "rssAnonBytes" | "rssFileBytes" | "rssShmemBytes" | "fds" | "cpuSeconds">;

function procStats(pid: number): ProcStats | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (field: string) => 1024 * Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    // fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
    return { rssBytes: kib("VmRSS"), rssAnonBytes: kib("RssAnon"), rssFileBytes: kib("RssFile"), rssShmemBytes: kib("RssShmem"), fds, cpuSeconds };
  } catch {
    return null; // gone
  }
}

function dirSize(dir: string): { bytes: number; files: number } {
  const total = { bytes: 0, files: 0 };
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        try {
          total.bytes += fs.statSync(p).size;
          total.files++;
        } catch {
          // removed meanwhile
        }
      }
    }
  };
  walk(dir);
  return total;
}

/** Every journal (*.jsonl) in the data dir, with its live bytes and the size its compaction bounds it to. */
export function journalsOf(dataDir: string): JournalSize[] {
  let names: string[];
  try {
    names = fs.readdirSync(dataDir).filter((f) => f.endsWith(".jsonl"));
  } catch {
    return [];
  }
  return names.map((file) => {
    let text = "";
    try {
      text = fs.readFileSync(path.join(dataDir, file), "utf8");
    } catch {
      // removed meanwhile
    }
    const lines = text.split("\n").filter(Boolean);
    const bytes = Buffer.byteLength(text);
    if (file === "audit.jsonl") {
      // hash-chained entries, not key/value lines: bounded by count
      const perLine = lines.length ? bytes / lines.length : 0;
      return { file, bytes, lines: lines.length, liveBytes: bytes, boundBytes: Math.ceil(perLine * AUDIT_MAX_LINES) || COMPACT_MIN_BYTES };
    }
    const live = new Map<string, number>();
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as { k?: string; deleted?: boolean };
        if (typeof entry.k !== "string") continue;
        if (entry.deleted) live.delete(entry.k);
        else live.set(entry.k, Buffer.byteLength(line) + 1);
      } catch {
        // a torn last line
      }
    }
    const liveBytes = [...live.values()].reduce((a, b) => a + b, 0);
    const longest = lines.reduce((m, l) => Math.max(m, Buffer.byteLength(l) + 1), 0);
    return { file, bytes, lines: lines.length, liveBytes, boundBytes: Math.max(COMPACT_FACTOR * liveBytes, COMPACT_MIN_BYTES) + longest };
  });
}
