// Pausing and resuming a fetch (ContentService): the temp file keeps the chunks that came before the
// pause, and the resumed fetch asks holders only for the rest. A real store and real files; the
// holder and the DHT are stand-ins in this process (integration tests run real nodes).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { ContentStore, shareFile } from "../../node-host/cas";
import { fixedSizeChunker, KiB } from "../../node-host/cas/chunker";
import type { Dht } from "../../node-host/dht/dht";
import type { BulkClient, BulkPeer } from "../../node-host/transport/bulk";
import type { BulkNodeClient } from "../../node-host/transport/bulk-client";
import { ContentService } from "../../node-host/transfer/content-service";
import type { TransferInfo } from "../../node-host/rpc/api-types";
import { bulkFrom } from "../helpers/bulk-from-store";
import { tempDir } from "../helpers/temp-dir";

/** A ContentService whose only holder serves `bulk`'s objects (the DHT names it; access rules play no part in a fetch). */
function fetchingService(store: ContentStore, bulk: BulkClient, dir: string): ContentService {
  const holder: BulkPeer = { id: randomBytes(32), publicKey: randomBytes(32), host: "127.0.0.1", port: 1 };
  const dht = { id: randomBytes(32), findProviders: async () => ({ providers: [{ provider: holder }], lookup: { closest: [] } }), isAlive: async () => true };
  const Service = ContentService as unknown as new (...args: unknown[]) => ContentService;
  return new Service(store, dht as unknown as Dht, bulk as unknown as BulkNodeClient, path.join(dir, "downloads"), dir, undefined);
}

test("a paused fetch resumes from its temp file: only the chunks it lacked are asked for again", async () => {
  const dir = tempDir("pause-resume");
  const source = await ContentStore.open(path.join(dir, "source"));
  const original = randomBytes(8 << 20);
  const file = path.join(dir, "data.bin");
  fs.writeFileSync(file, original);
  const shared = await shareFile(source, file, { chunker: fixedSizeChunker(128 * KiB) });
  const chunks = shared.manifest.chunks.length;

  // one holder, slowed so that the pause lands mid-fetch (progress goes out at most 4 times a second)
  const asked: string[] = [];
  const bulk = bulkFrom(source, async (id) => {
    asked.push(id.toString("hex"));
    await new Promise((r) => setTimeout(r, 100));
  });
  const store = await ContentStore.open(path.join(dir, "fetcher"));
  const service = fetchingService(store, bulk, dir);

  let paused = false;
  let done: (t: TransferInfo) => void;
  const finished = new Promise<TransferInfo>((r) => (done = r));
  service.transfers.on("progress", (t: TransferInfo) => {
    if (!paused && t.state === "running" && t.bytesDone > t.bytesTotal * 0.3) {
      paused = true;
      service.pause(t.id);
    }
    if (t.state === "done") done(t);
  });
  await assert.rejects(service.fetch(shared.link, undefined, "t1"), /cancelled/);
  assert.ok(paused);
  const part = path.join(dir, "downloads", ".data.bin.peershare-part");
  assert.ok(fs.existsSync(part), "the paused fetch keeps its temp file");
  const askedBefore = new Set(asked.splice(0));

  service.resume("t1");
  const t = await finished;
  assert.deepEqual(fs.readFileSync(t.path!), original);
  assert.equal(fs.existsSync(part), false);
  assert.ok(askedBefore.size >= chunks * 0.3, `${askedBefore.size} of ${chunks} chunks asked for before the pause`);
  assert.ok(asked.length <= chunks - askedBefore.size + 12, `${asked.length} chunks asked for after the resume, ${askedBefore.size} of ${chunks} before`);
  await store.close();
  await source.close();
});
