// Manifests: what a shared file is made of. Binary and canonical (one encoding per manifest, so the
// same file shared twice gives the same bytes and therefore the same content ID = the hash of them,
// object-hash.ts).
//
//   header, in the clear (and authenticated as AES-GCM additional data when private):
//     "PSHM" | version u8 = 3 | mode u8 (0 public, 1 private) | chunk count u32 | chunk object ids, 32 bytes each
//   body, plaintext when public, sealed with the manifest key (ciphertext || tag) when private:
//     file size u64 | file digest (32) | name (u16 length, UTF-8) | media type (u16 length, ASCII)
//     | per chunk: plaintext size u32, and for private shares its 32-byte key
//
// The file digest is the BLAKE3 of the chunks' plaintext BLAKE3 digests, concatenated in file order: a
// share hashes each chunk once, on its workers, for its key and this digest together, instead of
// hashing the whole file again on one thread. Older versions, still read: version 2 was the same with
// SHA-256 (and SHA-256 object ids); version 1 had the SHA-256 of the whole file there, and AES-256-GCM
// chunks (convergent-crypto.ts).
//
// The chunk ids are left in the clear on purpose: a node holding a manifest for others (a replica, a
// cache) can find and keep the chunks it references without being able to read the file; an id is the
// hash of ciphertext under a team secret and reveals nothing of the content. Name, size, hash and keys
// stay encrypted. Decoding is strict and bounded, and fails only with a CasError (EBADMANIFEST or
// EDECRYPT), whatever the input.

import { BinaryReader, BinaryWriter } from "../util/binary";
import { createHash, type Hash } from "node:crypto";
import type { FileData } from "./durable-write";
import { objectIdOf, sha256 } from "./object-hash";
import { ConvergentKeys, KEY_BYTES, open, seal } from "./convergent-crypto";
import { CasError } from "./errors";
import { isSafeFileName, MAX_NAME_BYTES } from "./file-name";
import { isValidMediaType } from "./media-type";
import { ID_BYTES } from "./object-store";

/** The version this node writes. */
export const MANIFEST_VERSION = 3;
/** The versions this node reads. */
export type ManifestVersion = 1 | 2 | 3;
const isReadableVersion = (v: number): v is ManifestVersion => v === 1 || v === 2 || v === 3;
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
/** Bound on one chunk's plaintext size (the chunkers emit at most 4 MiB). */
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
const MAGIC = Buffer.from("PSHM");
const HEADER_FIXED_BYTES = MAGIC.length + 1 + 1 + 4;
const MAX_CHUNKS = Math.floor((MAX_MANIFEST_BYTES - HEADER_FIXED_BYTES) / ID_BYTES);
const MAX_MEDIA_TYPE_BYTES = 127;

export type EncryptionMode = "public" | "private";

export interface ManifestChunk {
  /** The stored object's id (hash of the bytes on disk: ciphertext for private shares). */
  id: Buffer;
  /** Plaintext size in bytes. */
  size: number;
  /** Decryption key for private shares; null for public ones. */
  key: Buffer | null;
}

export interface Manifest {
  version: ManifestVersion;
  mode: EncryptionMode;
  /** Base name only, safe to join to any directory. */
  name: string;
  size: number;
  mediaType: string;
  /** The file digest (see FileDigest): the hash of the chunks' plaintext digests; version 1, SHA-256 of the file. */
  digest: Buffer;
  chunks: ManifestChunk[];
}

export interface EncodedManifest {
  /** The manifest object's stored bytes. */
  bytes: Buffer;
  /** The 64-hex content ID: the object id of `bytes` (hashOfVersion). */
  contentId: string;
  /** The manifest key a private share link carries; null for public manifests. */
  key: Buffer | null;
}

/** Encodes a manifest; private manifests are sealed with a key derived from `keys` and their content. */
export function encodeManifest(manifest: Manifest, keys: ConvergentKeys | null): EncodedManifest {
  const header = encodeHeader(manifest);
  const body = encodeBody(manifest);
  let bytes: Buffer;
  let key: Buffer | null = null;
  if (manifest.mode === "private") {
    if (!keys) throw new TypeError("a private manifest needs convergent keys");
    key = keys.manifestKey(Buffer.concat([header, body]));
    bytes = Buffer.concat([header, seal(key, body, header)]);
  } else {
    bytes = Buffer.concat([header, body]);
  }
  if (bytes.length > MAX_MANIFEST_BYTES) throw new RangeError("file has too many chunks for one manifest");
  return { bytes, key, contentId: hashOfVersion(bytes, manifest.version).toString("hex") };
}

function encodeHeader(m: Manifest): Buffer {
  if (!isReadableVersion(m.version)) throw new RangeError(`no manifest version ${String(m.version)}`);
  const w = new BinaryWriter().bytes(MAGIC).u8(m.version).u8(m.mode === "private" ? 1 : 0);
  w.u32(m.chunks.length);
  for (const c of m.chunks) w.bytes(c.id);
  return w.finish();
}

function encodeBody(m: Manifest): Buffer {
  const w = new BinaryWriter().u64(m.size).bytes(m.digest);
  w.varBytes(Buffer.from(m.name, "utf8")).varBytes(Buffer.from(m.mediaType, "ascii"));
  for (const c of m.chunks) {
    w.u32(c.size);
    if (m.mode === "private") w.bytes(c.key ?? Buffer.alloc(0));
  }
  return w.finish();
}

export interface ManifestHeader {
  version: ManifestVersion;
  mode: EncryptionMode;
  chunkIds: Buffer[];
  /** Where the body starts in the stored bytes. */
  bodyOffset: number;
}

/** True when stored bytes start like a manifest (used to tell manifests from chunks in the store). */
export function looksLikeManifest(head: Buffer): boolean {
  return head.length >= MAGIC.length + 1 && head.subarray(0, MAGIC.length).equals(MAGIC) && isReadableVersion(head[MAGIC.length]);
}

/** Parses the clear header only: no key needed. */
export function decodeManifestHeader(bytes: Buffer): ManifestHeader {
  return strictly(() => {
    if (bytes.length > MAX_MANIFEST_BYTES) throw bad(`manifest of ${bytes.length} bytes exceeds ${MAX_MANIFEST_BYTES}`);
    const r = new BinaryReader(bytes);
    if (!r.bytes(MAGIC.length).equals(MAGIC)) throw bad("not a peershare manifest");
    const version = r.u8();
    if (!isReadableVersion(version)) throw bad(`unsupported manifest version ${version} (this node reads versions 1 to 3)`);
    const modeByte = r.u8();
    if (modeByte > 1) throw bad(`unknown encryption mode ${modeByte}`);
    const count = r.u32();
    if (count > MAX_CHUNKS || HEADER_FIXED_BYTES + count * ID_BYTES > bytes.length) throw bad(`chunk count ${count} does not fit the manifest`);
    const chunkIds: Buffer[] = [];
    for (let i = 0; i < count; i++) chunkIds.push(r.bytes(ID_BYTES));
    return { version, mode: modeByte === 1 ? "private" : "public", chunkIds, bodyOffset: bytes.length - r.remaining };
  });
}

/** Decodes and validates a manifest object's stored bytes; `key` is required for private manifests. */
export function decodeManifest(bytes: Buffer, key: Buffer | null): Manifest {
  return strictly(() => {
    const header = decodeManifestHeader(bytes);
    let body = bytes.subarray(header.bodyOffset);
    if (header.mode === "private") {
      if (!key) throw bad("this manifest is private: its link's key is needed to read it");
      body = open(key, body, bytes.subarray(0, header.bodyOffset));
    }
    return decodeBody(body, header);
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeBody(body: Buffer, header: ManifestHeader): Manifest {
  const r = new BinaryReader(body);
  const size = r.u64();
  const fileHash = Buffer.from(r.bytes(32));
  const name = utf8.decode(r.varBytes(MAX_NAME_BYTES));
  if (!isSafeFileName(name)) throw bad(`unsafe file name ${JSON.stringify(name)}`);
  const mediaType = r.varBytes(MAX_MEDIA_TYPE_BYTES).toString("latin1");
  if (!isValidMediaType(mediaType)) throw bad(`invalid media type ${JSON.stringify(mediaType)}`);
  const chunks: ManifestChunk[] = [];
  let total = 0;
  for (const id of header.chunkIds) {
    const chunkSize = r.u32();
    if (chunkSize === 0 || chunkSize > MAX_CHUNK_BYTES) throw bad(`chunk size ${chunkSize} out of range`);
    const chunkKey = header.mode === "private" ? Buffer.from(r.bytes(KEY_BYTES)) : null;
    chunks.push({ id: Buffer.from(id), size: chunkSize, key: chunkKey });
    total += chunkSize;
  }
  r.end();
  if (total !== size) throw bad(`chunk sizes add up to ${total}, not the file size ${size}`);
  return { version: header.version, mode: header.mode, name, size, mediaType, digest: fileHash, chunks };
}

/**
 * The hash a manifest version names things with (object ids, the content ID, chunk digests): BLAKE3
 * from version 3, SHA-256 before.
 */
export function hashOfVersion(data: FileData, version: ManifestVersion = MANIFEST_VERSION): Buffer {
  return version >= 3 ? objectIdOf(data) : sha256(data);
}

/** A file digest (version 2 or later) from the chunks' plaintext digests, in file order. */
export function fileDigestOfChunkDigests(digests: readonly Buffer[], version: ManifestVersion = MANIFEST_VERSION): Buffer {
  return hashOfVersion(digests, version);
}

/** Computes a manifest's file digest from the plaintext, chunk by chunk in file order, as its version defines it. */
export class FileDigest {
  private readonly hash: Hash = createHash("sha256");
  private readonly chunkDigests: Buffer[] = [];

  constructor(private readonly version: ManifestVersion) {}

  /** Adds the next chunk (version 1: any next piece of the plaintext; its digest is of the whole). */
  addChunk(plaintext: Uint8Array): void {
    if (this.version === 1) this.hash.update(plaintext);
    else this.chunkDigests.push(hashOfVersion(plaintext, this.version));
  }

  /** True when the chunks added make the file digest `expected`. */
  matches(expected: Buffer): boolean {
    const digest = this.version === 1 ? this.hash.digest() : fileDigestOfChunkDigests(this.chunkDigests, this.version);
    return digest.equals(expected);
  }
}

function bad(message: string): CasError {
  return new CasError("EBADMANIFEST", message);
}

/** The error of a manifest (of a file or a folder) that fails to decode or validate. */
export const badManifest = bad;

/** Runs a decoder so that any failure, whatever its origin, surfaces as a CasError ("malformed `what`: …"). */
export function strictly<T>(decode: () => T, what = "manifest"): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof CasError) throw err;
    throw bad(`malformed ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
