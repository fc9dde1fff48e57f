import { test } from "node:test";
import assert from "node:assert/strict";
import { debounce } from "../../../extension/debounce";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a burst of calls runs once, after the quiet period", async () => {
  let runs = 0;
  const d = debounce(() => runs++, 40);
  for (let i = 0; i < 10; i++) d();
  assert.equal(runs, 0);
  await sleep(80);
  assert.equal(runs, 1);
});

test("a steady stream still runs by maxWait", async () => {
  let runs = 0;
  const d = debounce(() => runs++, 40, 100);
  const until = Date.now() + 250;
  while (Date.now() < until) {
    d();
    await sleep(10);
  }
  assert.ok(runs >= 1, `ran ${runs} times`);
  d.cancel();
});

test("cancel drops a pending call; flush runs it now", async () => {
  let runs = 0;
  const d = debounce(() => runs++, 30);
  d();
  d.cancel();
  await sleep(50);
  assert.equal(runs, 0);
  d();
  d.flush();
  assert.equal(runs, 1);
  d.flush();
  assert.equal(runs, 1);
});
