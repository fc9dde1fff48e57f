// Folder manifests: what a shared folder is made of. The folder's content ID is the hash of its root
// manifest object; each file of the folder is shared as a file is (its own file manifest, manifest.ts,
// and chunks), and the folder manifest lists them by path. A large folder's listing is split into
// part objects (at most PART_TARGET_BYTES each, so none comes near the object size limit), which the
// root names; the root holds the first stretch of the listing itself, so a small folder is one object.
//
//   header, in the clear (authenticated as AES-GCM additional data when private):
//     "PSHM" | version u8 = 0x81 | mode u8 (0 public, 1 private) | level u8 (0 root, 1 part)
//     | part count u16 (a part: 0) | object count u32 | part ids (32 each) | object ids (32 each)
//   body, plaintext when public, sealed with the object's key (ciphertext || tag) when private:
//     root only: folder name (u16 length, UTF-8) | files u32 | directories u32 | total bytes u64
//                | per part, its key (32, private only)
//     entries: count u32, then each: kind u8 (0 directory, 1 file) | path (u16 length, UTF-8, "/"-separated)
//              | file only: size u64 | flags u8 (bit 0: executable) | file manifest id (32)
//              | its manifest key (32, private only)
//
// The object ids of the header are every object of the folder other than the root and its parts: the
// file manifests and all their chunks, each listed once in the whole folder (by the first part that
// needs it). They are clear for the same reason a file manifest's chunk ids are: a node holding the
// folder for others (a replica) can tell which objects belong to it, keep and serve them, and repair
// the whole folder, without the key. Names, sizes, modes and keys stay encrypted.
//
// Entries are sorted by path (UTF-8 byte order), every directory listed (so empty ones come back),
// so one folder always encodes to the same bytes: the same folder shared twice gets the same
// content ID. The version byte sits where a file manifest's does, so a node of an earlier release
// refuses a folder link with "unsupported manifest version 129 (this node reads versions 1 to 3)".
//
// Decoding is strict and bounded and fails only with a CasError (EBADMANIFEST, EDECRYPT). A path is
// kept as written: whether it may be written under a target directory is decided per entry when it
// is (folder-path.ts), so one bad entry does not hide the rest.

import { BinaryReader, BinaryWriter } from "../util/binary";
import { ConvergentKeys, KEY_BYTES, open, seal } from "./convergent-crypto";
import { isSafeFileName, MAX_NAME_BYTES } from "./file-name";
import { MAX_PATH_BYTES } from "./folder-path";
import { badManifest as bad, hashOfVersion, MAX_MANIFEST_BYTES, strictly as strictlyDecoded, type EncryptionMode } from "./manifest";
import { ID_BYTES } from "./object-store";

/** The version byte of folder manifests (high bit: a folder; low bits: format 1). */
export const FOLDER_MANIFEST_VERSION = 0x81;
/** Files and directories one folder share may hold. */
export const MAX_FOLDER_ENTRIES = 100_000;
/** A part is closed once its encoding would pass this size (a single very large file may pass it). */
export const PART_TARGET_BYTES = 1024 * 1024;
const MAX_PARTS = 0xffff;
const MAGIC = Buffer.from("PSHM");
const HEADER_FIXED_BYTES = MAGIC.length + 1 + 1 + 1 + 2 + 4;
const MAX_LISTED_IDS = Math.floor((MAX_MANIFEST_BYTES - HEADER_FIXED_BYTES) / ID_BYTES);

export interface FolderEntry {
  kind: "file" | "dir";
  /** "/"-separated, relative; as decoded (check it with folder-path.ts before writing it). */
  path: string;
  /** Set when the path's bytes are not valid UTF-8 (the path is then a lossy rendering). */
  badUtf8?: true;
  size: number;
  executable: boolean;
  /** The file's manifest (its content ID) and its key (private shares); null for directories. */
  manifestId: Buffer | null;
  manifestKey: Buffer | null;
}

export interface FolderSummary {
  name: string;
  files: number;
  dirs: number;
  /** Bytes of all files together. */
  size: number;
}

/** One folder manifest object, decoded. */
export interface FolderObject {
  level: "root" | "part";
  mode: EncryptionMode;
  partIds: Buffer[];
  objectIds: Buffer[];
  /** The root's summary and its parts' keys; null for a part. */
  summary: FolderSummary | null;
  partKeys: (Buffer | null)[];
  entries: FolderEntry[];
}

/** The clear header of a folder manifest object: no key needed. */
export interface FolderHeader {
  level: "root" | "part";
  mode: EncryptionMode;
  partIds: Buffer[];
  objectIds: Buffer[];
  bodyOffset: number;
}

export interface EncodedFolderObject {
  bytes: Buffer;
  id: Buffer;
  key: Buffer | null;
}

/** A whole folder to encode: what a share found, sorted or not. */
export interface FolderListing {
  summary: FolderSummary;
  mode: EncryptionMode;
  entries: FolderEntry[];
  /** Each file's objects (its manifest first, then its chunks), by the file manifest id (hex). */
  objectsOf: Map<string, Buffer[]>;
}

/** True when stored bytes start like a folder manifest. */
export function looksLikeFolderManifest(head: Buffer): boolean {
  return head.length > MAGIC.length && head.subarray(0, MAGIC.length).equals(MAGIC) && head[MAGIC.length] === FOLDER_MANIFEST_VERSION;
}

/** Orders paths as folder manifests do: by their UTF-8 bytes. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * Encodes a folder: its parts first (the root names them and holds their keys), then the root.
 * Returns every object, the root last; the root's id is the folder's content ID.
 */
export function encodeFolder(listing: FolderListing, keys: ConvergentKeys | null): { root: EncodedFolderObject; parts: EncodedFolderObject[] } {
  if (listing.mode === "private" && !keys) throw new TypeError("a private folder manifest needs convergent keys");
  if (listing.entries.length > MAX_FOLDER_ENTRIES) throw new RangeError(`a shared folder holds at most ${MAX_FOLDER_ENTRIES} files and directories`);
  const entries = [...listing.entries].sort((a, b) => comparePaths(a.path, b.path));
  const stretches = splitIntoStretches(entries, listing);
  const parts = stretches.slice(1).map((s) => encodeObject({ level: "part", mode: listing.mode, partIds: [], objectIds: s.objectIds, summary: null, partKeys: [], entries: s.entries }, keys));
  if (parts.length > MAX_PARTS) throw new RangeError("the folder listing needs too many parts");
  const root = encodeObject(
    { level: "root", mode: listing.mode, partIds: parts.map((p) => p.id), objectIds: stretches[0].objectIds, summary: listing.summary, partKeys: parts.map((p) => p.key), entries: stretches[0].entries },
    keys,
  );
  return { root, parts };
}

interface Stretch {
  entries: FolderEntry[];
  objectIds: Buffer[];
}

/** Cuts the sorted entries into stretches of about PART_TARGET_BYTES, each listing the objects it is first to need. */
function splitIntoStretches(entries: FolderEntry[], listing: FolderListing): Stretch[] {
  const listed = new Set<string>();
  const stretches: Stretch[] = [{ entries: [], objectIds: [] }];
  let bytes = HEADER_FIXED_BYTES + 64; // the root's summary, roughly
  for (const entry of entries) {
    const fresh = (entry.manifestId ? (listing.objectsOf.get(entry.manifestId.toString("hex")) ?? [entry.manifestId]) : []).filter((id) => !listed.has(id.toString("hex")));
    const cost = entryBytes(entry, listing.mode) + fresh.length * ID_BYTES;
    let current = stretches[stretches.length - 1];
    if (current.entries.length > 0 && bytes + cost > PART_TARGET_BYTES) {
      current = { entries: [], objectIds: [] };
      stretches.push(current);
      bytes = HEADER_FIXED_BYTES;
    }
    if (current.objectIds.length + fresh.length > MAX_LISTED_IDS) throw new RangeError(`${entry.path} has too many chunks for a folder manifest`);
    for (const id of fresh) listed.add(id.toString("hex"));
    current.entries.push(entry);
    current.objectIds.push(...fresh);
    bytes += cost;
  }
  return stretches;
}

function entryBytes(e: FolderEntry, mode: EncryptionMode): number {
  return 1 + 2 + Buffer.byteLength(e.path) + (e.kind === "file" ? 8 + 1 + ID_BYTES + (mode === "private" ? KEY_BYTES : 0) : 0);
}

function encodeObject(o: FolderObject, keys: ConvergentKeys | null): EncodedFolderObject {
  const header = encodeHeader(o);
  const body = encodeBody(o);
  let bytes: Buffer;
  let key: Buffer | null = null;
  if (o.mode === "private") {
    key = keys!.manifestKey(Buffer.concat([header, body]));
    bytes = Buffer.concat([header, seal(key, body, header)]);
  } else bytes = Buffer.concat([header, body]);
  if (bytes.length > MAX_MANIFEST_BYTES) throw new RangeError("a folder manifest object grew past the object size limit");
  return { bytes, id: hashOfVersion(bytes), key };
}

function encodeHeader(o: FolderObject): Buffer {
  const w = new BinaryWriter().bytes(MAGIC).u8(FOLDER_MANIFEST_VERSION).u8(o.mode === "private" ? 1 : 0).u8(o.level === "root" ? 0 : 1);
  w.u16(o.partIds.length).u32(o.objectIds.length);
  for (const id of [...o.partIds, ...o.objectIds]) w.bytes(id);
  return w.finish();
}

function encodeBody(o: FolderObject): Buffer {
  const w = new BinaryWriter();
  if (o.summary) {
    w.varBytes(Buffer.from(o.summary.name, "utf8")).u32(o.summary.files).u32(o.summary.dirs).u64(o.summary.size);
    if (o.mode === "private") for (const k of o.partKeys) w.bytes(k!);
  }
  w.u32(o.entries.length);
  for (const e of o.entries) {
    w.u8(e.kind === "file" ? 1 : 0).varBytes(Buffer.from(e.path, "utf8"));
    if (e.kind === "dir") continue;
    w.u64(e.size).u8(e.executable ? 1 : 0).bytes(e.manifestId!);
    if (o.mode === "private") w.bytes(e.manifestKey!);
  }
  return w.finish();
}

/** Parses the clear header of a folder manifest object. */
export function decodeFolderHeader(bytes: Buffer): FolderHeader {
  return strictly(() => {
    if (bytes.length > MAX_MANIFEST_BYTES) throw bad(`folder manifest of ${bytes.length} bytes exceeds ${MAX_MANIFEST_BYTES}`);
    const r = new BinaryReader(bytes);
    if (!r.bytes(MAGIC.length).equals(MAGIC) || r.u8() !== FOLDER_MANIFEST_VERSION) throw bad("not a folder manifest");
    const modeByte = r.u8();
    const levelByte = r.u8();
    if (modeByte > 1) throw bad(`unknown encryption mode ${modeByte}`);
    if (levelByte > 1) throw bad(`unknown folder manifest level ${levelByte}`);
    const partCount = r.u16();
    const objectCount = r.u32();
    if (levelByte === 1 && partCount > 0) throw bad("a folder manifest part names parts of its own");
    if (partCount + objectCount > MAX_LISTED_IDS || HEADER_FIXED_BYTES + (partCount + objectCount) * ID_BYTES > bytes.length) throw bad(`${partCount + objectCount} listed objects do not fit the folder manifest`);
    const ids = (n: number) => Array.from({ length: n }, () => Buffer.from(r.bytes(ID_BYTES)));
    const partIds = ids(partCount);
    const objectIds = ids(objectCount);
    return { level: levelByte === 0 ? "root" : "part", mode: modeByte === 1 ? "private" : "public", partIds, objectIds, bodyOffset: bytes.length - r.remaining };
  });
}

/** Decodes one folder manifest object (root or part); `key` is required when it is private. */
export function decodeFolderObject(bytes: Buffer, key: Buffer | null): FolderObject {
  return strictly(() => {
    const header = decodeFolderHeader(bytes);
    let body = bytes.subarray(header.bodyOffset);
    if (header.mode === "private") {
      if (!key) throw bad("this folder is private: its link's key is needed to read it");
      body = open(key, body, bytes.subarray(0, header.bodyOffset));
    }
    const r = new BinaryReader(body);
    const summary = header.level === "root" ? readSummary(r) : null;
    const partKeys = header.partIds.map(() => (header.mode === "private" ? Buffer.from(r.bytes(KEY_BYTES)) : null));
    const count = r.u32();
    if (count > MAX_FOLDER_ENTRIES) throw bad(`${count} entries exceed ${MAX_FOLDER_ENTRIES}`);
    const entries: FolderEntry[] = [];
    for (let i = 0; i < count; i++) entries.push(readEntry(r, header.mode));
    r.end();
    return { level: header.level, mode: header.mode, partIds: header.partIds, objectIds: header.objectIds, summary, partKeys, entries };
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function readSummary(r: BinaryReader): FolderSummary {
  const name = utf8.decode(r.varBytes(MAX_NAME_BYTES));
  if (!isSafeFileName(name)) throw bad(`unsafe folder name ${JSON.stringify(name)}`);
  return { name, files: r.u32(), dirs: r.u32(), size: r.u64() };
}

function readEntry(r: BinaryReader, mode: EncryptionMode): FolderEntry {
  const kindByte = r.u8();
  if (kindByte > 1) throw bad(`unknown entry kind ${kindByte}`);
  const raw = r.varBytes(MAX_PATH_BYTES);
  const path = raw.toString("utf8");
  const badUtf8 = !Buffer.from(path, "utf8").equals(raw);
  const base = { path, ...(badUtf8 ? { badUtf8: true as const } : {}) };
  if (kindByte === 0) return { kind: "dir", ...base, size: 0, executable: false, manifestId: null, manifestKey: null };
  const size = r.u64();
  const flags = r.u8();
  if (flags > 1) throw bad(`unknown file flags ${flags}`);
  const manifestId = Buffer.from(r.bytes(ID_BYTES));
  const manifestKey = mode === "private" ? Buffer.from(r.bytes(KEY_BYTES)) : null;
  return { kind: "file", ...base, size, executable: flags === 1, manifestId, manifestKey };
}

/**
 * A whole folder from its root and its parts (in the root's order, each already checked against its
 * id): the summary and every entry. Checks what only the whole can show: entries in strictly
 * increasing path order across parts, the summary's counts, and that every file's manifest is one of
 * the folder's listed objects (so whoever holds the folder holds it).
 */
export function assembleFolder(root: FolderObject, parts: FolderObject[]): { summary: FolderSummary; entries: FolderEntry[]; objectIds: Buffer[] } {
  return strictly(() => {
    if (root.level !== "root" || !root.summary) throw bad("not a folder's root manifest");
    if (parts.length !== root.partIds.length || parts.some((p) => p.level !== "part" || p.mode !== root.mode)) throw bad("the folder's parts do not match its root");
    const entries = [root, ...parts].flatMap((o) => o.entries);
    if (entries.length > MAX_FOLDER_ENTRIES) throw bad(`${entries.length} entries exceed ${MAX_FOLDER_ENTRIES}`);
    const rawPaths = entries.map((e) => Buffer.from(e.path, "utf8"));
    for (let i = 1; i < entries.length; i++) if (Buffer.compare(rawPaths[i - 1], rawPaths[i]) >= 0) throw bad(`entries out of order or repeated at ${JSON.stringify(entries[i].path)}`);
    const files = entries.filter((e) => e.kind === "file");
    const { summary } = root;
    const total = files.reduce((n, f) => n + f.size, 0);
    if (files.length !== summary.files || entries.length - files.length !== summary.dirs || total !== summary.size) throw bad("the folder's summary does not match its entries");
    const objectIds = [...root.objectIds, ...parts.flatMap((p) => p.objectIds)];
    const listed = new Set(objectIds.map((id) => id.toString("hex")));
    const unlisted = files.find((f) => !listed.has(f.manifestId!.toString("hex")));
    if (unlisted) throw bad(`${JSON.stringify(unlisted.path)} names a file manifest the folder does not list`);
    return { summary, entries, objectIds };
  });
}

const strictly = <T>(decode: () => T): T => strictlyDecoded(decode, "folder manifest");
