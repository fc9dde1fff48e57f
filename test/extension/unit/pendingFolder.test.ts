import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePendingFolder, PENDING_FOLDER_MAX_AGE_MS, pendingFolderAction, type PendingFolder } from "../../../extension/pendingFolder";

const ID = "ab".repeat(32);
const NOW = 1_800_000_000_000;
const FROM = "vscode-remote://127.0.0.1:8080/home/me/project";
const SHARED = `peershare:/${ID}?k%3Dkey`;
const note: PendingFolder = { contentId: ID, uri: SHARED, name: "docs (shared)", from: FROM, at: NOW - 5000 };
const project = { uri: FROM };
const shared = { uri: SHARED, contentId: ID };

test("a workspace that came up with no folder right after a shared folder was added is reloaded", () => {
  assert.equal(pendingFolderAction(note, NOW, { isWorkspace: true, folders: [] }), "reload");
  assert.equal(pendingFolderAction({ ...note, retried: true }, NOW, { isWorkspace: true, folders: [] }), "reload");
});

test("a window that came back to the folder it had is given the shared folder once more, once", () => {
  assert.equal(pendingFolderAction(note, NOW, { isWorkspace: false, folders: [project] }), "reopen");
  assert.equal(pendingFolderAction({ ...note, retried: true }, NOW, { isWorkspace: false, folders: [project] }), "forget");
  // another folder, or more than one: not the window the note came from
  assert.equal(pendingFolderAction(note, NOW, { isWorkspace: false, folders: [{ uri: "vscode-remote://127.0.0.1:8080/other" }] }), "forget");
  assert.equal(pendingFolderAction(note, NOW, { isWorkspace: false, folders: [] }), "forget");
});

test("otherwise the note is forgotten, and nothing is done", () => {
  assert.equal(pendingFolderAction(undefined, NOW, { isWorkspace: true, folders: [] }), "none");
  // the folder is there
  assert.equal(pendingFolderAction(note, NOW, { isWorkspace: true, folders: [project, shared] }), "forget");
  // a workspace with folders, just not that one
  assert.equal(pendingFolderAction(note, NOW, { isWorkspace: true, folders: [project] }), "forget");
  // stale, or from the future (a clock that moved)
  assert.equal(pendingFolderAction({ ...note, at: NOW - PENDING_FOLDER_MAX_AGE_MS - 1 }, NOW, { isWorkspace: true, folders: [] }), "forget");
  assert.equal(pendingFolderAction({ ...note, at: NOW + 60_000 }, NOW, { isWorkspace: false, folders: [project] }), "forget");
});

test("the note as stored", () => {
  assert.deepEqual(parsePendingFolder(JSON.stringify(note)), note);
  assert.deepEqual(parsePendingFolder(JSON.stringify({ ...note, retried: true })), { ...note, retried: true });
  assert.equal(parsePendingFolder(undefined), undefined);
  assert.equal(parsePendingFolder(""), undefined);
  assert.equal(parsePendingFolder("{"), undefined);
  assert.equal(parsePendingFolder(JSON.stringify({ ...note, contentId: "xyz" })), undefined);
  assert.equal(parsePendingFolder(JSON.stringify({ ...note, from: "" })), undefined);
  assert.equal(parsePendingFolder(JSON.stringify({ contentId: ID, at: 1 })), undefined);
});
