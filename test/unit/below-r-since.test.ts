// When a holder that does not lead a content's repair may step in: only for a copy lost after the
// content was seen at r, and only once it has stayed lost longer than the grace.

import { test } from "node:test";
import assert from "node:assert/strict";
import { BelowRSince } from "../../node-host/replication/below-r-since";

test("a copy lost after the content was at r: overdue once below r for longer than the grace", () => {
  const b = new BelowRSince(100);
  b.saw("c1", true, 0);
  b.saw("c1", false, 1000);
  assert.equal(b.has("c1"), true);
  assert.equal(b.overdue("c1", 5000, 6000), false);
  b.saw("c1", false, 7500); // still below r: the clock is not restarted
  assert.equal(b.overdue("c1", 7500, 6000), true);
  b.saw("c1", true, 8000); // restored
  assert.equal(b.has("c1"), false);
  assert.equal(b.overdue("c1", 60_000, 6000), false);
});

test("a content never seen at r here (a new share's copies under way) is never overdue", () => {
  const b = new BelowRSince(100);
  b.saw("new", false, 0);
  b.saw("new", false, 60_000);
  assert.equal(b.has("new"), false);
  assert.equal(b.overdue("new", 600_000, 6000), false);
});
