import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { JsonJournal } from "../../node-host/util/json-journal";
import { ReplicationFactors } from "../../node-host/replication/factors";
import { AudienceIndex } from "../../node-host/security/audiences";
import { exposedGc, heldMemory } from "../helpers/held-memory";

const isNumber = (v: unknown): v is number => typeof v === "number";

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-journal-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("a journal keeps the latest value of each key across reopening", (t) => {
  const file = path.join(tempDir(t), "j.jsonl");
  const a = JsonJournal.open(file, { isValue: isNumber });
  a.set("x", 1);
  a.set("y", 2);
  a.set("x", 3);
  const b = JsonJournal.open(file, { isValue: isNumber });
  assert.deepEqual([...b.entries], [["x", 3], ["y", 2]]);
});

test("a deleted key stays deleted across reopening, and a key set again after its deletion comes back", (t) => {
  const file = path.join(tempDir(t), "j.jsonl");
  const a = JsonJournal.open(file, { isValue: isNumber });
  a.set("x", 1);
  a.set("y", 2);
  a.delete("x");
  a.delete("absent"); // nothing to do
  assert.deepEqual([...JsonJournal.open(file, { isValue: isNumber }).entries], [["y", 2]]);
  a.set("x", 5);
  a.delete("y");
  assert.deepEqual([...JsonJournal.open(file, { isValue: isNumber }).entries], [["x", 5]]);
  for (let i = 0; i < 5000; i++) {
    a.set(`k${i}`, i);
    a.delete(`k${i}`);
  }
  assert.ok(fs.statSync(file).size < 64 * 1024 + 100, `tombstones are compacted away (${fs.statSync(file).size} bytes)`);
  assert.deepEqual([...JsonJournal.open(file, { isValue: isNumber }).entries], [["x", 5]]);
});

test("a change appends one line instead of rewriting the map, and compaction keeps the file bounded", (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "j.jsonl");
  const legacyFile = path.join(dir, "old.json");
  fs.writeFileSync(legacyFile, JSON.stringify(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`content-${i}`, 3]))));
  const j = JsonJournal.open(file, { isValue: isNumber, legacyFile });
  const size = fs.statSync(file).size;
  j.set("content-1000", 3);
  assert.equal(fs.statSync(file).size - size, Buffer.byteLength('{"k":"content-1000","v":3}\n'), "one line appended");
  for (let i = 0; i < 3000; i++) j.set("content-0", 1 + (i % 5));
  assert.ok(fs.statSync(file).size < 3 * size, `file stays within a small multiple of its live entries (${fs.statSync(file).size} bytes)`);
  const reopened = JsonJournal.open(file, { isValue: isNumber });
  assert.equal(reopened.entries.size, 1001);
  assert.equal(reopened.get("content-0"), 1 + (2999 % 5));
});

test("a line torn by a crash is skipped, and the next change is not lost behind it", (t) => {
  const file = path.join(tempDir(t), "j.jsonl");
  const j = JsonJournal.open(file, { isValue: isNumber });
  j.set("a", 1);
  fs.appendFileSync(file, '{"k":"b","v":'); // the crash
  const afterCrash = JsonJournal.open(file, { isValue: isNumber });
  assert.deepEqual([...afterCrash.entries], [["a", 1]]);
  afterCrash.set("c", 3);
  assert.deepEqual([...JsonJournal.open(file, { isValue: isNumber }).entries], [["a", 1], ["c", 3]]);
});

test("lines that are not entries, or whose value is refused, are skipped", (t) => {
  const file = path.join(tempDir(t), "j.jsonl");
  fs.writeFileSync(file, ['{"k":"a","v":1}', "garbage", "null", '{"k":5,"v":1}', '{"k":"b","v":"two"}', '{"k":"c","v":3}', ""].join("\n"));
  assert.deepEqual([...JsonJournal.open(file, { isValue: isNumber }).entries], [["a", 1], ["c", 3]]);
});

test("replication factors and audiences move from their old whole-map JSON files to journals", (t) => {
  const dir = tempDir(t);
  const content = "ab".repeat(32);
  const chunk = "cd".repeat(32);
  const team = "ef".repeat(32);
  fs.writeFileSync(path.join(dir, "replication.json"), JSON.stringify({ [content]: 5 }));
  fs.writeFileSync(path.join(dir, "audiences.json"), JSON.stringify({ [content]: { a: [team], c: [chunk] } }));

  const factors = new ReplicationFactors(dir, () => 3);
  assert.equal(factors.get(content), 5);
  const audiences = AudienceIndex.load(dir);
  assert.deepEqual(audiences.of(Buffer.from(chunk, "hex")), { kind: "teams", teams: [Buffer.from(team, "hex")] });
  assert.ok(!fs.existsSync(path.join(dir, "replication.json")) && !fs.existsSync(path.join(dir, "audiences.json")), "old files removed");
  // an old file left beside the journal (a crash before its removal) is not read again, and goes
  fs.writeFileSync(path.join(dir, "replication.json"), JSON.stringify({ [content]: 9 }));
  assert.equal(new ReplicationFactors(dir, () => 3).get(content), 5);
  assert.ok(!fs.existsSync(path.join(dir, "replication.json")));

  factors.set(content, 2);
  audiences.set(Buffer.from(content, "hex"), { kind: "public" }, [Buffer.from(chunk, "hex")]);
  assert.equal(new ReplicationFactors(dir, () => 3).get(content), 2);
  assert.deepEqual(AudienceIndex.load(dir).of(Buffer.from(chunk, "hex")), { kind: "public" });
  assert.equal((fs.statSync(path.join(dir, "audiences.jsonl")).mode & 0o777).toString(8), "600", "audiences stay owner-only");
});

test("a change that cannot be written throws, and leaves the journal as it was, in memory and on disk", (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "j.jsonl");
  const j = JsonJournal.open(file, { isValue: isNumber });
  j.set("a", 1);
  // a full disk: the journal's file swapped for /dev/full, where every write fails with ENOSPC
  fs.renameSync(file, `${file}.saved`);
  fs.symlinkSync("/dev/full", file);
  assert.throws(() => j.set("a", 2), /ENOSPC/);
  assert.deepEqual([...j.entries], [["a", 1]]);
  fs.rmSync(file);
  fs.renameSync(`${file}.saved`, file);
  fs.appendFileSync(file, '{"k":"a","v":'); // what the failed append may have left
  j.set("b", 3);
  assert.deepEqual([...JsonJournal.open(file, { isValue: isNumber }).entries], [["a", 1], ["b", 3]], "the next change rewrites the journal whole");
});

test("an entry held costs its key and value: a node holding 10,000 contents keeps one per journal", async (t) => {
  const file = path.join(tempDir(t), "j.jsonl");
  const id = Buffer.alloc(32);
  const lines: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    id.writeUInt32BE(i, 28);
    lines.push(JSON.stringify({ k: id.toString("hex"), v: 3 }));
  }
  fs.writeFileSync(file, lines.join("\n") + "\n");
  lines.length = 0;
  const gc = exposedGc();
  const before = await heldMemory(gc);
  const journal = JsonJournal.open(file, { isValue: isNumber });
  const perEntry = ((await heldMemory(gc)) - before) / journal.entries.size;
  assert.equal(journal.entries.size, 20_000);
  assert.ok(perEntry <= 150, `an entry costs ${perEntry.toFixed(0)} bytes (127 measured; with each line's size kept in a second map: 173)`);
});
