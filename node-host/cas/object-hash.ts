// The hash that names objects. An object id is the BLAKE3 hash (32 bytes) of the object's stored
// bytes, and so is a content ID (the id of a manifest object). BLAKE3 from the native Rust crate
// (@napi-rs/blake-hash, prebuilt for each platform on npm, no build step) hashes 5.4–5.7 GB/s here
// with AVX-512, against ~1.6 GB/s for node:crypto's SHA-256 with SHA-NI; a share hashes every byte twice
// (plaintext for its key, stored bytes for its id) and every transfer verifies what it reads and
// receives, so this is the largest single cost of sharing that can be cut.
//
// Objects of manifest versions 1 and 2 are named by SHA-256. They are still accepted: bytes match an
// id when either hash of them is that id. Forging a match needs a second preimage of BLAKE3 or of
// SHA-256, as hard as before; the SHA-256 is computed only when BLAKE3 does not match (a legacy
// object, or a corrupt one).
//
// Where the native package does not load (a platform it has no binary for, a broken install), BLAKE3
// is computed by blake3-js.ts instead: the same ids, more slowly, and `peershare id` says so.

import { createHash } from "node:crypto";
import type { FileData } from "./durable-write";
import { Blake3Js } from "./blake3-js";
import { optionalNative } from "../platform/native-module";

/** The package the seal workers load by path (seal-pool.ts) to hash on their own threads. */
export const BLAKE3_PACKAGE = "@napi-rs/blake-hash";

type NativeBlake3 = typeof import("@napi-rs/blake-hash");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadNative = optionalNative<NativeBlake3>(BLAKE3_PACKAGE, () => require("@napi-rs/blake-hash"));

/** Which BLAKE3 this process hashes with: the native package, or the JavaScript one and why. */
export function blake3Implementation(): { native: true } | { native: false; reason: string } {
  const load = loadNative();
  return load.ok ? { native: true } : { native: false, reason: load.reason };
}

/** BLAKE3 of the bytes (parts are hashed as if concatenated): the id of new objects. */
export function objectIdOf(data: FileData): Buffer {
  const load = loadNative();
  if (!load.ok) {
    const hasher = new Blake3Js();
    for (const part of data instanceof Uint8Array ? [data] : data) hasher.update(part);
    return hasher.digest();
  }
  if (data instanceof Uint8Array) return load.module.blake3(asBuffer(data));
  const hasher = new load.module.Blake3Hasher();
  for (const part of data) hasher.update(asBuffer(part));
  return hasher.digestBuffer();
}

/** A Buffer view of the same bytes (the package takes Buffers only); no copy. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** SHA-256 of the bytes: object ids and digests of manifest versions 1 and 2. */
export function sha256(data: FileData): Buffer {
  const hash = createHash("sha256");
  for (const part of data instanceof Uint8Array ? [data] : data) hash.update(part);
  return hash.digest();
}

/** True when `data` is the object named `id`: its BLAKE3, or (version 1 and 2 objects) its SHA-256. */
export function isIdOf(id: Uint8Array, data: FileData): boolean {
  return objectIdOf(data).equals(id) || sha256(data).equals(id);
}
