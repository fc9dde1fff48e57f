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
//
// A candidate this node itself heard from lately (`vouched`: in its routing table, no failure since)
// is known to be alive, so it need not be asked to be counted among the k closest, unless it is one
// of the `alpha` closest: those must answer, so that nodes closer than any known are still found
// (the rule libp2p's lookups end by). In a network the size of a team, a node's table holds nearly
// everyone and a lookup then takes one round of `alpha` queries instead of asking all k.

import { compareDistance, Id } from "./id";
import { Contact } from "./messages";
import { bytesKey } from "../util/bytes-key";

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
  /** True for a contact heard from lately that needs no query to count as alive (see above). */
  vouched?: (contact: Contact) => boolean;
  /** Asks a contact; calls `late` if no answer has come by the contact's late deadline (rtt.ts). */
  query: (contact: Contact, late: () => void) => Promise<QueryOutcome>;
}

export interface QueriedNode {
  contact: Contact;
  /** 1 for seeds from the own table, n+1 for a node learned from a node of round n. */
  hop: number;
  ok: boolean;
  /** Asked, and neither answered nor timed out when the lookup ended (it did not wait: found, or done). */
  pending: boolean;
  rttMs: number | null;
}

export interface LookupOutcome {
  /** The k closest nodes that answered or were vouched for, nearest first. */
  closest: Contact[];
  /** How many of `closest` were counted as alive from the own table without being asked. */
  vouched: number;
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
  /** Heard from lately by this node (LookupParams.vouched). */
  vouched: boolean;
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
    const key = bytesKey(contact.id);
    const existing = byId.get(key);
    if (existing) {
      if (hop < existing.hop && existing.state === "new") existing.hop = hop;
      return;
    }
    const c: Candidate = { contact, hop, state: "new", late: false, vouched: p.vouched?.(contact) ?? false, rttMs: null };
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
      const closest = sorted.filter(counted).slice(0, p.k);
      const hops = foundAt || closest.reduce((m, c) => Math.max(m, c.hop), 0);
      resolve({
        closest: closest.map((c) => c.contact),
        vouched: closest.filter((c) => c.state !== "ok").length,
        queried: queried.map((c) => ({ contact: c.contact, hop: c.hop, ok: c.state === "ok", pending: c.state === "pending", rttMs: c.rttMs })),
        hops,
        found: foundAt > 0,
      });
    };

    /** In the result: answered, or vouched for and not failed. */
    function counted(c: Candidate): boolean {
      return c.state === "ok" || (c.vouched && c.state !== "failed");
    }

    const settle = (c: Candidate) => {
      if (!c.late) inFlight--;
      step();
    };

    const goneLate = (c: Candidate) => {
      if (c.state !== "pending" || c.late || finished) return;
      c.late = true;
      inFlight--;
      step();
    };

    const launch = (c: Candidate) => {
      c.state = "pending";
      inFlight++;
      queried.push(c);
      p.query(c.contact, () => goneLate(c)).then(
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
      // The k closest not known to have failed must all answer (or, beyond the alpha closest, be
      // vouched for) before the lookup ends; queries go to the k closest that are not late either,
      // so a late one's successor is asked meanwhile (if the late one turns out dead, its
      // successor's answer is already in or on its way).
      let inWindow = 0;
      let launchable = 0;
      let allAnswered = true;
      for (const c of sorted) {
        if (c.state === "failed") continue;
        const mayVouch = c.vouched && inWindow >= p.alpha && inWindow < p.k - p.alpha;
        if (inWindow < p.k) {
          inWindow++;
          if (c.state !== "ok" && !mayVouch) allAnswered = false;
        }
        if (c.late) continue;
        if (launchable === p.k) break;
        launchable++;
        if (c.state === "new" && !mayVouch && inFlight < width) launch(c);
      }
      // otherwise a query is pending (one that is late settles at its timeout at the latest)
      if (allAnswered) finish();
    };

    step();
  });
}
