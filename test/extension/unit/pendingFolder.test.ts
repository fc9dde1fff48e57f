import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePendingFolder, PENDING_FOLDER_MAX_AGE_MS, pendingFolderAction } from "../../../extension/pendingFolder";

const ID = "ab".repeat(32);
const NOW = 1_800_000_000_000;
const note = { contentId: ID, at: NOW - 5000 };

test("a window that came up as a workspace with no folder right after a shared folder was added is reloaded", () => {
  assert.equal(pendingFolderAction(note, NOW, { isWorkspace: true, folderContentIds: [] }), "reload");
});

test("otherwise the note is forgotten, and nothing is done", () => {
  assert.equal(pendingFolderAction(undefined, NOW, { isWorkspace: true, folderContentIds: [] }), "none");
  // the folder is there (with the window's own folder, which has no content ID)
  assert.equal(pendingFolderAction(note, NOW, { isWorkspace: true, folderContentIds: [undefined, ID] }), "forget");
  // folders, just not that one: not the failure this is about
  assert.equal(pendingFolderAction(note, NOW, { isWorkspace: true, folderContentIds: [undefined] }), "forget");
  // not a workspace (an empty window, a single folder)
  assert.equal(pendingFolderAction(note, NOW, { isWorkspace: false, folderContentIds: [] }), "forget");
  // stale, or from the future (a clock that moved)
  assert.equal(pendingFolderAction({ contentId: ID, at: NOW - PENDING_FOLDER_MAX_AGE_MS - 1 }, NOW, { isWorkspace: true, folderContentIds: [] }), "forget");
  assert.equal(pendingFolderAction({ contentId: ID, at: NOW + 60_000 }, NOW, { isWorkspace: true, folderContentIds: [] }), "forget");
});

test("the note as stored", () => {
  assert.deepEqual(parsePendingFolder(JSON.stringify(note)), note);
  assert.equal(parsePendingFolder(undefined), undefined);
  assert.equal(parsePendingFolder(""), undefined);
  assert.equal(parsePendingFolder("{"), undefined);
  assert.equal(parsePendingFolder(JSON.stringify({ contentId: "xyz", at: 1 })), undefined);
  assert.equal(parsePendingFolder(JSON.stringify({ contentId: ID })), undefined);
});
