// A simulated network of peershare nodes: the product's Dht and Maintenance on the simulated
// transport and clock, nodes behind NAT in DHT client mode, and the events of a run: nodes that
// die (silently, as a crash or a closed laptop) and nodes that join (through a live node, with the
// product's join).
//
// A network of 10,000 nodes does not join one node at a time here (each join is a dozen lookups):
// every routing table is filled at the start as a long-running node's would be, up to k random
// contacts per bucket from the reachable nodes that exist, none measured yet. A warm-up then runs
// the nodes' maintenance and a lookup per node, so round trips get measured before anything is.

import { Dht, DhtSettings } from "../../node-host/dht/dht";
import { Maintenance } from "../../node-host/maintenance";
import { Identity } from "../../node-host/security/identity";
import { commonPrefixLength, compareDistance, ID_BITS, Id } from "../../node-host/dht/id";
import { Contact } from "../../node-host/dht/messages";
import { NetworkModel, NetworkSettings } from "./network-model";
import { Random } from "./random";
import { Scheduler } from "./scheduler";
import { SimNetwork, SimTransport } from "./sim-transport";

export interface WorldSettings {
  seed: number;
  /** Share of nodes behind NAT (not reachable unless they sent first). */
  natShare: number;
  /** Nodes behind NAT run in DHT client mode (false: they pretend to be servers, as before). */
  clientMode: boolean;
  dht: Partial<DhtSettings>;
  network: NetworkSettings;
}

export interface SimNode {
  index: number;
  dht: Dht;
  transport: SimTransport;
  maintenance: Maintenance;
  natted: boolean;
}

const MAINTENANCE = { healthCheckIntervalMs: 60_000, refreshIntervalMs: 3600_000, republishIntervalMs: 3600_000 };

export class World {
  readonly scheduler = new Scheduler();
  readonly rng: Random;
  readonly model: NetworkModel;
  readonly network: SimNetwork;
  readonly nodes: SimNode[] = [];
  private readonly index = new Map<string, SimNode>();

  constructor(readonly settings: WorldSettings) {
    this.rng = new Random(settings.seed);
    this.model = new NetworkModel(settings.seed, settings.network);
    this.network = new SimNetwork(this.scheduler, this.model, this.rng);
  }

  get live(): SimNode[] {
    return this.nodes.filter((n) => n.transport.alive);
  }

  /** Live nodes others can reach: what a lookup for the k closest should find. */
  get liveServers(): SimNode[] {
    return this.nodes.filter((n) => n.transport.alive && !n.natted);
  }

  /** The node with this ID. */
  byId(id: Id): SimNode {
    const node = this.index.get(id.toString("latin1"));
    if (!node) throw new Error(`no simulated node ${id.toString("hex")}`);
    return node;
  }

  /** A new node (not started). */
  private create(): SimNode {
    const index = this.nodes.length;
    const identity = Identity.fromSeed(this.rng.bytes(32));
    const natted = this.rng.next() < this.settings.natShare;
    const transport = this.network.add(identity.publicKey, identity.id, this.model.place(index, this.rng), natted);
    const dht = new Dht(transport, this.settings.dht, identity, this.scheduler);
    dht.randomBytes = (n) => this.rng.bytes(n);
    const maintenance = new Maintenance(dht, MAINTENANCE, () => undefined, [], this.scheduler, () => this.rng.next());
    const node: SimNode = { index, dht, transport, maintenance, natted };
    this.nodes.push(node);
    this.index.set(identity.id.toString("latin1"), node);
    if (natted && this.settings.clientMode) void dht.setClientMode(true);
    return node;
  }

  /** `count` nodes with routing tables already filled (see the file's head), maintenance running. */
  populate(count: number): void {
    for (let i = 0; i < count; i++) this.create();
    // without client mode, NATed nodes pass for servers and others' tables hold them
    const listed = this.nodes.filter((n) => this.settings.clientMode ? !n.natted : true);
    const sorted = [...listed].sort((a, b) => Buffer.compare(a.dht.id, b.dht.id));
    for (const node of this.nodes) {
      for (const contact of this.tableFor(node.dht.id, sorted)) node.dht.table.update(contact);
      node.maintenance.start([]);
    }
  }

  /** Up to k random contacts per bucket of `self`, from `sorted` (by ID). */
  private tableFor(self: Id, sorted: SimNode[]): Contact[] {
    const k = this.nodes[0].dht.settings.k;
    const out: Contact[] = [];
    // the nodes sharing the first `bits` bits with self form one run of `sorted`
    const run = (bits: number): [number, number] => [lowerBound(sorted, self, bits, false), lowerBound(sorted, self, bits, true)];
    let [lo, hi] = [0, sorted.length];
    for (let bits = 0; bits < ID_BITS && hi - lo > 1; bits++) {
      const [innerLo, innerHi] = run(bits + 1);
      // bucket ID_BITS-1-bits: the run sharing `bits` bits, less the run sharing one more
      const below = innerLo - lo;
      for (const i of this.sample(below + (hi - innerHi), k)) out.push(sorted[i < below ? lo + i : innerHi + i - below].transport.local);
      [lo, hi] = [innerLo, innerHi];
    }
    return out.filter((c) => !c.id.equals(self));
  }

  /** `k` distinct random numbers below `m` (all of them when m <= k). */
  private sample(m: number, k: number): number[] {
    if (m <= k) return Array.from({ length: m }, (_, i) => i);
    const picked = new Set<number>();
    while (picked.size < k) picked.add(this.rng.int(m));
    return [...picked];
  }

  /** Kills a random `fraction` of the live nodes at once (no goodbye). */
  kill(fraction: number): SimNode[] {
    const victims = this.rng.shuffle(this.live).slice(0, Math.floor(this.live.length * fraction));
    for (const n of victims) this.killNode(n);
    return victims;
  }

  killNode(n: SimNode): void {
    n.transport.alive = false;
    void n.maintenance.stop(0);
  }

  /** A new node joins through a random live server, with the product's join. */
  join(): SimNode {
    const node = this.create();
    const via = this.rng.pick(this.liveServers).transport.local;
    node.maintenance.start([{ host: via.host, port: via.port }]);
    return node;
  }
}

/** First index in `sorted` whose ID, on its first `bits` bits, is not below self's (or, with `upper`, above). */
function lowerBound(sorted: SimNode[], self: Id, bits: number, upper: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const id = sorted[mid].dht.id;
    const shared = commonPrefixLength(id, self);
    // compare the first `bits` bits: equal when the shared prefix covers them
    const cmp = shared >= bits ? 0 : Buffer.compare(id, self);
    if (cmp < 0 || (upper && cmp === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The `k` IDs of `nodes` closest to target, other than `self`, nearest first. */
export function trueClosest(nodes: SimNode[], self: Id, target: Id, k: number): Id[] {
  // by the first 48 bits of distance, then exactly among the few nearest
  const keyed = nodes.map((n) => {
    const id = n.dht.id;
    let key = 0;
    for (let j = 0; j < 6; j++) key = key * 256 + (id[j] ^ target[j]);
    return { key, id };
  });
  keyed.sort((a, b) => a.key - b.key);
  return keyed
    .slice(0, k + 8)
    .map((x) => x.id)
    .filter((id) => !id.equals(self))
    .sort((a, b) => compareDistance(a, b, target))
    .slice(0, k);
}
