// Time for the DHT core: what time it is, and timers. The product runs on the system clock; the
// simulator (scripts/sim/) passes a virtual one, so the same Dht code, timers included, runs on
// thousands of simulated nodes in virtual time.

export interface Clock {
  /** Milliseconds since the epoch, a whole number (record expiries, last-seen times). */
  now(): number;
  /** Milliseconds with fractions from an arbitrary origin, for measuring round trips. */
  elapsed(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. The timer keeps no process alive. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: Date.now,
  elapsed: () => performance.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
