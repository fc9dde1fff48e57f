// The short soak (scripts/soak/): about two minutes of a team's life on real node processes with
// fast timers, churn and faults (a corrupt holder, garbage datagrams and bulk frames, a small tmpfs
// disk, a clock 10 minutes off), then every file ever shared fetched by a node that never held it.
// It asserts the soak's targets, none of them a speed: no crash, journals and record stores within
// bounds, every byte right, no file below r for longer than the repair settings allow, a sample of
// the holdings node's contents found, and memory and descriptors without a leak that shows in
// minutes. Two minutes are all warm-up for memory (heaps of 12 MiB reach 20-25 MiB as tables,
// caches and connection pools fill), so growth here is bounded at doubling and at least 48 MiB of
// RSS, 24 MiB of heap or 16 descriptors: a leak of a buffer or a socket per operation goes past that
// in two minutes; the 10 % is for the 20-minute run (npm run soak). The figures go to the
// test's output.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runSoak } from "../../scripts/soak/soak";

const MiB = 1024 * 1024;

test("a two-minute soak with churn and faults meets every target", { timeout: 15 * 60_000 }, async () => {
  const result = await runSoak({
    minutes: 2,
    nodes: 8,
    holdings: 500,
    warmupMinutes: 0.75,
    idleMs: 10_000,
    seed: Number(process.env.SOAK_SEED ?? 20),
    parallel: 2,
    growthLimit: { percent: 100, floor: { rss: 48 * MiB, heap: 24 * MiB, fds: 16 } },
    log: (line) => process.stdout.write(`# ${line}\n`),
  });
  for (const t of result.targets) assert.ok(t.met, `${t.name}: ${t.detail}`);
});
