// The Kademlia routing table: 256 k-buckets, each in least-recently-seen order with a replacement
// cache. The table itself does no I/O; when a bucket is full it names the least-recently-seen
// contact so the caller can ping it before deciding to evict it (old contacts that still answer
// are the most likely to stay online, and this keeps an attacker from flushing the table).

import { bucketIndex, compareDistance, ID_BITS, Id, sameId } from "./id";
import { Contact } from "./messages";

export interface TableEntry {
  contact: Contact;
  /** The ID's first 3 bytes and next 3 as numbers, to rank by distance without touching the ID (closest()). */
  idHigh: number;
  idLow: number;
  lastSeen: number;
  /** Smoothed round-trip time in ms (the caller smooths it, see rtt.ts), null until measured. */
  rttMs: number | null;
  /** Consecutive failed requests. */
  failures: number;
}

interface Bucket {
  entries: TableEntry[]; // least recently seen first
  replacements: Contact[]; // most recently seen last
}

const NO_ENTRIES: TableEntry[] = [];

export type UpdateResult =
  | { kind: "self" }
  | { kind: "updated"; entry: TableEntry }
  | { kind: "added"; entry: TableEntry }
  | { kind: "full"; leastRecentlySeen: TableEntry };

export class RoutingTable {
  /** closest() leaves out contacts whose last request failed (unless too few others are known). */
  skipFailing = true;
  /** Made when first needed: a table uses a dozen or two of its 256 (it matters with 10,000 in one process). */
  private readonly buckets: (Bucket | undefined)[] = new Array(ID_BITS).fill(undefined);
  private readonly lastRefreshed = new Float64Array(ID_BITS);
  private count = 0;

  constructor(
    readonly self: Id,
    readonly k: number,
    private readonly now: () => number = Date.now,
  ) {
    if (k < 1) throw new RangeError("k must be at least 1");
    this.lastRefreshed.fill(now());
  }

  get size(): number {
    return this.count;
  }

  private bucketFor(id: Id): Bucket | undefined {
    const i = bucketIndex(this.self, id);
    return i < 0 ? undefined : this.buckets[i];
  }

  private entriesOf(i: number): TableEntry[] {
    return this.buckets[i]?.entries ?? NO_ENTRIES;
  }

  get(id: Id): TableEntry | undefined {
    const entries = this.bucketFor(id)?.entries;
    if (entries) for (const e of entries) if (sameId(e.contact.id, id)) return e;
    return undefined;
  }

  /** Records that `contact` was heard from (directly, with a verified message), with its smoothed round trip. */
  update(contact: Contact, rttMs?: number): UpdateResult {
    const index = bucketIndex(this.self, contact.id);
    if (index < 0) return { kind: "self" };
    const bucket = (this.buckets[index] ??= { entries: [], replacements: [] });
    const now = this.now();
    const i = indexOfEntry(bucket.entries, contact.id);
    if (i >= 0) {
      const [entry] = bucket.entries.splice(i, 1);
      entry.contact = contact; // the key holder may have moved to a new address (same ID, same prefix)
      entry.lastSeen = now;
      entry.failures = 0;
      if (rttMs !== undefined) entry.rttMs = rttMs;
      bucket.entries.push(entry);
      return { kind: "updated", entry };
    }
    if (bucket.entries.length < this.k) {
      const entry: TableEntry = { contact, idHigh: idHigh(contact.id), idLow: idLow(contact.id), lastSeen: now, rttMs: rttMs ?? null, failures: 0 };
      bucket.entries.push(entry);
      this.count++;
      return { kind: "added", entry };
    }
    this.addReplacement(bucket, contact);
    return { kind: "full", leastRecentlySeen: bucket.entries[0] };
  }

  private addReplacement(bucket: Bucket, contact: Contact): void {
    const j = indexOfContact(bucket.replacements, contact.id);
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
    const i = indexOfEntry(bucket.entries, id);
    if (i < 0) {
      const j = indexOfContact(bucket.replacements, id);
      if (j >= 0) bucket.replacements.splice(j, 1);
      return undefined;
    }
    const [removed] = bucket.entries.splice(i, 1);
    this.count--;
    const promoted = bucket.replacements.pop();
    if (promoted) {
      bucket.entries.push({ contact: promoted, idHigh: idHigh(promoted.id), idLow: idLow(promoted.id), lastSeen: this.now(), rttMs: null, failures: 0 });
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
    let lowest = 0; // buckets below the lowest non-empty one need no visit (most of them, in a small network)
    while (lowest < ID_BITS && this.entriesOf(lowest).length === 0) lowest++;
    let limit = ID_BITS;
    for (;;) {
      const b = bucketIndex(this.self, t);
      if (b >= 0) appendNearest(out, this.entriesOf(b), target, n, exclude, withFailing);
      farther.push(b + 1, limit);
      if (b <= lowest || out.length >= n) break;
      t[(ID_BITS - 1 - b) >> 3] ^= 0x80 >> ((ID_BITS - 1 - b) & 7); // flip bit b (counted from the right)
      limit = b;
    }
    for (let r = farther.length - 2; r >= 0 && out.length < n; r -= 2) {
      for (let i = farther[r]; i < farther[r + 1] && out.length < n; i++) {
        const bucket = this.buckets[i];
        if (bucket && bucket.entries.length > 0) appendNearest(out, bucket.entries, target, n, exclude, withFailing);
      }
    }
    return out;
  }

  entries(): TableEntry[] {
    return this.buckets.flatMap((b) => b?.entries ?? NO_ENTRIES);
  }

  /** Non-empty buckets, with their index. */
  bucketsInUse(): { index: number; entries: TableEntry[]; replacements: number; lastRefreshed: number }[] {
    const out = [];
    for (let i = 0; i < ID_BITS; i++) {
      const b = this.buckets[i];
      if (b && b.entries.length > 0) out.push({ index: i, entries: b.entries, replacements: b.replacements.length, lastRefreshed: this.lastRefreshed[i] });
    }
    return out;
  }

  /** Marks the bucket holding `target` as refreshed (a lookup went through it). */
  touchBucketOf(target: Id): void {
    const i = bucketIndex(this.self, target);
    if (i >= 0) this.lastRefreshed[i] = this.now();
  }

  /**
   * Buckets idle since before `olderThan` that a refresh lookup can fill: the ones from the nearest
   * non-empty bucket outwards (nearer buckets are empty because no such IDs exist).
   */
  bucketsToRefresh(olderThan: number): number[] {
    let nearest = ID_BITS;
    for (let i = 0; i < ID_BITS; i++) {
      if (this.entriesOf(i).length > 0) {
        nearest = i;
        break;
      }
    }
    const out: number[] = [];
    for (let i = nearest; i < ID_BITS; i++) if (this.lastRefreshed[i] < olderThan) out.push(i);
    return out;
  }
}

function indexOfEntry(entries: readonly TableEntry[], id: Id): number {
  for (let i = 0; i < entries.length; i++) if (sameId(entries[i].contact.id, id)) return i;
  return -1;
}

function indexOfContact(contacts: readonly Contact[], id: Id): number {
  for (let i = 0; i < contacts.length; i++) if (sameId(contacts[i].id, id)) return i;
  return -1;
}

const idHigh = (id: Id): number => (id[0] << 16) | (id[1] << 8) | id[2];
const idLow = (id: Id): number => (id[3] << 16) | (id[4] << 8) | id[5];

// Scratch space for appendNearest (never re-entered), so that answering a request allocates nothing there.
const scratchKeys: number[] = [];
const scratchContacts: Contact[] = [];

/**
 * Appends to `out`, nearest first, the nearest contacts of bucket `bit`'s `entries` until `out`
 * holds n. They are ranked by the first 48 bits of their distance to target, from the prefixes
 * kept in the entries (a table's entries, their contacts and IDs lie all over the heap, and
 * following those pointers was most of the cost), and by the whole distance where those tie (in a
 * bucket below 208, which no network of fewer than 2^48 nodes has, all of them do). A short sorted
 * list by insertion: a bucket holds k at most, and this runs for every request answered.
 */
function appendNearest(out: Contact[], entries: readonly TableEntry[], target: Id, n: number, exclude: Id | undefined, withFailing: boolean): void {
  const room = n - out.length;
  if (entries.length === 0 || room <= 0) return;
  const targetHigh = idHigh(target);
  const targetLow = idLow(target);
  let count = 0;
  for (const e of entries) {
    if (e.failures > 0 && !withFailing) continue;
    const c = e.contact;
    if (exclude && sameId(c.id, exclude)) continue;
    const key = (e.idHigh ^ targetHigh) * 16777216 + (e.idLow ^ targetLow);
    let i = count;
    while (i > 0 && (scratchKeys[i - 1] > key || (scratchKeys[i - 1] === key && compareDistance(scratchContacts[i - 1].id, c.id, target) > 0))) i--;
    if (i >= room) continue;
    for (let j = Math.min(count, room - 1); j > i; j--) {
      scratchKeys[j] = scratchKeys[j - 1];
      scratchContacts[j] = scratchContacts[j - 1];
    }
    scratchKeys[i] = key;
    scratchContacts[i] = c;
    if (count < room) count++;
  }
  for (let j = 0; j < count; j++) out.push(scratchContacts[j]);
}
