import { test } from "node:test";
import assert from "node:assert/strict";
import type { ContentStatus, StoredContent, StoreListing } from "../../../node-host/rpc/api-types";
import { ownContentIds, remember, rememberFetch, sharedNodes, type FetchRecord, type ShareRecord } from "../../../extension/sharedModel";

const id = (c: string) => c.repeat(64);
const share = (over: Partial<ShareRecord> = {}): ShareRecord => ({
  contentId: id("a"),
  link: `peershare://${id("a")}#k=KEY`,
  name: "plan.md",
  size: 2048,
  public: false,
  sharedAt: 1000,
  path: "/ws/plan.md",
  ...over,
});
const fetched = (over: Partial<FetchRecord> = {}): FetchRecord => ({
  contentId: id("b"),
  link: `peershare://${id("b")}`,
  name: "logo.png",
  size: 5000,
  path: "/dl/logo.png",
  fetchedAt: 2000,
  ...over,
});
/** A store listing of `contents`, each held whole here (the model does not look at the chunk counts). */
const listing = (contents: Omit<StoredContent, "chunks" | "chunksHeld">[]): StoreListing => ({ contents: contents.map((c) => ({ chunks: 1, chunksHeld: 1, ...c })), objects: 3, bytes: 1, cacheBytes: 0, cacheLimitBytes: 1 });

test("no shares, no fetches: empty (the view shows its welcome text)", () => {
  assert.deepEqual(sharedNodes([], [], undefined, 0), []);
  assert.deepEqual(sharedNodes([], [], listing([{ contentId: id("c"), name: null, size: 0, pins: [] }]), 0), []);
});

test("own shares and fetched files in two sections, with links to copy and something to open", () => {
  const nodes = sharedNodes([share()], [fetched()], listing([{ contentId: id("a"), name: "plan.md", size: 2048, pins: ["own"] }]), 61_000);
  assert.deepEqual(nodes.map((n) => n.label), ["Shared by this node", "Fetched"]);
  const [own] = nodes[0].children!;
  assert.equal(own.label, "plan.md");
  assert.equal(own.description, "2.05 KB · aaaaaaaa… · 1m ago");
  assert.equal(own.copyValue, `peershare://${id("a")}#k=KEY`);
  assert.equal(own.contextValue, "share.own");
  assert.deepEqual(own.open, { kind: "link", link: own.copyValue, name: "plan.md" });
  const [got] = nodes[1].children!;
  assert.equal(got.contextValue, "share.fetched");
  assert.deepEqual(got.open, { kind: "file", path: "/dl/logo.png" });
  assert.equal(got.copyValue, `peershare://${id("b")}`);
});

test("shares in the node's store that this window did not make are listed by ID", () => {
  const nodes = sharedNodes([], [], listing([{ contentId: id("d"), name: "cli.txt", size: 10, pins: ["own"] }, { contentId: id("e"), name: null, size: 0, pins: [] }]), 0);
  assert.equal(nodes.length, 1);
  const [n] = nodes[0].children!;
  assert.equal(n.label, "cli.txt");
  assert.equal(n.copyValue, id("d"));
  assert.equal(n.contextValue, "share.own.id");
});

test("remember: newest first, replaces by content ID (fetches by path), bounded", () => {
  let list = remember([], share({ name: "1" }));
  list = remember(list, share({ contentId: id("f"), name: "2" }));
  list = remember(list, share({ name: "3" }));
  assert.deepEqual(list.map((r) => r.name), ["3", "2"]);
  assert.equal(remember(list, share({ contentId: id("0") }), 2).length, 2);
  let f = rememberFetch([], fetched());
  f = rememberFetch(f, fetched({ path: "/other/logo.png" }));
  f = rememberFetch(f, fetched({ fetchedAt: 5 }));
  assert.deepEqual(f.map((r) => [r.path, r.fetchedAt]), [["/dl/logo.png", 5], ["/other/logo.png", 2000]]);
});

test("own shares show live holders against r once known, with a warning below r; fetched files do not", () => {
  const st = (live: number, r: number): ContentStatus => ({ contentId: id("a"), replication: r, holders: [], liveHolders: live, met: live >= r });
  const statuses = new Map([[id("a"), st(2, 3)], [id("d"), st(3, 3)]]);
  const nodes = sharedNodes(
    [share({ teams: ["core"] })],
    [fetched({ contentId: id("d") })],
    listing([{ contentId: id("d"), name: "cli.txt", size: 10, pins: ["own"] }, { contentId: id("e"), name: "x", size: 1, pins: ["own"] }]),
    61_000,
    (cid) => statuses.get(cid),
  );
  const [below, met, unknown] = nodes[0].children!;
  assert.equal(below.description, "2/3 · 2.05 KB · aaaaaaaa… · 1m ago");
  assert.deepEqual(below.icon, { id: "warning", color: "list.warningForeground" });
  assert.equal(below.contextValue, "share.own.belowR", "offers Repair Now");
  assert.match(below.tooltip!, /Holders: 2 live of r = 3 \(below r/);
  assert.match(below.tooltip!, /readable with the link by members of team core/);
  assert.equal(met.description, "3/3 · 10 B · dddddddd… · in the store");
  assert.deepEqual(met.icon, { id: "cloud-upload" });
  assert.equal(met.contextValue, "share.own.id");
  assert.equal(unknown.description, "1 B · eeeeeeee… · in the store", "no label until the node has answered");
  assert.doesNotMatch(nodes[1].children![0].description!, /\//);
  assert.deepEqual(ownContentIds([share()], listing([{ contentId: id("a"), name: null, size: 0, pins: ["own"] }, { contentId: id("d"), name: null, size: 0, pins: ["own"] }, { contentId: id("f"), name: null, size: 0, pins: [] }])), [id("a"), id("d")]);
});
