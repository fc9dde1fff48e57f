// The short soak (scripts/soak/): about two minutes of a team's life on real node processes with
// fast timers, churn and faults (a corrupt holder, garbage datagrams and bulk frames, a small tmpfs
// disk, a clock 10 minutes off), then every file ever shared fetched by a node that never held it.
// It asserts the soak's targets, none of them a speed: no crash, memory and descriptors flat after
// the warm-up, journals and record stores within bounds, every byte right, no file below r for
// longer than the repair settings allow. The figures go to the test's output.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runSoak } from "../../scripts/soak/soak";

test("a two-minute soak with churn and faults meets every target", { timeout: 15 * 60_000 }, async () => {
  const result = await runSoak({
    minutes: 2,
    nodes: 8,
    holdings: 500,
    warmupMinutes: 0.75,
    idleMs: 10_000,
    seed: Number(process.env.SOAK_SEED ?? 20),
    parallel: 2,
    log: (line) => process.stdout.write(`# ${line}\n`),
  });
  for (const t of result.targets) assert.ok(t.met, `${t.name}: ${t.detail}`);
});
