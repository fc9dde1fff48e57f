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
  private verdict: { reachable: boolean; for: HostPort | null } | null = null;

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

  /** A dial-back probe arrived (true) or a peer sent one that did not (false). */
  dialBack(arrived: boolean): void {
    this.verdict = { reachable: arrived, for: this.external };
  }

  get external(): HostPort | null {
    const cutoff = this.now() - OBSERVATION_TTL_MS;
    const counts = new Map<string, { address: HostPort; n: number; last: number }>();
    for (const o of this.observations.values()) {
      if (o.at < cutoff) continue;
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
    if (!this.verdict) return "unknown";
    const external = this.external;
    // a verdict holds for the external IP address it was made for (behind an endpoint-dependent
    // NAT every peer sees another port, so the port alone changing says nothing)
    if (this.verdict.for && external && this.verdict.for.host !== external.host) return "unknown";
    return this.verdict.reachable ? "reachable" : "unreachable";
  }

  get mapping(): Mapping {
    const external = this.external;
    if (!external) return "unknown";
    if (this.localAddresses().some((a) => normalizeHost(a.host) === external.host)) return "none";
    const pairs = [...this.observations.values()].filter((o) => o.secondary);
    if (pairs.length === 0) return "unknown";
    return pairs.some((o) => o.secondary!.port !== o.seen.port) ? "endpoint-dependent" : "endpoint-independent";
  }

  snapshot(): ReachabilitySnapshot {
    return { reachability: this.reachability, external: this.external, mapping: this.mapping };
  }
}
