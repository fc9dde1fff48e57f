// Convergent encryption for private shares (AES from node:crypto).
//
// A chunk's key is HMAC-SHA256 over the digest of its plaintext (BLAKE3; SHA-256 in version 2),
// keyed by the team's convergence secret: the same chunk shared by two teammates with the same secret encrypts to the
// same object (so it deduplicates), while anyone without the secret can neither compute the key nor
// confirm that a known file is stored. Keying the HMAC with the digest rather than the plaintext costs
// nothing extra: the digest is also what the manifest's file digest is made of (manifest.ts), so the
// plaintext is hashed once per share instead of twice.
//
// Chunks (manifest versions 2 and 3) are encrypted with AES-256-CTR and carry no tag: each key encrypts
// exactly one plaintext, the one it was derived from, so the counter block can be derived from the
// key; and a chunk is authenticated by its object id, a hash of the ciphertext named in a manifest
// whose own id is the content ID. A GCM tag would authenticate it a second time, and GHASH cost more
// than the encryption itself (0.87 against 0.26 s per GiB here). Version 1 chunks were AES-256-GCM
// (ciphertext || 16-byte tag) keyed by HMAC over the plaintext; they are still read.
//
// The manifest is sealed with AES-256-GCM (a tag matters there: the link's key is what authenticates
// the name, sizes and keys it holds), its key derived from its own plaintext, so sharing the same file
// twice yields the same content ID and the same link. Without a team secret a random per-node secret
// kept in the data dir is used (a node's own re-shares still deduplicate).

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
    this.chunkSecret = chunkKeySecret(convergenceSecret);
    this.manifestSecret = hmac(convergenceSecret, "peershare/v1/manifest-key");
  }

  /** The key of the chunk whose plaintext has the digest `digest` (manifest.ts' hashOfVersion). */
  chunkKey(digest: Uint8Array): Buffer {
    return hmac(this.chunkSecret, digest);
  }

  manifestKey(plaintext: Uint8Array): Buffer {
    return hmac(this.manifestSecret, plaintext);
  }
}

/** Label of the chunk-key sub-secret (seal-pool.ts derives chunk keys from it on its workers). */
export const CHUNK_KEY_LABEL = "peershare/v2/chunk-key";
/** Label of a chunk's AES-CTR counter block, HMAC(key, label)'s first 16 bytes (seal-pool.ts uses it too). */
export const CHUNK_IV_LABEL = "peershare/v2/chunk-iv";

/** The HMAC key chunk keys are derived with. */
export function chunkKeySecret(convergenceSecret: Uint8Array): Buffer {
  if (convergenceSecret.length < 16) throw new RangeError("a convergence secret is at least 16 bytes");
  return hmac(convergenceSecret, CHUNK_KEY_LABEL);
}

/** Bytes AES-CTR is fed at a time (see cryptChunk). */
export const CRYPT_SLICE_BYTES = 65536;

/**
 * A version 2 or 3 chunk's ciphertext from its plaintext, or the plaintext from its ciphertext (CTR is its
 * own inverse), written into `out` (at least data.length bytes; returned as a view of that length).
 * It goes in 64 KiB slices: one update() over a whole chunk allocates a fresh chunk-sized buffer,
 * whose page faults cost more than the cipher (seal-pool.ts repeats this loop on its workers).
 */
export function cryptChunk(key: Uint8Array, data: Uint8Array, out: Buffer = Buffer.allocUnsafe(data.length)): Buffer {
  if (key.length !== KEY_BYTES) throw new CasError("EDECRYPT", `a key is ${KEY_BYTES} bytes`);
  const cipher = createCipheriv("aes-256-ctr", key, hmac(key, CHUNK_IV_LABEL).subarray(0, 16));
  for (let at = 0; at < data.length; at += CRYPT_SLICE_BYTES) out.set(cipher.update(data.subarray(at, at + CRYPT_SLICE_BYTES)), at);
  cipher.final(); // CTR is a stream mode: nothing is held back
  return out.subarray(0, data.length);
}

function nonceFor(key: Uint8Array): Buffer {
  return hmac(key, "peershare/v1/nonce").subarray(0, NONCE_BYTES);
}

/** AES-256-GCM with the key's derived nonce: returns ciphertext || tag. `aad` is authenticated, not encrypted. */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Buffer {
  const cipher = createCipheriv("aes-256-gcm", key, nonceFor(key));
  if (aad) cipher.setAAD(aad);
  const ciphertext = cipher.update(plaintext);
  cipher.final(); // GCM is a stream mode: final() flushes nothing
  return Buffer.concat([ciphertext, cipher.getAuthTag()]);
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
