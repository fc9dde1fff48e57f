import { test } from "node:test";
import assert from "node:assert/strict";
import { FolderTree } from "../../../extension/folderTree";
import type { FolderEntryInfo, FolderListingInfo } from "../../../node-host/rpc/api-types";

const file = (path: string, size = 10): FolderEntryInfo => ({ path, kind: "file", size, executable: false });
const dir = (path: string): FolderEntryInfo => ({ path, kind: "dir", size: 0, executable: false });
const listing = (entries: FolderEntryInfo[]): FolderListingInfo => ({ contentId: "0".repeat(64), name: "data", files: entries.filter((e) => e.kind === "file").length, dirs: 0, size: 0, public: false, entries });

test("the tree answers stat and readDirectory from the listing: files with sizes, directories, the folder itself", () => {
  const tree = new FolderTree(listing([file("README.md", 42), dir("docs"), file("docs/a.md", 7), dir("docs/api"), file("docs/api/v1.json"), dir("empty"), file("日本語/ファイル.txt", 3)]));
  assert.deepEqual(tree.lookup(undefined), { kind: "dir", size: 0 });
  assert.deepEqual(tree.lookup("README.md"), { kind: "file", size: 42 });
  assert.deepEqual(tree.lookup("docs/api"), { kind: "dir", size: 0 });
  assert.equal(tree.lookup("nope"), undefined);
  assert.deepEqual(tree.children("")?.map(([n, i]) => [n, i.kind]), [["README.md", "file"], ["docs", "dir"], ["empty", "dir"], ["日本語", "dir"]]);
  assert.deepEqual(tree.children("docs")?.map(([n]) => n), ["a.md", "api"]);
  assert.deepEqual(tree.children("empty"), []);
  assert.equal(tree.children("README.md"), undefined, "a file is not a directory");
  assert.deepEqual(tree.lookup("日本語"), { kind: "dir", size: 0 }, "a directory the listing implies");
  assert.deepEqual(tree.files(), ["README.md", "docs/a.md", "docs/api/v1.json", "日本語/ファイル.txt"]);
});

test("entries a fetch would refuse are left out of the tree, and kept aside with why", () => {
  const bad = { ...file("../escape.txt"), refused: 'unsafe path: "..": ".." is not a name' };
  const tree = new FolderTree(listing([bad, file("ok.txt")]));
  assert.deepEqual(tree.children("")?.map(([n]) => n), ["ok.txt"]);
  assert.equal(tree.lookup("../escape.txt"), undefined);
  assert.deepEqual(tree.refused, [bad]);
});
