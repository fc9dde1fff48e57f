// Token buckets per source, bounded in number: a flood from one address cannot buy unbounded CPU
// (each datagram costs a signature check) or unbounded memory (buckets are kept in an LRU map).

import { RecentCache } from "./recent-cache";

interface Bucket {
  tokens: number;
  updated: number;
}

export class RateLimiter {
  private readonly buckets: RecentCache<string, Bucket>;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    maxSources = 10_000,
  ) {
    this.buckets = new RecentCache(maxSources);
  }

  /** Takes one token for `source`; false when it has none left. */
  take(source: string, now = Date.now()): boolean {
    let b = this.buckets.get(source);
    if (!b) {
      b = { tokens: this.burst, updated: now };
      this.buckets.set(source, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.updated) / 1000) * this.perSecond);
    b.updated = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
