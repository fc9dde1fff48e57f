// A set whose members are remembered for a fixed time after they were added, and at most `capacity`
// of them: what a node needs to recognise again only for a while (a signature already checked; the
// UDP replay window, which takes far more entries, has a fixed-size table of its own:
// transport/replay-window.ts). Memory follows the last `keepMs` of traffic and reaches its steady
// state within `keepMs`, where a table bounded by count alone fills to its capacity over hours (the
// UDP replay window's 65,536 entries of ~100 bytes took a quarter of an hour on an ordinary node; the
// DHT's 16,384 checked signatures, most of a 20-minute soak). Past the capacity (a flood) the
// oldest members go first.

export class TimedSet {
  /** Member → when it was added, oldest first (the clock only moves forward here, mostly). */
  private readonly addedAt = new Map<string, number>();

  constructor(
    private readonly capacity: number,
    /** How long a member is remembered, ms. */
    readonly keepMs: number,
  ) {
    if (capacity < 1) throw new RangeError("capacity must be at least 1");
  }

  get size(): number {
    return this.addedAt.size;
  }

  /** Whether `key` was added and has not lapsed by `now`. */
  has(key: string, now: number): boolean {
    const at = this.addedAt.get(key);
    return at !== undefined && now - at <= this.keepMs;
  }

  /** Adds `key` as of `now`, forgetting what has lapsed (and the oldest, past the capacity). */
  add(key: string, now: number): void {
    this.forgetLapsed(now);
    this.addedAt.delete(key);
    this.addedAt.set(key, now);
    if (this.addedAt.size > this.capacity) this.addedAt.delete(this.addedAt.keys().next().value as string);
  }

  /**
   * Drops members from the oldest on while they have lapsed. A clock that stepped back leaves a
   * newer member in front of older ones; they then stay until it lapses, which errs on the side of
   * remembering.
   */
  private forgetLapsed(now: number): void {
    for (const [key, at] of this.addedAt) {
      if (now - at <= this.keepMs) return;
      this.addedAt.delete(key);
    }
  }
}
