// What the lookup trace panel shows: each hop's nodes with their XOR distance to the key, its bit
// length, the round trip and whether they answered; and the routing table as a heat map of bucket
// fill by distance. Pure: computed from dht.lookup and dht.routing results.
import type { LookupResult, RoutingInfo } from "../node-host/rpc/api-types";
import { distanceBits, formatMs, formatRtt, pluralize, shortId } from "../extension/format";

/** Bits of an ID: distances have 0 (the key itself) to 256 bits. */
export const ID_BITS = 256;

export interface HopRow {
  id: string;
  shortId: string;
  address: string;
  /** XOR distance to the key, hex. */
  distance: string;
  /** Its bit length (0..256): the node shares 256 - bits leading bits with the key. */
  bits: number;
  /** "2^253", or "0" for the key itself. */
  distanceText: string;
  /** Width of the distance bar, 0..100 (longer = farther). */
  barPercent: number;
  rttText: string;
  ok: boolean;
  /** Among the closest nodes the lookup returned. */
  closest: boolean;
}

export interface HopGroup {
  hop: number;
  asked: number;
  answered: number;
  /** The smallest distance (bit length) among the nodes of this hop that answered; null if none did. */
  bestBits: number | null;
  rows: HopRow[];
}

export interface TraceView {
  key: string;
  outcome: string;
  summary: string;
  groups: HopGroup[];
}

function outcome(r: LookupResult): string {
  if (r.value) return `value found ("${r.value.name}", seq ${r.value.seq})`;
  if (r.providers.length) return `${pluralize(r.providers.length, "provider")} found`;
  return "no value or provider";
}

export function traceView(r: LookupResult): TraceView {
  const closest = new Set(r.closest.map((c) => c.id));
  const byHop = new Map<number, HopRow[]>();
  const answered = r.queried.filter((q) => q.ok).length;
  for (const q of r.queried) {
    const bits = distanceBits(q.distance);
    const row: HopRow = {
      id: q.id,
      shortId: shortId(q.id, 12),
      address: `${q.host}:${q.port}`,
      distance: q.distance,
      bits,
      distanceText: bits === 0 ? "0" : `2^${bits - 1}`,
      barPercent: Math.max(bits > 0 ? 1 : 0, Math.round((bits / ID_BITS) * 1000) / 10),
      rttText: q.ok ? formatRtt(q.rttMs) : q.pending ? "not yet" : "—",
      ok: q.ok,
      closest: closest.has(q.id),
    };
    let rows = byHop.get(q.hop);
    if (!rows) byHop.set(q.hop, (rows = []));
    rows.push(row);
  }
  const groups: HopGroup[] = [...byHop.entries()]
    .sort(([a], [b]) => a - b)
    .map(([hop, rows]) => {
      rows.sort((a, b) => a.distance.localeCompare(b.distance) || a.id.localeCompare(b.id));
      const ok = rows.filter((x) => x.ok);
      return { hop, asked: rows.length, answered: ok.length, bestBits: ok.length ? Math.min(...ok.map((x) => x.bits)) : null, rows };
    });
  return {
    key: r.key,
    outcome: outcome(r),
    summary: [pluralize(r.hops, "hop"), `${pluralize(r.queried.length, "node")} asked`, `${answered} answered`, ...(r.vouched ? [`${r.vouched} more heard from lately`] : []), formatMs(r.durationMs)].join(" · "),
    groups,
  };
}

/** The bucket of this node's routing table a key falls in (255 - common prefix length); null for the node's own ID. */
export function bucketIndexOf(self: string, key: string): number | null {
  if (self.length !== key.length) return null;
  for (let i = 0; i < self.length; i++) {
    const x = parseInt(self[i], 16) ^ parseInt(key[i], 16);
    if (Number.isNaN(x)) return null;
    if (x !== 0) return (self.length - i) * 4 - (Math.clz32(x) - 28) - 1;
  }
  return null;
}

export interface HeatCell {
  /** Bucket index: contacts at XOR distance [2^index, 2^(index+1)) from this node. */
  index: number;
  contacts: number;
  replacements: number;
  /** contacts / k, 0..1. */
  fill: number;
  /** 0 (empty) .. 4 (full), for the colour. */
  level: number;
  /** The bucket the looked-up key falls in. */
  key: boolean;
  title: string;
}

export interface HeatMap {
  k: number;
  size: number;
  /** All 256 buckets, index 0 (nearest) first. */
  cells: HeatCell[];
  /** The buckets with contacts or waiting replacements (and the key's), nearest first: the bar chart. */
  bars: HeatCell[];
  keyBucket: number | null;
  usedBuckets: number;
}

export function heatMap(routing: RoutingInfo, key?: string): HeatMap {
  const k = Math.max(1, routing.k);
  const keyBucket = key ? bucketIndexOf(routing.self, key) : null;
  const byIndex = new Map(routing.buckets.map((b) => [b.index, b]));
  const cells: HeatCell[] = [];
  for (let index = 0; index < ID_BITS; index++) {
    const b = byIndex.get(index);
    const contacts = b?.contacts.length ?? 0;
    const replacements = b?.replacements ?? 0;
    const fill = Math.min(1, contacts / k);
    cells.push({
      index,
      contacts,
      replacements,
      fill,
      level: contacts === 0 ? 0 : Math.max(1, Math.min(4, Math.ceil(fill * 4))),
      key: index === keyBucket,
      title: `Bucket ${index}: distance 2^${index}…2^${index + 1}, ${contacts} of k = ${k} contacts${replacements ? `, ${replacements} waiting` : ""}${index === keyBucket ? " (the key falls here)" : ""}`,
    });
  }
  return {
    k,
    size: routing.size,
    cells,
    bars: cells.filter((c) => c.contacts > 0 || c.replacements > 0 || c.key),
    keyBucket,
    usedBuckets: cells.filter((c) => c.contacts > 0).length,
  };
}
