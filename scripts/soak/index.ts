// `npm run soak -- [--minutes M] [--nodes N] [--holdings H] [--seed S] [--keep]`: the soak run
// (soak.ts) with its figures printed as it goes; exits 1 when a target is missed.
//   --minutes  length of the work (default 20); the warm-up is its first 5 minutes (a quarter when shorter)
//   --nodes    node processes (default 16)
//   --holdings contents the holdings node keeps (default 10000; 0: none)
//   --keep     keep the run's directory (node logs and data dirs) for a look afterwards

import { runScript } from "../run-script";
import { runSoak } from "./soak";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a number, got "${process.argv[i + 1]}"`);
  return n;
}

runScript(async () => {
  const minutes = option("minutes", 20);
  const result = await runSoak({
    minutes,
    nodes: option("nodes", 16),
    holdings: option("holdings", 10_000),
    warmupMinutes: Math.min(5, minutes / 4),
    idleMs: option("idle-seconds", 60) * 1000,
    seed: option("seed", Date.now() % 1_000_000),
    parallel: option("parallel", 2),
    keep: process.argv.includes("--keep"),
    log: (line) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`),
  });
  if (result.targets.some((t) => !t.met)) process.exit(1);
});
