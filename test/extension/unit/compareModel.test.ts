import { test } from "node:test";
import assert from "node:assert/strict";
import { compareTitle, localCandidates, sameNameGlob } from "../../../extension/compareModel";

test("sameNameGlob matches the exact name anywhere, glob characters escaped", () => {
  assert.equal(sameNameGlob("notes.md"), "**/notes.md");
  assert.equal(sameNameGlob("a[1]{x}*?.txt"), "**/a[[]1[]][{]x[}][*][?].txt");
  assert.equal(sameNameGlob(".env"), "**/.env");
});

test("localCandidates: the share's source file first, then same-name files shallowest first, no duplicates", () => {
  assert.deepEqual(localCandidates(undefined, []), []);
  assert.deepEqual(localCandidates("/ws/docs/a.md", ["/ws/deep/er/a.md", "/ws/a.md", "/ws/docs/a.md"]), [
    { path: "/ws/docs/a.md", reason: "source" },
    { path: "/ws/a.md", reason: "same-name" },
    { path: "/ws/deep/er/a.md", reason: "same-name" },
  ]);
  assert.deepEqual(localCandidates(undefined, ["/ws/b/a.md", "/ws/a/a.md"]).map((c) => c.path), ["/ws/a/a.md", "/ws/b/a.md"]);
});

test("compareTitle puts the shared file first", () => {
  assert.equal(compareTitle("notes.md", "3fa1b2c4".padEnd(64, "0"), "notes.md"), "notes.md (shared 3fa1b2c4…) ↔ notes.md");
});
