// The datagrams an authenticated UDP transport has taken lately, so that a copy sent again is
// dropped. A datagram is taken only while its timestamp is within `freshnessMs` of the clock, so a
// copy of it can pass that check only until 2 × freshnessMs after the original was first seen: an
// entry is kept that long and no longer. Memory thus follows the traffic of the last minute or so,
// instead of filling a fixed-size table to its capacity over hours (65,536 entries of ~100 bytes
// each, filled on an ordinary node in a quarter of an hour). The capacity still bounds a flood: past
// it the oldest entries go first, as before.

export class ReplayWindow {
  /** Key → when it was first seen, oldest first (the clock only moves forward here, mostly). */
  private readonly seenAt = new Map<string, number>();
  private readonly keepMs: number;

  constructor(
    private readonly capacity: number,
    freshnessMs: number,
  ) {
    if (capacity < 1) throw new RangeError("capacity must be at least 1");
    this.keepMs = 2 * freshnessMs;
  }

  get size(): number {
    return this.seenAt.size;
  }

  /** Whether `key` was remembered and has not lapsed by `now`. */
  has(key: string, now: number): boolean {
    const at = this.seenAt.get(key);
    return at !== undefined && now - at <= this.keepMs;
  }

  /** Remembers `key` as seen at `now`, forgetting what has lapsed (and the oldest, past the capacity). */
  remember(key: string, now: number): void {
    this.forgetLapsed(now);
    this.seenAt.delete(key);
    this.seenAt.set(key, now);
    if (this.seenAt.size > this.capacity) this.seenAt.delete(this.seenAt.keys().next().value as string);
  }

  /**
   * Drops entries from the oldest on while they have lapsed. A clock that stepped back leaves a
   * newer entry in front of older ones; they then stay until it lapses, which errs on the safe side.
   */
  private forgetLapsed(now: number): void {
    for (const [key, at] of this.seenAt) {
      if (now - at <= this.keepMs) return;
      this.seenAt.delete(key);
    }
  }
}
