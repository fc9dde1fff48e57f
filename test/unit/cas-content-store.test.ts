import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { ContentStore } from "../../node-host/cas/content-store";
import { encodeManifest, MANIFEST_VERSION, type Manifest } from "../../node-host/cas/manifest";
import { objectIdOf } from "../../node-host/cas/object-hash";

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-cas-content-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const hex = (ids: Buffer[]): string[] => ids.map((id) => id.toString("hex")).sort();

test("the cache evicts least recently used unpinned objects only", async (t) => {
  const store = await ContentStore.open(tempDir(t), { cacheLimitBytes: 3000 });
  const own = await store.put(randomBytes(1000), { pin: "own" });
  const replica = await store.put(randomBytes(1000), { pin: "replica" });
  const a = await store.put(randomBytes(1000));
  const b = await store.put(randomBytes(1000));
  const c = await store.put(randomBytes(1000));
  assert.ok(await store.get(a.id)); // a is now more recent than b
  await store.put(randomBytes(1000)); // over the limit: b, the least recently used, goes
  assert.equal(await store.has(b.id), false);
  assert.equal(await store.has(a.id), true);
  assert.equal(await store.has(c.id), true);
  assert.equal(store.cacheBytes(), 3000);

  store.cacheLimitBytes = 0;
  assert.equal(await store.gc(), 3000);
  assert.deepEqual(hex(store.ls().map((o) => o.id)), hex([own.id, replica.id]));
  assert.equal(await store.has(own.id), true);
  assert.equal(await store.has(replica.id), true);
});

test("pins, kinds and use order survive a reopen", async (t) => {
  const dir = tempDir(t);
  let store = await ContentStore.open(dir, { cacheLimitBytes: 10_000 });
  const pinned = await store.put(randomBytes(100), { pin: "own" });
  await store.pin([pinned.id], "replica");
  const older = await store.put(randomBytes(100));
  const newer = await store.put(randomBytes(100));
  await store.close();

  store = await ContentStore.open(dir, { cacheLimitBytes: 100 });
  assert.equal(store.recoveredIndex, false);
  const info = store.ls().find((o) => o.id.equals(pinned.id));
  assert.deepEqual(info?.pins, ["own", "replica"]);
  assert.equal(info?.kind, "chunk");
  await store.gc();
  assert.equal(await store.has(older.id), false, "older cache object evicted first");
  assert.equal(await store.has(newer.id), false, "newer one unreferenced: removed by gc");
  assert.equal(await store.has(pinned.id), true);
  await store.unpin([pinned.id], "own");
  assert.deepEqual(store.ls()[0].pins, ["replica"]);
});

test("a missing or corrupt index is rebuilt from the objects on disk", async (t) => {
  const dir = tempDir(t);
  let store = await ContentStore.open(dir);
  const chunk = await store.put(randomBytes(500), { pin: "own" });
  const manifest = await store.put(encodeManifest(sampleManifest([chunk.id]), null).bytes);
  await store.close();
  fs.writeFileSync(path.join(dir, "index.bin"), "garbage");

  store = await ContentStore.open(dir);
  assert.equal(store.recoveredIndex, true);
  const kinds = Object.fromEntries(store.ls().map((o) => [o.id.toString("hex"), o.kind]));
  assert.deepEqual(kinds, { [manifest.id.toString("hex")]: "manifest", [chunk.id.toString("hex")]: "chunk" });
  assert.ok(fs.statSync(path.join(dir, "index.bin")).size > 7, "rebuilt index saved");
});

test("gc removes unpinned chunks no manifest references, keeps referenced ones", async (t) => {
  const store = await ContentStore.open(tempDir(t));
  const referenced = await store.put(randomBytes(200));
  const orphan = await store.put(randomBytes(300));
  const encoded = encodeManifest(sampleManifest([referenced.id]), null);
  await store.put(encoded.bytes);
  assert.equal(store.ls()[0].kind, "manifest");
  assert.equal(await store.gc(), 300);
  assert.equal(await store.has(referenced.id), true);
  assert.equal(await store.has(orphan.id), false);
});

test("a corrupt object is dropped from the listing when detected", async (t) => {
  const store = await ContentStore.open(tempDir(t));
  const { id } = await store.put(randomBytes(100), { pin: "own" });
  fs.appendFileSync(store.objects.pathOf(id), "x");
  assert.deepEqual(hex(await store.verify()), hex([id]));
  assert.deepEqual(store.ls(), []);
});

function sampleManifest(chunkIds: Buffer[]): Manifest {
  return {
    version: MANIFEST_VERSION,
    mode: "public",
    name: "a.txt",
    size: chunkIds.length,
    mediaType: "text/plain",
    digest: objectIdOf(Buffer.alloc(0)),
    chunks: chunkIds.map((id) => ({ id, size: 1, key: null })),
  };
}

test("a pin on an object a put has written but not yet recorded is not lost", async (t) => {
  const store = await ContentStore.open(tempDir(t));
  const bytes = randomBytes(1000);
  const { id } = await store.objects.put(bytes); // on disk, not yet in the index (as mid-put)
  assert.equal(store.pinsOf(id), null);
  await store.pin([id], "replica");
  assert.deepEqual(store.pinsOf(id), ["replica"]);
  await store.putVerified(id, bytes, { pin: "fetching" }); // the put records it: both pins stay
  assert.deepEqual(store.pinsOf(id)?.sort(), ["fetching", "replica"]);
  await store.unpin([id], "fetching");
  assert.deepEqual(store.pinsOf(id), ["replica"]);
});

test("pins a fetch left when its node stopped are released when the store opens again: its objects become cache", async (t) => {
  const dir = tempDir(t);
  const store = await ContentStore.open(dir);
  // what a cached fetch killed part-way leaves: some objects pinned "fetching"
  const left = [];
  for (let i = 0; i < 4; i++) left.push(await store.put(randomBytes(3000), { pin: "fetching", kind: "chunk" }));
  const own = await store.put(randomBytes(5000), { pin: "own", kind: "chunk" });
  await store.close();

  const reopened = await ContentStore.open(dir);
  t.after(() => reopened.close());
  for (const o of left) assert.deepEqual(reopened.pinsOf(o.id), [], "cache now");
  assert.deepEqual(reopened.pinsOf(own.id), ["own"], "other pins stay");
  reopened.cacheLimitBytes = 0;
  assert.ok((await reopened.gc()) >= 4 * 3000, "the released objects can be evicted");
});

test("kept objects (own, replica) are fsynced; cache is not until a keeping pin arrives", async (t) => {
  const store = await ContentStore.open(tempDir(t));
  t.after(() => store.close());
  // count the fsyncs of files under the store's objects/ and tmp/ (FileHandle.sync is shared by all handles)
  const handle = await fs.promises.open(__filename, "r");
  const proto = Object.getPrototypeOf(handle) as { sync: () => Promise<void> };
  await handle.close();
  const original = proto.sync;
  let syncs = 0;
  proto.sync = function (this: unknown) {
    syncs++;
    return original.call(this);
  };
  t.after(() => {
    proto.sync = original;
  });
  const syncsDuring = async (work: () => Promise<unknown>) => {
    const before = syncs;
    await work();
    return syncs - before;
  };
  const cached = randomBytes(3000);
  assert.equal(await syncsDuring(() => store.put(cached, { kind: "chunk" })), 0, "cache: no fsync");
  assert.equal(await syncsDuring(() => store.put(randomBytes(3000), { pin: "fetching", kind: "chunk" })), 0, "a fetch in progress: no fsync");
  assert.ok((await syncsDuring(() => store.put(randomBytes(3000), { pin: "own", kind: "chunk" }))) >= 1, "own share: fsynced");
  assert.ok((await syncsDuring(() => store.putVerified(objectIdOf(cached), cached, { pin: "replica", kind: "chunk" }))) >= 1, "a cached copy taken as a replica is fsynced");
  const other = randomBytes(3000);
  await store.put(other, { kind: "chunk" });
  assert.ok((await syncsDuring(() => store.pin([objectIdOf(other)], "replica"))) >= 1, "a cached copy pinned as a replica is fsynced");
});
