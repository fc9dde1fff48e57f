// A chunk's plaintext from its stored bytes: the decryption each version defines (none for public
// shares), and the size check against the manifest. Shared by the stream reader (assemble.ts) and
// the output file a fetch writes (output-file.ts), which also checks plaintext it finds on disk.

import { cryptChunk, open, seal } from "./convergent-crypto";
import { CasError } from "./errors";
import { hashOfVersion, MANIFEST_VERSION, type ManifestChunk, type ManifestVersion } from "./manifest";
import { isIdOf } from "./object-hash";

/**
 * A chunk's plaintext from its stored bytes (e.g. just fetched from a peer): checks the bytes hash to
 * the chunk's id, then decrypts them for private shares.
 */
export function openChunk(chunk: ManifestChunk, stored: Buffer, version: ManifestVersion = MANIFEST_VERSION): Buffer {
  if (!isIdOf(chunk.id, stored)) {
    throw new CasError("EHASHMISMATCH", `bytes do not hash to chunk ${chunk.id.toString("hex")}`);
  }
  return chunkPlaintext(chunk, stored, version);
}

/**
 * openChunk for bytes already checked against the chunk's id (the store's reads and putVerified
 * are). A version 2 or 3 private chunk is decrypted into `out` when given (see cryptChunk); a public
 * chunk's plaintext is `stored` itself.
 */
export function chunkPlaintext(chunk: ManifestChunk, stored: Buffer, version: ManifestVersion, out?: Buffer): Buffer {
  const plaintext = !chunk.key ? stored : version === 1 ? open(chunk.key, stored) : cryptChunk(chunk.key, stored, out);
  if (plaintext.length !== chunk.size) {
    throw new CasError("EHASHMISMATCH", `chunk ${chunk.id.toString("hex")} is ${plaintext.length} bytes, the manifest says ${chunk.size}`);
  }
  return plaintext;
}

/**
 * True when `plaintext` is the chunk's plaintext: sealed again as its share sealed it (the manifest
 * holds the key), it hashes to the chunk's id. `scratch` (at least the chunk's size) takes a version
 * 2 or 3 private chunk's ciphertext.
 */
export function isPlaintextOf(chunk: ManifestChunk, plaintext: Buffer, version: ManifestVersion, scratch?: Buffer): boolean {
  if (plaintext.length !== chunk.size) return false;
  const stored = !chunk.key ? plaintext : version === 1 ? seal(chunk.key, plaintext) : cryptChunk(chunk.key, plaintext, scratch);
  return hashOfVersion(stored, version).equals(chunk.id);
}
