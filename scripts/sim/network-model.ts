// What the network between simulated nodes does: round trips, jitter, loss.
//
// Round trips between random pairs of nodes are log-normal, median 70 ms, with 1% of pairs past
// 330 ms (sigma 0.667), as internet round trips roughly are. Part of it belongs to each node (its
// access link: fibre, cable, DSL, mobile; a slow one is slow to everyone) and the rest to the pair
// (distance, routes): ln rtt(a, b) = ln 70 + u(a) + u(b) + v(a, b), with u per node and v per pair
// normal, u carrying 40% of the variance between them. A pair's round trip is the same every time
// (v comes from a hash of the pair, so nothing is stored per pair); each datagram adds a little
// jitter, and some are lost. Every run prints the quantiles it drew.

import { hashPair, Random } from "./random";
import { MIN_DELAY_MS } from "./scheduler";

export interface NetworkSettings {
  /** Median round trip between random pairs, ms. */
  medianRttMs: number;
  /** Sigma of ln(round trip) between random pairs. */
  sigma: number;
  /** Share of the variance of ln(round trip) that belongs to the two nodes (their access links). */
  nodeShare: number;
  /** Sigma of ln(one-way delay) from one datagram to the next. */
  jitterSigma: number;
  /** Chance that a datagram is lost. */
  lossRate: number;
}

export const DEFAULT_NETWORK: NetworkSettings = { medianRttMs: 70, sigma: 0.667, nodeShare: 0.4, jitterSigma: 0.05, lossRate: 0.01 };

/** A node's place in the network model: its index and the part of every round trip that is its own. */
export interface Placement {
  index: number;
  /** u(node): ln of the factor its access link puts on its round trips. */
  access: number;
}

export class NetworkModel {
  private readonly nodeSigma: number;
  private readonly pairSigma: number;

  constructor(
    private readonly seed: number,
    readonly settings: NetworkSettings = DEFAULT_NETWORK,
  ) {
    const variance = settings.sigma ** 2;
    this.nodeSigma = Math.sqrt((variance * settings.nodeShare) / 2);
    this.pairSigma = Math.sqrt(variance * (1 - settings.nodeShare));
  }

  place(index: number, rng: Random): Placement {
    return { index, access: rng.normal() * this.nodeSigma };
  }

  /** The round trip between two nodes without jitter: the same every time for the same pair. */
  rttMs(a: Placement, b: Placement): number {
    const [lo, hi] = a.index < b.index ? [a.index, b.index] : [b.index, a.index];
    const v = normalQuantile((hashPair(this.seed, lo, hi) + 0.5) / 4294967296) * this.pairSigma;
    return this.settings.medianRttMs * Math.exp(a.access + b.access + v);
  }

  /** One datagram's delay from a to b (at least MIN_DELAY_MS, as the scheduler needs). */
  oneWayMs(a: Placement, b: Placement, rng: Random): number {
    return Math.max(MIN_DELAY_MS, (this.rttMs(a, b) / 2) * Math.exp(rng.normal() * this.settings.jitterSigma));
  }

  lost(rng: Random): boolean {
    return rng.next() < this.settings.lossRate;
  }
}

export interface RttQuantiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Quantiles of the round trips between random pairs of `placements`. */
export function rttQuantiles(model: NetworkModel, placements: Placement[], rng: Random, pairs = 200_000): RttQuantiles {
  const samples = new Float64Array(pairs);
  for (let i = 0; i < pairs; i++) {
    const a = rng.pick(placements);
    let b = rng.pick(placements);
    while (b === a) b = rng.pick(placements);
    samples[i] = model.rttMs(a, b);
  }
  samples.sort();
  const at = (q: number) => samples[Math.min(pairs - 1, Math.floor(q * pairs))];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: samples[pairs - 1] };
}

/** The standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771082, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}
