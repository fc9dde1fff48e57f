// Restart policy for the node-host process: exponential back-off with a cap, reset once the
// process has stayed up long enough, and a give-up limit for a crash loop. Pure logic.

export interface BackoffOptions {
  /** Delay before the first restart, ms. */
  initialMs: number;
  /** Multiplier per consecutive failure. */
  factor: number;
  /** Largest delay, ms. */
  maxMs: number;
  /** A process that ran at least this long counts as healthy: the next crash starts over. */
  resetAfterMs: number;
  /** Consecutive quick crashes after which restarting stops (0 = never give up). */
  maxAttempts: number;
  /** Fraction of the delay added or removed at random (0 = deterministic). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 1000,
  factor: 2,
  maxMs: 30_000,
  resetAfterMs: 60_000,
  maxAttempts: 6,
  jitter: 0.1,
};

export type RestartDecision = { restart: true; delayMs: number; attempt: number } | { restart: false; attempt: number };

export class Backoff {
  private attempts = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** Number of consecutive quick failures seen so far. */
  get attempt(): number {
    return this.attempts;
  }

  /** Called when the process exited unexpectedly after running for `uptimeMs`. */
  onExit(uptimeMs: number): RestartDecision {
    if (uptimeMs >= this.options.resetAfterMs) this.attempts = 0;
    this.attempts++;
    if (this.options.maxAttempts > 0 && this.attempts > this.options.maxAttempts) {
      return { restart: false, attempt: this.attempts };
    }
    return { restart: true, delayMs: this.delayFor(this.attempts), attempt: this.attempts };
  }

  /** The delay before restart number `attempt` (1-based). */
  delayFor(attempt: number): number {
    const { initialMs, factor, maxMs, jitter } = this.options;
    const base = Math.min(maxMs, initialMs * Math.pow(factor, Math.max(0, attempt - 1)));
    if (jitter <= 0) return Math.round(base);
    const spread = base * jitter * (this.random() * 2 - 1);
    return Math.max(0, Math.round(Math.min(maxMs, base + spread)));
  }

  /** Forget past failures (after a manual restart, for instance). */
  reset(): void {
    this.attempts = 0;
  }
}
