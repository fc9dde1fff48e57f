// Nodes coming and going, one event every `everyMs`, in turn: a SIGKILL and a restart with the same
// data dir, a graceful stop (the node hands its files on) and a restart, a new node joining with a
// fresh data dir, and a fresh node leaving for good. The seed (bootstrap and observer), the holdings
// node and the fault nodes are left alone: their faults are their own.

import { Fleet, SoakNode, sleep } from "./fleet";
import { Ledger } from "./ledger";
import { Prng } from "../../test/fuzz/prng";

type ChurnEvent = "kill-restart" | "stop-restart" | "join" | "leave";
const CYCLE: ChurnEvent[] = ["kill-restart", "join", "stop-restart", "leave"];

export class Churn {
  private step = 0;
  private fresh = 0;

  constructor(
    private readonly fleet: Fleet,
    private readonly ledger: Ledger,
    private readonly rng: Prng,
    /** Time a stopped or killed node stays down before its restart. */
    private readonly downMs: number,
  ) {}

  async run(until: number, everyMs: number): Promise<void> {
    while (Date.now() + everyMs < until) {
      await sleep(everyMs);
      await this.next().catch((err) => this.ledger.fail("restart", err));
    }
  }

  private churnable(): SoakNode[] {
    return this.fleet.live((n) => n.role === "regular" || n.role === "fresh");
  }

  private async next(): Promise<void> {
    const event = CYCLE[this.step++ % CYCLE.length];
    switch (event) {
      case "kill-restart":
      case "stop-restart": {
        const node = this.rng.pick(this.churnable());
        if (event === "kill-restart") await this.fleet.kill(node);
        else await this.fleet.stop(node);
        this.ledger.ok(event === "kill-restart" ? "kill" : "leave");
        await sleep(this.downMs);
        await this.fleet.start(node);
        this.ledger.ok("restart");
        return;
      }
      case "join":
        await this.fleet.add(`fresh${++this.fresh}`, "fresh");
        this.ledger.ok("join");
        return;
      case "leave": {
        // a fresh node if there is one, so the fleet keeps its size
        const fresh = this.fleet.live((n) => n.role === "fresh");
        const node = fresh.length ? this.rng.pick(fresh) : this.rng.pick(this.churnable());
        await this.fleet.stop(node);
        node.retired = true;
        this.ledger.ok("leave");
        return;
      }
    }
  }
}
