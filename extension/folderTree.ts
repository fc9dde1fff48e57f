// A shared folder's tree as the `peershare:` file system serves it (stat, readDirectory), built from
// the node's listing of the folder (content.list: its folder manifest, no file fetched). Entries a
// fetch would refuse (names that could leave the target) are left out of the tree. Pure: no VS Code
// API, so it is unit-tested directly.
import type { FolderEntryInfo, FolderListingInfo } from "../node-host/rpc/api-types";

export interface TreeItem {
  kind: "file" | "dir";
  size: number;
}

export class FolderTree {
  /** Path ("" the folder itself) → what is there. */
  private readonly items = new Map<string, TreeItem>([["", { kind: "dir", size: 0 }]]);
  /** Directory path → its children's names, in order. */
  private readonly childrenOf = new Map<string, string[]>([["", []]]);
  /** Entries left out of the tree, with why. */
  readonly refused: FolderEntryInfo[] = [];

  constructor(readonly listing: FolderListingInfo) {
    for (const e of listing.entries) {
      if (e.refused) this.refused.push(e);
      else this.add(e.path, { kind: e.kind, size: e.size });
    }
  }

  /** The file or directory at `rel` ("" or undefined: the folder itself). */
  lookup(rel: string | undefined): TreeItem | undefined {
    return this.items.get(rel ?? "");
  }

  /** The names in directory `rel` with what each is; undefined when `rel` is not a directory. */
  children(rel: string | undefined): [string, TreeItem][] | undefined {
    const names = this.childrenOf.get(rel ?? "");
    return names?.map((name) => [name, this.items.get(rel ? `${rel}/${name}` : name)!]);
  }

  /** Every file's path, in the listing's order. */
  files(): string[] {
    return [...this.items].filter(([, item]) => item.kind === "file").map(([p]) => p);
  }

  private add(rel: string, item: TreeItem): void {
    if (this.items.has(rel)) return;
    const cut = rel.lastIndexOf("/");
    const parent = cut < 0 ? "" : rel.slice(0, cut);
    if (!this.items.has(parent)) this.add(parent, { kind: "dir", size: 0 }); // a directory the listing implies
    this.items.set(rel, item);
    if (item.kind === "dir") this.childrenOf.set(rel, []);
    this.childrenOf.get(parent)?.push(rel.slice(cut + 1));
  }
}
