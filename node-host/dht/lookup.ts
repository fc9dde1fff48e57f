// The iterative Kademlia lookup as a state machine over a query function, so it runs the same
// over UDP and in memory. It keeps `alpha` queries in flight among the k closest candidates not
// yet known to have failed, and finishes when those k have all answered (or when the query
// function reports that what was sought has been found). Once `alpha` answers in a row have
// brought no node closer than the closest known (the paper's round without progress), the rest of
// the k closest are asked all at once: converging then takes one more round trip instead of k/alpha.
//
// A query that is late (no answer within its contact's expected round trip, see rtt.ts) stops
// counting against the parallelism, so one slow or dead contact does not hold the lookup up: the
// next candidate is asked at once. The late query is not given up on: its answer, when it comes,
// is used like any other, and only its contact's timeout marks it failed.

import { compareDistance, Id } from "./id";
import { Contact } from "./messages";

export interface QueryOutcome {
  contacts: Contact[];
  /** True when the lookup can stop (e.g. the value was found). */
  found?: boolean;
  /** The measured round trip of the request that was answered. */
  rttMs?: number;
}

export interface LookupParams {
  target: Id;
  self: Id;
  k: number;
  alpha: number;
  seeds: Contact[];
  query: (contact: Contact) => Promise<QueryOutcome>;
  /** When a query to a contact is late, and the timer to tell; without it, no query is ever late. */
  late?: { afterMs: (contact: Contact) => number; setTimer: (fn: () => void, ms: number) => () => void };
}

export interface QueriedNode {
  contact: Contact;
  /** 1 for seeds from the own table, n+1 for a node learned from a node of round n. */
  hop: number;
  ok: boolean;
  rttMs: number | null;
}

export interface LookupOutcome {
  /** The k closest nodes that answered, nearest first. */
  closest: Contact[];
  queried: QueriedNode[];
  /** Rounds of the lookup: the hop of the node that ended it (found), or the deepest of the closest. */
  hops: number;
  found: boolean;
}

interface Candidate {
  contact: Contact;
  hop: number;
  state: "new" | "pending" | "ok" | "failed";
  /** A pending query past its contact's expected round trip: not counted as in flight. */
  late: boolean;
  cancelLateTimer: (() => void) | null;
  rttMs: number | null;
}

export function iterativeLookup(p: LookupParams): Promise<LookupOutcome> {
  const byId = new Map<string, Candidate>();
  const sorted: Candidate[] = [];
  const queried: Candidate[] = [];
  let inFlight = 0;
  let foundAt = 0;
  /** Answers in a row that found nothing closer than the closest candidate; at alpha, widen. */
  let stalled = 0;
  let width = p.alpha;

  const addCandidate = (contact: Contact, hop: number) => {
    if (contact.id.equals(p.self)) return;
    const key = contact.id.toString("latin1");
    const existing = byId.get(key);
    if (existing) {
      if (hop < existing.hop && existing.state === "new") existing.hop = hop;
      return;
    }
    const c: Candidate = { contact, hop, state: "new", late: false, cancelLateTimer: null, rttMs: null };
    byId.set(key, c);
    // binary insertion keeps `sorted` nearest-first
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareDistance(sorted[mid].contact.id, contact.id, p.target) < 0) lo = mid + 1;
      else hi = mid;
    }
    sorted.splice(lo, 0, c);
  };

  for (const s of p.seeds) addCandidate(s, 1);

  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      for (const c of queried) c.cancelLateTimer?.();
      const closest = sorted.filter((c) => c.state === "ok").slice(0, p.k);
      const hops = foundAt || closest.reduce((m, c) => Math.max(m, c.hop), 0);
      resolve({
        closest: closest.map((c) => c.contact),
        queried: queried.map((c) => ({ contact: c.contact, hop: c.hop, ok: c.state === "ok", rttMs: c.rttMs })),
        hops,
        found: foundAt > 0,
      });
    };

    const settle = (c: Candidate) => {
      c.cancelLateTimer?.();
      c.cancelLateTimer = null;
      if (!c.late) inFlight--;
      step();
    };

    const launch = (c: Candidate) => {
      c.state = "pending";
      inFlight++;
      queried.push(c);
      if (p.late) {
        c.cancelLateTimer = p.late.setTimer(() => {
          c.cancelLateTimer = null;
          if (c.state !== "pending" || finished) return;
          c.late = true;
          inFlight--;
          step();
        }, p.late.afterMs(c.contact));
      }
      p.query(c.contact).then(
        (outcome) => {
          c.state = "ok";
          c.rttMs = outcome.rttMs ?? null;
          const nearest = sorted.find((x) => x.state !== "failed");
          for (const contact of outcome.contacts) addCandidate(contact, c.hop + 1);
          stalled = sorted.find((x) => x.state !== "failed") === nearest ? stalled + 1 : 0;
          if (stalled >= p.alpha) width = p.k;
          if (outcome.found && !foundAt) foundAt = c.hop;
          settle(c);
        },
        () => {
          c.state = "failed";
          settle(c);
        },
      );
    };

    const step = () => {
      if (finished) return;
      if (foundAt) return finish();
      let considered = 0;
      let allAnswered = true;
      for (const c of sorted) {
        if (c.state === "failed") continue;
        if (considered === p.k) break;
        considered++;
        if (c.state !== "ok") allAnswered = false;
        if (c.state === "new" && inFlight < width) launch(c);
      }
      // otherwise a query is pending (one that is late settles at its timeout at the latest)
      if (allAnswered) finish();
    };

    step();
  });
}
