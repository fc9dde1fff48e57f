// Pack files for small objects: the writer, reader and index on their own, then through the object
// store and the content store (reads, checks, deletion, compaction, crashes, a store of the previous
// release with loose objects only).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { ContentStore, shareFile } from "../../node-host/cas";
import { openManifest, readContent } from "../../node-host/cas/assemble";
import { objectIdOf } from "../../node-host/cas/object-hash";
import { ObjectStore } from "../../node-host/cas/object-store";
import { PackIndex } from "../../node-host/cas/pack-index";
import { PACK_HEADER_BYTES, PackWriter, readPacked, scanPack, RECORD_HEADER_BYTES } from "../../node-host/cas/pack-file";
import { PACK_MAX_OBJECT_BYTES } from "../../node-host/cas/pack-store";
import { addPin, PinIndex } from "../../node-host/cas/pin-index";
import { readFolder } from "../../node-host/cas/open-folder";
import { shareFolder } from "../../node-host/cas/share-folder";
import { tempDir } from "../helpers/temp-dir";

const packsOf = (dir: string) => fs.readdirSync(path.join(dir, "packs")).filter((n) => n.endsWith(".pack")).sort();
const looseCount = (dir: string) => fs.readdirSync(path.join(dir, "objects"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;

async function idsOf(store: ObjectStore): Promise<string[]> {
  const out: string[] = [];
  for await (const id of store.ids()) out.push(id.toString("hex"));
  return out.sort();
}

/** Puts `n` random objects of `size` bytes as a batch (packed), returning their ids and bytes. */
async function putPacked(store: ObjectStore, n: number, size = 5000): Promise<{ id: Buffer; bytes: Buffer }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const bytes = randomBytes(size);
    out.push({ id: (await store.put(bytes, false, () => false, true)).id, bytes });
  }
  return out;
}

test("pack file: records appended concurrently land whole, are read back at their offsets, and a scan finds them in order", async () => {
  const file = path.join(tempDir("pack-file"), "00000001.pack");
  const writer = await PackWriter.create(1, file);
  const objects = [randomBytes(10), randomBytes(70_000), randomBytes(0), randomBytes(3000)];
  const seen: number[] = [];
  const at = await Promise.all(objects.map((b, i) => writer.append(objectIdOf(b), i === 1 ? [b.subarray(0, 5), b.subarray(5)] : [b], b.length, () => void seen.push(i))));
  assert.equal(seen.length, 4, "each append reported as written");
  const size = await writer.seal();
  assert.equal(size, fs.statSync(file).size);
  assert.equal(size, PACK_HEADER_BYTES + objects.reduce((n, b) => n + RECORD_HEADER_BYTES + b.length, 0));
  for (const [i, b] of objects.entries()) assert.deepEqual(await readPacked(file, at[i]!.offset, at[i]!.length), b);
  assert.equal(await writer.append(objectIdOf(objects[0]), [objects[0]], 10, () => undefined), null, "a sealed pack takes no more");
  const scanned = [];
  for await (const r of scanPack(file, PACK_MAX_OBJECT_BYTES)) scanned.push(r);
  assert.deepEqual(
    scanned.map((r) => r.id.toString("hex")),
    objects.map((b) => objectIdOf(b).toString("hex")),
  );

  // a truncated pack: the scan stops before the torn record, a read of it comes back short
  fs.truncateSync(file, size - 100);
  const left = [];
  for await (const r of scanPack(file, PACK_MAX_OBJECT_BYTES)) left.push(r);
  assert.equal(left.length, 3);
  assert.equal((await readPacked(file, at[3]!.offset, at[3]!.length)).length, 3000 - 100);
});

test("pack file: an early sync while appends go on leaves every record to seal(); a failed early sync fails the seal", async () => {
  const dir = tempDir("pack-early-sync");
  const writer = await PackWriter.create(1, path.join(dir, "00000001.pack"));
  const objects = Array.from({ length: 20 }, () => randomBytes(5000));
  const appends = objects.map((b) => writer.append(objectIdOf(b), [b], b.length, () => undefined));
  writer.syncSoon();
  const at = await Promise.all(appends);
  await writer.seal();
  for (const [i, b] of objects.entries()) assert.deepEqual(await readPacked(writer.file, at[i]!.offset, at[i]!.length), b);

  const failing = await PackWriter.create(2, path.join(dir, "00000002.pack"));
  await failing.append(objectIdOf(objects[0]), [objects[0]], 5000, () => undefined);
  const fh = (failing as unknown as { fh: { sync(): Promise<void> } }).fh;
  const sync = fh.sync.bind(fh);
  fh.sync = () => Promise.reject(new Error("EIO"));
  failing.syncSoon();
  fh.sync = sync; // a later fsync may report success after an error was taken: seal must not trust it
  await assert.rejects(failing.seal(), /EIO/);
});

test("pack index: round-trips sealed packs only, refuses a damaged copy, and finds packs that are mostly dead", () => {
  const index = new PackIndex();
  index.openPack(1);
  index.add("aa".repeat(32), { pack: 1, offset: PACK_HEADER_BYTES + RECORD_HEADER_BYTES, length: 1000 });
  index.add("bb".repeat(32), { pack: 1, offset: PACK_HEADER_BYTES + 2 * RECORD_HEADER_BYTES + 1000, length: 1000 });
  index.sealPack(1, PACK_HEADER_BYTES + 2 * RECORD_HEADER_BYTES + 2000);
  index.openPack(2); // being written: not saved
  index.add("cc".repeat(32), { pack: 2, offset: PACK_HEADER_BYTES + RECORD_HEADER_BYTES, length: 10 });
  const saved = index.serialize();
  const back = PackIndex.parse(saved);
  assert.deepEqual(back.hexIds().sort(), ["aa".repeat(32), "bb".repeat(32)]);
  assert.deepEqual(back.packNumbers(), [1]);
  assert.deepEqual(back.get("bb".repeat(32)), index.get("bb".repeat(32)));
  for (const at of [10, saved.length - 1]) {
    const damaged = Buffer.from(saved);
    damaged[at] ^= 1;
    assert.throws(() => PackIndex.parse(damaged));
  }
  assert.throws(() => PackIndex.parse(saved.subarray(0, saved.length - 5)));
  assert.deepEqual(back.packsToCompact(0.5), []);
  back.remove("aa".repeat(32));
  assert.deepEqual(back.packsToCompact(0.5), [], "half live is not yet compacted");
  back.remove("bb".repeat(32));
  assert.deepEqual(back.packsToCompact(0.5), [1]);
});

test("packed objects read, check, list and delete exactly as loose ones; large objects stay loose; all survive a reopen", async () => {
  const dir = tempDir("packs-store");
  const store = await ObjectStore.open(dir);
  const small = await putPacked(store, 20);
  const large = randomBytes(PACK_MAX_OBJECT_BYTES + 1);
  const { id: largeId } = await store.put(large, false, () => false, true);
  const { id: looseId } = await store.put(randomBytes(100)); // durable: loose, as before
  assert.equal(looseCount(dir), 2, "only the large and the durable object have files of their own");
  assert.equal(packsOf(dir).length, 1);
  for (const o of small) {
    assert.deepEqual(await store.get(o.id), o.bytes, "readable before the pack is committed");
    assert.equal(await store.size(o.id), o.bytes.length);
    assert.deepEqual(await store.readHead(o.id, 5), o.bytes.subarray(0, 5));
  }
  const into = Buffer.alloc(8000);
  const viaBuffer = await store.get(small[0].id, into);
  assert.equal(viaBuffer?.buffer, into.buffer, "read into the buffer given");
  assert.equal((await store.put(small[0].bytes, false, () => true, true)).written, false, "deduplicated against the packed copy");
  await store.syncMany(small.map((o) => o.id));
  assert.deepEqual(await idsOf(store), [...small.map((o) => o.id), largeId, looseId].map((id) => id.toString("hex")).sort());

  assert.equal(await store.delete(small[0].id), true);
  assert.equal(await store.has(small[0].id), false);
  assert.equal(await store.delete(small[0].id), false);
  await store.commit();

  const again = await ObjectStore.open(dir);
  assert.equal(await again.has(small[0].id), false, "a deletion is saved");
  for (const o of small.slice(1)) assert.deepEqual(await again.get(o.id), o.bytes);
  assert.deepEqual(await again.get(largeId), large);
  assert.deepEqual(await again.verify(), []);
});

test("a corrupt byte in a packed object: get returns null (never the bytes), the object is quarantined, verify finds the next one", async () => {
  const dir = tempDir("packs-corrupt");
  const store = await ObjectStore.open(dir);
  const objects = await putPacked(store, 3);
  await store.commit();
  const file = path.join(dir, "packs", packsOf(dir)[0]);
  const flip = (offset: number) => {
    const fd = fs.openSync(file, "r+");
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, offset);
    b[0] ^= 0x40;
    fs.writeSync(fd, b, 0, 1, offset);
    fs.closeSync(fd);
  };
  const reopened = await ObjectStore.open(dir); // reads what is on disk, not a cache
  const first = PACK_HEADER_BYTES + RECORD_HEADER_BYTES + 100;
  flip(first);
  assert.equal(await reopened.get(objects[0].id), null);
  assert.equal(await reopened.has(objects[0].id), false, "quarantined: no longer held");
  assert.equal(fs.readdirSync(path.join(dir, "quarantine")).length, 1, "its bytes kept aside for inspection");
  flip(first + RECORD_HEADER_BYTES + 5000 + 10);
  assert.deepEqual(
    (await reopened.verify()).map((id) => id.toString("hex")),
    [objects[1].id.toString("hex")],
  );
  assert.deepEqual(await reopened.get(objects[2].id), objects[2].bytes, "its neighbour is untouched");
  // a good copy can be stored again
  assert.equal((await reopened.putVerified(objects[0].id, objects[0].bytes, false, () => true, true)).written, true);
  assert.deepEqual(await reopened.get(objects[0].id), objects[0].bytes);
});

test("a truncated pack: the objects past the cut are absent or fail their check, the others are served", async () => {
  const dir = tempDir("packs-truncated");
  const store = await ObjectStore.open(dir);
  const objects = await putPacked(store, 4);
  await store.commit();
  const file = path.join(dir, "packs", packsOf(dir)[0]);
  fs.truncateSync(file, fs.statSync(file).size - 2000);
  const reopened = await ObjectStore.open(dir);
  for (const o of objects.slice(0, 3)) assert.deepEqual(await reopened.get(o.id), o.bytes);
  assert.equal(await reopened.get(objects[3].id), null);
  assert.equal(await reopened.has(objects[3].id), false);
});

test("a crash between writing a pack and saving the index: its objects are not in the store, the orphan pack is removed, the rest is intact", async () => {
  const dir = tempDir("packs-crash");
  const before = await ObjectStore.open(dir);
  const committed = await putPacked(before, 2);
  await before.commit();
  await putPacked(before, 5); // written, never committed: the process "dies" here
  assert.equal(packsOf(dir).length, 2);
  const after = await ObjectStore.open(dir);
  assert.equal(packsOf(dir).length, 1, "the uncommitted pack is gone");
  assert.deepEqual(await idsOf(after), committed.map((o) => o.id.toString("hex")).sort());
  for (const o of committed) assert.deepEqual(await after.get(o.id), o.bytes);
  // new packs get numbers of their own
  const more = await putPacked(after, 1);
  await after.commit();
  assert.deepEqual(await after.get(more[0].id), more[0].bytes);
});

test("a folder share cut short before its sync: nothing it wrote is pinned, the store opens consistent, a re-share completes", async () => {
  const dir = tempDir("packs-folder-crash");
  const src = path.join(dir, "src");
  fs.mkdirSync(src);
  const files = Array.from({ length: 30 }, (_, i) => {
    fs.writeFileSync(path.join(src, `f${i}`), randomBytes(4096 + i));
    return { rel: `f${i}`, abs: path.join(src, `f${i}`), size: 4096 + i, executable: false };
  });
  const secret = randomBytes(32);
  const store = await ContentStore.open(path.join(dir, "store"));
  // what shareFolder does up to its sync: every object put, durable: false
  for (const f of files) await shareFile(store, f.abs, { convergenceSecret: secret, durable: false });
  assert.equal(looseCount(path.join(dir, "store")), 0, "all packed");
  const reopened = await ContentStore.open(path.join(dir, "store"));
  assert.deepEqual(reopened.ls(), [], "no objects, no pins");
  const folder = await shareFolder(reopened, "src", files, [], { convergenceSecret: secret });
  const after = await ContentStore.open(path.join(dir, "store"));
  assert.ok(folder.objectIds.every((id) => after.keeps(id)), "every object of the folder pinned");
  const opened = await readFolder(folder.link, async (id) => (await after.get(id)) ?? Promise.reject(new Error("absent")));
  assert.equal(opened.entries.length, 30);
});

test("compaction: a pack mostly deleted is rewritten with its live objects, the old file removed, and everything still reads after a reopen", async () => {
  const dir = tempDir("packs-compact");
  const store = await ObjectStore.open(dir);
  const objects = await putPacked(store, 10);
  await store.commit();
  const [oldPack] = packsOf(dir);
  for (const o of objects.slice(0, 5)) await store.delete(o.id);
  await store.commit();
  assert.deepEqual(packsOf(dir), [oldPack], "half live: kept");
  await store.delete(objects[5].id);
  await store.commit();
  assert.equal(packsOf(dir).length, 1);
  assert.notEqual(packsOf(dir)[0], oldPack, "rewritten");
  assert.ok(fs.statSync(path.join(dir, "packs", packsOf(dir)[0])).size < 5 * 5100);
  for (const o of objects.slice(6)) assert.deepEqual(await store.get(o.id), o.bytes);
  const reopened = await ObjectStore.open(dir);
  assert.deepEqual(await idsOf(reopened), objects.slice(6).map((o) => o.id.toString("hex")).sort());
  for (const o of objects.slice(6)) assert.deepEqual(await reopened.get(o.id), o.bytes);
  // every object of a pack deleted: it goes
  for (const o of objects.slice(6)) await reopened.delete(o.id);
  await reopened.commit();
  assert.deepEqual(packsOf(dir), []);
});

test("a damaged or lost pack index is rebuilt from the packs: each record that hashes to its id", async () => {
  const dir = tempDir("packs-rebuild");
  const store = await ObjectStore.open(dir);
  const objects = await putPacked(store, 6);
  await store.commit();
  const indexFile = path.join(dir, "pack-index.bin");
  const saved = fs.readFileSync(indexFile);
  saved[saved.length - 40] ^= 1;
  fs.writeFileSync(indexFile, saved);
  const rebuilt = await ObjectStore.open(dir);
  for (const o of objects) assert.deepEqual(await rebuilt.get(o.id), o.bytes);
  fs.rmSync(indexFile);
  const again = await ObjectStore.open(dir);
  assert.deepEqual(await idsOf(again), objects.map((o) => o.id.toString("hex")).sort());
});

test("a data dir of the previous release (loose objects, no packs) opens unchanged, serves its shares, and takes packed objects beside them", async () => {
  const dir = tempDir("packs-previous");
  const storeDir = path.join(dir, "store");
  // the previous release's layout, written by hand: objects/ab/cdef..., and index.bin pinning them
  const file = randomBytes(300_000);
  fs.writeFileSync(path.join(dir, "file.bin"), file);
  const secret = randomBytes(32);
  const made = await ContentStore.open(path.join(dir, "maker"));
  const shared = await shareFile(made, path.join(dir, "file.bin"), { convergenceSecret: secret });
  const index = new PinIndex();
  for (const id of shared.objectIds) {
    const hex = id.toString("hex");
    const bytes = (await made.get(id))!;
    fs.mkdirSync(path.join(storeDir, "objects", hex.slice(0, 2)), { recursive: true });
    fs.writeFileSync(path.join(storeDir, "objects", hex.slice(0, 2), hex.slice(2)), bytes);
    addPin(index.upsert(hex, bytes.length, hex === shared.contentId ? "manifest" : "chunk"), "own");
  }
  fs.writeFileSync(path.join(storeDir, "index.bin"), index.serialize());
  const before = fs.readdirSync(storeDir).sort();

  const store = await ContentStore.open(storeDir);
  assert.equal(store.recoveredIndex, false);
  assert.deepEqual(fs.readdirSync(storeDir).sort(), [...before, "pack-index.bin", "packs", "quarantine", "tmp"].sort());
  assert.ok(shared.objectIds.every((id) => store.keeps(id)), "its pins kept");
  const manifest = await openManifest(store, shared.link);
  const read: Buffer[] = [];
  for await (const piece of readContent(store, manifest)) read.push(piece as Buffer);
  assert.deepEqual(Buffer.concat(read), file);

  // a folder shared into it is packed; both read after a reopen
  fs.mkdirSync(path.join(dir, "src"));
  fs.writeFileSync(path.join(dir, "src", "a"), randomBytes(6000));
  const folder = await shareFolder(store, "src", [{ rel: "a", abs: path.join(dir, "src", "a"), size: 6000, executable: false }], [], { convergenceSecret: secret });
  assert.equal(packsOf(storeDir).length, 1);
  const reopened = await ContentStore.open(storeDir);
  assert.ok([...shared.objectIds, ...folder.objectIds].every((id) => reopened.keeps(id)));
  for (const id of [...shared.objectIds, ...folder.objectIds]) assert.ok(await reopened.get(id));
  assert.deepEqual(await reopened.verify(), []);
});

test("content store: unpinned packed objects are evicted and collected like loose ones, and the cache counts them", async () => {
  const dir = tempDir("packs-cache");
  const store = await ContentStore.open(dir, { cacheLimitBytes: 1_000_000 });
  const ids = [];
  for (let i = 0; i < 8; i++) ids.push((await store.put(randomBytes(5000), { kind: "chunk", durable: false })).id);
  await store.flush();
  assert.equal(looseCount(dir), 0);
  assert.equal(store.cacheBytes(), 40_000);
  store.cacheLimitBytes = 0;
  assert.equal(await store.gc(), 40_000);
  for (const id of ids) assert.equal(await store.has(id), false);
  await store.flush();
  assert.deepEqual(packsOf(dir), [], "the dead pack compacted away");
  const reopened = await ContentStore.open(dir);
  assert.deepEqual(reopened.ls(), []);
});
