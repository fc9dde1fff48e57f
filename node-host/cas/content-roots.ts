// Which manifests in the store are contents of their own (a shared file, a shared folder) rather than
// pieces of a folder: a folder's parts and the file manifests it lists are manifests too, but they
// are listed, replicated, repaired and announced only as part of their folder. A file manifest that
// is also a content of its own (the same file shared alone as well, which gives the same manifest)
// is kept as a content when `standalone` says so.

import type { ContentStore } from "./content-store";
import { looksLikeFolderManifest } from "./folder-manifest";
import { manifestLinks } from "./manifest-links";

/** Bytes read from each manifest to tell a folder's from a file's. */
const HEAD_BYTES = 5;

/** The contents among `manifestIds` (manifests in `store`), in their order. */
export async function contentRoots(store: ContentStore, manifestIds: Buffer[], standalone: (id: Buffer) => boolean): Promise<Buffer[]> {
  const folderObjects = new Set<string>();
  for (const id of manifestIds) {
    const head = await store.objects.readHead(id, HEAD_BYTES);
    if (head && looksLikeFolderManifest(head)) folderObjects.add(id.toString("hex"));
  }
  const members = new Set<string>();
  for (const hex of folderObjects) {
    const bytes = await store.get(Buffer.from(hex, "hex"));
    const links = bytes && manifestLinks(bytes);
    if (!links) continue;
    if (links.kind === "folder-part") members.add(hex);
    for (const id of [...links.parts, ...links.objects]) members.add(id.toString("hex"));
  }
  return manifestIds.filter((id) => !members.has(id.toString("hex")) || (!folderObjects.has(id.toString("hex")) && standalone(id)));
}
