// `npm run soak -- [options]`: the soak run (soak.ts) with its figures printed as it goes; exits 1
// when a target is missed.

import { runScript } from "../run-script";
import { runSoak } from "./soak";

const HELP = `usage: npm run soak -- [options]

Weeks of a team's life on fast timers: real node processes share and fetch files, join, leave,
are killed and restarted, while faults are thrown in (a corrupt holder, a full disk, garbage
datagrams, a clock 10 minutes off). Prints every node's memory, descriptors, store and journals
each minute, and at the end fetches every file ever shared and judges the targets.

options:
  --minutes M        length of the work (default 20); the first 5 minutes (a quarter when
                     shorter) are the warm-up, after which memory must stay flat
  --nodes N          node processes (default 16)
  --holdings H       contents the holdings node keeps (default 10000; 0: no holdings node)
  --idle-seconds S   idle stretch measured before the work starts (default 60)
  --parallel P       operations in flight at once (default 2)
  --seed S           seed of the run's choices (default: from the clock; printed)
  --keep             keep the run's directory (node logs, data dirs, samples.jsonl)
  --help             this text

exit status: 0 when every target is met, 1 when one is missed or the run failed`;

const NUMERIC = ["minutes", "nodes", "holdings", "idle-seconds", "parallel", "seed"];
const FLAGS = ["keep", "help"];

/** The command line as numbers and flags; throws on an option it does not know. */
function parseArgs(argv: string[]): { numbers: Map<string, number>; flags: Set<string> } {
  const numbers = new Map<string, number>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, "");
    if (FLAGS.includes(name)) flags.add(name);
    else if (NUMERIC.includes(name)) {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a number, got "${argv[i] ?? ""}"`);
      numbers.set(name, n);
    } else throw new Error(`unknown option "${argv[i]}" (see --help)`);
  }
  return { numbers, flags };
}

runScript(async () => {
  const { numbers, flags } = parseArgs(process.argv.slice(2));
  if (flags.has("help")) return void process.stdout.write(HELP + "\n");
  const option = (name: string, fallback: number) => numbers.get(name) ?? fallback;
  const minutes = option("minutes", 20);
  const seed = option("seed", Date.now() % 1_000_000);
  const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  log(`seed ${seed}`);
  const result = await runSoak({
    minutes,
    nodes: option("nodes", 16),
    holdings: option("holdings", 10_000),
    warmupMinutes: Math.min(5, minutes / 4),
    idleMs: option("idle-seconds", 60) * 1000,
    seed,
    parallel: option("parallel", 2),
    keep: flags.has("keep"),
    log,
  });
  if (result.targets.some((t) => !t.met)) process.exit(1);
});
