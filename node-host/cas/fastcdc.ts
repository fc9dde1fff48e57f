// FastCDC cut-point search (Xia et al., USENIX ATC '16): a rolling "gear" hash over the bytes, a cut
// where the hash's masked bits are all zero. Below the average size a stricter mask (more bits) makes a
// cut less likely and above it a looser one makes it more likely ("normalized chunking"), which keeps
// chunk sizes close to the average. The hash is 32-bit so it stays in V8's small-integer fast path;
// `h << 1` ages each byte out after 32 steps, so the mask uses the top bits (a 32-byte window).

import { createHash } from "node:crypto";

export interface CdcParams {
  minSize: number;
  avgSize: number; // a power of two
  maxSize: number;
}

/** 256 pseudo-random 32-bit values, derived from a fixed seed: every node must cut at the same places. */
const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i += 8) {
    const block = createHash("sha256").update(`peershare gear ${i}`).digest();
    for (let j = 0; j < 8; j++) table[i + j] = block.readUInt32BE(j * 4);
  }
  return table;
})();

/** A mask of the top `bits` bits of a 32-bit word, as a signed int32 like the hash. */
function topBitsMask(bits: number): number {
  return (0xffffffff << (32 - bits)) | 0;
}

export interface CutFinder {
  /** Length of the first chunk of `buf`; `buf` is either at least maxSize long or the stream's tail. */
  (buf: Uint8Array): number;
}

export function fastCdcCutFinder({ minSize, avgSize, maxSize }: CdcParams): CutFinder {
  const bits = Math.round(Math.log2(avgSize));
  if (2 ** bits !== avgSize || !(0 < minSize && minSize <= avgSize && avgSize <= maxSize)) {
    throw new RangeError("FastCDC needs 0 < min <= avg <= max and avg a power of two");
  }
  const maskStrict = topBitsMask(bits + 2);
  const maskLoose = topBitsMask(bits - 2);
  return (buf) => {
    const n = Math.min(buf.length, maxSize);
    if (n <= minSize) return n;
    const normal = Math.min(n, avgSize);
    let h = 0;
    let i = minSize; // FastCDC skips hashing below the minimum size: no cut can land there
    for (; i < normal; i++) {
      h = ((h << 1) + GEAR[buf[i]]) | 0;
      if ((h & maskStrict) === 0) return i + 1;
    }
    for (; i < n; i++) {
      h = ((h << 1) + GEAR[buf[i]]) | 0;
      if ((h & maskLoose) === 0) return i + 1;
    }
    return n;
  };
}
