// Reading a shared folder back: its root manifest (the content ID), its parts, and each file's own
// manifest, from wherever the caller gets verified objects (the store, holders).

import { CasError } from "./errors";
import { assembleFolder, decodeFolderObject, looksLikeFolderManifest, type FolderEntry, type FolderSummary } from "./folder-manifest";
import { decodeManifest, type EncryptionMode, type Manifest } from "./manifest";
import { formatShareLink, parseShareLink } from "./share-link";

export interface OpenFolder {
  contentId: string;
  mode: EncryptionMode;
  summary: FolderSummary;
  /** Sorted by path. */
  entries: FolderEntry[];
  /** The root manifest's parts (their ids). */
  partIds: Buffer[];
  /** Every object the folder lists besides its root and parts: file manifests and chunks. */
  objectIds: Buffer[];
}

/** An object's bytes, checked against its id; throws when it cannot be had. */
export type GetObject = (id: Buffer) => Promise<Buffer>;

/** Whether a content's manifest (its stored bytes) is a folder's. */
export function isFolderManifest(bytes: Buffer): boolean {
  return looksLikeFolderManifest(bytes);
}

/** Opens the folder a link names: its root with the link's key, then each part with the key the root gives it. */
export async function readFolder(link: string, get: GetObject): Promise<OpenFolder> {
  const { contentId, key } = parseShareLink(link);
  const rootBytes = await get(Buffer.from(contentId, "hex"));
  if (!looksLikeFolderManifest(rootBytes)) throw new CasError("EBADMANIFEST", `${contentId} is a shared file, not a folder`);
  const root = decodeFolderObject(rootBytes, key);
  if (root.level !== "root") throw new CasError("EBADMANIFEST", `${contentId} is a part of a folder manifest, not a folder`);
  const parts = [];
  for (const [i, id] of root.partIds.entries()) parts.push(decodeFolderObject(await get(id), root.partKeys[i]));
  const { summary, entries, objectIds } = assembleFolder(root, parts);
  return { contentId, mode: root.mode, summary, entries, partIds: root.partIds, objectIds };
}

/** A file's manifest from its stored bytes, with the key its folder entry gives; it must agree with the entry's size. */
export function entryManifest(entry: FolderEntry, bytes: Buffer): Manifest {
  const manifest = decodeManifest(bytes, entry.manifestKey);
  if (manifest.size !== entry.size) throw new CasError("EBADMANIFEST", `its file manifest says ${manifest.size} bytes, the folder ${entry.size}`);
  return manifest;
}

/** The share link of one file of a folder: its own manifest, with the key its folder entry gives. */
export function entryLink(entry: FolderEntry): string {
  return formatShareLink(entry.manifestId!.toString("hex"), entry.manifestKey);
}
