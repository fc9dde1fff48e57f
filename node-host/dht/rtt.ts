// Round-trip estimates, and the timeouts that follow from them. Per contact, the smoothed round
// trip and its variation as TCP's retransmission timer keeps them (RFC 6298: SRTT, RTTVAR); for a
// contact never measured (most nodes a lookup meets in a large network), the round trips recently
// measured to all contacts stand in. Two deadlines come out of it:
//
// - slowAfterMs: a request not answered by then is late. A lookup stops counting it against its
//   parallelism and asks the next candidate (the late one may still answer, and its answer is
//   used), and a lost datagram is sent again.
// - timeoutMs: a request not answered by then is lost, and counts as a miss against its contact.
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

/** Recent samples over all contacts, for contacts with no estimate of their own. */
const RECENT_SAMPLES = 256;

export class RttEstimator {
  private readonly contacts = new RecentCache<string, Estimate>(8192);
  private readonly recent = new Float64Array(RECENT_SAMPLES);
  private samples = 0;
  private quantiles: { p50: number; p90: number; p99: number } | null = null;

  /** `settings` is read at every use, so a changed setting applies at once. */
  constructor(private readonly settings: () => RttSettings) {}

  /** Records a measured round trip to the contact with key `key` (its ID as latin1). */
  observe(key: string, sampleMs: number): void {
    const e = this.contacts.get(key);
    if (!e) this.contacts.set(key, { srtt: sampleMs, rttvar: sampleMs / 2 });
    else {
      e.rttvar += (Math.abs(e.srtt - sampleMs) - e.rttvar) / 4;
      e.srtt += (sampleMs - e.srtt) / 8;
    }
    this.recent[this.samples++ % RECENT_SAMPLES] = sampleMs;
    if (this.samples % 16 === 0 || this.samples < 16) this.quantiles = null;
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

  /** When a request to the contact counts as lost. */
  timeoutMs(key: string): number {
    const e = this.contacts.get(key);
    if (e) return this.clamp(Math.max(e.srtt + 4 * e.rttvar, 1.5 * e.srtt));
    const all = this.overall();
    // a contact never measured: past nearly every round trip seen to anyone
    return all ? this.clamp(1.5 * all.p99) : this.settings().initialTimeoutMs;
  }

  /** When a request to the contact is late: a lookup moves on, and the request is sent again. */
  slowAfterMs(key: string): number {
    const e = this.contacts.get(key);
    if (e) return this.clamp(Math.max(e.srtt + 2 * e.rttvar, 1.25 * e.srtt));
    const all = this.overall();
    return all ? this.clamp(all.p90) : this.settings().initialTimeoutMs / 2;
  }
}
