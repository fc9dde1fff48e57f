// Caps a byte rate: take(n) resolves once n more bytes fit under the limit. Used to cap how fast a
// node serves uploads (a setting), so one node's uplink is not saturated by others' fetches.

export class ByteRateLimiter {
  private available: number;
  private updated = performance.now();
  private queue: Promise<void> = Promise.resolve();

  /** `bytesPerSecond` <= 0 means unlimited. */
  constructor(public bytesPerSecond: number) {
    this.available = bytesPerSecond;
  }

  take(n: number): Promise<void> {
    if (this.bytesPerSecond <= 0) return Promise.resolve();
    // callers wait in order, so a large object is not starved by small ones
    const turn = this.queue.then(() => this.wait(n));
    this.queue = turn;
    return turn;
  }

  private async wait(n: number): Promise<void> {
    const now = performance.now();
    this.available = Math.min(this.bytesPerSecond, this.available + ((now - this.updated) / 1000) * this.bytesPerSecond);
    this.updated = now;
    this.available -= n;
    if (this.available < 0) await new Promise((r) => setTimeout(r, (-this.available / this.bytesPerSecond) * 1000));
  }
}
