// Keeping r copies of every content: the first copies on share, the periodic repair sweep, and the
// hand-off before a graceful leave. The decisions are placement.ts's; this runs them.

import { toHex } from "../dht/id";
import { BulkPeer } from "../transport/bulk";
import { mapLimit } from "../util/concurrency";
import { LruMap } from "../util/lru";
import { DeclinedCandidates } from "./declined";
import { BelowRSince } from "./below-r-since";
import { SweepOrder } from "./sweep-order";
import { CopyPlan, planHandoff, planRepair, planShare, planTopUp } from "./placement";
import { Budget, NotAllowedHolderError, Replicator } from "./replicator";
import type { RepairState } from "../rpc/api-types";

export interface RepairSettings {
  /** Bytes one sweep (or one hand-off) may push in all. */
  bytesPerSweep: () => number;
  /** Contents one sweep checks at most (sweep-order.ts picks which). */
  contentsPerSweep: () => number;
  /**
   * How long a content this node saw at r may stay below r, as its sweeps see it, before this node
   * copies it although it is not the holder that leads its repair (default: never).
   */
  leaderGraceMs?: () => number;
}

export interface CopyReport {
  /** Copies completed (the receiver holds the whole content and announced it). */
  copies: number;
  /** Bytes pushed. */
  bytes: number;
}

/** Contents one sweep works on at once. */
const SWEEP_PARALLEL = 4;
/** Contents whose last copy attempt fell short, remembered with the reason (for status and the log). */
const SHORTFALLS_KEPT = 4096;
const BUDGET_SPENT = "the bytes one repair sweep may send ran out; the next sweep goes on";

export class Repair {
  /** Contents a copy is being made of (a share's first copies, a sweep, a hand-off), with its end. */
  private readonly busy = new Map<string, Promise<void>>();
  /** When the last sweep ended (ms since the epoch), or null before the first. */
  private lastSweepAt: number | null = null;
  /** Content (hex) → why the last attempt to bring it to r copies fell short. */
  private readonly shortfalls = new LruMap<string, string>(SHORTFALLS_KEPT);
  /** Which contents each sweep checks. */
  private readonly order = new SweepOrder();
  /** Nodes a copy recently failed on, left out of plans for a while (declined.ts). */
  private readonly declined = new DeclinedCandidates();
  /** Since when contents seen at r here have been below r (below-r-since.ts). */
  private readonly belowRSince = new BelowRSince(SHORTFALLS_KEPT);

  constructor(
    private readonly replicator: Replicator,
    private readonly settings: RepairSettings,
    private readonly log: (line: string) => void,
  ) {}

  /** First copies of a new share, to the r-1 live nodes closest to it. */
  async afterShare(contentId: Buffer, r: number): Promise<CopyReport> {
    this.replicator.factors.set(toHex(contentId), r);
    const report = { copies: 0, bytes: 0 };
    // a sweep may already be looking at the new content (it is held from the moment it is stored):
    // wait for it, then make the copies (receivers that got one from the sweep are not sent it again)
    await this.exclusively(
      contentId,
      async () => {
        const plan = planShare(contentId, this.replicator.self.id, await this.candidatesNear(contentId), r, this.eligibility(contentId));
        await this.carryOut(plan, contentId, { bytes: Infinity }, report, 1);
      },
      true,
    );
    return report;
  }

  /**
   * Runs `fn` unless a copy of the content is already under way here: then a sweep does nothing
   * (the copy under way serves it), while a hand-off (`wait`) waits for it and then decides anew —
   * the copy under way was planned with this node still counted as a holder.
   */
  private async exclusively(contentId: Buffer, fn: () => Promise<void>, wait = false): Promise<void> {
    const key = toHex(contentId);
    for (let running = this.busy.get(key); running; running = this.busy.get(key)) {
      if (!wait) return;
      await running.catch(() => undefined);
    }
    const run = fn();
    this.busy.set(key, run);
    try {
      await run;
    } finally {
      this.busy.delete(key);
    }
  }

  /**
   * One sweep over a slice of the contents this node keeps (sweep-order.ts): those not announced yet
   * are announced (one lookup per keyspace region), and where fewer than r holders are live and this
   * node is the live holder closest to a content, it is copied to the nearest live nodes lacking it,
   * within the sweep's byte budget.
   */
  async sweep(): Promise<CopyReport> {
    const r = this.replicator;
    const budget: Budget = { bytes: this.settings.bytesPerSweep() };
    const report = { copies: 0, bytes: 0 };
    const pinned = (await r.pinnedContents()).map(toHex);
    const slice = this.order.next(pinned, this.settings.contentsPerSweep(), { gone: (id) => this.gone(id), short: (id) => this.shortfalls.has(id) || this.belowRSince.has(id) });
    const ids = slice.map((hex): Buffer => Buffer.from(hex, "hex"));
    const keeps = await mapLimit(ids, SWEEP_PARALLEL, (id) => r.keeps(id));
    const kept = ids.filter((_, i) => keeps[i]);
    const unannounced = kept.filter((id) => !r.dht.provided.has(toHex(id)));
    if (unannounced.length) await r.dht.provideMany(unannounced).catch(() => undefined);
    // a few contents at once: checking holders is mostly waiting on the network, so one slow content
    // does not hold up the others' detection (the byte budget is shared, and bounds the copying)
    await mapLimit(kept, SWEEP_PARALLEL, async (contentId) => {
      if (budget.bytes <= 0) return;
      await this.exclusively(contentId, async () => {
        const factor = r.factors.get(toHex(contentId));
        const holders = await this.keptHolders(contentId);
        this.order.checked(toHex(contentId), holders.filter((h) => !h.id.equals(r.self.id)).map((h) => toHex(h.id)));
        const now = Date.now();
        this.belowRSince.saw(toHex(contentId), holders.length >= factor, now);
        if (holders.length >= factor) return void this.shortfalls.delete(toHex(contentId));
        const grace = this.settings.leaderGraceMs?.();
        const leaderOverdue = grace !== undefined && this.belowRSince.overdue(toHex(contentId), now, grace);
        const plan = planRepair({ contentId, self: r.self.id, holders, live: await this.candidatesNear(contentId), r: factor, eligible: this.eligibility(contentId), leaderOverdue });
        if (plan.need === 0) return;
        if (!this.shortfalls.has(toHex(contentId))) this.log(`repair: ${toHex(contentId).slice(0, 12)}… has ${holders.length} of ${factor} live holders; copying to ${plan.need} more`);
        await this.carryOut(plan, contentId, budget, report, holders.length);
      });
    });
    if (report.copies || report.bytes) this.log(`repair: ${report.copies} new copy(ies), ${report.bytes} bytes`);
    this.lastSweepAt = Date.now();
    return report;
  }

  /**
   * Live holders of a content that still hold every object of it, asked with HAS_OBJECTS (a query:
   * replication 0, so nothing is offered). Provider records name only pinned copies (own shares and
   * replicas: a fetched, cached copy is not announced, and a copy a node stops keeping is no longer
   * republished), but a record outlives a dropped copy until it expires, and HAS_OBJECTS cannot tell
   * a pinned copy from a cached one; this check drops holders that no longer have the objects. A
   * node that cannot answer must send one of the objects (Replicator.holdsAll): a node that only
   * claims the content would otherwise stand in for a lost copy. One that cannot be reached is not counted.
   */
  private async keptHolders(contentId: Buffer): Promise<BulkPeer[]> {
    const r = this.replicator;
    const holders = await r.liveHolders(contentId);
    const ids = await r.objectsOf(contentId);
    if (!ids) return holders;
    const kept = await Promise.all(holders.map(async (h) => h.id.equals(r.self.id) || (await r.holdsAll(h, ids).catch(() => false))));
    // a copy on a node that may not hold it (a revoked member's, one a node outside the team took
    // from an older sharer) does not count: the content needs its r copies on allowed nodes
    return holders.filter((h, i) => kept[i] && (h.id.equals(r.self.id) || r.confinement.refusal(h.id, contentId) === null));
  }

  /** Whether the DHT holds a node (hex ID) gone now: dropped as offline, or its last request failed. */
  private gone(nodeHex: string): boolean {
    const dht = this.replicator.dht;
    return dht.offline.has(nodeHex) || (dht.table.get(Buffer.from(nodeHex, "hex"))?.failures ?? 0) > 0;
  }

  /** Live nodes near the content to copy it to, less those a copy recently failed on. */
  private async candidatesNear(contentId: Buffer): Promise<BulkPeer[]> {
    return (await this.replicator.liveNear(contentId)).filter((n) => !this.declined.has(toHex(n.id)));
  }

  private eligibility(contentId: Buffer) {
    return this.replicator.confinement.eligibility(contentId) ?? undefined;
  }

  /** Why the last attempt to bring the content to r copies fell short, or null when it did not. */
  shortfallOf(contentId: Buffer): string | null {
    return this.shortfalls.get(toHex(contentId)) ?? null;
  }

  /**
   * Before a graceful leave: every content whose holders other than this node are fewer than r goes
   * to the nearest live nodes lacking it. The caller bounds the time it may take.
   */
  async handoff(): Promise<CopyReport> {
    const r = this.replicator;
    const budget: Budget = { bytes: this.settings.bytesPerSweep() };
    const report = { copies: 0, bytes: 0 };
    await mapLimit(await r.heldContents(), 4, (contentId) =>
      this.exclusively(contentId, async () => {
        const holders = await this.keptHolders(contentId);
        const plan = planHandoff({ contentId, self: r.self.id, holders, live: await this.candidatesNear(contentId), r: r.factors.get(toHex(contentId)), eligible: this.eligibility(contentId) });
        await this.carryOut(plan, contentId, budget, report, holders.length - 1);
      }, true),
    );
    return report;
  }

  /** This node's repair work on a content: a check or copy under way now, and when sweeps run. */
  stateOf(contentId: Buffer, intervalMs: number): RepairState {
    return { busy: this.busy.has(toHex(contentId)), lastSweepAt: this.lastSweepAt, nextSweepAt: this.lastSweepAt === null ? null : this.lastSweepAt + intervalMs };
  }

  /**
   * Repairs one content now (`peershare repair`, "Repair Now"): this node must hold it; where fewer
   * than r live holders keep it, copies go to the nearest live nodes lacking it, within one sweep's
   * byte budget. Waits for a copy of the same content already under way, then decides anew.
   */
  async repairNow(contentId: Buffer): Promise<CopyReport & { holdersBefore: number; replication: number; shortfall: string | null }> {
    const r = this.replicator;
    if (!(await r.objectsOf(contentId))) throw new Error(`this node does not hold all of ${toHex(contentId).slice(0, 12)}…: run repair on a node that does (see peershare status)`);
    const replication = r.factors.get(toHex(contentId));
    const report = { copies: 0, bytes: 0, holdersBefore: 0, replication, shortfall: null as string | null };
    await this.exclusively(
      contentId,
      async () => {
        const holders = await this.keptHolders(contentId);
        report.holdersBefore = holders.length;
        const plan = planTopUp({ contentId, self: r.self.id, holders, live: await r.liveNear(contentId), r: replication, eligible: this.eligibility(contentId) });
        if (plan.need > 0) this.log(`repair (asked for): ${toHex(contentId).slice(0, 12)}… has ${holders.length} of ${replication}; copying to ${plan.need} more`);
        await this.carryOut(plan, contentId, { bytes: this.settings.bytesPerSweep() }, report, holders.length);
        report.shortfall = this.shortfallOf(contentId);
      },
      true,
    );
    return report;
  }

  /**
   * Makes the plan's `need` copies at once, each to the next candidate in order; a failed one is
   * replaced by the next candidate (until the candidates or the budget run out). `have` is how many
   * allowed holders there are besides the copies made here: when the plan falls short, the reason
   * is logged (once while it stays the same) and kept for `status`.
   */
  private async carryOut(plan: CopyPlan<BulkPeer>, contentId: Buffer, budget: Budget, report: CopyReport, have: number): Promise<void> {
    const queue = [...plan.candidates];
    let made = 0;
    const worker = async () => {
      // each worker makes one copy, moving on to the next candidate only when its copy fails
      while (made < plan.need && queue.length > 0 && budget.bytes > 0) {
        if (await this.copy(queue.shift()!, contentId, budget, report)) {
          made++;
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: plan.need }, worker));
    const reason = made >= plan.need ? null : budget.bytes <= 0 ? BUDGET_SPENT : this.noMoreCandidates(contentId);
    this.noteShortfall(contentId, reason, have + made, have + plan.need);
  }

  private noMoreCandidates(contentId: Buffer): string {
    return this.replicator.confinement.shortfall(contentId) ?? "no other live node could take a copy";
  }

  private noteShortfall(contentId: Buffer, reason: string | null, holders: number, r: number): void {
    const key = toHex(contentId);
    if (reason === null) return void this.shortfalls.delete(key);
    if (this.shortfalls.get(key) !== reason) this.log(`repair: ${key.slice(0, 12)}… stays at ${holders} of ${r} live holders: ${reason}`);
    this.shortfalls.set(key, reason);
  }

  private async copy(peer: BulkPeer, contentId: Buffer, budget: Budget, report: CopyReport): Promise<boolean> {
    try {
      const { sent, complete } = await this.replicator.copyTo(peer, contentId, budget);
      report.bytes += sent;
      if (complete) report.copies++;
      this.declined.clear(toHex(peer.id));
      return complete;
    } catch (err) {
      if (!(err instanceof NotAllowedHolderError)) this.declined.note(toHex(peer.id), err);
      // a node outside the content's teams is skipped quietly: the shortfall says why copies are missing
      if (!(err instanceof NotAllowedHolderError)) this.log(`copy of ${toHex(contentId).slice(0, 12)}… to ${toHex(peer.id).slice(0, 12)}… failed: ${(err as Error).message}`);
      return false;
    }
  }
}
