// What a node knows of how others reach it, as pure state (no I/O; reachability-check.ts feeds it):
//
//   - its external address: what peers report seeing as the source of its datagrams (the most
//     reported one wins, so one lying peer cannot move it);
//   - its NAT's mapping: a peer reports the address seen on its main port and on a second port; the
//     same external port for both means an endpoint-independent mapping (hole punching works), a
//     different one an endpoint-dependent ("symmetric") mapping; no NAT when the external address
//     is one of the node's own;
//   - whether it is reachable: proven when a probe from a port it never sent to arrived (a dial-back),
//     disproven when a peer sent one and it did not arrive. Until either, "unknown": the node keeps
//     serving the DHT as it always did. A new external address starts the question again.
//
// A dual-stack node has an external address per family (IPv4 peers see one, IPv6 peers another),
// and each gets its own verdict: the node is unreachable when any is disproven (peers of that
// family could not reach it), reachable when one is proven and none disproven.

import { HostPort, normalizeHost } from "./address";

export type Reachability = "unknown" | "reachable" | "unreachable";
export type Mapping = "unknown" | "none" | "endpoint-independent" | "endpoint-dependent";

interface Observation {
  seen: HostPort;
  /** The address a second port of the same peer saw. */
  secondary: HostPort | null;
  at: number;
}

/** Observers remembered at once; the oldest goes first. */
const MAX_OBSERVERS = 16;
/** An observation older than this no longer counts toward the external address. */
const OBSERVATION_TTL_MS = 30 * 60_000;

export interface ReachabilitySnapshot {
  reachability: Reachability;
  external: HostPort | null;
  mapping: Mapping;
}

export class ReachabilityState {
  private readonly observations = new Map<string, Observation>();
  /** External IP address → whether a dial-back to it arrived. */
  private readonly verdicts = new Map<string, boolean>();

  constructor(
    /** The node's own addresses (where its socket is bound, or every interface address). */
    private readonly localAddresses: () => HostPort[],
    private readonly now: () => number = Date.now,
  ) {}

  /** A peer (by node ID) reports the address it sees this node's datagrams come from, on its main port or its second one. */
  observed(observer: string, seen: HostPort, onSecondary = false): void {
    const at = this.now();
    const known = this.observations.get(observer);
    if (onSecondary && !known) return; // the second port's view counts beside the main port's, not alone
    const entry: Observation = onSecondary ? { seen: known!.seen, secondary: seen, at } : { seen, secondary: known?.secondary ?? null, at };
    this.observations.delete(observer);
    this.observations.set(observer, entry);
    if (this.observations.size > MAX_OBSERVERS) this.observations.delete(this.observations.keys().next().value!);
  }

  /** A dial-back probe to this node at `seenAs` (the address that peer sees) arrived (true), or the peer sent one and it did not (false). */
  dialBack(arrived: boolean, seenAs: HostPort): void {
    this.verdicts.set(normalizeHost(seenAs.host), arrived);
    if (this.verdicts.size > MAX_OBSERVERS) this.verdicts.delete(this.verdicts.keys().next().value!);
  }

  /** The most reported external address (either family). */
  get external(): HostPort | null {
    return this.mostReported(() => true);
  }

  /** The most reported external address of each family this node is seen in. */
  get externals(): HostPort[] {
    return [this.mostReported((h) => !h.includes(":")), this.mostReported((h) => h.includes(":"))].filter((a): a is HostPort => a !== null);
  }

  private mostReported(family: (host: string) => boolean): HostPort | null {
    const cutoff = this.now() - OBSERVATION_TTL_MS;
    const counts = new Map<string, { address: HostPort; n: number; last: number }>();
    for (const o of this.observations.values()) {
      if (o.at < cutoff || !family(normalizeHost(o.seen.host))) continue;
      const key = `${normalizeHost(o.seen.host)}|${o.seen.port}`;
      const c = counts.get(key) ?? { address: { host: normalizeHost(o.seen.host), port: o.seen.port }, n: 0, last: 0 };
      c.n++;
      c.last = Math.max(c.last, o.at);
      counts.set(key, c);
    }
    let best: { address: HostPort; n: number; last: number } | null = null;
    for (const c of counts.values()) if (!best || c.n > best.n || (c.n === best.n && c.last > best.last)) best = c;
    return best?.address ?? null;
  }

  get reachability(): Reachability {
    // a verdict holds for the external IP address it was made for (behind an endpoint-dependent
    // NAT every peer sees another port, so the port alone changing says nothing)
    const verdicts = this.externals.map((a) => this.verdicts.get(a.host));
    if (verdicts.includes(false)) return "unreachable";
    return verdicts.includes(true) ? "reachable" : "unknown";
  }

  get mapping(): Mapping {
    const externals = this.externals;
    if (externals.length === 0) return "unknown";
    const local = new Set(this.localAddresses().map((a) => normalizeHost(a.host)));
    if (externals.every((a) => local.has(a.host))) return "none";
    const pairs = [...this.observations.values()].filter((o) => o.secondary);
    if (pairs.length === 0) return "unknown";
    return pairs.some((o) => o.secondary!.port !== o.seen.port) ? "endpoint-dependent" : "endpoint-independent";
  }

  snapshot(): ReachabilitySnapshot {
    return { reachability: this.reachability, external: this.external, mapping: this.mapping };
  }
}
