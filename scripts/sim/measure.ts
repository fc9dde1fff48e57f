// Lookups measured on a simulated world: time (virtual ms, and in multiples of the network's
// median round trip), hops, the requests the looking node sent, and whether the k closest found
// are the true k closest live servers (FIND_NODE), the value was found (FIND_VALUE), or every live
// holder of a content key was found the way a fetch looks for them (GET_PROVIDERS).

import { Id } from "../../node-host/dht/id";
import { Request } from "../../node-host/dht/messages";
import { percentile } from "../../bench/stats";
import { SimNode, trueClosest, World } from "./world";

export interface Sample {
  ms: number;
  /** FIND_NODE: one round trip to the slowest of the true k closest (no lookup can be faster). */
  floorMs: number;
  hops: number;
  messages: number;
  /** FIND_NODE: the k closest are exactly right; FIND_VALUE: the value was found; providers: every live one found. */
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

export type LookupKind = "node" | "value" | "providers";

/** Keys the lookups ask for: values published, and content keys with the nodes that announced themselves as providers. */
export interface PublishedKeys {
  values: Id[];
  contents: { key: Id; providers: SimNode[] }[];
  /** Provider lookups stop at this many answers with providers (FETCH_PROVIDER_ANSWERS; Infinity: at convergence). */
  providerAnswers: number;
}

const REQUEST_TYPE: Record<LookupKind, Request["type"]> = { node: "find_node", value: "find_value", providers: "get_providers" };
/** A provider lookup as a fetch makes it (it stops at `keys.providerAnswers` answers with providers); right when every live provider was found. */
async function providerLookup(world: World, from: SimNode, keys: PublishedKeys): Promise<Sample> {
  const started = world.scheduler.time;
  const sentBefore = from.transport.sent.get("get_providers") ?? 0;
  const { key, providers } = world.rng.pick(keys.contents);
  const { providers: found, lookup } = await from.dht.findProviders(key, { answersWithProviders: keys.providerAnswers });
  const live = providers.filter((p) => p.transport.alive && p !== from);
  const ok = live.every((p) => found.some((r) => r.provider.id.equals(p.dht.id)));
  return { ms: world.scheduler.time - started, floorMs: 0, hops: lookup.hops, messages: (from.transport.sent.get("get_providers") ?? 0) - sentBefore, ok };
}

/** One lookup from `from` of the given kind. */
async function lookup(world: World, from: SimNode, kind: LookupKind, keys: PublishedKeys): Promise<Sample> {
  if (kind === "providers") return providerLookup(world, from, keys);
  const started = world.scheduler.time;
  const type = REQUEST_TYPE[kind];
  const sentBefore = from.transport.sent.get(type) ?? 0;
  const messages = () => (from.transport.sent.get(type) ?? 0) - sentBefore;
  if (kind === "value") {
    const { record, lookup } = await from.dht.findValue(world.rng.pick(keys.values), { network: true });
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
 * `count` lookups of each kind, in turn, one started every `spacingMs` from a random live node:
 * FIND_NODE for random keys (right when they return the true k closest live servers), FIND_VALUE
 * for the published values (from the network, not the own store; right when they find the value)
 * and GET_PROVIDERS for the announced content keys, as a fetch asks; waits for all.
 */
export async function measureLookups(world: World, count: number, spacingMs: number, keys: PublishedKeys): Promise<Record<LookupKind, Sample[]>> {
  const kinds: LookupKind[] = ["node", "value", "providers"];
  const samples: Record<LookupKind, Sample[]> = { node: [], value: [], providers: [] };
  let done = 0;
  const all = new Promise<void>((resolve, reject) => {
    for (let i = 0; i < kinds.length * count; i++) {
      const kind = kinds[i % kinds.length];
      world.scheduler.at(world.scheduler.time + (i * spacingMs) / kinds.length, () => {
        lookup(world, world.rng.pick(world.live), kind, keys).then((s) => {
          samples[kind].push(s);
          if (++done === kinds.length * count) resolve();
        }, reject);
      });
    }
  });
  await world.scheduler.runUntil(all);
  return samples;
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
