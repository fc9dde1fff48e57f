// Symmetric keys between pairs of nodes, derived from their Ed25519 identities alone: each side
// computes X25519(own secret, peer's public key), both keys taken in their Montgomery form (as
// libsodium's crypto_box does with Ed25519 keys), so no handshake is needed and the key survives
// restarts. A datagram between two nodes that know each other's public key is authenticated with
// an HMAC under this key instead of an Ed25519 signature: ~2 µs instead of ~220 µs to make and
// check, which is most of the CPU a lookup costs (see the README's design notes).

import { createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, KeyObject } from "node:crypto";
import { PEER_CACHE_ENTRIES, RecentCache } from "../util/recent-cache";
import { bytesKey } from "../util/bytes-key";

const P = (1n << 255n) - 19n;

/** Modular inverse by the extended Euclidean algorithm (much faster than a^(p-2) with BigInt). */
function invert(a: bigint): bigint {
  let [r0, r1] = [P, a % P];
  let [t0, t1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return ((t0 % P) + P) % P;
}

function toBigIntLE(b: Buffer): bigint {
  return BigInt("0x" + Buffer.from(b).reverse().toString("hex"));
}

function toBytesLE(n: bigint): Buffer {
  return Buffer.from(n.toString(16).padStart(64, "0"), "hex").reverse();
}

/** The Montgomery u-coordinate of an Ed25519 public key: u = (1 + y) / (1 - y) mod p. */
export function montgomeryPublicKey(edPublicKey: Buffer): Buffer {
  if (edPublicKey.length !== 32) throw new Error("an Ed25519 public key is 32 bytes");
  const bytes = Buffer.from(edPublicKey);
  bytes[31] &= 0x7f; // the top bit is the sign of x, which u does not depend on
  const y = toBigIntLE(bytes);
  if (y >= P) throw new Error("not a field element");
  const denominator = (1n - y + P) % P;
  if (denominator === 0n) throw new Error("no Montgomery form");
  return toBytesLE(((1n + y) * invert(denominator)) % P);
}

/** The X25519 secret that matches an Ed25519 seed: the first half of SHA-512(seed) (X25519 clamps it). */
export function montgomerySecret(seed: Buffer): Buffer {
  return createHash("sha512").update(seed).digest().subarray(0, 32);
}

const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
export const MAC_BYTES = 16;
const MAC_KEY_SALT = Buffer.from("peershare/udp-mac/v1");

/**
 * HKDF-SHA256 (RFC 5869) for one 32-byte output block: extract, then expand with counter 1. The
 * same bytes as node:crypto's hkdfSync, at a fraction of its cost (it is on the path of every
 * first datagram to a new peer).
 */
export function hkdfSha256Block(ikm: Buffer, salt: Buffer, info: Buffer): Buffer {
  const prk = createHmac("sha256", salt).update(ikm).digest();
  return createHmac("sha256", prk).update(info).update(Buffer.of(1)).digest();
}

/**
 * A peer's Ed25519 public key as an X25519 key object, or null when it is not a usable point. Made
 * once per peer key in the process (a public value, like the node IDs of id.ts), imported as JWK
 * rather than DER: OpenSSL 3 decodes DER through its generic decoder, which cost several times
 * the key agreement itself.
 */
const x25519Keys = new RecentCache<string, KeyObject | null>(PEER_CACHE_ENTRIES);

function x25519PublicKey(edPublicKey: Buffer, cacheKey: string): KeyObject | null {
  let key = x25519Keys.get(cacheKey);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: montgomeryPublicKey(edPublicKey).toString("base64url") }, format: "jwk" });
    } catch {
      key = null;
    }
    x25519Keys.set(cacheKey, key);
  }
  return key;
}

export class PairKeys {
  private readonly secret: KeyObject;
  private readonly cache: RecentCache<string, Buffer | null>;

  /** `seed` is the 32-byte Ed25519 private key seed of this node. */
  constructor(
    seed: Buffer,
    private readonly ownPublicKey: Buffer,
    capacity = PEER_CACHE_ENTRIES,
  ) {
    const montgomery = montgomerySecret(seed);
    this.secret = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, montgomery]), format: "der", type: "pkcs8" });
    this.cache = new RecentCache(capacity);
  }

  /**
   * The MAC key shared with the holder of `peerPublicKey`, or null for a key that is not a valid
   * point. `peerPublicKey` must not change afterwards (a contact's key; see util/bytes-key.ts).
   */
  keyFor(peerPublicKey: Buffer): Buffer | null {
    const cacheKey = bytesKey(peerPublicKey);
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return cached;
    let key: Buffer | null = null;
    try {
      const peer = x25519PublicKey(peerPublicKey, cacheKey);
      if (!peer) throw new Error("not a curve point");
      const shared = diffieHellman({ privateKey: this.secret, publicKey: peer });
      // both sides must feed the two public keys in the same order
      const [a, b] = Buffer.compare(this.ownPublicKey, peerPublicKey) < 0 ? [this.ownPublicKey, peerPublicKey] : [peerPublicKey, this.ownPublicKey];
      key = hkdfSha256Block(shared, MAC_KEY_SALT, Buffer.concat([a, b]));
    } catch {
      key = null; // not a curve point, or a low-order one (all-zero shared secret)
    }
    this.cache.set(cacheKey, key);
    return key;
  }
}

export function macOf(key: Buffer, data: Buffer): Buffer {
  return createHmac("sha256", key).update(data).digest().subarray(0, MAC_BYTES);
}
