// The UDP side of the fuzz test: a set of real sockets on 127.0.0.1, each with its own identity,
// that send DatagramFuzzer output at one target at a steady rate (spread over sources, so the
// per-source rate limit does not drop everything before parsing), answer the requests the target
// (or anyone) sends them with fuzzed responses, and can flood from one source to trip the limit.

import * as dgram from "node:dgram";
import { Agent, DatagramCategory, DatagramFuzzer, makeAgent, seededIdentity } from "./datagrams";
import { Prng } from "./prng";

export interface UdpFuzzCounts {
  /** Datagrams sent to the target by the fuzz loop. */
  sent: number;
  byCategory: Partial<Record<DatagramCategory, number>>;
  /** Of those, how many the target should drop, and how many it should handle. */
  expectedDrops: number;
  expectedHandled: number;
  /** Requests received by the agents, and fuzzed answers sent back (to the target and to others). */
  requestsReceived: number;
  answersToTarget: number;
  answersToOthers: number;
  /** Datagrams sent by flood(). */
  flood: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function bind(): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: "udp4", recvBufferSize: 1 << 20 });
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      s.off("error", reject);
      s.on("error", () => undefined); // ICMP port unreachable and the like: not our concern here
      resolve(s);
    });
  });
}

export class UdpAgents {
  readonly counts: UdpFuzzCounts = { sent: 0, byCategory: {}, expectedDrops: 0, expectedHandled: 0, requestsReceived: 0, answersToTarget: 0, answersToOthers: 0, flood: 0 };
  private closed = false;

  private constructor(
    readonly fuzzer: DatagramFuzzer,
    readonly agents: Agent[],
    private readonly sockets: dgram.Socket[],
    private readonly sink: dgram.Socket,
    private readonly flooder: dgram.Socket,
    private readonly targetPort: number,
  ) {
    sockets.forEach((s, i) => s.on("message", (msg, rinfo) => this.onMessage(i, msg, rinfo)));
    sink.on("message", () => undefined);
  }

  static async open(rng: Prng, n: number, target: { publicKey: Buffer; port: number }): Promise<UdpAgents> {
    const sockets = await Promise.all(Array.from({ length: n }, () => bind()));
    const sink = await bind();
    const flooder = await bind();
    const agents = sockets.map((s) => makeAgent(seededIdentity(rng), s.address().port));
    const fuzzer = new DatagramFuzzer(rng.fork(), agents, target.publicKey, sink.address().port);
    return new UdpAgents(fuzzer, agents, sockets, sink, flooder, target.port);
  }

  /** Every agent sends the target one valid ping, so it learns them as contacts (and asks them things). */
  async introduce(): Promise<void> {
    for (const [i, agent] of this.agents.entries()) this.send(i, this.fuzzer.next(agent, "validRequest").bytes, this.targetPort);
    await sleep(100);
  }

  /**
   * Sends `total` fuzzed datagrams to the target at about `perSecond`, round-robin over the agents,
   * in small steps (a burst bigger than the target's socket buffer would only measure the kernel).
   */
  async run(total: number, perSecond: number): Promise<UdpFuzzCounts> {
    const step = Math.max(1, Math.ceil(perSecond / 200));
    let started = performance.now();
    let next = 0;
    while (this.counts.sent < total && !this.closed) {
      let due = Math.floor(((performance.now() - started) / 1000) * perSecond);
      if (due - this.counts.sent > 4 * step) {
        // fell behind (a busy machine): do not catch up in one burst
        started += ((due - this.counts.sent - step) / perSecond) * 1000;
        due = this.counts.sent + step;
      }
      while (this.counts.sent < Math.min(total, due)) {
        const i = next++ % this.agents.length;
        const d = this.fuzzer.next(this.agents[i]);
        this.send(i, d.bytes, this.targetPort);
        this.counts.sent++;
        this.counts.byCategory[d.category] = (this.counts.byCategory[d.category] ?? 0) + 1;
        if (d.expected === "drop") this.counts.expectedDrops++;
        else this.counts.expectedHandled++;
      }
      await sleep(2);
    }
    return this.counts;
  }

  /** Sends `count` small garbage datagrams from one source, far faster than its rate limit allows. */
  async flood(rng: Prng, count: number): Promise<number> {
    // ~10,000 a second: five times the per-source limit, well within what the socket buffers hold
    for (let i = 0; i < count; i++) {
      this.flooder.send(rng.bytes(rng.int(8, 64)), this.targetPort, "127.0.0.1");
      this.counts.flood++;
      if (i % 100 === 99) await sleep(10);
    }
    await sleep(200);
    return count;
  }

  private send(agentIndex: number, bytes: Buffer, port: number): void {
    if (this.closed) return;
    this.sockets[agentIndex].send(bytes, port, "127.0.0.1");
  }

  private onMessage(i: number, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed || rinfo.address !== "127.0.0.1") return;
    const reply = this.fuzzer.answer(this.agents[i], msg);
    if (!reply) return;
    this.counts.requestsReceived++;
    // a reply from another agent's socket: the target must ignore it (wrong source address)
    const from = reply.fromOtherAgent ? (i + 1) % this.agents.length : i;
    for (const d of reply.datagrams) {
      this.send(from, d, rinfo.port);
      if (rinfo.port === this.targetPort) this.counts.answersToTarget++;
      else this.counts.answersToOthers++;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.sockets, this.sink, this.flooder].map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
