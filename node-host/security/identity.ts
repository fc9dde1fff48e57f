// A node's Ed25519 identity: its key pair, its node ID (SHA-256 of the public key), and signing.
// Signatures use node:crypto, which is ~30x faster than pure-JS Ed25519 here (see PERF-FACTS).

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign, verify } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Id, nodeIdFromPublicKey } from "../dht/id";
import { LruMap } from "../util/lru";
import { TimedSet } from "../util/timed-set";
import { KeyStore, KeyStoreError } from "./key-store";

export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const SEED_BYTES = 32;

// DER prefix of an SPKI-wrapped raw Ed25519 public key (RFC 8410).
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
// DER prefix of a PKCS#8-wrapped raw Ed25519 private key seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export class Identity {
  readonly publicKey: Buffer;
  readonly id: Id;

  constructor(private readonly privateKey: KeyObject) {
    const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
    this.publicKey = Buffer.from(spki.subarray(spki.length - PUBLIC_KEY_BYTES));
    this.id = nodeIdFromPublicKey(this.publicKey);
  }

  static generate(): Identity {
    return new Identity(generateKeyPairSync("ed25519").privateKey);
  }

  /** The 32-byte private key seed (for deriving pair keys; never leaves the process). */
  seed(): Buffer {
    const jwk = this.privateKey.export({ format: "jwk" });
    return Buffer.from(jwk.d as string, "base64url");
  }

  sign(data: Buffer): Buffer {
    return sign(null, data, this.privateKey);
  }

  /** PKCS#8 PEM of the private key, for storage. */
  exportPem(): string {
    return this.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  }

  static fromPem(pem: string): Identity {
    return new Identity(createPrivateKey(pem));
  }

  /** The identity of a 32-byte private key seed. */
  static fromSeed(seed: Buffer): Identity {
    if (seed.length !== SEED_BYTES) throw new Error(`an Ed25519 seed is ${SEED_BYTES} bytes`);
    return new Identity(createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" }));
  }
}

/** Where identities were kept before the key store: plain PEM, now only read once to migrate it. */
const LEGACY_IDENTITY_FILE = "identity.pem";
/** The key store entry holding the 32-byte Ed25519 seed. */
export const IDENTITY_KEY_NAME = "identity";

/**
 * Loads the node's identity (its Ed25519 seed, kept in `keys` under "identity"), creating one on
 * first start. A plaintext identity.pem left by an older version is moved into the key store and
 * deleted, so the node keeps its ID.
 */
export async function loadOrCreateIdentity(dataDir: string, keys: KeyStore): Promise<Identity> {
  const legacy = path.join(dataDir, LEGACY_IDENTITY_FILE);
  if (fs.existsSync(legacy)) {
    let identity: Identity;
    try {
      identity = Identity.fromPem(fs.readFileSync(legacy, "utf8"));
    } catch (err) {
      throw new KeyStoreError(`${legacy} does not hold a usable Ed25519 key (${(err as Error).message}); move it away to start with a new identity`);
    }
    const seed = identity.seed();
    await keys.set(IDENTITY_KEY_NAME, seed);
    const stored = await keys.get(IDENTITY_KEY_NAME);
    if (!stored || !stored.equals(seed)) throw new KeyStoreError(`could not move ${legacy} into the key store (${keys.location}): it did not read back the same`);
    seed.fill(0);
    stored.fill(0);
    fs.rmSync(legacy, { force: true });
    return identity;
  }
  const seed = await keys.get(IDENTITY_KEY_NAME);
  if (seed) {
    if (seed.length !== SEED_BYTES) throw new KeyStoreError(`the identity in ${keys.location} is ${seed.length} bytes long, not ${SEED_BYTES}; it is damaged`);
    const identity = Identity.fromSeed(seed);
    seed.fill(0);
    return identity;
  }
  const identity = Identity.generate();
  const fresh = identity.seed();
  await keys.set(IDENTITY_KEY_NAME, fresh);
  fresh.fill(0);
  return identity;
}

export function publicKeyObject(raw: Buffer): KeyObject {
  if (raw.length !== PUBLIC_KEY_BYTES) throw new Error("an Ed25519 public key is 32 bytes");
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

/**
 * Verifies Ed25519 signatures, caching each peer's KeyObject (importing it costs as much as
 * verifying). With `rememberValid`, signatures already found valid are remembered (by a hash of
 * key, data and signature), at most that many and each for `rememberForMs`, so a record seen again
 * in many replies is checked once.
 */
export class SignatureVerifier {
  private readonly keys: LruMap<string, KeyObject>;
  private readonly valid: TimedSet | null;

  constructor(
    capacity = 4096,
    rememberValid = 0,
    rememberForMs = Infinity,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = new LruMap(capacity);
    this.valid = rememberValid > 0 ? new TimedSet(rememberValid, rememberForMs) : null;
  }

  /** Signatures held as checked (a lapsed one goes at the next addition). */
  get remembered(): number {
    return this.valid?.size ?? 0;
  }

  /** Checks a signature; `remember: false` for one that will not be seen again (nothing is kept). */
  verify(publicKey: Buffer, data: Buffer, signature: Buffer, remember = true): boolean {
    if (signature.length !== SIGNATURE_BYTES) return false;
    if (!this.valid || !remember) return this.check(publicKey, data, signature);
    const memo = createHash("sha256").update(publicKey).update(signature).update(data).digest("base64");
    const now = this.now();
    if (this.valid.has(memo, now)) return true;
    const ok = this.check(publicKey, data, signature);
    if (ok) this.valid.add(memo, now);
    return ok;
  }

  private check(publicKey: Buffer, data: Buffer, signature: Buffer): boolean {
    const cacheKey = publicKey.toString("base64");
    let key = this.keys.get(cacheKey);
    try {
      if (!key) {
        key = publicKeyObject(publicKey);
        this.keys.set(cacheKey, key);
      }
      return verify(null, data, key, signature);
    } catch {
      return false; // not a valid point, or otherwise unusable key
    }
  }
}
