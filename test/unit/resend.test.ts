// A request resent while it is late: a lost copy costs one late deadline, a dead node one give-up
// deadline, on a virtual clock.

import { test } from "node:test";
import assert from "node:assert/strict";
import { requestWithResends } from "../../node-host/dht/resend";
import { Reply, RequestOptions, RpcTimeoutError, RpcTransport } from "../../node-host/dht/transport";
import { Scheduler } from "../../scripts/sim/scheduler";

const to = { host: "10.0.0.1", port: 1 };

/** A transport whose n-th request (from 0) is answered after `answerMs[n]` ms, or never (null). */
function transport(clock: Scheduler, answerMs: (number | null)[]): RpcTransport & { sent: number[] } {
  const sent: number[] = [];
  return {
    sent,
    local: { id: Buffer.alloc(32), publicKey: Buffer.alloc(32), host: "10.0.0.2", port: 2 },
    onRequest: () => undefined,
    setClientMode: () => undefined,
    close: async () => undefined,
    request(address, req, options: RequestOptions = {}): Promise<Reply> {
      const n = sent.length;
      sent.push(clock.time);
      return new Promise((resolve, reject) => {
        const cancel = clock.setTimer(() => reject(new RpcTimeoutError(address, req.type)), options.timeoutMs ?? 1000);
        const delay = answerMs[n];
        if (delay !== null && delay !== undefined) {
          clock.at(clock.time + delay, () => {
            cancel();
            resolve({ from: this.local, response: { type: "pong" }, rttMs: delay, client: false });
          });
        }
      });
    },
  };
}

test("a lost request is sent again when late, and the copy's answer counts", async () => {
  const clock = new Scheduler();
  const t = transport(clock, [null, 80]);
  let late = 0;
  const reply = await clock.runUntil(requestWithResends(t, clock, to, { type: "ping" }, { lateMs: 100, giveUpMs: 400 }, () => late++));
  assert.equal(reply.rttMs, 80);
  assert.deepEqual(t.sent, [0, 100]);
  assert.equal(late, 1);
  assert.equal(clock.time, 180);
});

test("a dead node costs the give-up deadline and three copies at most", async () => {
  const clock = new Scheduler();
  const t = transport(clock, [null, null, null, null]);
  await assert.rejects(clock.runUntil(requestWithResends(t, clock, to, { type: "ping" }, { lateMs: 100, giveUpMs: 400 })), RpcTimeoutError);
  assert.deepEqual(t.sent, [0, 100, 200]);
  assert.equal(clock.time, 400);
});

test("a slow answer to the first copy still counts after copies went out", async () => {
  const clock = new Scheduler();
  const t = transport(clock, [250, null, null]);
  const reply = await clock.runUntil(requestWithResends(t, clock, to, { type: "ping" }, { lateMs: 100, giveUpMs: 400 }));
  assert.equal(reply.rttMs, 250);
  assert.equal(clock.time, 250);
});
