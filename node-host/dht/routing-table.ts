// The Kademlia routing table: 256 k-buckets, each in least-recently-seen order with a replacement
// cache. The table itself does no I/O; when a bucket is full it names the least-recently-seen
// contact so the caller can ping it before deciding to evict it (old contacts that still answer
// are the most likely to stay online, and this keeps an attacker from flushing the table).

import { bucketIndex, compareDistance, ID_BITS, ID_BYTES, Id } from "./id";
import { Contact } from "./messages";

export interface TableEntry {
  contact: Contact;
  lastSeen: number;
  /** Smoothed round-trip time in ms (the caller smooths it, see rtt.ts), null until measured. */
  rttMs: number | null;
  /** Consecutive failed requests. */
  failures: number;
}

interface Bucket {
  entries: TableEntry[]; // least recently seen first
  replacements: Contact[]; // most recently seen last
  lastRefreshed: number;
}

export type UpdateResult =
  | { kind: "self" }
  | { kind: "updated"; entry: TableEntry }
  | { kind: "added"; entry: TableEntry }
  | { kind: "full"; leastRecentlySeen: TableEntry };

export class RoutingTable {
  /** closest() leaves out contacts whose last request failed (unless too few others are known). */
  skipFailing = true;
  private readonly buckets: Bucket[];
  private count = 0;

  constructor(
    readonly self: Id,
    readonly k: number,
    private readonly now: () => number = Date.now,
  ) {
    if (k < 1) throw new RangeError("k must be at least 1");
    const t = now();
    this.buckets = Array.from({ length: ID_BITS }, () => ({ entries: [], replacements: [], lastRefreshed: t }));
  }

  get size(): number {
    return this.count;
  }

  private bucketFor(id: Id): Bucket | undefined {
    const i = bucketIndex(this.self, id);
    return i < 0 ? undefined : this.buckets[i];
  }

  get(id: Id): TableEntry | undefined {
    return this.bucketFor(id)?.entries.find((e) => e.contact.id.equals(id));
  }

  /** Records that `contact` was heard from (directly, with a verified message), with its smoothed round trip. */
  update(contact: Contact, rttMs?: number): UpdateResult {
    const bucket = this.bucketFor(contact.id);
    if (!bucket) return { kind: "self" };
    const now = this.now();
    const i = bucket.entries.findIndex((e) => e.contact.id.equals(contact.id));
    if (i >= 0) {
      const [entry] = bucket.entries.splice(i, 1);
      entry.contact = contact; // the key holder may have moved to a new address
      entry.lastSeen = now;
      entry.failures = 0;
      if (rttMs !== undefined) entry.rttMs = rttMs;
      bucket.entries.push(entry);
      return { kind: "updated", entry };
    }
    if (bucket.entries.length < this.k) {
      const entry: TableEntry = { contact, lastSeen: now, rttMs: rttMs ?? null, failures: 0 };
      bucket.entries.push(entry);
      this.count++;
      return { kind: "added", entry };
    }
    this.addReplacement(bucket, contact);
    return { kind: "full", leastRecentlySeen: bucket.entries[0] };
  }

  private addReplacement(bucket: Bucket, contact: Contact): void {
    const j = bucket.replacements.findIndex((c) => c.id.equals(contact.id));
    if (j >= 0) bucket.replacements.splice(j, 1);
    bucket.replacements.push(contact);
    if (bucket.replacements.length > this.k) bucket.replacements.shift();
  }

  /** Counts a failed request to `id`; returns the new failure count (0 when not in the table). */
  recordFailure(id: Id): number {
    const entry = this.get(id);
    if (!entry) return 0;
    entry.failures++;
    return entry.failures;
  }

  /** True when a newer contact waits in the replacement cache of `id`'s bucket. */
  hasReplacement(id: Id): boolean {
    return (this.bucketFor(id)?.replacements.length ?? 0) > 0;
  }

  /** Removes a contact, promoting the most recently seen replacement into its place. */
  remove(id: Id): TableEntry | undefined {
    const bucket = this.bucketFor(id);
    if (!bucket) return undefined;
    const i = bucket.entries.findIndex((e) => e.contact.id.equals(id));
    if (i < 0) {
      const j = bucket.replacements.findIndex((c) => c.id.equals(id));
      if (j >= 0) bucket.replacements.splice(j, 1);
      return undefined;
    }
    const [removed] = bucket.entries.splice(i, 1);
    this.count--;
    const promoted = bucket.replacements.pop();
    if (promoted) {
      bucket.entries.push({ contact: promoted, lastSeen: this.now(), rttMs: null, failures: 0 });
      this.count++;
    }
    return removed;
  }

  /**
   * The n contacts closest to target by XOR distance, nearest first, without sorting the table.
   * Contacts whose last request failed are left out (likely dead: not worth a lookup's query, nor
   * a place in an answer) unless fewer than n others are known.
   * With b the bucket target falls in: bucket b holds the closest contacts of all; next come
   * buckets 0..b-1, whose order among themselves is that of the same question asked for target
   * with bit b flipped (so it is solved the same way, one level down); last come buckets
   * b+1, b+2, ..., each farther than the one before. Only the buckets taken from are sorted.
   */
  closest(target: Id, n: number, exclude?: Id): Contact[] {
    const out = this.closestWhere(target, n, exclude, !this.skipFailing);
    if (out.length < n && out.length < this.count && this.skipFailing) return this.closestWhere(target, n, exclude, true);
    return out;
  }

  private closestWhere(target: Id, n: number, exclude: Id | undefined, withFailing: boolean): Contact[] {
    const out: Contact[] = [];
    const t = Buffer.from(target);
    const farther: number[] = []; // pairs of bucket ranges [from, to) to visit after the nearer levels
    let limit = ID_BITS;
    for (;;) {
      const b = bucketIndex(this.self, t);
      if (b >= 0) appendNearest(out, this.buckets[b].entries, target, b, n, exclude, withFailing);
      farther.push(b + 1, limit);
      if (b <= 0 || out.length >= n) break;
      t[(ID_BITS - 1 - b) >> 3] ^= 0x80 >> ((ID_BITS - 1 - b) & 7); // flip bit b (counted from the right)
      limit = b;
    }
    for (let r = farther.length - 2; r >= 0 && out.length < n; r -= 2) {
      for (let i = farther[r]; i < farther[r + 1] && out.length < n; i++) appendNearest(out, this.buckets[i].entries, target, i, n, exclude, withFailing);
    }
    return out;
  }

  entries(): TableEntry[] {
    return this.buckets.flatMap((b) => b.entries);
  }

  /** Non-empty buckets, with their index. */
  bucketsInUse(): { index: number; entries: TableEntry[]; replacements: number; lastRefreshed: number }[] {
    const out = [];
    for (let i = 0; i < ID_BITS; i++) {
      const b = this.buckets[i];
      if (b.entries.length > 0) out.push({ index: i, entries: b.entries, replacements: b.replacements.length, lastRefreshed: b.lastRefreshed });
    }
    return out;
  }

  /** Marks the bucket holding `target` as refreshed (a lookup went through it). */
  touchBucketOf(target: Id): void {
    const b = this.bucketFor(target);
    if (b) b.lastRefreshed = this.now();
  }

  /**
   * Buckets idle since before `olderThan` that a refresh lookup can fill: the ones from the nearest
   * non-empty bucket outwards (nearer buckets are empty because no such IDs exist).
   */
  bucketsToRefresh(olderThan: number): number[] {
    let nearest = ID_BITS;
    for (let i = 0; i < ID_BITS; i++) {
      if (this.buckets[i].entries.length > 0) {
        nearest = i;
        break;
      }
    }
    const out: number[] = [];
    for (let i = nearest; i < ID_BITS; i++) if (this.buckets[i].lastRefreshed < olderThan) out.push(i);
    return out;
  }
}

/**
 * Appends to `out`, nearest first, contacts of bucket `bit`'s `entries` until `out` holds n. Their
 * distances to target agree above bit `bit`, so they are sorted by the 48 bits of distance from
 * the byte that holds it, and by the whole distance where those tie.
 */
function appendNearest(out: Contact[], entries: readonly TableEntry[], target: Id, bit: number, n: number, exclude: Id | undefined, withFailing: boolean): void {
  if (entries.length === 0 || out.length >= n) return;
  const from = Math.max(0, Math.min(ID_BYTES - 6, (ID_BITS - 1 - bit) >> 3));
  const keyed: { key: number; contact: Contact }[] = [];
  for (const e of entries) {
    if (e.failures > 0 && !withFailing) continue;
    const id = e.contact.id;
    let key = 0;
    for (let j = from; j < from + 6; j++) key = key * 256 + (id[j] ^ target[j]);
    keyed.push({ key, contact: e.contact });
  }
  keyed.sort((x, y) => x.key - y.key || compareDistance(x.contact.id, y.contact.id, target));
  for (const { contact } of keyed) {
    if (out.length >= n) return;
    if (!exclude || !contact.id.equals(exclude)) out.push(contact);
  }
}
