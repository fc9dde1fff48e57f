import { test } from "node:test";
import assert from "node:assert/strict";
import type { LookupResult } from "../../../node-host/rpc/api-types";
import { lookupLog, lookupRows, lookupTitle, valuePreview } from "../../../extension/lookupModel";

const key = "1".repeat(64);
const base: LookupResult = {
  key,
  value: null,
  providers: [],
  closest: [{ id: key, host: "127.0.0.1", port: 7001, lastSeen: 1, rttMs: 2, state: "online", failures: 0 }],
  hops: 2,
  queried: [
    { id: "2".repeat(64), host: "127.0.0.1", port: 7002, distance: "3".repeat(64), hop: 2, rttMs: null, ok: false },
    { id: key, host: "127.0.0.1", port: 7001, distance: "0".repeat(64), hop: 1, rttMs: 2, ok: true },
  ],
  durationMs: 12,
};

test("lookupTitle summarises result, hops and time", () => {
  assert.equal(lookupTitle(base), "Lookup 111111111111…: no value, 2 hops, 2 nodes queried, 12 ms");
});

test("lookupRows: closest nodes, then the route sorted by hop", () => {
  const rows = lookupRows(base);
  assert.deepEqual(
    rows.filter((r) => r.kind === "separator").map((r) => r.label),
    ["Closest nodes (1)", "Route: 2 hops, 2 nodes queried"],
  );
  const route = rows.slice(rows.findIndex((r) => r.label.startsWith("Route")) + 1);
  assert.match(route[0].label, /hop 1: 1111/);
  assert.match(route[0].label, /\$\(arrow-right\)/);
  assert.match(route[1].label, /\$\(error\) hop 2/);
  assert.match(route[1].description ?? "", /no answer/);
  assert.match(rows[1].label, /\$\(target\)/, "the node whose ID is the key is marked");
});

test("a found value comes first and copies its value", () => {
  const r: LookupResult = {
    ...base,
    value: { key, publisher: "9".repeat(64), name: "greeting", value: "hello", encoding: "utf8", seq: 1, expires: 0 },
    providers: [{ id: "4".repeat(64), host: "h", port: 1, expires: 0 }],
  };
  const rows = lookupRows(r);
  assert.equal(rows[0].label, "Value");
  assert.equal(rows[1].copyValue, "hello");
  assert.equal(rows[2].label, "Providers");
  assert.match(lookupTitle(r), /value found/);
  assert.match(lookupLog(r), /value \(utf8\) "greeting" seq 1: hello/);
});

test("valuePreview marks base64 and shortens long values", () => {
  assert.equal(valuePreview({ key, publisher: "", name: "n", value: "AAEC", encoding: "base64", seq: 0, expires: 0 }), "base64:AAEC");
  assert.equal(valuePreview({ key, publisher: "", name: "n", value: "x".repeat(100), encoding: "utf8", seq: 0, expires: 0 }, 10), "xxxxxxxxx…");
});

test("lookupRows: a node the lookup did not wait for is not shown as failed", () => {
  const pending = { ...base.queried[0], pending: true }; // hop 2, no answer
  const rows = lookupRows({ ...base, queried: [pending, base.queried[1]] });
  const route = rows.slice(rows.findIndex((r) => r.label.startsWith("Route")) + 1);
  assert.match(route[1].label, /\$\(watch\) hop 2/);
  assert.match(route[1].description ?? "", /no answer yet/);
});
