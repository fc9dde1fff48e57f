// Where copies of a shared file go, as pure decisions over node IDs (no I/O, so they are unit-tested).
//
// Every object of a content (its manifest and all its chunks) is placed by the content ID, not each
// chunk by its own ID: then the holders of the manifest hold every chunk too, and one provider
// lookup of the content ID finds every holder of every chunk. Placing chunks by their own IDs would
// spread load more evenly but need a lookup per chunk to fetch, check or repair a file.

import { compareDistance, Id } from "../dht/id";

export interface Placed {
  id: Id;
}

/**
 * Which nodes may take part when a content's copies are confined (a share made for teams stays with
 * their members): absent, every node may.
 */
export interface Eligibility {
  /** True: known to be allowed to hold copies; false: known not to be; null: unknown until it shows its credentials. */
  holder(id: Id): boolean | null;
  /** Whether the node may place copies on others (only such holders lead a repair). */
  placer(id: Id): boolean;
}

/** Nodes sorted by XOR distance to `target`, nearest first (a copy; duplicates by ID removed). */
export function byDistance<T extends Placed>(nodes: T[], target: Id): T[] {
  const seen = new Set<string>();
  const unique = nodes.filter((n) => {
    const key = n.id.toString("hex");
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => compareDistance(a.id, b.id, target));
}

/**
 * A plan to add copies: `need` more holders, taken in order from `candidates` (live nodes lacking the
 * content, nearest first; the later ones stand in when a nearer one refuses or fails).
 */
export interface CopyPlan<T> {
  need: number;
  candidates: T[];
}

/**
 * Candidates are the nodes lacking the content, nearest first; with `eligible`, nodes known to
 * qualify come before those not yet known, and those known not to qualify are left out.
 */
function fill<T extends Placed>(contentId: Id, self: Id, holders: Placed[], live: T[], have: number, r: number, eligible?: Eligibility): CopyPlan<T> {
  const holding = new Set(holders.map((h) => h.id.toString("hex")));
  const lacking = byDistance(live.filter((n) => !n.id.equals(self) && !holding.has(n.id.toString("hex"))), contentId);
  const candidates = eligible ? [...lacking.filter((n) => eligible.holder(n.id) === true), ...lacking.filter((n) => eligible.holder(n.id) === null)] : lacking;
  const need = Math.max(0, r - have);
  return { need, candidates: need > 0 ? candidates : [] };
}

/** On share: r-1 more copies, on the live nodes closest to the content ID other than the sharer. */
export function planShare<T extends Placed>(contentId: Id, self: Id, live: T[], r: number, eligible?: Eligibility): CopyPlan<T> {
  return fill(contentId, self, [], live, 1, r, eligible);
}

export interface RepairInput<T extends Placed> {
  contentId: Id;
  self: Id;
  /** Live holders, this node included. */
  holders: Placed[];
  /** Live nodes near the content (from a lookup), holders or not. */
  live: T[];
  r: number;
  /** Who may hold and place copies, when they are confined; absent: anyone. */
  eligible?: Eligibility;
  /** The content has stayed below r for longer than its leader should take: any holder acts. */
  leaderOverdue?: boolean;
}

/**
 * Repair: only the live holder closest to the content ID acts (so holders do not all copy at once),
 * and only when fewer than r holders are live; it copies to the nearest live nodes lacking it. Where
 * copies are confined, the leader is the closest holder that may place copies. When the leader is
 * overdue (slow, or busy with many contents), any holder that may place copies acts.
 */
export function planRepair<T extends Placed>(p: RepairInput<T>): CopyPlan<T> {
  const placers = p.eligible ? p.holders.filter((h) => p.eligible!.placer(h.id)) : p.holders;
  const leader = byDistance(placers, p.contentId)[0];
  const acts = leader !== undefined && (leader.id.equals(p.self) || (p.leaderOverdue === true && placers.some((h) => h.id.equals(p.self))));
  if (p.holders.length >= p.r || !acts) return { need: 0, candidates: [] };
  return fill(p.contentId, p.self, p.holders, p.live, p.holders.length, p.r, p.eligible);
}

/** A repair asked for by the user: any holder tops the copies up to r, leader or not. */
export function planTopUp<T extends Placed>(p: RepairInput<T>): CopyPlan<T> {
  return fill(p.contentId, p.self, p.holders, p.live, p.holders.length, p.r, p.eligible);
}

/**
 * Graceful leave: when the holders other than this node are fewer than r, the nearest live nodes
 * lacking the content get it before this node goes.
 */
export function planHandoff<T extends Placed>(p: RepairInput<T>): CopyPlan<T> {
  const others = p.holders.filter((h) => !h.id.equals(p.self)).length;
  return fill(p.contentId, p.self, p.holders, p.live, others, p.r, p.eligible);
}
