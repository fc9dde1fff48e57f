import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { buildNetwork } from "../../scripts/sim-network";
import { compareDistance } from "../../node-host/dht/id";
import { iterativeLookup } from "../../node-host/dht/lookup";
import { Contact } from "../../node-host/dht/messages";
import { Scheduler } from "../../scripts/sim/scheduler";

const K = 10;

function trueClosest(ids: Buffer[], target: Buffer, n: number): string[] {
  return [...ids].sort((a, b) => compareDistance(a, b, target)).slice(0, n).map((x) => x.toString("hex"));
}

test("iterative lookups on a 300-node in-memory network find the true k closest", async () => {
  const { nodes } = await buildNetwork(300, { k: K, alpha: 3 });
  const ids = nodes.map((n) => n.dht.id);
  let exact = 0;
  const runs = 40;
  for (let i = 0; i < runs; i++) {
    const from = nodes[Math.floor(Math.random() * nodes.length)].dht;
    const target = randomBytes(32);
    const { closest, hops } = await from.lookupNodes(target);
    const expected = trueClosest(ids.filter((id) => !id.equals(from.id)), target, K);
    if (JSON.stringify(closest.map((c) => c.id.toString("hex"))) === JSON.stringify(expected)) exact++;
    assert.ok(hops <= 8, `a lookup in 300 nodes took ${hops} hops`);
  }
  assert.ok(exact / runs >= 0.95, `only ${exact}/${runs} lookups found the exact k closest`);
});

test("after health checks, lookups find the true k closest live nodes when a fifth of the nodes died", async () => {
  const { nodes } = await buildNetwork(300, { k: K, alpha: 3, offlineAfterMisses: 2 });
  for (const n of nodes.slice(0, 60)) n.transport.down = true;
  const live = nodes.slice(60);
  for (const n of live) n.dht.settings.healthCheckIntervalMs = 0; // every contact is due for a check
  // two rounds of checks: dead contacts are dropped and replacements promoted
  for (let round = 0; round < 2; round++) await Promise.all(live.map((n) => n.dht.checkHealth(1000)));
  const liveIds = live.map((n) => n.dht.id);
  let exact = 0;
  for (let i = 0; i < 20; i++) {
    const from = live[Math.floor(Math.random() * live.length)].dht;
    const target = randomBytes(32);
    const { closest } = await from.lookupNodes(target);
    if (JSON.stringify(closest.map((c) => c.id.toString("hex"))) === JSON.stringify(trueClosest(liveIds.filter((id) => !id.equals(from.id)), target, K))) exact++;
  }
  assert.ok(exact >= 18, `only ${exact}/20 lookups found the exact k live closest`);
});

// ---- a late query, on a virtual clock -------------------------------------------------------

/** A contact with an ID at distance `d` from a zero target (the first byte is d). */
function contactAt(d: number): Contact {
  const id = Buffer.alloc(32);
  id[0] = d;
  return { id, publicKey: randomBytes(32), host: "10.0.0.1", port: 1000 + d };
}

test("a lookup asks the next candidate when a query is late, and still uses the late answer", async () => {
  const clock = new Scheduler();
  const target = Buffer.alloc(32);
  const [slow, b, c, d] = [contactAt(1), contactAt(2), contactAt(3), contactAt(4)];
  const closer = contactAt(0); // the closest of all, learnt only from the slow node's answer
  closer.id[31] = 1;
  const askedAt = new Map<number, number>();
  const run = (lateMs: number | null) => {
    askedAt.clear();
    return clock.runUntil(
      iterativeLookup({
        target,
        self: contactAt(0xff).id,
        k: 3,
        alpha: 1,
        seeds: [slow, b, c, d],
        query: (contact, late) => {
          askedAt.set(contact.port, clock.time);
          const delay = contact === slow ? 500 : 10;
          // the transport's part: an answer after `delay`, and "late" when none came within lateMs
          const cancelLate = lateMs === null ? () => undefined : clock.setTimer(late, lateMs);
          return new Promise((resolve) =>
            clock.at(clock.time + delay, () => {
              cancelLate();
              resolve({ contacts: contact === slow ? [closer] : [], rttMs: delay });
            }),
          );
        },
      }),
    );
  };
  const started = clock.time;
  const outcome = await run(50);
  assert.equal(askedAt.get(b.port), started + 50, "the next candidate was asked once the slow one was late");
  assert.deepEqual(outcome.closest.map((x) => x.port), [closer.port, slow.port, b.port], "the late answer was used");
  const slowRow = outcome.queried.find((q) => q.contact === slow);
  assert.equal(slowRow?.ok, true);
  assert.equal(slowRow?.rttMs, 500, "the trace shows the late answer's real round trip");

  const waited = clock.time;
  await run(null);
  assert.ok((askedAt.get(b.port) ?? 0) >= waited + 500, "without late handling the lookup waits for the slow answer");
});

// ---- contacts heard from lately -------------------------------------------------------------

/** A lookup of the zero target over seeds 1..8 where every node answers with `answers(contact)`. */
function lookupOverEight(vouched: (c: Contact) => boolean, answers: (c: Contact) => Contact[] = () => []) {
  const asked: number[] = [];
  const seeds = [1, 2, 3, 4, 5, 6, 7, 8].map(contactAt);
  const outcome = iterativeLookup({
    target: Buffer.alloc(32),
    self: contactAt(0xff).id,
    k: 8,
    alpha: 2,
    seeds,
    vouched,
    query: async (contact) => {
      asked.push(contact.id[0]);
      return { contacts: answers(contact) };
    },
  });
  return outcome.then((o) => ({ ...o, asked: asked.sort((a, b) => a - b) }));
}

test("a lookup counts contacts heard from lately without asking them, except the alpha closest and the alpha farthest of the k", async () => {
  const outcome = await lookupOverEight(() => true);
  assert.deepEqual(outcome.asked, [1, 2, 7, 8], "the closest two and the farthest two of the k were asked");
  assert.deepEqual(outcome.closest.map((c) => c.id[0]), [1, 2, 3, 4, 5, 6, 7, 8], "the result is the k closest");
  assert.equal(outcome.vouched, 4);

  const none = await lookupOverEight(() => false);
  assert.deepEqual(none.asked, [1, 2, 3, 4, 5, 6, 7, 8], "with nobody heard from lately, all k are asked");
  assert.equal(none.vouched, 0);
});

test("a closer node learnt from an answer must answer itself, heard from lately or not", async () => {
  const closer = contactAt(0);
  closer.id[31] = 1;
  const outcome = await lookupOverEight(
    (c) => c !== closer,
    (c) => (c.id[0] === 1 ? [closer] : []),
  );
  assert.ok(outcome.asked.includes(0), "the node learnt from the closest one's answer was asked");
  assert.deepEqual(outcome.closest.map((c) => c.id[0]), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.ok(!outcome.asked.includes(8), "the node pushed out of the k was not asked");
});
