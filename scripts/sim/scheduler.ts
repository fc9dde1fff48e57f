// Virtual time for the simulator: an event queue ordered by time (ties in the order scheduled) and
// a Clock (dht/clock.ts) on it, so the Dht's and Maintenance's timers run in simulated time.
//
// An event sets off async code (promise continuations) that runs on after it and schedules later
// events. Before an event runs, everything earlier events set off must have run (a macrotask turn
// drains all microtasks), unless it cannot have scheduled anything earlier: nothing is scheduled
// less than MIN_DELAY_MS ahead (the network model and the timers keep to that), so the events of
// one such window run back to back and are drained once. A node's code thus runs in virtual time
// as it would on a real event loop (to within MIN_DELAY_MS), and the order of everything follows
// from the seed.

import { Clock } from "../../node-host/dht/clock";

/** Nothing is scheduled sooner than this after the moment it is scheduled at. */
export const MIN_DELAY_MS = 1;

/** Virtual time starts at this wall-clock instant (records carry real-looking expiry times). */
const EPOCH_MS = Date.UTC(2025, 0, 1);

interface SimEvent {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class Scheduler implements Clock {
  /** Virtual milliseconds since the start. */
  time = 0;
  /** Events run so far (cancelled timers not counted). */
  events = 0;
  private readonly heap: SimEvent[] = [];
  private seq = 0;

  now = (): number => EPOCH_MS + Math.floor(this.time);
  elapsed = (): number => this.time;

  setTimer = (fn: () => void, ms: number): (() => void) => {
    const ev = this.at(this.time + Math.max(MIN_DELAY_MS, ms), fn);
    return () => {
      ev.cancelled = true;
    };
  };

  /** Schedules `fn` at virtual time `at` (not before now). */
  at(at: number, fn: () => void): SimEvent {
    const ev: SimEvent = { at: Math.max(at, this.time), seq: this.seq++, fn, cancelled: false };
    this.push(ev);
    return ev;
  }

  /** Runs events until virtual time `until` (or until none are left), then sets the time to it. */
  async run(until: number): Promise<void> {
    await this.runWhile(() => true, until);
    this.time = Math.max(this.time, until);
  }

  /** Runs events until `done` settles (its settling is noticed between events). */
  async runUntil<T>(done: Promise<T>, limitMs = 3600_000): Promise<T> {
    let outcome: { value: T } | { error: unknown } | null = null;
    done.then(
      (value) => (outcome = { value }),
      (error: unknown) => (outcome = { error }),
    );
    await this.runWhile(() => outcome === null, this.time + limitMs);
    const result = outcome as { value: T } | { error: unknown } | null;
    if (!result) throw new Error(`nothing left to run by ${this.time.toFixed(0)} ms, and the awaited work has not finished`);
    if ("error" in result) throw result.error;
    return result.value;
  }

  /** Runs events up to `until` while `going()` holds, draining where it must (see the file's head). */
  private async runWhile(going: () => boolean, until: number): Promise<void> {
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!going() || this.heap.length === 0 || this.heap[0].at > until) return;
      // the earliest event is safe now, and so is every one less than MIN_DELAY_MS after it
      const drainedUntil = this.heap[0].at + MIN_DELAY_MS;
      while (this.heap.length > 0 && this.heap[0].at < drainedUntil && this.heap[0].at <= until) {
        const ev = this.pop();
        if (ev.cancelled) continue;
        this.time = ev.at;
        this.events++;
        ev.fn();
      }
    }
  }

  private push(ev: SimEvent): void {
    const h = this.heap;
    let i = h.length;
    h.push(ev);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(ev, h[parent])) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = ev;
  }

  private pop(): SimEvent {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as SimEvent;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const child = r < h.length && earlier(h[r], h[l]) ? r : l;
        if (!earlier(h[child], last)) break;
        h[i] = h[child];
        i = child;
      }
      h[i] = last;
    }
    return top;
  }
}

function earlier(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
