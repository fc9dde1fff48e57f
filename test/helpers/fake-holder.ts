// A hostile or hand-made holder for integration tests: a real DHT node (real UDP, real TLS bulk
// transport) in the test process, serving whatever objects the test gives it, under ids the test
// chooses, and announcing itself as their holder.

import { Dht } from "../../node-host/dht/dht";
import { Identity } from "../../node-host/security/identity";
import { createBulkNode } from "../../node-host/transport/bulk-client";
import { UdpRpc } from "../../node-host/transport/udp-rpc";
import { objectIdOf } from "../../node-host/cas/object-hash";

export interface FakeHolder {
  identity: Identity;
  dht: Dht;
  /** Serves `bytes` under their hash (or under `as`, which they then do not hash to); returns the id (hex). */
  serve(bytes: Buffer, as?: Buffer): string;
  /** Announces this node as a holder of `id` (hex). */
  provide(id: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a holder that joins through `bootstrapPort` on 127.0.0.1. `getObject` decides what it
 * sends for an id (default: what serve() stored).
 */
export async function startFakeHolder(bootstrapPort: number, options: { identity?: Identity; getObject?: (id: Buffer) => Promise<Buffer | null> } = {}): Promise<FakeHolder> {
  const identity = options.identity ?? Identity.generate();
  const served = new Map<string, Buffer>();
  const transport = await UdpRpc.bind({ identity, host: "127.0.0.1", port: 0 });
  const dht = new Dht(transport, {}, identity);
  const getObject = options.getObject ?? (async (id: Buffer) => served.get(id.toString("hex")) ?? null);
  const bulk = await createBulkNode({
    identity,
    host: "127.0.0.1",
    port: transport.local.port,
    source: { getObject: (_from, id) => getObject(id) },
    signaller: { signal: (peer, payload) => dht.signal(peer, payload), onSignal: (h) => (dht.signalHandler = h) },
  });
  await dht.join([{ host: "127.0.0.1", port: bootstrapPort }]);
  return {
    identity,
    dht,
    serve: (bytes, as) => {
      const id = as ?? objectIdOf(bytes);
      served.set(id.toString("hex"), bytes);
      return id.toString("hex");
    },
    provide: async (id) => void (await dht.provide(Buffer.from(id, "hex"))),
    close: async () => {
      await bulk.close();
      await dht.leave().catch(() => undefined);
      await transport.close();
    },
  };
}
