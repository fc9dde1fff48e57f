// FastCDC cut-point search (Xia et al., USENIX ATC '16): a rolling "gear" hash over the bytes, a cut
// where the hash's masked bits are all zero. Below the average size a stricter mask (more bits) makes a
// cut less likely and above it a looser one makes it more likely ("normalized chunking"), which keeps
// chunk sizes close to the average. The hash is 32-bit; `h << 1` ages each byte out after 32 steps, so
// the mask uses the top bits (a 32-byte window).
//
// Two implementations of the same function. `fastCdcCutFinder` is the plain TypeScript definition,
// kept as the reference the tests compare against. `fastCdcScanner` runs the loop in a 169-byte
// WebAssembly module over a window that lives in the module's memory (no copy): V8 compiles the JS
// loop unpredictably (the same code ran at 370-2000 MB/s from one chunker to the next, depending on
// type feedback from the uint32 table), while the WebAssembly loop runs at ~3 GB/s every time.

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

interface Masks {
  strict: number;
  loose: number;
}

function masksFor({ minSize, avgSize, maxSize }: CdcParams): Masks {
  const bits = Math.round(Math.log2(avgSize));
  if (2 ** bits !== avgSize || !(0 < minSize && minSize <= avgSize && avgSize <= maxSize)) {
    throw new RangeError("FastCDC needs 0 < min <= avg <= max and avg a power of two");
  }
  return { strict: topBitsMask(bits + 2), loose: topBitsMask(bits - 2) };
}

export interface CutFinder {
  /** Length of the first chunk of `buf`; `buf` is either at least maxSize long or the stream's tail. */
  (buf: Uint8Array): number;
}

/** The reference definition of the cut points (what fastCdcScanner computes, in plain TypeScript). */
export function fastCdcCutFinder(params: CdcParams): CutFinder {
  const { minSize, avgSize, maxSize } = params;
  const { strict, loose } = masksFor(params);
  return (buf) => {
    const n = Math.min(buf.length, maxSize);
    if (n <= minSize) return n;
    const normal = Math.min(n, avgSize);
    let h = 0;
    let i = minSize; // FastCDC skips hashing below the minimum size: no cut can land there
    for (; i < normal; i++) {
      h = ((h << 1) + GEAR[buf[i]]) | 0;
      if ((h & strict) === 0) return i + 1;
    }
    for (; i < n; i++) {
      h = ((h << 1) + GEAR[buf[i]]) | 0;
      if ((h & loose) === 0) return i + 1;
    }
    return n;
  };
}

/** A chunker's reusable window and the cut search over it (see makeChunker in chunker.ts). */
export interface CutScanner {
  /** Bytes are read into here; cuts are searched in window[start, end). */
  readonly window: Buffer;
  /** Length of the first chunk of window[start, end); the span is at least maxSize long or the stream's tail. */
  cut(start: number, end: number): number;
}

/*
 * The module below, in WebAssembly text (bytes 0-1023 of the memory hold GEAR as little-endian i32;
 * `cut` returns the chunk length for the chunk starting at address $p, exactly as fastCdcCutFinder):
 *
 * (module
 *   (import "env" "memory" (memory 1))
 *   (func (export "cut")
 *     (param $p i32) (param $min i32) (param $normal i32) (param $n i32) (param $strict i32) (param $loose i32)
 *     (result i32)
 *     (local $h i32) (local $i i32)
 *     (local.set $i (local.get $min))
 *     (block $past_normal
 *       (loop $next
 *         (br_if $past_normal (i32.ge_u (local.get $i) (local.get $normal)))
 *         (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
 *           (i32.load (i32.shl (i32.load8_u (i32.add (local.get $p) (local.get $i))) (i32.const 2)))))
 *         (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *         (br_if $next (i32.and (local.get $h) (local.get $strict)))
 *         (return (local.get $i))))
 *     (block $past_n
 *       (loop $next
 *         (br_if $past_n (i32.ge_u (local.get $i) (local.get $n)))
 *         (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
 *           (i32.load (i32.shl (i32.load8_u (i32.add (local.get $p) (local.get $i))) (i32.const 2)))))
 *         (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *         (br_if $next (i32.and (local.get $h) (local.get $loose)))
 *         (return (local.get $i))))
 *     (local.get $n)))
 *
 * assembled with wabt's wat2wasm.
 */
const GEAR_SCAN_WASM =
  "AGFzbQEAAAABCwFgBn9/f39/fwF/Ag8BA2VudgZtZW1vcnkCAAEDAgEABwcBA2N1dAAACnQBcgECfyABIQcCQANAIAcgAk8NASAG" +
  "QQF0IAAgB2otAABBAnQoAgBqIQYgB0EBaiEHIAYgBHENACAHDwsLAkADQCAHIANPDQEgBkEBdCAAIAdqLQAAQQJ0KAIAaiEGIAdB" +
  "AWohByAGIAVxDQAgBw8LCyADCw==";

let gearScanModule: WebAssembly.Module | null = null;
const GEAR_BYTES = 256 * 4;
const WASM_PAGE = 65536;

type CutExport = (p: number, min: number, normal: number, n: number, strict: number, loose: number) => number;

/**
 * A factory of scanners, one per chunked stream: each gets its own WebAssembly memory holding the gear
 * table and a window of `windowBytes`.
 */
export function fastCdcScanner(params: CdcParams): (windowBytes: number) => CutScanner {
  const { minSize, avgSize, maxSize } = params;
  const { strict, loose } = masksFor(params);
  return (windowBytes) => {
    gearScanModule ??= new WebAssembly.Module(Buffer.from(GEAR_SCAN_WASM, "base64"));
    const memory = new WebAssembly.Memory({ initial: Math.ceil((GEAR_BYTES + windowBytes) / WASM_PAGE) });
    const instance = new WebAssembly.Instance(gearScanModule, { env: { memory } });
    const scan = instance.exports.cut as CutExport;
    const table = new DataView(memory.buffer, 0, GEAR_BYTES);
    for (let i = 0; i < 256; i++) table.setUint32(i * 4, GEAR[i], true);
    // The memory never grows, so this view stays valid for the scanner's life.
    const window = Buffer.from(memory.buffer, GEAR_BYTES, windowBytes);
    return {
      window,
      cut(start, end) {
        const n = Math.min(end - start, maxSize);
        if (n <= minSize) return n;
        return scan(GEAR_BYTES + start, minSize, Math.min(n, avgSize), n, strict, loose);
      },
    };
  };
}
