// Bounds-checked binary reader and writer for the wire format.
// A reader never reads past its buffer: a short or malformed input throws a WireFormatError,
// which the transport catches and counts as a dropped datagram.

export class WireFormatError extends Error {
  constructor(message: string) {
    super(message);
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
  private readonly parts: Buffer[] = [];
  private length = 0;

  private push(b: Buffer): this {
    this.parts.push(b);
    this.length += b.length;
    return this;
  }

  get size(): number {
    return this.length;
  }

  u8(v: number): this {
    return this.push(Buffer.from([v & 0xff]));
  }

  u16(v: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(v);
    return this.push(b);
  }

  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v);
    return this.push(b);
  }

  u64(v: number): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt(v));
    return this.push(b);
  }

  bytes(b: Buffer): this {
    return this.push(b);
  }

  varBytes(b: Buffer): this {
    this.u16(b.length);
    return this.push(b);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}
