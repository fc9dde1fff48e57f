// The fetch audit log: append-only, hash-chained, signed, bounded, and it survives restarts.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { AuditLog } from "../../node-host/security/audit-log";
import { Identity } from "../../node-host/security/identity";
import { tempDir } from "../helpers/temp-dir";

const dir = () => tempDir("audit");

test("entries are kept in order across a restart, and repeats within a minute fold into one", () => {
  const d = dir();
  const me = Identity.generate();
  let now = 1_000_000;
  const log = new AuditLog(d, me, 100, () => now);
  const [alice, bob, content] = [randomBytes(32), randomBytes(32), randomBytes(32)];
  log.record(alice, content, "served");
  log.record(alice, content, "served"); // folded
  log.record(bob, content, "refused");
  now += 61_000;
  log.record(alice, content, "served");
  const again = new AuditLog(d, me, 100, () => now);
  assert.deepEqual(again.list().map((e) => [e.seq, e.node.slice(0, 8), e.outcome]), [
    [1, alice.toString("hex").slice(0, 8), "served"],
    [2, bob.toString("hex").slice(0, 8), "refused"],
    [3, alice.toString("hex").slice(0, 8), "served"],
  ]);
  assert.equal(again.verify(), null);
  assert.equal(again.list(randomBytes(32).toString("hex")).length, 0);
  assert.equal(again.list(content.toString("hex")).length, 3);
  assert.equal((fs.statSync(path.join(d, "audit.jsonl")).mode & 0o777).toString(8), "600");
});

test("an edited, removed or forged entry is reported from where it breaks", () => {
  const d = dir();
  const me = Identity.generate();
  let now = 0;
  const log = new AuditLog(d, me, 100, () => (now += 61_000));
  for (let i = 0; i < 5; i++) log.record(randomBytes(32), randomBytes(32), "served");
  const file = path.join(d, "audit.jsonl");
  const lines = fs.readFileSync(file, "utf8").trim().split("\n");

  const edited = [...lines];
  edited[2] = edited[2].replace('"served"', '"refused"');
  fs.writeFileSync(file, edited.join("\n") + "\n");
  assert.equal(new AuditLog(d, me).verify(), 3);

  fs.writeFileSync(file, [...lines.slice(0, 1), ...lines.slice(2)].join("\n") + "\n");
  assert.equal(new AuditLog(d, me).verify(), 3); // entry 3 no longer links to its predecessor

  // checked against another node's key: every signature fails, from the first entry
  fs.writeFileSync(file, lines.join("\n") + "\n");
  assert.equal(new AuditLog(d, Identity.generate()).verify(), 1);

  // a torn last line (a crash mid-append) is dropped, the rest stays intact
  fs.writeFileSync(file, lines.join("\n") + '\n{"seq":6,"ti');
  assert.equal(new AuditLog(d, me).verify(), null);
});

test("the log is bounded: past its limit the oldest half goes, the rest still verifies", () => {
  const d = dir();
  const me = Identity.generate();
  let now = 0;
  const log = new AuditLog(d, me, 10, () => (now += 61_000));
  for (let i = 0; i < 25; i++) log.record(randomBytes(32), randomBytes(32), "served");
  const kept = new AuditLog(d, me, 10).list();
  assert.ok(kept.length <= 10 && kept.length >= 5, `${kept.length} entries kept`);
  assert.equal(kept[kept.length - 1].seq, 25);
  assert.equal(new AuditLog(d, me, 10).verify(), null);
});

test("a line torn by a crash mid-append is dropped; the next entry is kept and the chain still verifies", () => {
  const d = dir();
  const me = Identity.generate();
  let now = 1_000_000;
  const log = new AuditLog(d, me, 100, () => now);
  for (let i = 0; i < 3; i++) log.record(randomBytes(32), randomBytes(32), "served");
  fs.appendFileSync(path.join(d, "audit.jsonl"), '{"seq":4,"time":1000,"conte'); // the crash
  now += 1000;
  const after = new AuditLog(d, me, 100, () => now);
  after.record(randomBytes(32), randomBytes(32), "refused");
  assert.deepEqual(after.list().map((e) => [e.seq, e.outcome]), [[1, "served"], [2, "served"], [3, "served"], [4, "refused"]]);
  assert.equal(after.verify(), null);
  assert.deepEqual(new AuditLog(d, me, 100, () => now).list().map((e) => e.seq), [1, 2, 3, 4], "and so after another restart");
});
