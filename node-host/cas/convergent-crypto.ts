// Convergent encryption for private shares (AES-256-GCM from node:crypto).
//
// A chunk's key is HMAC-SHA256 over its plaintext, keyed by the team's convergence secret: the same
// chunk shared by two teammates with the same secret encrypts to the same object (so it deduplicates),
// while anyone without the secret can neither compute the key nor confirm that a known file is stored.
// Each key encrypts exactly one plaintext, the one it was derived from, so the nonce can be derived
// from the key instead of stored. A sealed object is ciphertext || 16-byte GCM tag.
//
// The manifest is encrypted the same way, its key derived from its own plaintext, so sharing the same
// file twice yields the same content ID and the same link. Without a team secret a random per-node
// secret kept in the data dir is used (a node's own re-shares still deduplicate).

import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { CasError } from "./errors";
import { writeFileDurably } from "./durable-write";

export const KEY_BYTES = 32;
export const TAG_BYTES = 16;
const NONCE_BYTES = 12;

function hmac(key: Uint8Array, data: Uint8Array | string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

/** Derives content keys from a convergence secret; one sub-secret per purpose so keys never collide across them. */
export class ConvergentKeys {
  private readonly chunkSecret: Buffer;
  private readonly manifestSecret: Buffer;

  constructor(convergenceSecret: Uint8Array) {
    if (convergenceSecret.length < 16) throw new RangeError("a convergence secret is at least 16 bytes");
    this.chunkSecret = hmac(convergenceSecret, "peershare/v1/chunk-key");
    this.manifestSecret = hmac(convergenceSecret, "peershare/v1/manifest-key");
  }

  chunkKey(plaintext: Uint8Array): Buffer {
    return hmac(this.chunkSecret, plaintext);
  }

  manifestKey(plaintext: Uint8Array): Buffer {
    return hmac(this.manifestSecret, plaintext);
  }
}

function nonceFor(key: Uint8Array): Buffer {
  return hmac(key, "peershare/v1/nonce").subarray(0, NONCE_BYTES);
}

/** AES-256-GCM with the key's derived nonce: returns ciphertext || tag. `aad` is authenticated, not encrypted. */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Buffer {
  return Buffer.concat(sealParts(key, plaintext, aad));
}

/** seal() as [ciphertext, tag], sparing a copy of a large chunk (the store writes the parts in order). */
export function sealParts(key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): [Buffer, Buffer] {
  const cipher = createCipheriv("aes-256-gcm", key, nonceFor(key));
  if (aad) cipher.setAAD(aad);
  const ciphertext = cipher.update(plaintext);
  cipher.final(); // GCM is a stream mode: final() flushes nothing
  return [ciphertext, cipher.getAuthTag()];
}

/** Inverse of seal; throws EDECRYPT when the key is wrong or the bytes were altered. */
export function open(key: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Buffer {
  if (key.length !== KEY_BYTES) throw new CasError("EDECRYPT", `a key is ${KEY_BYTES} bytes`);
  if (sealed.length < TAG_BYTES) throw new CasError("EDECRYPT", "sealed data shorter than its tag");
  const body = sealed.subarray(0, sealed.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, nonceFor(key));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  if (aad) decipher.setAAD(aad);
  const plaintext = decipher.update(body);
  try {
    decipher.final(); // checks the tag; GCM has no buffered output
    return plaintext;
  } catch {
    throw new CasError("EDECRYPT", "authentication failed: wrong key or tampered data");
  }
}

const NODE_SECRET_FILE = "convergence-secret";

/** The node's own convergence secret (DIR/convergence-secret, created on first use, owner-only). */
export async function loadOrCreateNodeSecret(dataDir: string): Promise<Buffer> {
  const file = path.join(dataDir, NODE_SECRET_FILE);
  try {
    const secret = await fsp.readFile(file);
    if (secret.length === KEY_BYTES) return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  // Absent or damaged: a new secret only means earlier private shares of this node no longer dedupe.
  const secret = randomBytes(KEY_BYTES);
  await writeFileDurably(path.join(dataDir, "tmp"), file, secret, 0o600);
  return secret;
}
