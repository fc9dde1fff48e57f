import { test } from "node:test";
import assert from "node:assert/strict";
import type { LookupResult, RoutingInfo } from "../../../node-host/rpc/api-types";
import { bucketIndexOf, heatMap, traceView } from "../../../webview-ui/traceModel";
import { isFromTrace, isToTrace, reduceTrace, type TraceState } from "../../../webview-ui/traceProtocol";

const KEY = "8".padEnd(64, "0");
const hex = (lead: string) => lead.padEnd(64, "0");
const contact = (id: string, distance: string) => ({ id, host: "127.0.0.1", port: 7000, lastSeen: 1, rttMs: 2, state: "online" as const, failures: 0, distance });

const result: LookupResult = {
  key: KEY,
  value: null,
  providers: [],
  closest: [{ id: hex("81"), host: "127.0.0.1", port: 7002, lastSeen: 1, rttMs: 1.5, state: "online", failures: 0 }],
  hops: 2,
  durationMs: 42,
  queried: [
    { id: hex("f"), host: "127.0.0.1", port: 7001, distance: hex("7"), hop: 1, rttMs: 3.2, ok: true },
    { id: hex("0"), host: "127.0.0.1", port: 7003, distance: hex("8"), hop: 1, rttMs: null, ok: false },
    { id: hex("81"), host: "127.0.0.1", port: 7002, distance: hex("01"), hop: 2, rttMs: 1.5, ok: true },
  ],
};

test("traceView: hops in order, nodes by distance, bit length, RTT, answered or not, closest marked", () => {
  const v = traceView(result);
  assert.equal(v.outcome, "no value or provider");
  assert.equal(v.summary, "2 hops · 3 nodes asked · 2 answered · 42 ms");
  assert.deepEqual(v.groups.map((g) => [g.hop, g.asked, g.answered, g.bestBits]), [
    [1, 2, 1, 255],
    [2, 1, 1, 249],
  ]);
  const [near, far] = v.groups[0].rows;
  assert.deepEqual([near.distanceText, near.bits, near.rttText, near.ok, near.address], ["2^254", 255, "3.2 ms", true, "127.0.0.1:7001"]);
  assert.deepEqual([far.distanceText, far.bits, far.rttText, far.ok], ["2^255", 256, "—", false]);
  assert.equal(far.barPercent, 100);
  const last = v.groups[1].rows[0];
  assert.equal(last.closest, true);
  assert.equal(last.shortId, "810000000000…");
  assert.equal(near.closest, false);
  assert.equal(traceView({ ...result, providers: [{ id: hex("1"), host: "h", port: 1, expires: 0 }] }).outcome, "1 provider found");
});

test("bucketIndexOf: 255 minus the common prefix length; null for the node itself", () => {
  assert.equal(bucketIndexOf(hex("0"), hex("8")), 255);
  assert.equal(bucketIndexOf(hex("0"), hex("4")), 254);
  assert.equal(bucketIndexOf(hex("0"), "0".repeat(63) + "1"), 0);
  assert.equal(bucketIndexOf(hex("a"), hex("a")), null);
});

test("heatMap: 256 cells by fill of k, bars for used buckets and the key's, nearest first", () => {
  const routing: RoutingInfo = {
    self: hex("0"),
    k: 4,
    size: 5,
    buckets: [
      { index: 255, contacts: [contact(hex("9"), hex("9")), contact(hex("a"), hex("a")), contact(hex("b"), hex("b")), contact(hex("c"), hex("c"))], replacements: 2, lastRefreshed: 0 },
      { index: 253, contacts: [contact(hex("2"), hex("2"))], replacements: 0, lastRefreshed: 0 },
    ],
  };
  const h = heatMap(routing, hex("4"));
  assert.equal(h.cells.length, 256);
  assert.deepEqual([h.cells[255].fill, h.cells[255].level, h.cells[253].fill, h.cells[253].level, h.cells[0].level], [1, 4, 0.25, 1, 0]);
  assert.equal(h.keyBucket, 254);
  assert.equal(h.cells[254].key, true);
  assert.deepEqual(h.bars.map((b) => [b.index, b.contacts]), [[253, 1], [254, 0], [255, 4]]);
  assert.match(h.cells[255].title, /Bucket 255: distance 2\^255…2\^256, 4 of k = 4 contacts, 2 waiting/);
  assert.equal(h.usedBuckets, 2);
  assert.equal(heatMap(routing).keyBucket, null);
});

test("trace messages are validated, and reduce keeps the routing table across a new trace", () => {
  assert.equal(isFromTrace({ type: "ready" }), true);
  assert.equal(isFromTrace({ type: "copy", value: KEY }), true);
  assert.equal(isFromTrace({ type: "copy", value: "rm -rf /" }), false);
  assert.equal(isFromTrace({ type: "lookupAgain", key: KEY }), true);
  assert.equal(isFromTrace({ type: "lookupAgain", key: "AB".repeat(32) }), false);
  assert.equal(isFromTrace({ type: "command", command: "x" }), false);
  assert.equal(isToTrace({ type: "trace", result, at: 1 }), true);
  assert.equal(isToTrace({ type: "trace", result: {}, at: 1 }), false);
  assert.equal(isToTrace({ type: "routing", routing: { buckets: [] } }), true);
  let s: TraceState = {};
  s = reduceTrace(s, { type: "routing", routing: { self: KEY, k: 20, size: 0, buckets: [] } });
  s = reduceTrace(s, { type: "busy", busy: true });
  s = reduceTrace(s, { type: "trace", result, at: 5 });
  assert.equal(s.busy, false);
  assert.equal(s.routing?.k, 20);
  assert.equal(s.result?.key, KEY);
});
