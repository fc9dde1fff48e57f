import { test } from "node:test";
import assert from "node:assert/strict";
import { isFromWebview, isToWebview, reduce, type PanelState, type TransferRow } from "../../../webview-ui/protocol";
import { rowView, statusText } from "../../../webview-ui/viewModel";

const row = (over: Partial<TransferRow> = {}): TransferRow => ({
  id: "t1",
  name: "design.pdf",
  direction: "download",
  contentId: "c".repeat(64),
  totalBytes: 10_000_000,
  doneBytes: 2_500_000,
  rateBps: 1_250_000,
  holders: 2,
  holderDetails: [{ id: "a".repeat(64), rateBps: 1_000_000 }, { id: "b".repeat(64), rateBps: 250_000 }],
  etaSec: 6,
  state: "active",
  ...over,
});

test("messages from the webview are validated", () => {
  assert.equal(isFromWebview({ type: "ready" }), true);
  assert.equal(isFromWebview({ type: "transferAction", id: "t1", action: "pause" }), true);
  assert.equal(isFromWebview({ type: "transferAction", id: "t1", action: "delete" }), false);
  assert.equal(isFromWebview({ type: "command", command: "restartNode" }), true);
  assert.equal(isFromWebview({ type: "command", command: "workbench.action.quit" }), false);
  assert.equal(isFromWebview(null), false);
  assert.equal(isFromWebview("ready"), false);
  assert.equal(isToWebview({ type: "transfers", transfers: [] }), true);
  assert.equal(isToWebview({ type: "transfers" }), false);
});

test("reduce: status, full list, update-or-insert, removal", () => {
  let s: PanelState = { transfers: [] };
  s = reduce(s, { type: "status", status: { state: "running", peers: 2, onlinePeers: 1 } });
  assert.equal(s.status?.state, "running");
  s = reduce(s, { type: "transfers", transfers: [row()] });
  s = reduce(s, { type: "transferUpdate", transfer: row({ doneBytes: 5_000_000 }) });
  assert.equal(s.transfers.length, 1);
  assert.equal(s.transfers[0].doneBytes, 5_000_000);
  s = reduce(s, { type: "transferUpdate", transfer: row({ id: "t2" }) });
  assert.deepEqual(s.transfers.map((t) => t.id), ["t1", "t2"]);
  s = reduce(s, { type: "transferRemoved", id: "t1" });
  assert.deepEqual(s.transfers.map((t) => t.id), ["t2"]);
});

test("rowView of an active download", () => {
  const v = rowView(row());
  assert.equal(v.percent, 25);
  assert.equal(v.progressText, "2.50 MB / 10.0 MB (25%)");
  assert.equal(v.rateText, "1.25 MB/s");
  assert.equal(v.holdersText, "2");
  assert.match(v.holdersTitle, /aaaaaaaaaaaa… {2}1.00 MB\/s/);
  assert.equal(v.etaText, "6s");
  assert.deepEqual(v.actions, ["pause", "cancel"]);
  assert.equal(v.directionIcon, "↓");
});

test("rowView of paused, failed and finished transfers", () => {
  assert.deepEqual(rowView(row({ state: "paused" })).actions, ["resume", "cancel"]);
  const failed = rowView(row({ state: "failed", error: "no holder answered" }));
  assert.equal(failed.stateText, "failed: no holder answered");
  assert.equal(failed.rateText, "—");
  const done = rowView(row({ state: "done", doneBytes: 10_000_000 }));
  assert.deepEqual(done.actions, []);
  assert.equal(done.etaText, "done");
  assert.equal(done.rateText, "1.25 MB/s", "a finished transfer shows its (average) rate");
  assert.equal(rowView(row({ state: "done", rateBps: 0 })).rateText, "—");
  assert.deepEqual(rowView(row({ state: "done", path: "/tmp/design.pdf" })).actions, ["open"]);
  assert.equal(rowView(row({ holders: 1, holderDetails: undefined })).holdersTitle, "1 holder");
  assert.equal(isFromWebview({ type: "transferAction", id: "t1", action: "open" }), true);
  assert.equal(rowView(row({ totalBytes: 0, doneBytes: 0, state: "queued" })).percent, 0);
  assert.equal(rowView(row({ name: "" })).name, "cccccccccccc…");
});

test("statusText", () => {
  assert.equal(statusText(undefined).headline, "Connecting to the node…");
  const s = statusText({ state: "running", id: "f".repeat(64), host: "127.0.0.1", port: 7420, version: "0.1.0", peers: 3, onlinePeers: 2 });
  assert.equal(s.headline, "Node ffffffffffffffff… is running");
  assert.equal(s.detail, "127.0.0.1:7420 · 2 of 3 peers online · v0.1.0");
  assert.equal(statusText({ state: "failed", detail: "exited with code 1", peers: 0, onlinePeers: 0 }).headline, "Node has stopped");
});
