// Announcing many keys with one lookup per keyspace region instead of one per key. A lookup of a
// key finds the k nodes closest to it; every node that shares more leading bits with the key than
// the farthest of those k does is closer than that one, so it is among them. A key that shares
// more than those bits with the looked-up key falls in that same region: the nodes of the region
// (all of them found by the lookup) are its closest too, with the rest of the k made up from the
// region's neighbours the lookup also found. Its provider record goes to the same k nodes, and a
// lookup of it, which ends among the region's nodes, finds it there. When a lookup finds fewer than
// k nodes, it found the whole network: every key shares its region. Sorted keys put each region's
// keys side by side, so a node holding 10,000 contents on a small network announces them all after
// one lookup, and on a large one after about one per region its contents fall in.

import { commonPrefixLength, Id } from "./id";
import { mapLimit } from "../util/concurrency";

export interface RegionAnnouncer<C extends { id: Id }> {
  /** Bucket size: the nodes a lookup returns, and each key's record goes to. */
  k: number;
  /** The k closest nodes to `key` that answered a lookup. */
  closest(key: Id): Promise<C[]>;
  /** Sends `key`'s provider record to `nodes`; resolves with how many took it. */
  announce(key: Id, nodes: C[]): Promise<number>;
}

/** Keys announced at once within a region. */
const PARALLEL = 4;

/** Announces every key, one lookup per region; returns the lookups made and the records stored. */
export async function provideInRegions<C extends { id: Id }>(keys: Id[], a: RegionAnnouncer<C>): Promise<{ lookups: number; stored: number }> {
  const sorted = [...keys].sort(Buffer.compare);
  let lookups = 0;
  let stored = 0;
  for (let i = 0; i < sorted.length; ) {
    const first = sorted[i];
    const nodes = await a.closest(first).catch(() => null);
    lookups++;
    if (!nodes) {
      i++; // this key waits for the next round; the rest get their own lookup
      continue;
    }
    let end = i + 1;
    while (end < sorted.length && sameRegion(first, sorted[end], nodes, a.k)) end++;
    const counts = await mapLimit(sorted.slice(i, end), PARALLEL, (key) => a.announce(key, nodes));
    stored += counts.reduce((x, y) => x + y, 0);
    i = end;
  }
  return { lookups, stored };
}

/** Whether `key`'s closest nodes are those of `looked` (the k found for it). */
export function sameRegion(looked: Id, key: Id, found: { id: Id }[], k: number): boolean {
  if (found.length < k) return true; // the whole network answered
  const prefixes = found.map((n) => commonPrefixLength(n.id, looked));
  const regionBits = Math.min(...prefixes);
  // a region with none of the found nodes in it would leave the key's record on none of its closest
  if (!prefixes.some((p) => p > regionBits)) return false;
  return commonPrefixLength(key, looked) > regionBits;
}
