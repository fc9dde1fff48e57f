// Since when each content has been below r, as this node's repair sweeps see it: the clock that lets
// a holder step in for a repair leader that has not restored a lost copy. It starts only for a
// content this node has seen at r before: a new share's copies still under way (a large file takes
// minutes to copy) leave the first holders short for a while, and stepping in then would only make
// an extra copy. Bounded: the least recently checked contents are forgotten.

import { LruMap } from "../util/lru";

export class BelowRSince {
  /** Content (hex) → null when last seen at r, else when it was first seen below r since then. */
  private readonly state: LruMap<string, number | null>;

  constructor(capacity: number) {
    this.state = new LruMap(capacity);
  }

  /** Notes what a sweep saw: the content at r (or more), or below. */
  saw(contentHex: string, atR: boolean, now: number): void {
    const since = this.state.get(contentHex);
    if (atR) this.state.set(contentHex, null);
    else if (since === null) this.state.set(contentHex, now); // a copy was lost: the clock starts
  }

  /** Whether the content is below r after having been at r (a lost copy not yet restored). */
  has(contentHex: string): boolean {
    return typeof this.state.get(contentHex) === "number";
  }

  /** Whether it has been below r for longer than `graceMs` since this node saw it at r. */
  overdue(contentHex: string, now: number, graceMs: number): boolean {
    const since = this.state.get(contentHex);
    return typeof since === "number" && now - since > graceMs;
  }
}
