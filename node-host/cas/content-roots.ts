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

/** What is known of manifests' kinds (hex ID → folder manifest or not): an object's bytes never change. */
export interface ManifestKinds {
  get(hex: string): boolean | undefined;
  set(hex: string, folder: boolean): void;
}

/**
 * The contents among `manifestIds` (manifests in `store`), in their order. With `kinds`, a
 * manifest's kind is read from the store only the first time (a sweep over 10,000 contents read
 * the head of every manifest each time).
 */
export async function contentRoots(store: ContentStore, manifestIds: Buffer[], standalone: (id: Buffer) => boolean, kinds?: ManifestKinds): Promise<Buffer[]> {
  const folderObjects = new Set<string>();
  for (const id of manifestIds) {
    const hex = id.toString("hex");
    let folder = kinds?.get(hex);
    if (folder === undefined) {
      const head = await store.objects.readHead(id, HEAD_BYTES);
      if (!head) continue;
      folder = looksLikeFolderManifest(head);
      kinds?.set(hex, folder);
    }
    if (folder) folderObjects.add(hex);
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
