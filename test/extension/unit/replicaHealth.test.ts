import { test } from "node:test";
import assert from "node:assert/strict";
import type { ContentStatus, HolderStatus } from "../../../node-host/rpc/api-types";
import { healthOf, StatusCache } from "../../../extension/replicaHealth";

const id = (c: string) => c.repeat(64);
const holder = (over: Partial<HolderStatus> = {}): HolderStatus => ({ id: id("1"), host: "127.0.0.1", port: 7000, self: false, live: true, complete: true, ...over });
const status = (live: number, r = 3, holders: HolderStatus[] = []): ContentStatus => ({ contentId: id("a"), replication: r, holders, liveHolders: live, met: live >= r });

test("healthOf: live holders over r, below r flagged, holders listed (this node first)", () => {
  const h = healthOf(status(2, 3, [holder({ id: id("2"), live: false, complete: null }), holder(), holder({ id: id("0"), self: true })]));
  assert.equal(h.text, "2/3");
  assert.equal(h.below, true);
  assert.match(h.lines[0], /Holders: 2 live of r = 3 \(below r/);
  assert.match(h.lines[1], /`000000000000…` 127\.0\.0\.1:7000: this node/);
  assert.match(h.lines[2], /`111111111111…`.*: live$/);
  assert.match(h.lines[3], /`222222222222…`.*: not answering$/);
  const ok = healthOf(status(3, 3));
  assert.equal(ok.text, "3/3");
  assert.equal(ok.below, false);
  assert.doesNotMatch(ok.lines[0], /below/);
  assert.match(healthOf(status(1, 2, [holder({ complete: false })])).lines[1], /live, incomplete copy/);
});

test("healthOf: a share kept below r by its team rule says why, on the row and in the tooltip; a non-member's copy is marked", () => {
  const why = 'too few live members of team "core"';
  const h = healthOf({ ...status(2, 3, [holder({ id: id("0"), self: true }), holder(), holder({ id: id("2"), notCounted: "not a member" })]), shortfall: why });
  assert.equal(h.text, `2/3 · ${why}`);
  assert.match(h.lines[0], /Holders: 2 live of r = 3: below r, too few live members of team "core"/);
  assert.match(h.lines[3], /`222222222222…`.*: live, not counted \(not a member\)$/);
  assert.equal(healthOf({ ...status(3, 3), shortfall: null }).text, "3/3");
});

test("healthOf: the node's repair state: busy shows on the row, sweep times in the tooltip", () => {
  const busy = healthOf({ ...status(2, 3), repair: { busy: true, lastSweepAt: 1000, nextSweepAt: 61_000 } });
  assert.equal(busy.text, "2/3 · repairing");
  assert.match(busy.lines.at(-1)!, /Repair: this node is checking or copying it now/);
  const idle = healthOf({ ...status(3, 3), repair: { busy: false, lastSweepAt: 1000, nextSweepAt: 61_000 } });
  assert.equal(idle.text, "3/3");
  assert.match(idle.lines.at(-1)!, /Repair: last sweep .*, next about /);
  assert.match(healthOf({ ...status(3, 3), repair: { busy: false, lastSweepAt: null, nextSweepAt: null } }).lines.at(-1)!, /no sweep has run yet/);
  assert.doesNotMatch(healthOf(status(3, 3)).lines.join("\n"), /Repair:/);
});

/** A fetch whose answers the test releases by hand. */
function manualFetch() {
  const calls: { id: string; resolve: (s: ContentStatus) => void; reject: (e: Error) => void }[] = [];
  const fetch = (cid: string) => new Promise<ContentStatus>((resolve, reject) => calls.push({ id: cid, resolve, reject }));
  return { calls, fetch };
}
const flush = () => new Promise((r) => setImmediate(r));

test("StatusCache: at most `concurrency` requests at a time, in order, each content once", async () => {
  const { calls, fetch } = manualFetch();
  let changes = 0;
  const cache = new StatusCache({ fetch, onChange: () => changes++, concurrency: 2, ttlMs: 5000, now: () => 0 });
  const ids = Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(64, "0"));
  cache.want(ids);
  cache.want(ids);
  assert.equal(calls.length, 2);
  assert.deepEqual(calls.map((c) => c.id), ids.slice(0, 2));
  assert.equal(cache.pending, 100);
  calls[0].resolve(status(2));
  await flush();
  assert.equal(calls.length, 3, "the next one starts when one ends");
  assert.equal(changes, 1);
  assert.equal(cache.get(ids[0])?.liveHolders, 2);
  assert.equal(cache.get(ids[1]), undefined);
});

test("StatusCache: answers are fresh for the TTL, then asked again (the old answer shown meanwhile); failures kept", async () => {
  const { calls, fetch } = manualFetch();
  let now = 1000;
  const cache = new StatusCache({ fetch, onChange: () => undefined, concurrency: 1, ttlMs: 5000, now: () => now });
  cache.want([id("a")]);
  calls[0].resolve(status(1));
  await flush();
  now += 4999;
  cache.want([id("a")]);
  assert.equal(calls.length, 1, "still fresh");
  now += 2;
  cache.want([id("a")]);
  assert.equal(calls.length, 2, "stale: asked again");
  assert.equal(cache.get(id("a"))?.liveHolders, 1, "the old answer stays until the new one");
  calls[1].reject(new Error("the node is not running"));
  await flush();
  assert.equal(cache.get(id("a"))?.liveHolders, 1);
  assert.equal(cache.error(id("a")), "the node is not running");
  cache.want([id("a")]);
  assert.equal(calls.length, 2, "a failure is not retried before the TTL either");
});

test("StatusCache: contents no longer wanted are dropped from the queue and the cache; clear() drops answers in flight", async () => {
  const { calls, fetch } = manualFetch();
  const cache = new StatusCache({ fetch, onChange: () => undefined, concurrency: 1, ttlMs: 5000, now: () => 0 });
  cache.want([id("a"), id("b"), id("c")]);
  cache.want([id("a"), id("c")]);
  calls[0].resolve(status(1));
  await flush();
  assert.deepEqual(calls.map((c) => c.id), [id("a"), id("c")], "b was never asked");
  cache.want([id("c")]);
  assert.equal(cache.get(id("a")), undefined, "a forgotten");
  calls[1].resolve(status(2));
  await flush();
  assert.equal(cache.get(id("c"))?.liveHolders, 2);
  cache.forget(id("c"));
  assert.equal(cache.get(id("c")), undefined);
  cache.want([id("c")]);
  assert.equal(calls.length, 3, "asked again at once after forget()");
  cache.clear();
  calls[2].resolve(status(3));
  await flush();
  assert.equal(cache.get(id("c")), undefined, "the answer from before clear() is dropped");
  assert.equal(cache.pending, 0);
  cache.want([id("c")]);
  assert.equal(calls.length, 4);
});
