// What a manifest object lists, read from its clear header alone (no key needed), for both kinds of
// content: a shared file (its manifest lists its chunks) and a shared folder (its root lists its parts
// and the folder's other objects: file manifests and their chunks; a part lists more of them). Every
// place that treats a content as a whole (replication, repair, status, the store's gc and its
// listing) goes through here, so a folder's objects travel together as a file's do.

import { decodeFolderHeader, looksLikeFolderManifest } from "./folder-manifest";
import { decodeManifestHeader, looksLikeManifest as looksLikeFileManifest } from "./manifest";

export type ManifestKind = "file" | "folder" | "folder-part";

export interface ManifestLinks {
  kind: ManifestKind;
  /** A folder root's part objects (each itself a manifest listing more objects); empty otherwise. */
  parts: Buffer[];
  /** The objects listed that list nothing more for the content: a file's chunks, a folder's file manifests and chunks. */
  objects: Buffer[];
}

/** True when stored bytes start like a manifest of either kind (tells manifests from chunks in the store). */
export function looksLikeManifest(head: Buffer): boolean {
  return looksLikeFileManifest(head) || looksLikeFolderManifest(head);
}

/** What the manifest lists, or null when the bytes are not a manifest this node reads. */
export function manifestLinks(bytes: Buffer): ManifestLinks | null {
  try {
    if (looksLikeFolderManifest(bytes)) {
      const h = decodeFolderHeader(bytes);
      return { kind: h.level === "root" ? "folder" : "folder-part", parts: h.partIds, objects: h.objectIds };
    }
    if (looksLikeFileManifest(bytes)) return { kind: "file", parts: [], objects: decodeManifestHeader(bytes).chunkIds };
  } catch {
    // looked like a manifest, is not one: plain data
  }
  return null;
}

/** Largest number of objects one content may have (a folder of 100,000 files of a few chunks each, with room). */
export const MAX_CONTENT_OBJECTS = 1_000_000;

/**
 * Every object of a content, distinct, in the order a copy must travel: the content's manifest, a
 * folder's parts (together the `lead`: a receiver takes what they list only once it holds them),
 * then what they list. Null when the manifest or a part cannot be had (`get` gives
 * null), or the manifest is not one; throws when a crafted folder lists more than MAX_CONTENT_OBJECTS.
 */
export async function contentObjects(contentId: Buffer, get: (id: Buffer) => Promise<Buffer | null>): Promise<{ kind: ManifestKind; ids: Buffer[]; lead: number } | null> {
  const bytes = await get(contentId);
  const links = bytes && manifestLinks(bytes);
  if (!links || links.kind === "folder-part") return null;
  const ids = new Distinct([contentId, ...links.parts]);
  ids.addAll(links.objects);
  for (const part of links.parts) {
    const partBytes = await get(part);
    const partLinks = partBytes && manifestLinks(partBytes);
    if (!partLinks || partLinks.kind !== "folder-part") return null;
    ids.addAll(partLinks.objects);
  }
  return { kind: links.kind, ids: ids.list, lead: 1 + links.parts.length };
}

/** A list of ids without repeats, bounded by MAX_CONTENT_OBJECTS. */
class Distinct {
  readonly list: Buffer[] = [];
  private readonly seen = new Set<string>();

  constructor(first: Buffer[]) {
    this.addAll(first);
  }

  addAll(ids: Buffer[]): void {
    for (const id of ids) {
      const hex = id.toString("hex");
      if (this.seen.has(hex)) continue;
      if (this.list.length >= MAX_CONTENT_OBJECTS) throw new RangeError(`a content lists more than ${MAX_CONTENT_OBJECTS} objects`);
      this.seen.add(hex);
      this.list.push(id);
    }
  }
}
