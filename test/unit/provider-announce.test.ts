// Which contents a node announces itself as a provider of: its own shares and replicas (pinned),
// never a fetched copy, even one it caches; and a copy it stops keeping (unpinned, evicted) drops out of what
// republish() renews, so its record lapses. Real DHT code and signed records on the in-memory
// network, with a clock the test moves; real stores on disk; holders simulated in process.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { ContentStore, shareFile } from "../../node-host/cas";
import { Dht } from "../../node-host/dht/dht";
import { Clock, systemClock } from "../../node-host/dht/clock";
import { Identity } from "../../node-host/security/identity";
import { MemoryNetwork } from "../../node-host/transport/memory";
import { ContentService } from "../../node-host/transfer/content-service";
import type { BulkClient } from "../../node-host/transport/bulk";
import { bulkFrom } from "../helpers/bulk-from-store";

const TTL_MS = 3600_000;
const REPUBLISH_MS = 600_000;
const root = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-provide-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

let now = Date.now();
const clock: Clock = { ...systemClock, now: () => now };

interface Node {
  identity: Identity;
  dht: Dht;
}

async function network(count: number): Promise<Node[]> {
  const net = new MemoryNetwork();
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) {
    const identity = Identity.generate();
    const transport = net.createTransport(identity.publicKey, identity.id);
    const dht = new Dht(transport, { k: 8, recordTtlMs: TTL_MS, republishIntervalMs: REPUBLISH_MS }, identity, clock);
    if (nodes.length) await dht.join([{ host: nodes[0].dht.transport.local.host, port: nodes[0].dht.transport.local.port }]);
    nodes.push({ identity, dht });
  }
  return nodes;
}

/** A ContentService for fetching; the constructor's trailing parameters (access rules) play no part in it. */
function contentService(store: ContentStore, dht: Dht, bulk: BulkClient, dir: string): ContentService {
  const Service = ContentService as unknown as new (...args: unknown[]) => ContentService;
  return new Service(store, dht, bulk, path.join(dir, "downloads"), dir, undefined);
}

/** Node IDs (hex) with a live provider record for the content, as a third node finds them. */
async function providersSeenBy(observer: Node, contentId: Buffer): Promise<string[]> {
  const { providers } = await observer.dht.findProviders(contentId);
  return providers.map((p) => p.provider.id.toString("hex")).sort();
}

/** Time passes beyond a record's lifetime: every node republishes what it announces and drops what expired. */
async function lifetimePasses(nodes: Node[]): Promise<void> {
  now += TTL_MS + 1000;
  for (const n of nodes) await n.dht.republish();
}

async function fixture(name: string) {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const nodes = await network(6);
  const [sharer, fetcher, observer] = nodes;
  const source = await ContentStore.open(path.join(dir, "sharer"));
  const file = path.join(dir, "original.bin");
  fs.writeFileSync(file, randomBytes(3 << 20));
  const shared = await shareFile(source, file);
  const contentId = Buffer.from(shared.contentId, "hex");
  await sharer.dht.provide(contentId);
  const store = await ContentStore.open(path.join(dir, "fetcher"));
  const service = contentService(store, fetcher.dht, bulkFrom(source), path.join(dir, "fetcher-data"));
  const hex = (n: Node) => n.identity.id.toString("hex");
  return { nodes, sharer, fetcher, observer, store, service, shared, contentId, hex };
}

test("a fetched copy is not announced, and after it is evicted nothing of it is republished", async () => {
  const { nodes, sharer, fetcher, observer, store, service, shared, contentId, hex } = await fixture("fetched");
  const got = await service.fetch(shared.link, undefined, undefined, { cache: true });
  assert.equal(got.size, 3 << 20);
  await new Promise((r) => setTimeout(r, 50)); // an announcement would be under way by now
  assert.equal(fetcher.dht.provided.has(contentId.toString("hex")), false, "the fetcher announced a cached copy");
  assert.deepEqual(await providersSeenBy(observer, contentId), [hex(sharer)]);

  // the cached copy is evicted
  store.cacheLimitBytes = 0;
  assert.ok((await store.gc()) >= 3 << 20);
  assert.equal(await store.has(contentId), false);
  await lifetimePasses(nodes);
  assert.deepEqual(await providersSeenBy(observer, contentId), [hex(sharer)], "only the sharer is named once the old records have expired");
});

test("a replica that is unpinned stops being announced, and its record lapses once evicted", async () => {
  const { nodes, sharer, fetcher, observer, store, service, shared, contentId, hex } = await fixture("replica");
  const got = await service.fetch(shared.link, undefined, undefined, { cache: true });
  // kept as a replica and announced, as the replica sink does once every chunk is here
  const ids = [contentId, ...store.ls().filter((o) => o.kind === "chunk").map((o) => o.id)];
  await store.pin(ids, "replica");
  await fetcher.dht.provide(contentId);
  assert.deepEqual(await providersSeenBy(observer, contentId), [hex(sharer), hex(fetcher)].sort());
  assert.equal(got.size, 3 << 20);

  await store.unpin(ids, "replica");
  assert.equal(fetcher.dht.provided.has(contentId.toString("hex")), false, "an unpinned copy is no longer renewed");
  store.cacheLimitBytes = 0;
  await store.gc();
  assert.equal(await store.has(contentId), false);
  await lifetimePasses(nodes);
  assert.deepEqual(await providersSeenBy(observer, contentId), [hex(sharer)]);
});

test("a pinned copy stays announced across republishes", async () => {
  const { nodes, sharer, observer, contentId, hex } = await fixture("pinned");
  await lifetimePasses(nodes);
  await lifetimePasses(nodes);
  assert.deepEqual(await providersSeenBy(observer, contentId), [hex(sharer)]);
  assert.ok(sharer.dht.provided.has(contentId.toString("hex")));
});
