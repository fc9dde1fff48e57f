// An in-memory network of DHT nodes for simulations and unit tests: the same DHT code as over UDP,
// without sockets or signatures. Messages are delivered asynchronously; a request to a node that is
// down or absent fails as a timeout would.

import { Address, Reply, RequestHandler, RpcTimeoutError, RpcTransport } from "../dht/transport";
import { Contact, Request } from "../dht/messages";

export class MemoryNetwork {
  private readonly nodes = new Map<string, MemoryTransport>();
  private nextPort = 1;
  /** Counts every request delivered, for simulations. */
  messages = 0;

  /** Adds a node; its "address" is 10.0.0.0:<n> (never a real socket). */
  createTransport(publicKey: Buffer, id: Buffer): MemoryTransport {
    const contact: Contact = { id, publicKey, host: "10.0.0.0", port: this.nextPort++ };
    const t = new MemoryTransport(this, contact);
    this.nodes.set(addressKey(contact), t);
    return t;
  }

  lookup(to: Address): MemoryTransport | undefined {
    const t = this.nodes.get(addressKey(to));
    return t && !t.down ? t : undefined;
  }

  remove(t: MemoryTransport): void {
    this.nodes.delete(addressKey(t.local));
  }
}

function addressKey(a: Address): string {
  return `${a.host}:${a.port}`;
}

export class MemoryTransport implements RpcTransport {
  handler: RequestHandler = () => null;
  /** A node that is down answers nothing, as if killed. */
  down = false;
  /** Everything this node sends is marked as coming from a DHT client. */
  clientMode = false;

  constructor(
    private readonly network: MemoryNetwork,
    readonly local: Contact,
  ) {}

  onRequest(handler: RequestHandler): void {
    this.handler = handler;
  }

  setClientMode(on: boolean): void {
    this.clientMode = on;
  }

  async request(to: Address, request: Request): Promise<Reply> {
    await Promise.resolve(); // deliver asynchronously, as a network would
    const target = this.network.lookup(to);
    if (this.down || !target || (to.id && !to.id.equals(target.local.id))) throw new RpcTimeoutError(to, request.type);
    this.network.messages++;
    const response = await target.handler(this.local, request, { client: this.clientMode });
    if (!response) throw new RpcTimeoutError(to, request.type);
    return { from: target.local, response, rttMs: 0, client: target.clientMode };
  }

  async close(): Promise<void> {
    this.down = true;
    this.network.remove(this);
  }
}
