import { test } from "node:test";
import assert from "node:assert/strict";
import type { AuditEntryInfo, AuditListing, ContactInfo } from "../../../node-host/rpc/api-types";
import { AUDIT_BROKEN_KEY, auditDescription, auditNodes, auditWarning, MAX_ROWS_PER_SHARE } from "../../../extension/auditModel";

const NOW = 1_700_000_000_000;
const A = "a".repeat(64);
const B = "b".repeat(64);
const NODE1 = "1".repeat(64);
const NODE2 = "2".repeat(64);
const entry = (seq: number, contentId: string, node: string, outcome: AuditEntryInfo["outcome"] = "served", ago = 1000 * (100 - seq)): AuditEntryInfo => ({ seq, time: NOW - ago, contentId, node, outcome });
const listing = (entries: AuditEntryInfo[], firstBadSeq: number | null = null): AuditListing => ({ entries, intact: firstBadSeq === null, firstBadSeq });
const names = (id: string) => (id === A ? "plan.md" : undefined);

test("grouped by share (newest fetch first), entries newest first, names from Shared Files", () => {
  const rows = auditNodes(listing([entry(1, A, NODE1), entry(2, B, NODE2), entry(3, A, NODE2, "refused")]), names, NOW);
  assert.deepEqual(rows.map((r) => r.label), ["plan.md", "bbbbbbbbbbbb…"]);
  const plan = rows[0];
  assert.equal(plan.key, `audit:share:${A}`);
  assert.equal(plan.description, "1 served · 1 refused · last 1m ago");
  assert.equal(plan.icon?.id, "warning");
  assert.deepEqual(plan.children?.map((c) => [c.label, c.description, c.icon?.id, c.contextValue, c.copyValue]), [
    ["22222222…", "refused · 1m ago · #3", "warning", "auditEntry.refused", NODE2],
    ["11111111…", "served · 1m ago · #1", "pass", "auditEntry.served", NODE1],
  ]);
  assert.match(plan.children![0].tooltip ?? "", /\*\*Refused\*\*: plan\.md/);
  assert.equal(rows[1].icon?.id, "cloud-upload");
  assert.equal(rows[1].description, "1 served · last 1m ago");
});

test("a known peer's address shows on its rows", () => {
  const peer: ContactInfo = { id: NODE1, host: "127.0.0.1", port: 7421, lastSeen: NOW, rttMs: 1, state: "online", failures: 0 };
  const [g] = auditNodes(listing([entry(5, A, NODE1, "served", 5000)]), names, NOW, new Map([[NODE1, peer]]));
  assert.equal(g.children?.[0].description, "served · 5s ago · 127.0.0.1:7421 · #5");
});

test("a log that does not verify: a warning row first, rows from the bad entry on marked", () => {
  const l = listing([entry(1, A, NODE1), entry(2, A, NODE2), entry(3, A, NODE1)], 2);
  assert.match(auditWarning(l) ?? "", /does not verify from entry #2 on/);
  const rows = auditNodes(l, names, NOW);
  assert.equal(rows[0].key, AUDIT_BROKEN_KEY);
  assert.equal(rows[0].icon?.id, "error");
  assert.equal(rows[0].description, "from entry #2");
  const kids = rows[1].children!;
  assert.deepEqual(kids.map((c) => [c.description?.endsWith("not verified"), c.icon?.id]), [
    [true, "error"],
    [true, "error"],
    [false, "pass"],
  ]);
  assert.equal(auditDescription(l), "3 served · does not verify");
  assert.equal(auditWarning(listing([entry(1, A, NODE1)])), undefined);
});

test("bounded: at most MAX_ROWS_PER_SHARE rows per share, with a row saying how many more", () => {
  const many = Array.from({ length: MAX_ROWS_PER_SHARE + 7 }, (_, i) => entry(i + 1, A, NODE1, "served", 1000));
  const [g] = auditNodes(listing(many), names, NOW);
  assert.equal(g.children?.length, MAX_ROWS_PER_SHARE + 1);
  assert.equal(g.children?.at(-1)?.label, "7 older not shown");
  assert.equal(g.children?.[0].key, `audit:entry:${MAX_ROWS_PER_SHARE + 7}`);
});

test("auditDescription counts served and refused; empty when nothing was fetched", () => {
  assert.equal(auditDescription(listing([])), undefined);
  assert.equal(auditDescription(listing([entry(1, A, NODE1), entry(2, A, NODE1, "refused")])), "1 served · 1 refused");
  assert.deepEqual(auditNodes(listing([]), names, NOW), []);
});
