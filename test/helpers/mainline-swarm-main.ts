// A Mainline DHT in miniature for the network lab: COUNT bittorrent-dht nodes (WebTorrent's, the
// implementation the rendezvous itself uses) on HOST, ports BASE_PORT.., each bootstrapped from the
// ones before it. Prints {"ready": [addresses], …} once all listen, then every 2 s how many
// announce_peer and get_peers queries the nodes answered ({"announces": n, "lookups": n}); runs
// until killed.
//
// Usage: node mainline-swarm-main.js HOST BASE_PORT COUNT

interface SwarmNode {
  listen(port: number, host: string, cb: () => void): void;
  destroy(cb: () => void): void;
  on(event: "announce", fn: () => void): void;
  on(event: "warning" | "error", fn: (err: Error) => void): void;
  _rpc: { on(event: "query", fn: (q: { q?: Buffer }) => void): void };
}

async function main(): Promise<void> {
  const [host, basePort, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
  const DHT = (await import("bittorrent-dht")).default as new (o: Record<string, unknown>) => SwarmNode;
  const addresses: string[] = [];
  let announces = 0;
  let lookups = 0;
  for (let i = 0; i < count; i++) {
    const d = new DHT({ bootstrap: addresses.slice(), host });
    d.on("warning", () => undefined);
    d.on("error", (err) => process.stderr.write(`swarm node ${i}: ${err.message}\n`));
    d._rpc.on("query", (q) => {
      const kind = q.q?.toString();
      if (kind === "announce_peer") announces++;
      if (kind === "get_peers") lookups++;
    });
    await new Promise<void>((r) => d.listen(basePort + i, host, r));
    addresses.push(`${host}:${basePort + i}`);
  }
  process.stdout.write(JSON.stringify({ ready: addresses }) + "\n");
  setInterval(() => process.stdout.write(JSON.stringify({ announces, lookups }) + "\n"), 2000);
}

void main();
