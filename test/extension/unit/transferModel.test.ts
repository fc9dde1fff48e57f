import { test } from "node:test";
import assert from "node:assert/strict";
import type { TransferInfo } from "../../../node-host/rpc/api-types";
import { toTransferRow, TransferSet, transfersStatus } from "../../../extension/transferModel";
import { rowView } from "../../../webview-ui/viewModel";

const info = (over: Partial<TransferInfo> = {}): TransferInfo => ({
  id: "t1",
  contentId: "c".repeat(64),
  name: "video.mp4",
  direction: "download",
  state: "running",
  bytesDone: 4_000_000,
  bytesTotal: 16_000_000,
  rate: 2_000_000,
  holders: 3,
  etaMs: 6000,
  startedAt: 1_000_000,
  ...over,
});

test("toTransferRow: a running transfer shows the node's rate, holders and ETA", () => {
  const r = toTransferRow(info());
  assert.equal(r.state, "active");
  assert.equal(r.holders, 3);
  assert.equal(r.etaSec, 6);
  const v = rowView(r);
  assert.equal(v.progressText, "4.00 MB / 16.0 MB (25%)");
  assert.equal(v.rateText, "2.00 MB/s");
  assert.equal(v.holdersText, "3");
  assert.equal(v.etaText, "6s");
  assert.deepEqual(v.actions, ["pause", "cancel"]);
  assert.equal(toTransferRow(info({ etaMs: null })).etaSec, null);
});

test("toTransferRow: each holder's way (direct TLS, connected back, WebRTC, relayed through a node) shows in the holders' tooltip", () => {
  const routes: TransferInfo["routes"] = [
    { node: "a".repeat(64), path: "tls" },
    { node: "b".repeat(64), path: "tls-reverse" },
    { node: "c".repeat(64), path: "webrtc" },
    { node: "d".repeat(64), path: "relay", relay: "e".repeat(64) },
  ];
  const v = rowView(toTransferRow(info({ holders: 4, routes })));
  assert.deepEqual(v.holdersTitle.split("\n"), [
    "aaaaaaaaaaaa…  direct TLS",
    "bbbbbbbbbbbb…  direct TLS (it connected back)",
    "cccccccccccc…  direct WebRTC",
    "dddddddddddd…  relayed through eeeeeeeeeeee…",
  ]);
});

test("toTransferRow: a finished transfer shows its average rate and can be opened", () => {
  const r = toTransferRow(info({ state: "done", bytesDone: 16_000_000, rate: 0, etaMs: 0, path: "/d/video.mp4" }), 1_000_000 + 4000);
  assert.equal(r.state, "done");
  assert.equal(r.rateBps, 4_000_000);
  const v = rowView(r);
  assert.equal(v.rateText, "4.00 MB/s");
  assert.equal(v.percent, 100);
  assert.equal(v.etaText, "done");
  assert.deepEqual(v.actions, ["open"]);
  // finished within the same millisecond: still a finite rate
  assert.ok(Number.isFinite(toTransferRow(info({ state: "done", bytesDone: 10 }), 1_000_000).rateBps));
});

test("toTransferRow: paused, failed, cancelled", () => {
  assert.deepEqual(rowView(toTransferRow(info({ state: "paused" }))).actions, ["resume", "cancel"]);
  const f = rowView(toTransferRow(info({ state: "failed", error: "no holder answered" })));
  assert.equal(f.stateText, "failed: no holder answered");
  assert.equal(f.rateText, "—");
  assert.deepEqual(rowView(toTransferRow(info({ state: "cancelled" }))).actions, []);
});

test("TransferSet: notifications update rows, newest first; a stale transfer.list does not undo them", () => {
  const set = new TransferSet();
  set.update(info({ id: "a", startedAt: 1 }), 10);
  set.update(info({ id: "b", startedAt: 2, state: "done", bytesDone: 16_000_000 }), 2002);
  assert.deepEqual(set.rows().map((r) => r.id), ["b", "a"]);
  assert.equal(set.rows()[0].rateBps, 16_000_000 / 2);
  assert.deepEqual(set.active().map((t) => t.id), ["a"]);
  set.merge([info({ id: "b", startedAt: 2, state: "running", bytesDone: 1 }), info({ id: "c", startedAt: 3 })], 3000);
  assert.equal(set.get("b")?.state, "done");
  assert.deepEqual(set.rows().map((r) => r.id), ["c", "b", "a"]);
  // the time it was first seen done stays, so the average does not drift
  set.update(info({ id: "b", startedAt: 2, state: "done", bytesDone: 16_000_000 }), 9000);
  assert.equal(set.rows().find((r) => r.id === "b")?.rateBps, 16_000_000 / 2);
});

test("transfersStatus: none → hidden; else count, percent and rate", () => {
  assert.equal(transfersStatus([]), undefined);
  const s = transfersStatus([info(), info({ id: "t2", bytesDone: 0, bytesTotal: 4_000_000, rate: 0 })]);
  assert.equal(s?.text, "$(cloud-download) 2 20%");
  assert.match(s!.tooltip, /2 active transfers, 4\.00 MB of 20\.0 MB at 2\.00 MB\/s/);
});
