// Files below r, watched the way a user would: `content.status` of each shared file asked of the
// seed node, in passes over all of them. A holder counts when the status calls it live and complete,
// and its process really runs (a SIGKILLed node counts as live in a status until its peers miss it)
// and it is one of the fleet's nodes (the corrupt holder announces itself for every file but serves
// only bad bytes). A file below r is timed from the first pass that saw it so until the first that
// did not.

import { Fleet, isUp } from "./fleet";
import { Ledger } from "./ledger";
import { mapLimit } from "../../node-host/util/concurrency";

export interface CoverageNow {
  files: number;
  belowR: number;
  /** Longest time any file has spent below r so far (a stretch still going counts until now), ms. */
  longestBelowMs: number;
  /** That file: its content ID's start and the node that shared it. */
  longestFile: string | null;
  /** Files below r now, by the node that shared them ("skewed 4, n3 1"). */
  belowBySharer: string;
  /** Passes that could not ask about a file (the observer busy or restarting), with why. */
  unknown: number;
}

interface Track {
  belowSince: number | null;
  longestMs: number;
}

export class Coverage {
  private readonly tracks = new Map<string, Track>();
  private unknown = 0;
  private lastPassAt = 0;

  constructor(
    private readonly fleet: Fleet,
    private readonly ledger: Ledger,
    private readonly r: number,
  ) {}

  /** One pass over every file shared so far. */
  async pass(): Promise<void> {
    const observer = this.fleet.seed;
    await mapLimit([...this.ledger.files], 4, async (file) => {
      const track = this.tracks.get(file.contentId) ?? { belowSince: null, longestMs: 0 };
      this.tracks.set(file.contentId, track);
      let live: number;
      try {
        const status = await this.fleet.call(observer, "content.status", { link: file.contentId }, 30_000);
        live = status.holders.filter((h) => {
          const node = this.fleet.byId(h.id);
          return h.live && h.complete !== false && !h.notCounted && node !== undefined && isUp(node);
        }).length;
      } catch {
        this.unknown++;
        return;
      }
      const now = Date.now();
      if (live < this.r) track.belowSince ??= now;
      else if (track.belowSince !== null) {
        track.longestMs = Math.max(track.longestMs, now - track.belowSince);
        track.belowSince = null;
      }
    });
    this.lastPassAt = Date.now();
  }

  now(): CoverageNow {
    const now = this.lastPassAt || Date.now();
    let longestBelowMs = 0;
    let longestFile: string | null = null;
    let belowR = 0;
    const bySharer = new Map<string, number>();
    for (const [id, t] of this.tracks) {
      const ms = Math.max(t.longestMs, t.belowSince === null ? 0 : now - t.belowSince);
      if (t.belowSince !== null) {
        belowR++;
        const sharer = this.sharerOf(id);
        bySharer.set(sharer, (bySharer.get(sharer) ?? 0) + 1);
      }
      if (ms > longestBelowMs) [longestBelowMs, longestFile] = [ms, `${id.slice(0, 12)}… shared by ${this.sharerOf(id)}`];
    }
    const belowBySharer = [...bySharer].map(([n, c]) => `${n} ${c}`).join(", ");
    return { files: this.tracks.size, belowR, longestBelowMs, longestFile, belowBySharer, unknown: this.unknown };
  }

  private sharerOf(contentId: string): string {
    return this.ledger.files.find((f) => f.contentId === contentId)?.sharer ?? "?";
  }
}
