// The JS heap as the last full garbage collection left it: what the node's objects take, without
// the garbage not yet collected. `heapUsed` counts that garbage too; with up to tens of MiB of young
// objects between collections it swings by a third from one moment to the next on a busy node,
// which says when the collector last ran rather than whether the heap grows.

import { PerformanceObserver, constants } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";

let afterFullGc: number | null = null;
let observer: PerformanceObserver | null = null;

/** Starts noting the heap after each full (mark-compact) collection; once per process. */
export function watchHeapAfterGc(): void {
  if (observer) return;
  observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) afterFullGc = getHeapStatistics().used_heap_size;
    }
  });
  observer.observe({ entryTypes: ["gc"] });
}

/** JS heap bytes in use just after the last full collection; null before the first one (or unwatched). */
export function heapAfterGc(): number | null {
  return afterFullGc;
}
