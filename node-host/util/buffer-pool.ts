// Reusable buffers for hot paths that go through many large, short-lived ones (an object read from
// disk to be sent, an object received to be stored). A fresh buffer of a MiB or more is mapped anew
// by malloc and its pages fault in one by one as it is filled, which costs more than filling it;
// a buffer that comes back warm costs nothing of the kind.
//
// Sizes are rounded up to a power of two (at least MIN_CLASS_BYTES), one free list per size, so a
// buffer is never more than twice what it holds. What the free lists keep is bounded in bytes, and
// a buffer no take() wanted for `idleMs` is dropped: the pool holds what the last few seconds of
// traffic used, not the most a burst long ago ever needed (free lists that only filled kept a node's
// memory growing for its first quarter of an hour, up to 32 MiB per pool). A buffer taken and never
// given back is simply garbage-collected. A buffer is given back through the very view take()
// returned, once: a stale view kept from an earlier lending cannot give back the buffer while
// someone else holds it.

const MIN_CLASS_BYTES = 64 * 1024;
/** How long an unused buffer stays in a free list by default, ms. */
export const POOL_IDLE_MS = 15_000;

interface IdleBuffer {
  buffer: Buffer;
  /** When it was given back (ms since the epoch). */
  since: number;
}

export class BufferPool {
  /** Per size class, oldest first: take() reuses the newest, trim() drops from the front. */
  private readonly free = new Map<number, IdleBuffer[]>();
  /** The view each lent buffer went out as, by the memory behind it. */
  private readonly lent = new WeakMap<ArrayBuffer, Buffer>();
  private freeBytes = 0;
  private trimTimer: NodeJS.Timeout | null = null;

  /**
   * @param maxBytes buffers above this are allocated afresh and never pooled
   * @param maxFreeBytes most bytes kept in the free lists
   * @param idleMs how long a given-back buffer is kept for reuse
   */
  constructor(
    readonly maxBytes: number,
    readonly maxFreeBytes: number,
    readonly idleMs = POOL_IDLE_MS,
  ) {}

  /** A buffer of exactly `size` bytes, contents undefined. Give it back with give() when done. */
  take(size: number): Buffer {
    if (size > this.maxBytes) return Buffer.allocUnsafeSlow(size);
    const capacity = classOf(size);
    const idle = this.free.get(capacity)?.pop();
    if (idle) this.freeBytes -= capacity;
    const view = (idle?.buffer ?? Buffer.allocUnsafeSlow(capacity)).subarray(0, size);
    this.lent.set(view.buffer as ArrayBuffer, view);
    return view;
  }

  /**
   * Takes back a buffer from take() that nothing reads or writes any more. Anything else (a buffer
   * from elsewhere, a second give, another view of the same memory) is ignored.
   */
  give(buffer: Uint8Array): void {
    const memory = buffer.buffer as ArrayBuffer;
    if (this.lent.get(memory) !== buffer) return;
    this.lent.delete(memory);
    const capacity = memory.byteLength;
    if (this.freeBytes + capacity > this.maxFreeBytes) return;
    let list = this.free.get(capacity);
    if (!list) this.free.set(capacity, (list = []));
    list.push({ buffer: Buffer.from(memory), since: Date.now() });
    this.freeBytes += capacity;
    this.scheduleTrim();
  }

  /** Drops the free buffers given back at least `idleMs` before `now`. */
  trim(now = Date.now()): void {
    for (const [capacity, list] of this.free) {
      let stale = 0;
      while (stale < list.length && now - list[stale].since >= this.idleMs) stale++;
      list.splice(0, stale);
      this.freeBytes -= stale * capacity;
      if (list.length === 0) this.free.delete(capacity);
    }
  }

  /** Bytes held in the free lists. */
  get idleBytes(): number {
    return this.freeBytes;
  }

  /** One timer while anything is idle, due when the oldest idle buffer lapses; none otherwise. */
  private scheduleTrim(): void {
    if (this.trimTimer) return;
    let oldest = Infinity;
    for (const list of this.free.values()) if (list.length > 0) oldest = Math.min(oldest, list[0].since);
    if (oldest === Infinity) return;
    const due = Math.max(0, oldest + this.idleMs - Date.now());
    this.trimTimer = setTimeout(() => {
      this.trimTimer = null;
      this.trim();
      this.scheduleTrim();
    }, due);
    this.trimTimer.unref(); // an idle pool never keeps the process alive
  }
}

function classOf(size: number): number {
  let c = MIN_CLASS_BYTES;
  while (c < size) c *= 2;
  return c;
}
