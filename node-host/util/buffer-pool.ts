// Reusable buffers for hot paths that go through many large, short-lived ones (an object read from
// disk to be sent, an object received to be stored). A fresh buffer of a MiB or more is mapped anew
// by malloc and its pages fault in one by one as it is filled, which costs more than filling it;
// a buffer that comes back warm costs nothing of the kind.
//
// Sizes are rounded up to a power of two (at least MIN_CLASS_BYTES), one free list per size, so a
// buffer is never more than twice what it holds. What the free lists keep is bounded in bytes; a
// buffer taken and never given back is simply garbage-collected. A buffer is given back through
// the very view take() returned, once: a stale view kept from an earlier lending cannot give back
// the buffer while someone else holds it.

const MIN_CLASS_BYTES = 64 * 1024;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  /** The view each lent buffer went out as, by the memory behind it. */
  private readonly lent = new WeakMap<ArrayBuffer, Buffer>();
  private freeBytes = 0;

  /**
   * @param maxBytes buffers above this are allocated afresh and never pooled
   * @param maxFreeBytes most bytes kept in the free lists
   */
  constructor(
    readonly maxBytes: number,
    readonly maxFreeBytes: number,
  ) {}

  /** A buffer of exactly `size` bytes, contents undefined. Give it back with give() when done. */
  take(size: number): Buffer {
    if (size > this.maxBytes) return Buffer.allocUnsafeSlow(size);
    const capacity = classOf(size);
    const whole = this.free.get(capacity)?.pop();
    if (whole) this.freeBytes -= capacity;
    const view = (whole ?? Buffer.allocUnsafeSlow(capacity)).subarray(0, size);
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
    list.push(Buffer.from(memory));
    this.freeBytes += capacity;
  }

  /** Bytes held in the free lists. */
  get idleBytes(): number {
    return this.freeBytes;
  }
}

function classOf(size: number): number {
  let c = MIN_CLASS_BYTES;
  while (c < size) c *= 2;
  return c;
}
