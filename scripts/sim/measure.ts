// Lookups measured on a simulated world: time (virtual ms, and in multiples of the network's
// median round trip), hops, the requests the looking node sent, and whether the k closest found
// are the true k closest live servers.

import { Id } from "../../node-host/dht/id";
import { percentile } from "../../bench/stats";
import { SimNode, trueClosest, World } from "./world";

export interface Sample {
  ms: number;
  /** FIND_NODE: one round trip to the slowest of the true k closest (no lookup can be faster). */
  floorMs: number;
  hops: number;
  messages: number;
  /** FIND_NODE: the k closest are exactly right; FIND_VALUE: the value was found. */
  ok: boolean;
}

export interface Summary {
  lookups: number;
  p50Ms: number;
  p99Ms: number;
  floorP50Ms: number;
  floorP99Ms: number;
  hopsP50: number;
  hopsP99: number;
  messagesPerLookup: number;
  /** Share of lookups that were right (exact k closest, or value found). */
  okShare: number;
}

export function summarize(samples: Sample[]): Summary {
  const sorted = (f: (s: Sample) => number) => samples.map(f).sort((a, b) => a - b);
  const ms = sorted((s) => s.ms);
  const floor = sorted((s) => s.floorMs);
  const hops = sorted((s) => s.hops);
  return {
    lookups: samples.length,
    p50Ms: percentile(ms, 50),
    p99Ms: percentile(ms, 99),
    floorP50Ms: percentile(floor, 50),
    floorP99Ms: percentile(floor, 99),
    hopsP50: percentile(hops, 50),
    hopsP99: percentile(hops, 99),
    messagesPerLookup: samples.reduce((a, s) => a + s.messages, 0) / samples.length,
    okShare: samples.filter((s) => s.ok).length / samples.length,
  };
}

/** One lookup from `from`; `kind` picks FIND_NODE or FIND_VALUE. */
async function lookup(world: World, from: SimNode, kind: "node" | "value", keys: Id[]): Promise<Sample> {
  const started = world.scheduler.time;
  const type = kind === "node" ? "find_node" : "find_value";
  const sentBefore = from.transport.sent.get(type) ?? 0;
  const messages = () => (from.transport.sent.get(type) ?? 0) - sentBefore;
  if (kind === "value") {
    const { record, lookup } = await from.dht.findValue(world.rng.pick(keys), { network: true });
    return { ms: world.scheduler.time - started, floorMs: 0, hops: lookup?.hops ?? 0, messages: messages(), ok: record !== null };
  }
  const target = world.rng.bytes(32);
  const outcome = await from.dht.lookupNodes(target);
  const expected = trueClosest(world.liveServers, from.dht.id, target, from.dht.settings.k);
  const found = outcome.closest.map((c) => c.id);
  return {
    ms: world.scheduler.time - started,
    floorMs: Math.max(...expected.map((id) => world.model.rttMs(from.transport.placement, world.byId(id).transport.placement))),
    hops: outcome.hops,
    messages: messages(),
    ok: found.length === expected.length && found.every((id, i) => id.equals(expected[i])),
  };
}

/**
 * `count` FIND_NODE lookups for random keys (right when they return the true k closest live
 * servers) and as many FIND_VALUE lookups for the published `keys` (from the network, not the own
 * store; right when they find the value), alternating, one started every `spacingMs` from a random
 * live node; waits for all.
 */
export async function measureLookups(world: World, count: number, spacingMs: number, keys: Id[]): Promise<{ nodes: Sample[]; values: Sample[] }> {
  const nodes: Sample[] = [];
  const values: Sample[] = [];
  const all = new Promise<void>((resolve, reject) => {
    for (let i = 0; i < 2 * count; i++) {
      const kind = i % 2 === 0 ? "node" : "value";
      world.scheduler.at(world.scheduler.time + (i * spacingMs) / 2, () => {
        lookup(world, world.rng.pick(world.live), kind, keys).then((s) => {
          (kind === "node" ? nodes : values).push(s);
          if (nodes.length + values.length === 2 * count) resolve();
        }, reject);
      });
    }
  });
  await world.scheduler.runUntil(all);
  return { nodes, values };
}

/** Shares of routing-table entries (over live nodes) that are dead, and dead but not yet found out (still in answers). */
export function deadInTables(world: World): { dead: number; unnoticed: number } {
  let entries = 0;
  let dead = 0;
  let unnoticed = 0;
  for (const n of world.live) {
    for (const e of n.dht.table.entries()) {
      entries++;
      if (world.byId(e.contact.id).transport.alive) continue;
      dead++;
      if (e.failures === 0) unnoticed++;
    }
  }
  return { dead: dead / entries, unnoticed: unnoticed / entries };
}
