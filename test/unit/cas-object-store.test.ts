import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { CasError } from "../../node-host/cas/errors";
import { ObjectStore } from "../../node-host/cas/object-store";
import { objectIdOf } from "../../node-host/cas/object-hash";

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-cas-objects-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("put stores under the SHA-256 fan-out path, get verifies, a second put writes nothing", async (t) => {
  const dir = tempDir(t);
  const store = await ObjectStore.open(dir);
  const bytes = randomBytes(1000);
  const first = await store.put(bytes);
  assert.deepEqual(first.id, objectIdOf(bytes));
  assert.equal(first.written, true);
  const hex = first.id.toString("hex");
  assert.equal(store.pathOf(first.id), path.join(dir, "objects", hex.slice(0, 2), hex.slice(2)));
  const mtime = fs.statSync(store.pathOf(first.id)).mtimeMs;
  assert.equal((await store.put(bytes)).written, false);
  assert.equal(fs.statSync(store.pathOf(first.id)).mtimeMs, mtime);
  assert.deepEqual(await store.get(first.id), bytes);
  assert.equal(await store.has(first.id), true);
  assert.equal(await store.size(first.id), 1000);
  const ids: string[] = [];
  for await (const id of store.ids()) ids.push(id.toString("hex"));
  assert.deepEqual(ids, [hex]);
  assert.equal(await store.delete(first.id), true);
  assert.equal(await store.get(first.id), null);
  assert.equal(await store.delete(first.id), false);
});

test("concurrent puts of the same object write it once", async (t) => {
  const store = await ObjectStore.open(tempDir(t));
  const bytes = randomBytes(5000);
  const results = await Promise.all([store.put(bytes), store.put(bytes), store.put(bytes)]);
  assert.deepEqual(
    results.map((r) => r.written),
    [true, false, false],
  );
});

test("putVerified rejects bytes that are not the object asked for", async (t) => {
  const store = await ObjectStore.open(tempDir(t));
  const id = objectIdOf(Buffer.from("the real object"));
  await assert.rejects(store.putVerified(id, Buffer.from("something else")), (err: unknown) => err instanceof CasError && err.code === "EHASHMISMATCH");
  assert.equal(await store.has(id), false);
  assert.equal((await store.putVerified(id, Buffer.from("the real object"))).written, true);
});

test("a flipped byte or a truncation is detected by get and verify, and the object is quarantined", async (t) => {
  const dir = tempDir(t);
  const store = await ObjectStore.open(dir);
  const flipped = (await store.put(randomBytes(4096))).id;
  const truncated = (await store.put(randomBytes(4096))).id;
  const healthy = (await store.put(randomBytes(4096))).id;
  const file = store.pathOf(flipped);
  const original = fs.readFileSync(file);
  const bytes = Buffer.from(original);
  bytes[100] ^= 0x01;
  fs.writeFileSync(file, bytes);
  fs.truncateSync(store.pathOf(truncated), 4000);

  assert.equal(await store.get(flipped), null);
  assert.equal(await store.has(flipped), false);
  const corrupt = await store.verify();
  assert.deepEqual(
    corrupt.map((id) => id.toString("hex")),
    [truncated.toString("hex")],
  );
  assert.equal(await store.has(truncated), false);
  assert.ok(await store.get(healthy));
  assert.equal(fs.readdirSync(path.join(dir, "quarantine")).length, 2);
  // A fresh copy can be stored again after quarantine.
  assert.equal((await store.putVerified(flipped, original)).written, true);
  assert.deepEqual(await store.get(flipped), original);
});

test("temp files a crash left behind are removed at open and never served", async (t) => {
  const dir = tempDir(t);
  await ObjectStore.open(dir);
  const leftover = path.join(dir, "tmp", "0123456789abcdef.tmp");
  fs.writeFileSync(leftover, "half-written");
  const store = await ObjectStore.open(dir);
  assert.equal(fs.existsSync(leftover), false);
  const ids: Buffer[] = [];
  for await (const id of store.ids()) ids.push(id);
  assert.deepEqual(ids, []);
  assert.equal(await store.get(objectIdOf(Buffer.from("half-written"))), null);
});

test("objects can be written as parts and are stored as their concatenation", async (t) => {
  const store = await ObjectStore.open(tempDir(t));
  const a = randomBytes(300);
  const b = randomBytes(16);
  const { id } = await store.put([a, b]);
  assert.deepEqual(await store.get(id), Buffer.concat([a, b]));
});

test("get into a reused buffer: a view of it when the object fits, a buffer of its own when not, and still verified", async (t) => {
  const store = await ObjectStore.open(tempDir(t));
  const small = randomBytes(1000);
  const large = randomBytes(5000);
  const { id: smallId } = await store.put(small);
  const { id: largeId } = await store.put(large);
  const into = Buffer.alloc(2000);
  const got = await store.get(smallId, into);
  assert.deepEqual(got, small);
  assert.equal(got?.buffer, into.buffer, "read into the buffer given");
  const big = await store.get(largeId, into);
  assert.deepEqual(big, large);
  assert.notEqual(big?.buffer, into.buffer);
  const file = store.pathOf(smallId);
  fs.writeFileSync(file, Buffer.concat([small.subarray(0, 500), Buffer.from("x")]));
  assert.equal(await store.get(smallId, into), null, "a corrupt object is not returned");
  assert.equal(fs.existsSync(file), false, "and is quarantined");
});
