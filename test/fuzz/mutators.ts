// Byte-level mutations of valid messages, driven by a seeded Prng: what a fuzzer does to a captured
// packet to reach the parser's corners (lengths that lie, fields that overflow, bytes cut or added).

import { Prng } from "./prng";

export type Mutation = "bitflip" | "byte" | "truncate" | "extend" | "insert" | "delete" | "swap" | "duplicate" | "interesting" | "zero";

const MUTATIONS: readonly Mutation[] = ["bitflip", "byte", "truncate", "extend", "insert", "delete", "swap", "duplicate", "interesting", "zero"];

/** Values that often sit on a parser's boundaries, as big-endian u8/u16/u32. */
const INTERESTING_U8 = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_U16 = [0x0000, 0x0001, 0x00ff, 0x0100, 0x03e8, 0x04b0, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x00800000, 0x01000000, 0x00ffffff];

/** Applies one mutation (chosen at random unless given); may return the input unchanged for tiny inputs. */
export function mutate(rng: Prng, input: Buffer, which: Mutation = rng.pick(MUTATIONS), maxLength = 1 << 16): Buffer {
  const b = Buffer.from(input);
  const at = () => rng.int(0, Math.max(1, b.length));
  switch (which) {
    case "bitflip": {
      if (b.length === 0) return rng.bytes(1);
      const flips = rng.int(1, 9);
      for (let i = 0; i < flips; i++) b[at()] ^= 1 << rng.int(0, 8);
      return b;
    }
    case "byte":
      if (b.length === 0) return rng.bytes(1);
      b[at()] = rng.int(0, 256);
      return b;
    case "truncate":
      return b.subarray(0, rng.int(0, Math.max(1, b.length)));
    case "extend":
      return Buffer.concat([b, rng.bytes(rng.int(1, Math.max(2, Math.min(256, maxLength - b.length + 1))))]);
    case "insert": {
      const i = at();
      return Buffer.concat([b.subarray(0, i), rng.bytes(rng.int(1, 17)), b.subarray(i)]);
    }
    case "delete": {
      if (b.length < 2) return b.subarray(0, 0);
      const i = at();
      return Buffer.concat([b.subarray(0, i), b.subarray(Math.min(b.length, i + rng.int(1, 17)))]);
    }
    case "swap": {
      if (b.length < 4) return Buffer.from(b.reverse());
      const n = rng.int(1, Math.min(33, b.length >> 1) + 1);
      const i = rng.int(0, b.length - n + 1);
      const j = rng.int(0, b.length - n + 1);
      const x = Buffer.from(b.subarray(i, i + n));
      b.copy(b, i, j, j + n);
      x.copy(b, j);
      return b;
    }
    case "duplicate": {
      const i = at();
      const n = rng.int(1, Math.max(2, Math.min(64, b.length - i + 1)));
      return Buffer.concat([b.subarray(0, i + n), b.subarray(i, i + n), b.subarray(i + n)]).subarray(0, maxLength);
    }
    case "interesting":
      return writeInteresting(rng, b);
    case "zero": {
      const i = at();
      b.fill(0, i, Math.min(b.length, i + rng.int(1, 33)));
      return b;
    }
  }
}

/** Overwrites a random position with a boundary value of a random width. */
export function writeInteresting(rng: Prng, b: Buffer, offset?: number): Buffer {
  const out = Buffer.from(b);
  const width = rng.pick([1, 2, 4] as const);
  if (out.length < width) return out;
  const i = offset ?? rng.int(0, out.length - width + 1);
  if (i + width > out.length) return out;
  if (width === 1) out[i] = rng.pick(INTERESTING_U8);
  else if (width === 2) out.writeUInt16BE(rng.pick(INTERESTING_U16), i);
  else out.writeUInt32BE(rng.pick(INTERESTING_U32), i);
  return out;
}

/** Several mutations in a row (1 to `max`). */
export function mutateMany(rng: Prng, input: Buffer, max = 3, maxLength = 1 << 16): Buffer {
  let b = input;
  const n = rng.int(1, max + 1);
  for (let i = 0; i < n; i++) b = mutate(rng, b, undefined, maxLength);
  return b.length > maxLength ? b.subarray(0, maxLength) : b;
}

/** Cuts a byte stream into pieces of random sizes (for stream transports: TLS writes, data-channel messages). */
export function splitRandomly(rng: Prng, bytes: Buffer, maxPiece: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < bytes.length; ) {
    const n = Math.min(bytes.length - off, rng.chance(0.3) ? rng.int(1, 8) : rng.int(1, maxPiece + 1));
    out.push(bytes.subarray(off, off + n));
    off += n;
  }
  return out;
}
