// A bounded cache for hot paths: the entries used most recently survive, as in an LRU map, but a
// hit costs one Map lookup instead of an LRU's delete and re-insert (measured at 7% of a lookup's
// CPU when the contact and key caches were LRU maps). Two generations: new entries go into the
// young one; when it is full it becomes the old one and the previous old one is dropped; a hit in
// the old generation moves the entry back to the young one. At most `capacity` entries are held.

export class RecentCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly generation: number;

  constructor(capacity: number) {
    if (capacity < 2) throw new RangeError("capacity must be at least 2");
    this.generation = capacity >> 1;
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const aged = this.old.get(key);
    if (aged !== undefined) {
      this.old.delete(key);
      this.set(key, aged);
    }
    return aged;
  }

  set(key: K, value: V): void {
    if (!this.young.has(key) && this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Map();
    }
    this.old.delete(key);
    this.young.set(key, value);
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}

/**
 * Entries of a cache keyed by peer (its key, its contact, the keys derived for it): a node's working
 * set of peers, its routing table and the nodes its lookups met lately, is a few hundred even in a
 * large network, and a miss costs a hash or a key derivation (microseconds). Peers that come once
 * (fresh identities, contacts a lying node made up) rotate out instead of filling the cache: sized
 * at 16,384 these caches held about 1.2 KiB per peer ever seen and grew through a whole soak run.
 */
export const PEER_CACHE_ENTRIES = 512;
