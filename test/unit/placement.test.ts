// Placement, repair and hand-off decisions, as pure functions of node IDs.

import { test } from "node:test";
import assert from "node:assert/strict";
import { byDistance, planHandoff, planRepair, planShare, planTopUp } from "../../node-host/replication/placement";

/** An ID whose first byte is `b` (the rest zero), so XOR distances to a zero target are easy to read. */
const id = (b: number) => {
  const x = Buffer.alloc(32);
  x[0] = b;
  return x;
};
const node = (b: number) => ({ id: id(b), name: b });
const names = (xs: { name: number }[]) => xs.map((x) => x.name);
const target = id(0);

test("byDistance sorts by XOR distance and drops duplicates", () => {
  const nodes = [node(9), node(1), node(4), node(1), node(2)];
  assert.deepEqual(names(byDistance(nodes, target)), [1, 2, 4, 9]);
  assert.deepEqual(names(byDistance(nodes, id(5))), [4, 1, 2, 9]); // 5^4=1, 5^1=4, 5^2=7, 5^9=12
});

test("on share, the r-1 closest live nodes other than the sharer get copies", () => {
  const live = [node(7), node(3), node(1), node(12), node(5)];
  const plan = planShare(target, id(1), live, 3);
  assert.equal(plan.need, 2);
  assert.deepEqual(names(plan.candidates).slice(0, 2), [3, 5]);
  assert.deepEqual(names(plan.candidates), [3, 5, 7, 12], "the rest stand in when one refuses");
  assert.deepEqual(planShare(target, id(1), live, 1), { need: 0, candidates: [] });
});

test("repair: only the live holder closest to the content acts, and only below r", () => {
  const live = [node(2), node(3), node(4), node(6), node(8)];
  const holders = [node(3), node(8)];
  // 3 is the closest holder: it copies to the nearest non-holders
  const plan = planRepair({ contentId: target, self: id(3), holders, live, r: 3 });
  assert.equal(plan.need, 1);
  assert.deepEqual(names(plan.candidates), [2, 4, 6]);
  // 8 is not the leader: it does nothing
  assert.deepEqual(planRepair({ contentId: target, self: id(8), holders, live, r: 3 }), { need: 0, candidates: [] });
  // ...until the leader is overdue: then 8 copies too
  const backstop = planRepair({ contentId: target, self: id(8), holders, live, r: 3, leaderOverdue: true });
  assert.equal(backstop.need, 1);
  assert.deepEqual(names(backstop.candidates), [2, 4, 6]);
  // a node that holds no copy never acts, overdue or not
  assert.equal(planRepair({ contentId: target, self: id(2), holders, live, r: 3, leaderOverdue: true }).need, 0);
  // enough holders: nothing to do
  assert.deepEqual(planRepair({ contentId: target, self: id(3), holders: [node(3), node(8), node(4)], live, r: 3 }), { need: 0, candidates: [] });
  // two copies lost of r = 4
  assert.equal(planRepair({ contentId: target, self: id(3), holders: [node(3), node(8)], live, r: 4 }).need, 2);
});

test("repair never picks a node that already holds the content, nor itself", () => {
  const holders = [node(1), node(2)];
  const plan = planRepair({ contentId: target, self: id(1), holders, live: [node(1), node(2), node(3)], r: 3 });
  assert.deepEqual(names(plan.candidates), [3]);
});

test("hand-off: a leaving holder copies only when the others would be fewer than r", () => {
  const live = [node(2), node(3), node(4), node(5)];
  // holders 1 (leaving), 3, 5 with r = 3: the two others are too few, one copy to the nearest lacking it
  const plan = planHandoff({ contentId: target, self: id(1), holders: [node(1), node(3), node(5)], live, r: 3 });
  assert.equal(plan.need, 1);
  assert.deepEqual(names(plan.candidates), [2, 4]);
  // four holders: the other three are enough
  assert.equal(planHandoff({ contentId: target, self: id(1), holders: [node(1), node(3), node(5), node(2)], live, r: 3 }).need, 0);
  // the only holder hands on r copies
  assert.equal(planHandoff({ contentId: target, self: id(1), holders: [node(1)], live, r: 2 }).need, 2);
});

/** Members 3 and 6 (6 with write role, like the sharer 1), outsider 2 known, the rest not yet known. */
const team = {
  holder: (x: Buffer) => ([1, 3, 6].includes(x[0]) ? true : x[0] === 2 ? false : null),
  placer: (x: Buffer) => [1, 6].includes(x[0]),
};

test("confined copies: known members first, nodes not yet known after them, known outsiders never", () => {
  const live = [node(2), node(3), node(4), node(5), node(6)];
  const plan = planShare(target, id(1), live, 3, team);
  assert.equal(plan.need, 2);
  assert.deepEqual(names(plan.candidates), [3, 6, 4, 5]);
  assert.deepEqual(names(planTopUp({ contentId: target, self: id(1), holders: [node(1), node(3)], live, r: 3, eligible: team }).candidates), [6, 4, 5]);
  assert.deepEqual(names(planHandoff({ contentId: target, self: id(1), holders: [node(1), node(3)], live, r: 3, eligible: team }).candidates), [6, 4, 5]);
});

test("confined repair: the closest holder that may place copies leads, a read member holding one does not", () => {
  const live = [node(2), node(4), node(5)];
  const holders = [node(3), node(6)];
  // 3 is closer but only reads: 6 leads
  assert.deepEqual(planRepair({ contentId: target, self: id(3), holders, live, r: 3, eligible: team }), { need: 0, candidates: [] });
  const plan = planRepair({ contentId: target, self: id(6), holders, live, r: 3, eligible: team });
  assert.equal(plan.need, 1);
  assert.deepEqual(names(plan.candidates), [4, 5], "the known outsider 2 is left out");
  // no holder may place copies: nobody leads
  assert.equal(planRepair({ contentId: target, self: id(3), holders: [node(3)], live, r: 3, eligible: team }).need, 0);
});
