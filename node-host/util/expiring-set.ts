// A bounded set whose entries each lapse at their own time: "leave this node out for a while".

import { LruMap } from "./lru";

export class ExpiringSet {
  /** Key → until when it is in the set (ms since the epoch). */
  private readonly until: LruMap<string, number>;

  constructor(
    capacity: number,
    private readonly now: () => number = Date.now,
  ) {
    this.until = new LruMap(capacity);
  }

  add(key: string, forMs: number): void {
    this.until.set(key, this.now() + forMs);
  }

  delete(key: string): void {
    this.until.delete(key);
  }

  /** Whether the key is in the set now (a lapsed entry is dropped). */
  has(key: string): boolean {
    const until = this.until.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.until.delete(key);
    return false;
  }
}
