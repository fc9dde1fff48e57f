// BLAKE3 (hash mode, 32-byte output) in plain TypeScript, written from the BLAKE3 specification: the
// fallback for a node whose native BLAKE3 (@napi-rs/blake-hash) does not load on its platform. It
// gives the same digests (the unit tests check it against the reference test vectors and the native
// package on many input sizes) at a fraction of the speed (`node dist/bench/blake3.js` prints both).
//
// The shape: input is cut into 1 KiB chunks of 64-byte blocks; each chunk's blocks are compressed
// in a chain into the chunk's chaining value (CV), and the CVs are merged pairwise into a binary tree
// whose root, compressed with the ROOT flag, is the hash. Completed subtrees wait on a stack, so the
// memory is fixed whatever the input length.

const IV = Uint32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19);
const CHUNK_START = 1;
const CHUNK_END = 2;
const PARENT = 4;
const ROOT = 8;
const BLOCK_LEN = 64;
const CHUNK_LEN = 1024;
/** Message words are little-endian: on such a machine aligned input is read as words in place. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
/** Subtrees waiting to be merged: one per bit of the chunk count (2^54 chunks is past any input). */
const MAX_DEPTH = 54;

/**
 * The compression function, truncated to its first 8 words (all hash mode needs): compresses the
 * 16 message words of `m` from `mAt` into the 8-word chaining value `cv` (at `cvAt`), writing 8
 * words to `out` at `outAt` (out may be cv).
 */
function compress(cv: Uint32Array, cvAt: number, m: Uint32Array, mAt: number, counter: number, blockLen: number, flags: number, out: Uint32Array, outAt: number): void {
  let s0 = cv[cvAt], s1 = cv[cvAt + 1], s2 = cv[cvAt + 2], s3 = cv[cvAt + 3]; // prettier-ignore
  let s4 = cv[cvAt + 4], s5 = cv[cvAt + 5], s6 = cv[cvAt + 6], s7 = cv[cvAt + 7]; // prettier-ignore
  let s8 = IV[0], s9 = IV[1], s10 = IV[2], s11 = IV[3]; // prettier-ignore
  let s12 = counter >>> 0, s13 = Math.floor(counter / 0x100000000) >>> 0, s14 = blockLen, s15 = flags; // prettier-ignore
  let m0 = m[mAt], m1 = m[mAt + 1], m2 = m[mAt + 2], m3 = m[mAt + 3], m4 = m[mAt + 4], m5 = m[mAt + 5], m6 = m[mAt + 6], m7 = m[mAt + 7]; // prettier-ignore
  let m8 = m[mAt + 8], m9 = m[mAt + 9], m10 = m[mAt + 10], m11 = m[mAt + 11], m12 = m[mAt + 12], m13 = m[mAt + 13], m14 = m[mAt + 14], m15 = m[mAt + 15]; // prettier-ignore
  // Seven rounds of BLAKE3's mixing function G(a, b, c, d, x, y) written out with the state and message
  // in locals (fastest in V8): a += b + x; d = (d ^ a) ⋙ 16; c += d; b = (b ^ c) ⋙ 12; then again
  // with y and rotations 8 and 7; on the columns, then on the diagonals.
  for (let round = 0; round < 7; round++) {
    // columns
    s0 = (s0 + s4 + m0) | 0; s12 ^= s0; s12 = (s12 >>> 16) | (s12 << 16); // prettier-ignore
    s8 = (s8 + s12) | 0; s4 ^= s8; s4 = (s4 >>> 12) | (s4 << 20); // prettier-ignore
    s0 = (s0 + s4 + m1) | 0; s12 ^= s0; s12 = (s12 >>> 8) | (s12 << 24); // prettier-ignore
    s8 = (s8 + s12) | 0; s4 ^= s8; s4 = (s4 >>> 7) | (s4 << 25); // prettier-ignore
    s1 = (s1 + s5 + m2) | 0; s13 ^= s1; s13 = (s13 >>> 16) | (s13 << 16); // prettier-ignore
    s9 = (s9 + s13) | 0; s5 ^= s9; s5 = (s5 >>> 12) | (s5 << 20); // prettier-ignore
    s1 = (s1 + s5 + m3) | 0; s13 ^= s1; s13 = (s13 >>> 8) | (s13 << 24); // prettier-ignore
    s9 = (s9 + s13) | 0; s5 ^= s9; s5 = (s5 >>> 7) | (s5 << 25); // prettier-ignore
    s2 = (s2 + s6 + m4) | 0; s14 ^= s2; s14 = (s14 >>> 16) | (s14 << 16); // prettier-ignore
    s10 = (s10 + s14) | 0; s6 ^= s10; s6 = (s6 >>> 12) | (s6 << 20); // prettier-ignore
    s2 = (s2 + s6 + m5) | 0; s14 ^= s2; s14 = (s14 >>> 8) | (s14 << 24); // prettier-ignore
    s10 = (s10 + s14) | 0; s6 ^= s10; s6 = (s6 >>> 7) | (s6 << 25); // prettier-ignore
    s3 = (s3 + s7 + m6) | 0; s15 ^= s3; s15 = (s15 >>> 16) | (s15 << 16); // prettier-ignore
    s11 = (s11 + s15) | 0; s7 ^= s11; s7 = (s7 >>> 12) | (s7 << 20); // prettier-ignore
    s3 = (s3 + s7 + m7) | 0; s15 ^= s3; s15 = (s15 >>> 8) | (s15 << 24); // prettier-ignore
    s11 = (s11 + s15) | 0; s7 ^= s11; s7 = (s7 >>> 7) | (s7 << 25); // prettier-ignore
    // diagonals
    s0 = (s0 + s5 + m8) | 0; s15 ^= s0; s15 = (s15 >>> 16) | (s15 << 16); // prettier-ignore
    s10 = (s10 + s15) | 0; s5 ^= s10; s5 = (s5 >>> 12) | (s5 << 20); // prettier-ignore
    s0 = (s0 + s5 + m9) | 0; s15 ^= s0; s15 = (s15 >>> 8) | (s15 << 24); // prettier-ignore
    s10 = (s10 + s15) | 0; s5 ^= s10; s5 = (s5 >>> 7) | (s5 << 25); // prettier-ignore
    s1 = (s1 + s6 + m10) | 0; s12 ^= s1; s12 = (s12 >>> 16) | (s12 << 16); // prettier-ignore
    s11 = (s11 + s12) | 0; s6 ^= s11; s6 = (s6 >>> 12) | (s6 << 20); // prettier-ignore
    s1 = (s1 + s6 + m11) | 0; s12 ^= s1; s12 = (s12 >>> 8) | (s12 << 24); // prettier-ignore
    s11 = (s11 + s12) | 0; s6 ^= s11; s6 = (s6 >>> 7) | (s6 << 25); // prettier-ignore
    s2 = (s2 + s7 + m12) | 0; s13 ^= s2; s13 = (s13 >>> 16) | (s13 << 16); // prettier-ignore
    s8 = (s8 + s13) | 0; s7 ^= s8; s7 = (s7 >>> 12) | (s7 << 20); // prettier-ignore
    s2 = (s2 + s7 + m13) | 0; s13 ^= s2; s13 = (s13 >>> 8) | (s13 << 24); // prettier-ignore
    s8 = (s8 + s13) | 0; s7 ^= s8; s7 = (s7 >>> 7) | (s7 << 25); // prettier-ignore
    s3 = (s3 + s4 + m14) | 0; s14 ^= s3; s14 = (s14 >>> 16) | (s14 << 16); // prettier-ignore
    s9 = (s9 + s14) | 0; s4 ^= s9; s4 = (s4 >>> 12) | (s4 << 20); // prettier-ignore
    s3 = (s3 + s4 + m15) | 0; s14 ^= s3; s14 = (s14 >>> 8) | (s14 << 24); // prettier-ignore
    s9 = (s9 + s14) | 0; s4 ^= s9; s4 = (s4 >>> 7) | (s4 << 25); // prettier-ignore
    // the next round takes the words permuted: m[i] = this round's m[[2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8][i]]
    const t0 = m0, t1 = m1, t2 = m2, t3 = m3, t4 = m4, t5 = m5, t6 = m6, t7 = m7; // prettier-ignore
    const t8 = m8, t9 = m9, t10 = m10, t11 = m11, t12 = m12, t13 = m13, t14 = m14, t15 = m15; // prettier-ignore
    m0 = t2; m1 = t6; m2 = t3; m3 = t10; m4 = t7; m5 = t0; m6 = t4; m7 = t13; // prettier-ignore
    m8 = t1; m9 = t11; m10 = t12; m11 = t5; m12 = t9; m13 = t14; m14 = t15; m15 = t8; // prettier-ignore
  }
  out[outAt] = s0 ^ s8;
  out[outAt + 1] = s1 ^ s9;
  out[outAt + 2] = s2 ^ s10;
  out[outAt + 3] = s3 ^ s11;
  out[outAt + 4] = s4 ^ s12;
  out[outAt + 5] = s5 ^ s13;
  out[outAt + 6] = s6 ^ s14;
  out[outAt + 7] = s7 ^ s15;
}

/** Reads 16 little-endian words from `bytes` at `at` into `m`. */
function loadBlock(bytes: Uint8Array, at: number, m: Uint32Array): void {
  for (let i = 0; i < 16; i++, at += 4) m[i] = bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24);
}

/** An incremental BLAKE3 hash: update() any number of times, then digest() once. */
export class Blake3Js {
  /** The current chunk's chaining value. */
  private readonly cv = IV.slice();
  private chunkCounter = 0;
  private blocksCompressed = 0;
  /** The current chunk's last block so far (not compressed until more input shows it is not the last). */
  private readonly block = new Uint8Array(BLOCK_LEN);
  private blockLen = 0;
  /** CVs of completed subtrees, MAX_DEPTH × 8 words; `depth` in use. */
  private readonly stack = new Uint32Array(MAX_DEPTH * 8);
  private depth = 0;
  private readonly m = new Uint32Array(16);
  private readonly words = new Uint32Array(16);

  update(data: Uint8Array): this {
    const words = LITTLE_ENDIAN && data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, data.length >> 2) : null;
    let at = 0;
    while (at < data.length) {
      if (this.chunkLength() === CHUNK_LEN) this.finishChunk();
      const take = Math.min(CHUNK_LEN - this.chunkLength(), data.length - at);
      this.updateChunk(data, at, take, words);
      at += take;
    }
    return this;
  }

  /** The 32-byte hash of everything given to update(). */
  digest(): Buffer {
    const out = new Uint32Array(8);
    loadBlock(this.block, 0, this.m);
    let flags = this.startFlag() | CHUNK_END;
    let cv: Uint32Array = this.cv;
    let counter = this.chunkCounter;
    let blockLen = this.blockLen;
    // merge the chunk's output with each waiting subtree, from the nearest; the last merge is the root
    for (let d = this.depth - 1; d >= 0; d--) {
      compress(cv, 0, this.m, 0, counter, blockLen, flags, out, 0);
      this.m.set(this.stack.subarray(d * 8, d * 8 + 8), 0);
      this.m.set(out, 8);
      cv = IV;
      counter = 0;
      blockLen = BLOCK_LEN;
      flags = PARENT;
    }
    compress(cv, 0, this.m, 0, counter, blockLen, flags | ROOT, out, 0);
    const bytes = Buffer.alloc(32);
    for (let i = 0; i < 8; i++) bytes.writeUInt32LE(out[i], i * 4);
    return bytes;
  }

  private chunkLength(): number {
    return this.blocksCompressed * BLOCK_LEN + this.blockLen;
  }

  private startFlag(): number {
    return this.blocksCompressed === 0 ? CHUNK_START : 0;
  }

  /** Adds `length` bytes (no more than the chunk has room for) to the current chunk. */
  private updateChunk(data: Uint8Array, at: number, length: number, words: Uint32Array | null): void {
    const end = at + length;
    while (at < end) {
      if (this.blockLen === BLOCK_LEN) {
        loadBlock(this.block, 0, this.m);
        this.compressBlock();
        this.block.fill(0);
        this.blockLen = 0;
      }
      // whole blocks straight from the input (read in place where it is word-aligned), while more input follows them
      while (this.blockLen === 0 && end - at > BLOCK_LEN) {
        if (words) this.compressBlock(words, at >> 2);
        else {
          loadBlock(data, at, this.m);
          this.compressBlock();
        }
        at += BLOCK_LEN;
      }
      const take = Math.min(BLOCK_LEN - this.blockLen, end - at);
      this.block.set(data.subarray(at, at + take), this.blockLen);
      this.blockLen += take;
      at += take;
    }
  }

  /** Compresses the block of 16 words at `mAt` of `m` (default: the copied block) into the chunk's CV. */
  private compressBlock(m: Uint32Array = this.m, mAt = 0): void {
    compress(this.cv, 0, m, mAt, this.chunkCounter, BLOCK_LEN, this.startFlag(), this.cv, 0);
    this.blocksCompressed++;
  }

  /** Closes the full current chunk: its CV goes into the tree, and a new chunk starts. */
  private finishChunk(): void {
    loadBlock(this.block, 0, this.m);
    compress(this.cv, 0, this.m, 0, this.chunkCounter, this.blockLen, this.startFlag() | CHUNK_END, this.words, 0);
    // merge with the waiting subtree of each trailing zero bit of the new chunk count
    for (let total = this.chunkCounter + 1; total % 2 === 0; total /= 2) {
      this.depth--;
      this.m.set(this.stack.subarray(this.depth * 8, this.depth * 8 + 8), 0);
      this.m.set(this.words.subarray(0, 8), 8);
      compress(IV, 0, this.m, 0, 0, BLOCK_LEN, PARENT, this.words, 0);
    }
    this.stack.set(this.words.subarray(0, 8), this.depth * 8);
    this.depth++;
    this.chunkCounter++;
    this.cv.set(IV);
    this.blocksCompressed = 0;
    this.block.fill(0);
    this.blockLen = 0;
  }
}

/** BLAKE3 of the bytes. */
export function blake3Js(data: Uint8Array): Buffer {
  return new Blake3Js().update(data).digest();
}
