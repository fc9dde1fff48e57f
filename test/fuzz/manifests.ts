// Crafted manifests (cas/manifest.ts) for the decoder and the fetch path: written byte by byte, so
// counts, sizes, names and lengths can say anything a hostile holder likes.

import { MANIFEST_VERSION } from "../../node-host/cas/manifest";

export interface RawManifestFields {
  magic?: Buffer;
  version?: number;
  mode?: number;
  /** Chunk count as written in the header (default: ids.length). */
  count?: number;
  ids: Buffer[];
  /** File size as written (u64; may exceed 2^53). */
  size: bigint;
  /** The file digest (default: zeros). */
  digest?: Buffer;
  name: Buffer | string;
  /** Name length as written (default: the name's byte length). */
  nameLength?: number;
  mediaType?: Buffer | string;
  /** Plaintext size per chunk, as written (u32). */
  sizes: number[];
  /** Bytes after the last field. */
  trailing?: Buffer;
}

/** A public manifest's stored bytes with every field as given (no checks at all). */
export function rawPublicManifest(f: RawManifestFields): Buffer {
  const header = Buffer.alloc(10);
  (f.magic ?? Buffer.from("PSHM")).copy(header, 0);
  header[4] = f.version ?? MANIFEST_VERSION;
  header[5] = f.mode ?? 0;
  header.writeUInt32BE((f.count ?? f.ids.length) >>> 0, 6);
  const name = typeof f.name === "string" ? Buffer.from(f.name, "utf8") : f.name;
  const media = typeof f.mediaType === "string" || f.mediaType === undefined ? Buffer.from(f.mediaType ?? "application/octet-stream", "latin1") : f.mediaType;
  const fixed = Buffer.alloc(8 + 32);
  fixed.writeBigUInt64BE(BigInt.asUintN(64, f.size), 0);
  (f.digest ?? Buffer.alloc(32)).copy(fixed, 8);
  const nameLength = Buffer.alloc(2);
  nameLength.writeUInt16BE((f.nameLength ?? name.length) & 0xffff, 0);
  const mediaLength = Buffer.alloc(2);
  mediaLength.writeUInt16BE(media.length, 0);
  const sizes = Buffer.alloc(4 * f.sizes.length);
  f.sizes.forEach((s, i) => sizes.writeUInt32BE(s >>> 0, 4 * i));
  return Buffer.concat([header, ...f.ids, fixed, nameLength, name, mediaLength, media, sizes, f.trailing ?? Buffer.alloc(0)]);
}

/** Names a manifest must never be allowed to carry (each escapes, or could escape, the output directory). */
export const UNSAFE_NAMES: readonly string[] = [
  "../../x",
  "/etc/passwd",
  "a/../../b",
  "..",
  ".",
  "",
  "x\u0000.txt",
  "..\\..\\x",
  "C:\\Windows\\x",
  "dir/",
  "/",
  "x\n",
  "\u007f",
  " leading-space",
  "trailing-space ",
  "a".repeat(256),
  "\u00e9".repeat(128),
];

export interface CraftedManifest {
  what: string;
  bytes: Buffer;
  /** What the decoder's error must say. */
  error: RegExp;
}

/** Public manifests that must be refused by decodeManifest, each with the reason it must give. */
export function craftedManifests(chunkId: Buffer, chunkSize: number): CraftedManifest[] {
  const ok = { ids: [chunkId], size: BigInt(chunkSize), sizes: [chunkSize], name: "file.bin" };
  const out: CraftedManifest[] = UNSAFE_NAMES.map((name) => ({ what: `name ${JSON.stringify(name).slice(0, 40)}`, bytes: rawPublicManifest({ ...ok, name }), error: /unsafe file name|malformed manifest/ }));
  const maxChunks = Math.floor((8 * 1024 * 1024 - 10) / 32);
  out.push(
    { what: "chunk count 2^32 - 1", bytes: rawPublicManifest({ ...ok, count: 0xffffffff }), error: /chunk count 4294967295 does not fit/ },
    { what: "chunk count one above the maximum", bytes: rawPublicManifest({ ...ok, count: maxChunks + 1 }), error: /chunk count \d+ does not fit/ },
    { what: "chunk count larger than the ids present", bytes: rawPublicManifest({ ...ok, count: 1000 }), error: /chunk count 1000 does not fit/ },
    { what: "file size 2^53 (beyond exact numbers)", bytes: rawPublicManifest({ ...ok, size: 2n ** 53n }), error: /u64 out of range/ },
    { what: "file size -1 as a signed 64-bit integer", bytes: rawPublicManifest({ ...ok, size: -1n }), error: /u64 out of range/ },
    { what: "chunk size 0", bytes: rawPublicManifest({ ...ok, size: 0n, sizes: [0] }), error: /chunk size 0 out of range/ },
    { what: "chunk size 2^32 - 1", bytes: rawPublicManifest({ ...ok, size: 0xffffffffn, sizes: [0xffffffff] }), error: /chunk size 4294967295 out of range/ },
    { what: "sizes that do not add up", bytes: rawPublicManifest({ ...ok, size: BigInt(chunkSize + 1) }), error: /add up to/ },
    { what: "name length past the end", bytes: rawPublicManifest({ ...ok, nameLength: 60_000 }), error: /malformed manifest/ },
    { what: "name of invalid UTF-8", bytes: rawPublicManifest({ ...ok, name: Buffer.from([0x66, 0xff, 0xfe]) }), error: /malformed manifest/ },
    { what: "media type with a path", bytes: rawPublicManifest({ ...ok, mediaType: "../../etc/passwd" }), error: /invalid media type/ },
    { what: "version 4", bytes: rawPublicManifest({ ...ok, version: 4 }), error: /unsupported manifest version/ },
    { what: "version 0", bytes: rawPublicManifest({ ...ok, version: 0 }), error: /unsupported manifest version/ },
    { what: "mode 7", bytes: rawPublicManifest({ ...ok, mode: 7 }), error: /unknown encryption mode/ },
    { what: "trailing bytes", bytes: rawPublicManifest({ ...ok, trailing: Buffer.from("extra") }), error: /trailing bytes/ },
    { what: "cut short", bytes: rawPublicManifest(ok).subarray(0, 60), error: /malformed manifest|does not fit/ },
  );
  return out;
}
