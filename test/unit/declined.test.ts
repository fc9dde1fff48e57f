import { test } from "node:test";
import assert from "node:assert/strict";
import { CopyRefusedError, DeclinedCandidates, REFUSED_FOR_MS, UNREACHABLE_FOR_MS } from "../../node-host/replication/declined";
import { BulkConnectionError, BulkRemoteError } from "../../node-host/transport/bulk-api";

test("a node that refused a copy is left out longer than one that did not answer; both come back", () => {
  let now = 1_000_000;
  const d = new DeclinedCandidates(() => now);
  d.note("full", new CopyRefusedError("node full… refused an object"));
  d.note("noreplicas", new BulkRemoteError(3, "this node does not accept replicas"));
  d.note("down", new BulkConnectionError("connect ECONNREFUSED"));
  assert.deepEqual(["full", "noreplicas", "down", "other"].map((n) => d.has(n)), [true, true, true, false]);
  now += UNREACHABLE_FOR_MS + 1;
  assert.deepEqual(["full", "noreplicas", "down"].map((n) => d.has(n)), [true, true, false]);
  now += REFUSED_FOR_MS;
  assert.deepEqual(["full", "noreplicas"].map((n) => d.has(n)), [false, false]);
});

test("a copy that succeeds makes the node a candidate again at once", () => {
  const d = new DeclinedCandidates(() => 0);
  d.note("n", new CopyRefusedError("refused"));
  d.clear("n");
  assert.equal(d.has("n"), false);
});
