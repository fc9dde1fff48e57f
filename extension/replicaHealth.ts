// Replica health of this node's own shares: live holders against the replication factor r, from
// the node's content.status. Each status costs the node a provider lookup and a ping per holder, so
// answers are cached per content for a few seconds and asked with a small concurrency limit. Pure
// (no VS Code API): features/sharedFilesView.ts supplies the request and re-renders on change.
import type { ContentStatus } from "../node-host/rpc/api-types";
import { shortId } from "./format";

export interface Health {
  /** "2/3": live holders / r. */
  text: string;
  /** Fewer live holders than r. */
  below: boolean;
  /** Markdown lines for the row's tooltip. */
  lines: string[];
}

/** How many holders a tooltip lists. */
const TOOLTIP_HOLDERS = 8;

export function healthOf(s: ContentStatus): Health {
  const below = s.liveHolders < s.replication;
  const holders = [...s.holders].sort((a, b) => Number(b.self) - Number(a.self) || Number(b.live) - Number(a.live) || a.id.localeCompare(b.id));
  const lines = [
    `- Holders: ${s.liveHolders} live of r = ${s.replication}${below ? (s.shortfall ? `: below r, ${s.shortfall}` : " (below r: the holders copy it to more nodes on their own at their next repair sweep)") : ""}`,
    ...holders.slice(0, TOOLTIP_HOLDERS).map((h) => {
      const state = h.self ? "this node" : !h.live ? "not answering" : h.notCounted ? "live, not counted (not a member)" : h.complete === false ? "live, incomplete copy" : "live";
      return `  - \`${shortId(h.id, 12)}\` ${h.host}:${h.port}: ${state}`;
    }),
  ];
  if (holders.length > TOOLTIP_HOLDERS) lines.push(`  - and ${holders.length - TOOLTIP_HOLDERS} more`);
  const repair = s.repair;
  if (repair?.busy) lines.push("- Repair: this node is checking or copying it now");
  else if (repair?.lastSweepAt) lines.push(`- Repair: last sweep ${clock(repair.lastSweepAt)}${repair.nextSweepAt ? `, next about ${clock(repair.nextSweepAt)}` : ""}`);
  else if (repair) lines.push("- Repair: no sweep has run yet on this node");
  const note = repair?.busy ? " · repairing" : below && s.shortfall ? ` · ${s.shortfall}` : "";
  return { text: `${s.liveHolders}/${s.replication}${note}`, below, lines };
}

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

export interface StatusCacheOptions {
  /** content.status for a content ID. */
  fetch(contentId: string): Promise<ContentStatus>;
  /** Called after each answer (or failure), to re-render. */
  onChange(): void;
  /** How long an answer is fresh, ms. */
  ttlMs?: number;
  /** content.status requests in flight at once. */
  concurrency?: number;
  now?: () => number;
}

interface Entry {
  at: number;
  status?: ContentStatus;
  error?: string;
}

export class StatusCache {
  private readonly entries = new Map<string, Entry>();
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly inFlight = new Set<string>();
  private generation = 0;
  private readonly ttlMs: number;
  private readonly concurrency: number;
  private readonly now: () => number;

  constructor(private readonly options: StatusCacheOptions) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.concurrency = Math.max(1, options.concurrency ?? 2);
    this.now = options.now ?? Date.now;
  }

  /** The last answer for a content (kept while a newer one is asked for), if any. */
  get(contentId: string): ContentStatus | undefined {
    return this.entries.get(contentId)?.status;
  }

  /** The last failure for a content, when its last request failed. */
  error(contentId: string): string | undefined {
    return this.entries.get(contentId)?.error;
  }

  /** Requests in flight plus waiting. */
  get pending(): number {
    return this.inFlight.size + this.queue.length;
  }

  /**
   * Asks for the status of each content whose answer is missing or older than the TTL, in the
   * order given, at most `concurrency` at a time; contents already asked for are not asked twice.
   * Answers of contents no longer wanted are dropped.
   */
  want(contentIds: readonly string[]): void {
    const wanted = new Set(contentIds);
    for (const id of [...this.entries.keys()]) if (!wanted.has(id) && !this.inFlight.has(id)) this.entries.delete(id);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (!wanted.has(this.queue[i])) {
        this.queued.delete(this.queue[i]);
        this.queue.splice(i, 1);
      }
    }
    const now = this.now();
    for (const id of wanted) {
      const e = this.entries.get(id);
      if (this.queued.has(id) || this.inFlight.has(id) || (e && now - e.at < this.ttlMs)) continue;
      this.queue.push(id);
      this.queued.add(id);
    }
    this.pump();
  }

  /** Forgets one content's answer (it changed, e.g. after a repair): the next want() asks again. */
  forget(contentId: string): void {
    this.entries.delete(contentId);
  }

  /** Forgets everything (the node restarted); answers of requests in flight are dropped. */
  clear(): void {
    this.generation++;
    this.entries.clear();
    this.queue.length = 0;
    this.queued.clear();
    this.inFlight.clear();
  }

  private pump(): void {
    while (this.inFlight.size < this.concurrency && this.queue.length) {
      const id = this.queue.shift()!;
      this.queued.delete(id);
      this.inFlight.add(id);
      const gen = this.generation;
      const settle = (e: Omit<Entry, "at">) => {
        if (gen !== this.generation) return;
        this.inFlight.delete(id);
        this.entries.set(id, { at: this.now(), ...e });
        try {
          this.options.onChange();
        } finally {
          this.pump();
        }
      };
      let p: Promise<ContentStatus>;
      try {
        p = this.options.fetch(id);
      } catch (err) {
        p = Promise.reject(err);
      }
      p.then(
        (status) => settle({ status }),
        (err: unknown) => settle({ status: this.entries.get(id)?.status, error: err instanceof Error ? err.message : String(err) }),
      );
    }
  }
}
