// A node's Ed25519 identity: its key pair, its node ID (SHA-256 of the public key), and signing.
// Signatures use node:crypto, which is ~30x faster than pure-JS Ed25519 here (see PERF-FACTS).

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign, verify } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Id, nodeIdFromPublicKey } from "../dht/id";
import { LruMap } from "../util/lru";
import { writeFileAtomic } from "../util/fs-atomic";

export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

// DER prefix of an SPKI-wrapped raw Ed25519 public key (RFC 8410).
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

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
}

const IDENTITY_FILE = "identity.pem";

/** Loads the node's identity from its data dir, creating (and saving, mode 0600) one on first start. */
export function loadOrCreateIdentity(dataDir: string): Identity {
  const file = path.join(dataDir, IDENTITY_FILE);
  if (fs.existsSync(file)) return Identity.fromPem(fs.readFileSync(file, "utf8"));
  const identity = Identity.generate();
  writeFileAtomic(file, identity.exportPem(), 0o600);
  return identity;
}

export function publicKeyObject(raw: Buffer): KeyObject {
  if (raw.length !== PUBLIC_KEY_BYTES) throw new Error("an Ed25519 public key is 32 bytes");
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

/**
 * Verifies Ed25519 signatures, caching each peer's KeyObject (importing it costs as much as
 * verifying). With `rememberValid`, signatures already found valid are remembered (by a hash of
 * key, data and signature), so a record seen again in many replies is checked once.
 */
export class SignatureVerifier {
  private readonly keys: LruMap<string, KeyObject>;
  private readonly valid: LruMap<string, true> | null;

  constructor(capacity = 4096, rememberValid = 0) {
    this.keys = new LruMap(capacity);
    this.valid = rememberValid > 0 ? new LruMap(rememberValid) : null;
  }

  verify(publicKey: Buffer, data: Buffer, signature: Buffer): boolean {
    if (signature.length !== SIGNATURE_BYTES) return false;
    if (!this.valid) return this.check(publicKey, data, signature);
    const memo = createHash("sha256").update(publicKey).update(signature).update(data).digest("base64");
    if (this.valid.has(memo)) return true;
    const ok = this.check(publicKey, data, signature);
    if (ok) this.valid.set(memo, true);
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
