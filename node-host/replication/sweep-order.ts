// Which contents a repair sweep checks. Checking a content costs a provider lookup and a question to
// each holder; a node holding 10,000 contents that checked all of them every sweep spent about a
// third of a core on it. A sweep now checks a bounded slice, in this order:
//   1. contents a holder of which, as last seen, has since gone (the DHT dropped it as offline or
//      its last request failed): where a copy was lost, its content comes up at the next sweep;
//   2. contents never checked yet (new shares and replicas, and everything after a start);
//   3. contents whose last check fell short of r;
//   4. the rest in turn, from where the last sweep stopped, so every content is looked at again
//      once every ceil(contents / slice) sweeps.
// Lost copies come before first checks: a node that starts with 10,000 contents takes 50 sweeps to
// check each once, and a copy lost meanwhile must not wait for that (seen in the soak).
// What it remembers is bounded by the contents held: entries of contents no longer held are dropped.

export interface SweepFacts {
  /** Whether a node (hex ID) is known to be gone now: offline, or its last request failed. */
  gone(nodeHex: string): boolean;
  /** Whether the content's last check fell short of r. */
  short(contentHex: string): boolean;
}

export class SweepOrder {
  /** Content (hex) → its holders (hex IDs) at its last check. */
  private readonly holders = new Map<string, string[]>();
  /** The rotation resumes after this content (hex); contents sort by ID. */
  private cursor = "";

  /** The contents (hex) the next sweep checks, at most `limit`, out of `held`. */
  next(held: string[], limit: number, facts: SweepFacts): string[] {
    const heldSet = new Set(held);
    for (const id of this.holders.keys()) if (!heldSet.has(id)) this.holders.delete(id);
    const picked = new Set<string>();
    const take = (ids: Iterable<string>) => {
      for (const id of ids) {
        if (picked.size >= limit) return;
        picked.add(id);
      }
    };
    take(held.filter((id) => this.holders.get(id)?.some((h) => facts.gone(h))));
    take(held.filter((id) => !this.holders.has(id)));
    take(held.filter((id) => facts.short(id)));
    const sorted = [...heldSet].sort();
    const start = sorted.findIndex((id) => id > this.cursor);
    const rotation = start < 0 ? sorted : [...sorted.slice(start), ...sorted.slice(0, start)];
    for (const id of rotation) {
      if (picked.size >= limit) break;
      if (picked.has(id)) continue;
      picked.add(id);
      this.cursor = id;
    }
    return [...picked];
  }

  /** Records the holders a check of the content found (this node's own ID left out). */
  checked(contentHex: string, holderHexes: string[]): void {
    this.holders.set(contentHex, holderHexes);
  }
}
