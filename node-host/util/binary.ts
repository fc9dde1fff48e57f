// Bounds-checked binary reader and writer for the wire format.
// A reader never reads past its buffer: a short or malformed input throws a WireFormatError,
// which the transport catches and counts as a dropped datagram.

export class WireFormatError extends Error {
  constructor(message: string) {
    // Thrown for every malformed datagram, and caught at once: a stack trace is never looked at, and
    // capturing one was a fifth of a node's CPU under a flood of garbage.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = "WireFormatError";
  }
}

export class BinaryReader {
  private offset = 0;

  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private need(n: number): void {
    if (n < 0 || this.offset + n > this.buf.length) {
      throw new WireFormatError(`truncated: needed ${n} bytes, ${this.remaining} left`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.offset++];
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  /** A u64 that must fit in a JS number exactly (timestamps, sequence numbers). */
  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireFormatError("u64 out of range");
    return Number(v);
  }

  /** Skips n bytes and returns where they start in `buffer` (for reading them without a copy or view). */
  skip(n: number): number {
    this.need(n);
    this.offset += n;
    return this.offset - n;
  }

  /** The buffer being read. */
  get buffer(): Buffer {
    return this.buf;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  /** Bytes prefixed by a u16 length, at most `max` long. */
  varBytes(max: number): Buffer {
    const n = this.u16();
    if (n > max) throw new WireFormatError(`field of ${n} bytes exceeds ${max}`);
    return this.bytes(n);
  }

  end(): void {
    if (this.remaining !== 0) throw new WireFormatError(`${this.remaining} trailing bytes`);
  }
}

export class BinaryWriter {
  private buf: Buffer;
  private length = 0;

  /** `capacity`: the bytes expected (it grows past them if needed). */
  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  get size(): number {
    return this.length;
  }

  u8(v: number): this {
    const at = this.reserve(1);
    this.buf[at] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    const at = this.reserve(2); // reserve first: it may replace this.buf
    this.buf.writeUInt16BE(v, at);
    return this;
  }

  u32(v: number): this {
    const at = this.reserve(4);
    this.buf.writeUInt32BE(v, at);
    return this;
  }

  u64(v: number): this {
    const at = this.reserve(8);
    this.buf.writeBigUInt64BE(BigInt(v), at);
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
    return this;
  }

  varBytes(b: Uint8Array): this {
    this.u16(b.length);
    return this.bytes(b);
  }

  /** A copy of the bytes written (the writer's buffer is reused as it grows). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}
