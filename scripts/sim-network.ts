// Builds a network of DHT nodes on the in-memory transport: the same Dht code as the product,
// without sockets or signatures, so thousands of nodes fit in one process.

import { randomBytes } from "node:crypto";
import { Dht, DhtSettings } from "../node-host/dht/dht";
import { nodeIdFromPublicKey } from "../node-host/dht/id";
import { MemoryNetwork, MemoryTransport } from "../node-host/transport/memory";

export interface SimNode {
  dht: Dht;
  transport: MemoryTransport;
}

export interface SimNetwork {
  network: MemoryNetwork;
  nodes: SimNode[];
}

/**
 * Creates `count` nodes; each joins through a random earlier node (ping, own-ID lookup, bucket
 * refresh), `concurrency` joins at a time. `onProgress` is told how many have joined.
 */
export async function buildNetwork(count: number, settings: Partial<DhtSettings>, concurrency = 16, onProgress?: (joined: number) => void): Promise<SimNetwork> {
  const network = new MemoryNetwork();
  const nodes: SimNode[] = [];
  for (let i = 0; i < count; i++) {
    const publicKey = randomBytes(32);
    const transport = network.createTransport(publicKey, nodeIdFromPublicKey(publicKey));
    nodes.push({ dht: new Dht(transport, settings), transport });
  }
  let next = 1;
  const joinNext = async () => {
    while (next < count) {
      const i = next++;
      const via = nodes[Math.floor(Math.random() * i)].transport.local;
      await nodes[i].dht.join([{ host: via.host, port: via.port }]);
      if (onProgress && i % 500 === 0) onProgress(i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, joinNext));
  return { network, nodes };
}
