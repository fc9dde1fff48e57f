// The list of a node's own shares: kept across restarts, one appended line per share (not the
// whole list rewritten), and an older data dir's shares.json taken in.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { OwnShares, OwnShare } from "../../node-host/transfer/own-shares";
import { tempDir } from "../helpers/temp-dir";

const share = (i: number): OwnShare => ({ contentId: i.toString(16).padStart(64, "0"), link: `peershare://${i}`, name: `f${i}.bin`, size: i, sharedAt: 1_700_000_000_000 + i });

test("shares are kept across a reopen, and each new one appends a line instead of rewriting the list", () => {
  const dir = tempDir("own-shares");
  const shares = OwnShares.open(dir);
  for (let i = 1; i <= 500; i++) shares.add(share(i));
  const file = path.join(dir, "shares.jsonl");
  const before = fs.statSync(file);
  shares.add(share(501));
  const after = fs.statSync(file);
  assert.equal(after.ino, before.ino, "the file was replaced, not appended to");
  assert.ok(after.size - before.size < 300, `one share added ${after.size - before.size} bytes`);
  const reopened = OwnShares.open(dir);
  assert.equal(reopened.values().length, 501);
  assert.deepEqual(reopened.get(share(7).contentId), share(7));
});

test("an older data dir's shares.json (an array) is taken in and removed; an unreadable one counts as empty", () => {
  const dir = tempDir("own-shares-legacy");
  fs.writeFileSync(path.join(dir, "shares.json"), JSON.stringify([share(1), share(2), { junk: true }], null, 1));
  const shares = OwnShares.open(dir);
  assert.deepEqual(shares.values().map((s) => s.name).sort(), ["f1.bin", "f2.bin"]);
  assert.equal(fs.existsSync(path.join(dir, "shares.json")), false);
  assert.equal(OwnShares.open(dir).values().length, 2);

  const broken = tempDir("own-shares-broken");
  fs.writeFileSync(path.join(broken, "shares.json"), "[{\"contentId\": ");
  assert.deepEqual(OwnShares.open(broken).values(), []);
});
