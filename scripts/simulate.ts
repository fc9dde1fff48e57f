// Simulation: the product's DHT code (Dht, lookups, timeouts, Maintenance) on thousands of nodes
// in one process, in virtual time, over a network model with realistic round trips, loss, nodes
// behind NAT (in DHT client mode) and churn. Deterministic for a seed. See sim/ for the parts.
//
//   npm run simulate -- [nodes] [lookups] [--seed N] [--nat 0.3] [--loss 0.01] [--churn 0.01] [--alpha 3] [--k 20]
//                       [--before | --fixed-timeouts --wait-late --slow-eviction --no-client-mode --ask-all --providers-to-convergence]
//                       [--vouch-ms N] [--json]
//
// It prints, with no churn, under steady churn, right after 20% of the nodes die at once, and 90 s
// later (a health check or two on): FIND_NODE lookups (time in ms and in multiples of the median round trip, p50 and
// p99; hops; requests per lookup; share that found exactly the k closest live servers) and
// FIND_VALUE lookups (time, share that found the value), and provider lookups as a fetch makes them
// (time, share that found every live holder).

import { DhtSettings, FETCH_PROVIDER_ANSWERS } from "../node-host/dht/dht";
import { DEFAULT_NETWORK } from "./sim/network-model";
import { rttQuantiles, RttQuantiles } from "./sim/network-model";
import { deadInTables, measureLookups, PublishedKeys, summarize, Summary } from "./sim/measure";
import { World } from "./sim/world";

export interface SimOptions {
  nodes: number;
  lookups: number;
  seed: number;
  natShare: number;
  lossRate: number;
  /** Share of the nodes that die (and as many that join) per minute under steady churn. */
  churnPerMinute: number;
  /** Nodes behind NAT in client mode. */
  clientMode: boolean;
  /** Provider lookups stop at this many answers with providers, as a fetch's do (Infinity: at convergence). */
  providerAnswers: number;
  dht: Partial<DhtSettings>;
  log: (line: string) => void;
}

export interface Phase {
  name: string;
  nodes: Summary;
  values: Summary;
  providers: Summary;
  /** Routing-table entries of live nodes that are dead, and dead but not yet found out, as the phase began. */
  tables: { dead: number; unnoticed: number };
}

export interface SimResult {
  options: Omit<SimOptions, "log">;
  rtt: RttQuantiles;
  phases: Phase[];
  seconds: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const VALUES = 20;
/** Holders that announce each content key. */
const PROVIDERS_PER_KEY = 3;

/** Starts nodes dying and joining at random (a Poisson process); returns the function that stops it. */
function churn(world: World, perMinute: number): () => void {
  let stopped = false;
  const meanGapMs = MINUTE / (perMinute * world.live.length);
  const next = () => {
    world.scheduler.setTimer(() => {
      if (stopped) return;
      world.killNode(world.rng.pick(world.live));
      world.join();
      next();
    }, world.rng.exponential(meanGapMs));
  };
  next();
  return () => (stopped = true);
}

/** VALUES values, each put by a random server, and VALUES content keys, each announced by PROVIDERS_PER_KEY random servers. */
async function publish(world: World, providerAnswers: number): Promise<PublishedKeys> {
  const publishers = world.rng.shuffle(world.liveServers).slice(0, VALUES);
  const values = await Promise.all(publishers.map(async (n, i) => (await n.dht.putValue(`sim-${i}`, Buffer.from(`value ${i}`))).key));
  const contents = Array.from({ length: VALUES }, () => ({ key: world.rng.bytes(32), providers: world.rng.shuffle(world.liveServers).slice(0, PROVIDERS_PER_KEY) }));
  await Promise.all(contents.flatMap(({ key, providers }) => providers.map((n) => n.dht.provide(key))));
  return { values, contents, providerAnswers };
}

async function phase(world: World, name: string, o: SimOptions, keys: PublishedKeys, windowMs: number): Promise<Phase> {
  const tables = deadInTables(world);
  const { node: nodes, value: values, providers } = await measureLookups(world, o.lookups, windowMs / o.lookups, keys);
  const mem = process.memoryUsage();
  o.log(`${name}: done at ${(world.scheduler.time / 1000).toFixed(0)} s virtual, ${world.scheduler.events} events, heap ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB, RSS ${(mem.rss / 2 ** 20).toFixed(0)} MiB`);
  return { name, nodes: summarize(nodes), values: summarize(values), providers: summarize(providers), tables };
}

export async function simulate(o: SimOptions): Promise<SimResult> {
  const started = performance.now();
  const world = new World({ seed: o.seed, natShare: o.natShare, clientMode: o.clientMode, dht: o.dht, network: { ...DEFAULT_NETWORK, lossRate: o.lossRate } });
  world.populate(o.nodes);
  const rtt = rttQuantiles(world.model, world.nodes.map((n) => n.transport.placement), world.rng);
  o.log(`${o.nodes} nodes placed, tables filled in ${((performance.now() - started) / 1000).toFixed(1)} s; warming up (each node looks up a random key)`);
  // a lookup per node within a minute, and the first health checks (60 s ± 25%) measure the tables
  for (const n of world.nodes) world.scheduler.at(world.rng.next() * MINUTE, () => void n.dht.lookupNodes(world.rng.bytes(32)).catch(() => undefined));
  await world.scheduler.run(90 * SECOND);

  const keys = await world.scheduler.runUntil(publish(world, o.providerAnswers));
  o.log(`warm-up done at ${(world.scheduler.time / 1000).toFixed(0)} s virtual, ${VALUES} values published, ${VALUES} content keys announced by ${PROVIDERS_PER_KEY} holders each`);

  const phases = [await phase(world, "no churn", o, keys, 10 * SECOND)];
  const stopChurn = churn(world, o.churnPerMinute);
  await world.scheduler.run(world.scheduler.time + MINUTE);
  phases.push(await phase(world, `steady churn (${(o.churnPerMinute * 100).toFixed(1)}%/min)`, o, keys, 30 * SECOND));
  stopChurn();
  world.kill(0.2);
  phases.push(await phase(world, "right after 20% died", o, keys, 10 * SECOND));
  await world.scheduler.run(world.scheduler.time + 90 * SECOND);
  phases.push(await phase(world, "20% died, 90 s later", o, keys, 10 * SECOND));
  const { log: _log, ...options } = o;
  return { options, rtt, phases, seconds: (performance.now() - started) / 1000 };
}

export function formatResult(r: SimResult): string {
  const m = r.rtt.p50;
  const x = (ms: number) => `${ms.toFixed(0).padStart(6)} ms ${(ms / m).toFixed(1).padStart(5)}x`;
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(6)}%`;
  const o = r.options;
  const lookupRows = (title: string, okLabel: string, pick: (p: Phase) => Summary) => [
    `${title.padEnd(28)}${"p50".padStart(16)}${"p99".padStart(16)}  hops p50/p99  msgs/lookup  ${okLabel.padStart(15)}`,
    ...r.phases.map((p) => {
      const s = pick(p);
      return `${p.name.padEnd(28)}${x(s.p50Ms)}   ${x(s.p99Ms)}   ${`${s.hopsP50}/${s.hopsP99}`.padStart(9)}  ${s.messagesPerLookup.toFixed(1).padStart(11)}  ${pct(s.okShare).padStart(15)}`;
    }),
  ];
  const lines = [
    `${o.nodes} nodes (${(o.natShare * 100).toFixed(0)}% behind NAT${o.clientMode ? ", in client mode" : ", not in client mode"}), seed ${o.seed}, ${o.lookups} lookups of each kind per row, ` +
      `loss ${(o.lossRate * 100).toFixed(1)}% per datagram; DHT switches ${JSON.stringify(o.dht)}; ` +
      `provider lookups ${o.providerAnswers === Infinity ? "to convergence" : `stop at ${o.providerAnswers} answers with providers`}`,
    `round trips between random pairs: median ${m.toFixed(0)} ms, p90 ${r.rtt.p90.toFixed(0)}, p99 ${r.rtt.p99.toFixed(0)}, max ${r.rtt.max.toFixed(0)}`,
    "",
    ...lookupRows("FIND_NODE (to convergence)", "exact k closest", (p) => p.nodes),
    `${"  floor: 1 RTT to slowest".padEnd(28)}${x(r.phases[0].nodes.floorP50Ms)}   ${x(r.phases[0].nodes.floorP99Ms)}   (no lookup that waits for all k closest can be faster)`,
    "",
    ...lookupRows("FIND_VALUE (stops at value)", "value found", (p) => p.values),
    "",
    ...lookupRows("providers (as a fetch asks)", "all live found", (p) => p.providers),
    "",
    `${"routing tables".padEnd(28)}  dead entries  dead, not yet found out (so still in answers)`,
    ...r.phases.map((p) => `${p.name.padEnd(28)}  ${pct(p.tables.dead).padStart(12)}  ${pct(p.tables.unnoticed).padStart(12)}`),
    "",
    `${r.seconds.toFixed(0)} s of real time`,
  ];
  return lines.join("\n");
}

export function parseArgs(argv: string[]): SimOptions {
  const o: SimOptions = { nodes: 10_000, lookups: 500, seed: 1, natShare: 0.3, lossRate: 0.01, churnPerMinute: 0.01, clientMode: true, providerAnswers: FETCH_PROVIDER_ANSWERS, dht: {}, log: () => undefined };
  const positional: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v)) throw new Error(`${a} needs a number`);
      return v;
    };
    if (a === "--seed") o.seed = value();
    else if (a === "--nodes") o.nodes = value();
    else if (a === "--lookups") o.lookups = value();
    else if (a === "--nat") o.natShare = value();
    else if (a === "--loss") o.lossRate = value();
    else if (a === "--churn") o.churnPerMinute = value();
    else if (a === "--alpha") o.dht.alpha = value();
    else if (a === "--k") o.dht.k = value();
    else if (a === "--fixed-timeouts") o.dht.adaptiveTimeouts = false;
    else if (a === "--wait-late") o.dht.passLateQueries = false;
    else if (a === "--slow-eviction") o.dht.quickEviction = false;
    else if (a === "--no-client-mode") o.clientMode = false;
    else if (a === "--vouch-ms") o.dht.vouchWithinMs = value();
    else if (a === "--ask-all") o.dht.vouchWithinMs = 0;
    else if (a === "--providers-to-convergence") o.providerAnswers = Infinity;
    else if (a === "--json") continue; // read by main
    else if (a === "--before") {
      o.dht = { adaptiveTimeouts: false, passLateQueries: false, quickEviction: false, vouchWithinMs: 0 };
      o.clientMode = false;
      o.providerAnswers = Infinity;
    } else if (/^\d+$/.test(a)) positional.push(Number(a));
    else throw new Error(`unknown option ${a} (see the head of scripts/simulate.ts)`);
  }
  if (positional[0]) o.nodes = positional[0];
  if (positional[1]) o.lookups = positional[1];
  return o;
}

if (require.main === module) {
  let options: SimOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const json = process.argv.includes("--json");
  options.log = json ? () => undefined : (line) => process.stdout.write(`  ${line}\n`);
  simulate(options).then(
    (r) => {
      process.stdout.write(json ? `${JSON.stringify(r)}\n` : `\n${formatResult(r)}\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
