// The DHT's transport on the simulated network: requests and replies are delivered in virtual
// time after the network model's delay, or lost; a node behind NAT only lets in datagrams from
// nodes it sent to lately (address-restricted filtering, as home routers do); a dead node neither
// sends nor answers. It implements the same RpcTransport as real UDP, timeouts included (on the
// virtual clock), so the Dht above it is the product's.

import { Address, Reply, RequestHandler, RequestOptions, RpcTimeoutError, RpcTransport } from "../../node-host/dht/transport";
import { Contact, Request, RequestType, Response } from "../../node-host/dht/messages";
import { RecentCache } from "../../node-host/util/recent-cache";
import { NetworkModel, Placement } from "./network-model";
import { Random } from "./random";
import { Scheduler } from "./scheduler";

/** How long a NAT keeps a mapping open after the node behind it last sent to a peer. */
const NAT_MAPPING_MS = 60_000;
/** How many mappings a NAT keeps. */
const NAT_MAPPINGS = 256;

export class SimNetwork {
  private readonly nodes: SimTransport[] = [];
  /** Requests sent, by type. */
  readonly requests = new Map<RequestType, number>();

  constructor(
    readonly scheduler: Scheduler,
    readonly model: NetworkModel,
    readonly rng: Random,
  ) {}

  /** Adds a node; its address is 10.0.0.0:<its number> (ports are never reused). */
  add(publicKey: Buffer, id: Buffer, placement: Placement, natted: boolean): SimTransport {
    const contact: Contact = { id, publicKey, host: "10.0.0.0", port: this.nodes.length + 1 };
    const t = new SimTransport(this, contact, placement, natted);
    this.nodes.push(t);
    return t;
  }

  /** Sends a datagram from `from` to the node at `port`: `receive` runs there on arrival, unless it is lost or filtered. */
  deliver(from: SimTransport, port: number, receive: (target: SimTransport) => void): void {
    const target = this.nodes[port - 1];
    if (!target) return;
    from.sentTo(port);
    if (this.model.lost(this.rng)) return;
    const delay = this.model.oneWayMs(from.placement, target.placement, this.rng);
    this.scheduler.at(this.scheduler.time + delay, () => {
      if (target.alive && target.admits(from.local.port)) receive(target);
    });
  }

  countRequest(type: RequestType): void {
    this.requests.set(type, (this.requests.get(type) ?? 0) + 1);
  }
}

interface Pending {
  to: Address;
  sentAt: number;
  resolve: (reply: Reply) => void;
  cancelTimeout: () => void;
}

export class SimTransport implements RpcTransport {
  alive = true;
  /** Requests this node sent, by type (a lookup's messages are counted on its node). */
  readonly sent = new Map<RequestType, number>();
  private handler: RequestHandler = () => null;
  private clientMode = false;
  private readonly pending = new Map<number, Pending>();
  private nextTxid = 1;
  /** Behind NAT: port -> when this node last sent there. */
  private readonly mappings: RecentCache<number, number> | null;

  constructor(
    private readonly network: SimNetwork,
    readonly local: Contact,
    readonly placement: Placement,
    readonly natted: boolean,
  ) {
    this.mappings = natted ? new RecentCache(NAT_MAPPINGS) : null;
  }

  onRequest(handler: RequestHandler): void {
    this.handler = handler;
  }

  setClientMode(on: boolean): void {
    this.clientMode = on;
  }

  sentTo(port: number): void {
    this.mappings?.set(port, this.network.scheduler.time);
  }

  /** Whether a datagram from `port` gets through this node's NAT (always, without one). */
  admits(port: number): boolean {
    if (!this.mappings) return true;
    const at = this.mappings.get(port);
    return at !== undefined && this.network.scheduler.time - at <= NAT_MAPPING_MS;
  }

  request(to: Address, request: Request, options: RequestOptions = {}): Promise<Reply> {
    if (!this.alive) return Promise.reject(new Error("this node is down"));
    const scheduler = this.network.scheduler;
    const txid = this.nextTxid++;
    this.sent.set(request.type, (this.sent.get(request.type) ?? 0) + 1);
    this.network.countRequest(request.type);
    const client = this.clientMode;
    return new Promise<Reply>((resolve, reject) => {
      const cancelTimeout = scheduler.setTimer(() => {
        this.pending.delete(txid);
        reject(new RpcTimeoutError(to, request.type));
      }, options.timeoutMs ?? 1000);
      this.pending.set(txid, { to, sentAt: scheduler.time, resolve, cancelTimeout });
      this.network.deliver(this, to.port, (target) => target.receiveRequest(this, txid, request, client));
    });
  }

  private receiveRequest(from: SimTransport, txid: number, request: Request, client: boolean): void {
    Promise.resolve()
      .then(() => this.handler(from.local, request, { client }))
      .then((response) => {
        if (response && this.alive) this.reply(from, txid, response);
      })
      .catch(() => undefined);
  }

  private reply(to: SimTransport, txid: number, response: Response): void {
    const client = this.clientMode;
    this.network.deliver(this, to.local.port, (target) => target.receiveReply(this, txid, response, client));
  }

  private receiveReply(from: SimTransport, txid: number, response: Response, client: boolean): void {
    const p = this.pending.get(txid);
    if (!p || (p.to.id && !p.to.id.equals(from.local.id))) return;
    this.pending.delete(txid);
    p.cancelTimeout();
    p.resolve({ from: from.local, response, rttMs: this.network.scheduler.time - p.sentAt, client });
  }

  async close(): Promise<void> {
    this.alive = false;
  }
}
