// The soak's printed figures: a block every minute (one line per node, one for the whole run so far)
// and the growth of each node's memory and descriptors between the end of the warm-up and the end.

import { Sample } from "./probe";
import { CoverageNow } from "./coverage";
import { Ledger } from "./ledger";
import { Crash, SoakNode } from "./fleet";

const MiB = 1024 * 1024;
/** An op under way longer than this is named in the minute's report. */
const SLOW_OP_MS = 30_000;
const mib = (b: number) => (b / MiB).toFixed(1);
const kib = (b: number) => (b / 1024).toFixed(1);

/** CPU used between two samples of one process, as a percentage of one core. */
export function cpuPercent(from: Sample, to: Sample): number | null {
  if (from.pid !== to.pid || to.at <= from.at) return null;
  return (100 * (to.cpuSeconds - from.cpuSeconds)) / ((to.at - from.at) / 1000);
}

/** One node's line: its latest sample, and its CPU since `since` (an earlier sample of the same process). */
export function nodeLine(node: SoakNode, latest: Sample | undefined, since: Sample | undefined): string {
  const name = `${node.name} (${node.role})`.padEnd(20);
  if (!latest) return `  ${name} down`;
  const cpu = since ? cpuPercent(since, latest) : null;
  const journals = latest.journals.map((j) => `${j.file.replace(/\.jsonl$/, "")} ${kib(j.bytes)}K/${j.lines}`).join(", ") || "none";
  return (
    `  ${name} rss ${mib(latest.rssBytes)} MiB, heap ${latest.heapAfterGcBytes === null ? "?" : mib(latest.heapAfterGcBytes)} MiB after GC (${latest.heapUsedBytes === null ? "?" : mib(latest.heapUsedBytes)} used), ` +
    `fds ${latest.fds}, cpu ${cpu === null ? "?" : cpu.toFixed(1)}%, store ${mib(latest.storeBytes)} MiB/${latest.storeObjects} obj, ` +
    `records ${latest.values ?? "?"}v/${latest.providers ?? "?"}p, journals ${journals}`
  );
}

/** The run-so-far line: ops done and failed with reasons, files below r, crashes. */
export function summaryLines(minute: number, ledger: Ledger, coverage: CoverageNow, allowedBelowMs: number, crashes: Crash[]): string[] {
  const { done, failed } = ledger.totals();
  const kinds = Object.entries(ledger.doneByKind()).map(([k, n]) => `${k} ${n}`).join(", ");
  const lines = [
    `min ${minute}: ops ${done} done (${kinds}), ${failed} failed, ${ledger.interrupted} interrupted by churn; ` +
      `files ${coverage.files}, below r now ${coverage.belowR}${coverage.belowR ? ` (shared by ${coverage.belowBySharer})` : ""}, longest below r ${(coverage.longestBelowMs / 1000).toFixed(1)} s${coverage.longestFile ? ` (${coverage.longestFile})` : ""} (allowed ${(allowedBelowMs / 1000).toFixed(0)} s); crashes ${crashes.length}`,
  ];
  for (const [reason, n] of ledger.failures().slice(0, 8)) lines.push(`    failed ${n}× ${reason}`);
  const slow = ledger.slowOps(SLOW_OP_MS);
  if (slow.length) lines.push(`    under way for over ${SLOW_OP_MS / 1000} s: ${slow.join(", ")}`);
  return lines;
}

export interface Growth {
  node: string;
  pid: number;
  metric: "rss" | "heap" | "fds";
  from: number;
  to: number;
  percent: number;
}

/**
 * Growth of each process's RSS, heap (as the last full garbage collection left it) and descriptor
 * count from the warm-up's end to the run's end:
 * the median of its samples in the first minute after the warm-up against the median of its samples
 * in the last minute (medians, so one sample taken mid-transfer or just before a GC does not decide;
 * in a run too short for two minutes, a third of the time after the warm-up each).
 * Only processes that ran through both windows count.
 */
export function growth(samples: Sample[], warmupEnd: number, end: number): Growth[] {
  const out: Growth[] = [];
  const byPid = new Map<number, Sample[]>();
  for (const s of samples) byPid.set(s.pid, [...(byPid.get(s.pid) ?? []), s]);
  // a minute each, or a third of what follows the warm-up in a short run
  const window = Math.min(60_000, (end - warmupEnd) / 3);
  for (const [pid, list] of byPid) {
    const first = list.filter((s) => s.at >= warmupEnd && s.at < warmupEnd + window);
    const last = list.filter((s) => s.at >= end - window);
    if (!first.length || !last.length || first[first.length - 1].at >= last[0].at) continue;
    const metrics: [Growth["metric"], (s: Sample) => number | null][] = [
      ["rss", (s) => s.rssBytes],
      // the heap after the last full collection: heapUsed also counts garbage not yet collected,
      // which swings by a third between samples and measured when the collector last ran
      ["heap", (s) => s.heapAfterGcBytes],
      ["fds", (s) => s.fds],
    ];
    for (const [metric, get] of metrics) {
      const from = median(first.map(get));
      const to = median(last.map(get));
      if (from === null || to === null || from === 0) continue;
      out.push({ node: list[0].node, pid, metric, from, to, percent: (100 * (to - from)) / from });
    }
  }
  return out;
}

export function growthLine(g: Growth): string {
  const show = (v: number) => (g.metric === "fds" ? String(Math.round(v)) : `${mib(v)} MiB`);
  return `  ${g.node.padEnd(10)} ${g.metric.padEnd(4)} ${show(g.from)} → ${show(g.to)} (${g.percent >= 0 ? "+" : ""}${g.percent.toFixed(1)}%)`;
}

function median(values: (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return v.length ? v[v.length >> 1] : null;
}
