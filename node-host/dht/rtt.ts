// Round-trip estimates, and the timeouts that follow from them. Per contact, the smoothed round
// trip and its variation as TCP's retransmission timer keeps them (RFC 6298: SRTT, RTTVAR); for a
// contact never measured (most nodes a lookup meets in a large network), the round trips recently
// measured to all contacts stand in. Two deadlines come out of it (deadlines()):
//
// - late: a request not answered by then is late. A lookup stops counting it against its
//   parallelism and asks the next candidate (the late one may still answer, and its answer is
//   used), and the request is sent once more (a datagram may have been lost).
// - give up: no answer to either copy by then, and the contact missed.
//
// A fixed 1 s timeout made every lookup that met a dead contact wait a second; on the internet,
// where round trips are 20-300 ms, this waits a few round trips of that contact instead.

import { RecentCache } from "../util/recent-cache";

export interface RttSettings {
  /** Timeout while nothing at all has been measured (the node's configured RPC timeout). */
  initialTimeoutMs: number;
  /** No timeout is shorter (a stalled event loop must not look like a dead peer). */
  minTimeoutMs: number;
  /** No timeout is longer. */
  maxTimeoutMs: number;
}

interface Estimate {
  srtt: number;
  rttvar: number;
}

/**
 * A contact never measured times out after at least this many times the median round trip: with
 * internet-like round trips (log-normal, sigma ~0.67) one live contact in 300 is slower.
 */
const UNKNOWN_TIMEOUT_MEDIANS = 8;

/** Recent samples over all contacts, for contacts with no estimate of their own. */
const RECENT_SAMPLES = 256;

export class RttEstimator {
  private readonly contacts = new RecentCache<string, Estimate>(2048);
  private readonly recent = new Float64Array(RECENT_SAMPLES);
  private samples = 0;
  private quantiles: { p50: number; p90: number; p99: number } | null = null;

  /** `settings` is read at every use, so a changed setting applies at once. */
  constructor(private readonly settings: () => RttSettings) {}

  /** Records a measured round trip to the contact with key `key` (its ID as latin1); returns its SRTT. */
  observe(key: string, sampleMs: number): number {
    this.recent[this.samples++ % RECENT_SAMPLES] = sampleMs;
    if (this.samples % 16 === 0 || this.samples < 16) this.quantiles = null;
    const e = this.contacts.get(key);
    if (!e) {
      this.contacts.set(key, { srtt: sampleMs, rttvar: sampleMs / 2 });
      return sampleMs;
    }
    e.rttvar += (Math.abs(e.srtt - sampleMs) - e.rttvar) / 4;
    e.srtt += (sampleMs - e.srtt) / 8;
    return e.srtt;
  }

  /** The smoothed round trip to a contact, or null if it was never measured. */
  srtt(key: string): number | null {
    return this.contacts.get(key)?.srtt ?? null;
  }

  private overall(): { p50: number; p90: number; p99: number } | null {
    if (this.samples === 0) return null;
    if (!this.quantiles) {
      const sorted = this.recent.slice(0, Math.min(this.samples, RECENT_SAMPLES)).sort();
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      this.quantiles = { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
    }
    return this.quantiles;
  }

  private clamp(ms: number): number {
    const s = this.settings();
    return Math.min(s.maxTimeoutMs, Math.max(s.minTimeoutMs, ms));
  }

  /**
   * A request's two deadlines. `lateMs`: no answer yet means late; a lookup moves on, and the
   * request is sent once more. `giveUpMs` (from the first send): no answer to either copy means
   * the contact missed. For a measured contact the resent copy gets a full retransmission timeout
   * of its own (RFC 6298: SRTT + 4 RTTVAR); for one never measured, the wait ends past nearly every
   * round trip seen to anyone.
   */
  deadlines(key: string): { lateMs: number; giveUpMs: number } {
    const e = this.contacts.get(key);
    if (e) {
      const lateMs = this.clamp(Math.max(e.srtt + 2 * e.rttvar, 1.25 * e.srtt));
      // the copy sent when late gets a whole timeout of its own
      return { lateMs, giveUpMs: this.clamp(lateMs + this.clamp(Math.max(e.srtt + 4 * e.rttvar, 1.5 * e.srtt))) };
    }
    const all = this.overall();
    if (!all) return { lateMs: this.settings().initialTimeoutMs / 2, giveUpMs: this.settings().initialTimeoutMs };
    // The measured round trips under-represent slow contacts (a request that timed out left no
    // sample), so the high quantile is backed by a multiple of the median, which that bias
    // hardly moves.
    return { lateMs: this.clamp(all.p90), giveUpMs: this.clamp(Math.max(1.5 * all.p99, UNKNOWN_TIMEOUT_MEDIANS * all.p50)) };
  }
}
