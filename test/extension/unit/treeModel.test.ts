import { test } from "node:test";
import assert from "node:assert/strict";
import type { ContactInfo, RoutingInfo } from "../../../node-host/rpc/api-types";
import { bucketNode, peerCounts, peerNodes, routingNodes, routingSummary, stateIcon } from "../../../extension/treeModel";

const now = 1_700_000_000_000;
const contact = (hex: string, state: ContactInfo["state"], rttMs: number | null, extra: Partial<ContactInfo> = {}): ContactInfo => ({
  id: hex.repeat(64 / hex.length),
  host: "127.0.0.1",
  port: 7000 + hex.charCodeAt(0),
  lastSeen: now - 5000,
  rttMs,
  state,
  failures: 0,
  ...extra,
});

test("peerNodes: online first, then by RTT; labels, descriptions, icons", () => {
  const nodes = peerNodes(
    [contact("c", "offline", 1, { failures: 3, lastSeen: 0 }), contact("b", "online", 40), contact("a", "online", 3.2), contact("d", "suspect", 2)],
    now,
  );
  assert.deepEqual(
    nodes.map((n) => n.label),
    ["aaaaaaaa…", "bbbbbbbb…", "dddddddd…", "cccccccc…"],
  );
  assert.equal(nodes[0].description, "3.2 ms · 5s ago · 127.0.0.1:7097");
  assert.equal(nodes[3].description, "1.0 ms · never · 127.0.0.1:7099");
  assert.deepEqual(nodes[0].icon, stateIcon("online"));
  assert.equal(nodes[2].icon?.id, "warning");
  assert.equal(nodes[3].contextValue, "peer.offline");
  assert.equal(nodes[0].copyValue, "a".repeat(64));
  assert.match(nodes[3].tooltip ?? "", /3 failed requests/);
  assert.match(nodes[0].tooltip ?? "", new RegExp("a".repeat(64)));
});

test("peerNodes of no peers is empty (the view then shows its welcome text)", () => {
  assert.deepEqual(peerNodes([], now), []);
});

test("routingNodes: non-empty buckets, nearest first, contacts by distance", () => {
  const routing: RoutingInfo = {
    self: "0".repeat(64),
    k: 20,
    size: 3,
    buckets: [
      { index: 255, contacts: [{ ...contact("f", "online", 5), distance: "f".repeat(64) }, { ...contact("8", "suspect", null), distance: "8".repeat(64) }], replacements: 2, lastRefreshed: now - 60_000 },
      { index: 100, contacts: [], replacements: 0, lastRefreshed: 0 },
      { index: 3, contacts: [{ ...contact("1", "online", 1), distance: "0".repeat(63) + "9" }], replacements: 0, lastRefreshed: now },
    ],
  };
  const nodes = routingNodes(routing, now);
  assert.deepEqual(nodes.map((n) => n.label), ["Bucket 3", "Bucket 255"]);
  assert.equal(nodes[1].description, "2 contacts · 2 in replacement cache");
  assert.equal(nodes[0].description, "1 contact");
  assert.equal(nodes[1].expanded, true);
  const kids = nodes[1].children ?? [];
  assert.deepEqual(kids.map((k) => k.label), ["88888888…", "ffffffff…"]);
  assert.equal(kids[0].description, "d 2^255 · rtt — · 127.0.0.1:7056");
  assert.equal(nodes[0].children?.[0].description, "d 2^3 · 1.0 ms · 127.0.0.1:7049");
  assert.equal(kids[1].contextValue, "contact.online");
  assert.notEqual(nodes[0].key, nodes[1].key);
  assert.equal(routingSummary(routing), "3 contacts in 2 buckets · k=20");
});

test("bucketNode keys are stable across refreshes", () => {
  const b = { index: 7, contacts: [{ ...contact("2", "online", 1), distance: "00ff" }], replacements: 0, lastRefreshed: 0 };
  assert.equal(bucketNode(b, now).key, bucketNode(b, now + 1000).key);
  assert.equal(bucketNode(b, now).children?.[0].key, `bucket:7:${"2".repeat(64)}`);
});

test("peerCounts", () => {
  assert.deepEqual(peerCounts([contact("a", "online", 1), contact("b", "offline", 1), contact("c", "online", 1)]), { online: 2, total: 3 });
});
