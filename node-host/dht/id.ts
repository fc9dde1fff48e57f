// 256-bit identifiers and the Kademlia XOR metric.
// Node IDs are SHA-256 of the node's Ed25519 public key; content IDs and DHT keys live in the same space.

import { createHash, randomBytes } from "node:crypto";
import { PEER_CACHE_ENTRIES, RecentCache } from "../util/recent-cache";

export const ID_BYTES = 32;
export const ID_BITS = ID_BYTES * 8;

export type Id = Buffer;

export function sha256(...parts: (Buffer | string)[]): Buffer {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
}

// Replies carry up to 20 contacts each, mostly ones seen before: hashing each key anew was the
// largest cost of decoding a reply.
const idCache = new RecentCache<string, Id>(PEER_CACHE_ENTRIES);

export function nodeIdFromPublicKey(publicKey: Buffer): Id {
  const cacheKey = publicKey.toString("latin1");
  let id = idCache.get(cacheKey);
  if (!id) {
    id = sha256(publicKey);
    idCache.set(cacheKey, id);
  }
  return id;
}

export function toHex(id: Id): string {
  return id.toString("hex");
}

const HEX_ID = /^[0-9a-fA-F]{64}$/;

export function isHexId(text: string): boolean {
  return HEX_ID.test(text);
}

/** A user-typed key: 64 hex digits are taken as they are; any other text is hashed with SHA-256. */
export function keyFromText(text: string): Id {
  return isHexId(text) ? Buffer.from(text, "hex") : sha256(text);
}

/**
 * Whether two IDs are equal. Checks two bytes in JavaScript before the native comparison: nearly
 * every pair compared while scanning a bucket differs there, and a call into native code costs
 * more than the whole check (it showed in profiles of the simulator).
 */
export function sameId(a: Id, b: Id): boolean {
  return a[31] === b[31] && a[30] === b[30] && a.equals(b);
}

export function xorDistance(a: Id, b: Id): Buffer {
  const d = Buffer.allocUnsafe(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) d[i] = a[i] ^ b[i];
  return d;
}

/** Compares the distances of a and b to target, without allocating: negative when a is closer. */
export function compareDistance(a: Id, b: Id, target: Id): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const da = a[i] ^ target[i];
    const db = b[i] ^ target[i];
    if (da !== db) return da - db;
  }
  return 0;
}

/** Length of the common bit prefix of a and b (256 when equal). */
export function commonPrefixLength(a: Id, b: Id): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const x = a[i] ^ b[i];
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return ID_BITS;
}

/**
 * The k-bucket an ID falls in, seen from `self`: the index of the highest bit in which they differ,
 * so bucket 255 holds the half of the space farthest away and bucket 0 the single nearest ID.
 * Returns -1 for self.
 */
export function bucketIndex(self: Id, other: Id): number {
  return ID_BITS - 1 - commonPrefixLength(self, other);
}

/** A random ID that falls in bucket `index` as seen from `self`. */
export function randomIdInBucket(self: Id, index: number, random: (n: number) => Buffer = randomBytes): Id {
  const id = random(ID_BYTES);
  const prefix = ID_BITS - 1 - index; // bits shared with self
  for (let bit = 0; bit <= prefix; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    const selfBit = self[byte] & mask;
    const want = bit < prefix ? selfBit : selfBit ^ mask; // the bit after the prefix must differ
    id[byte] = (id[byte] & ~mask) | want;
  }
  return id;
}
