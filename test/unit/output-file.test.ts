// The file a fetch writes as chunks arrive (cas/output-file.ts): any order, repeated chunks, and a
// target that is either absent or complete and right, whatever goes wrong.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { fixedSizeChunker, KiB } from "../../node-host/cas/chunker";
import { ContentStore } from "../../node-host/cas/content-store";
import { CasError } from "../../node-host/cas/errors";
import { openManifest } from "../../node-host/cas/assemble";
import { OutputFile } from "../../node-host/cas/output-file";
import { shareFile } from "../../node-host/cas/share";
import type { Manifest } from "../../node-host/cas/manifest";
import { tempDir } from "../helpers/temp-dir";

const isCasError = (code: string) => (err: unknown) => err instanceof CasError && err.code === code;

/**
 * A shared file of 64 KiB chunks in which one chunk occurs twice (so the manifest lists it twice and
 * the store holds it once), in a store, with an empty output dir beside it.
 */
async function fixture(options: { public?: boolean } = {}) {
  const dir = tempDir("output-file");
  const a = randomBytes(64 * KiB);
  const original = Buffer.concat([randomBytes(64 * KiB), a, randomBytes(64 * KiB), a, randomBytes(10 * KiB)]);
  const file = path.join(dir, "report.bin");
  fs.writeFileSync(file, original);
  const store = await ContentStore.open(path.join(dir, "store"));
  const shared = await shareFile(store, file, { chunker: fixedSizeChunker(64 * KiB), public: options.public });
  const manifest = await openManifest(store, shared.link);
  const out = path.join(dir, "out");
  fs.mkdirSync(out);
  return { store, manifest, original, out };
}

/** The distinct chunks of `manifest` with their stored bytes, as a fetch receives them. */
async function storedChunks(store: ContentStore, manifest: Manifest): Promise<[Buffer, Buffer][]> {
  const distinct = new Map(manifest.chunks.map((c) => [c.id.toString("hex"), c.id]));
  return Promise.all([...distinct.values()].map(async (id) => [id, (await store.get(id))!] as [Buffer, Buffer]));
}

for (const mode of ["private", "public"] as const) {
  test(`${mode}: chunks written last to first, one of them twice in the file, give the original bytes`, async () => {
    const { store, manifest, original, out } = await fixture({ public: mode === "public" });
    const chunks = await storedChunks(store, manifest);
    assert.equal(chunks.length, manifest.chunks.length - 1, "the repeated chunk is one object");
    const output = await OutputFile.create(manifest, { dir: out });
    for (const [id, bytes] of chunks.reverse()) await output.writeChunk(id, bytes);
    const written = await output.commit();
    assert.equal(written, path.join(out, "report.bin"));
    assert.deepEqual(fs.readFileSync(written), original);
    assert.deepEqual(fs.readdirSync(out), ["report.bin"], "no temp file left");
  });
}

test("chunks given while the transfer runs and the rest filled from the store make the same file", async () => {
  const { store, manifest, original, out } = await fixture();
  const chunks = await storedChunks(store, manifest);
  const output = await OutputFile.create(manifest, { path: path.join(out, "copy.bin") });
  await output.writeChunk(...chunks[2]);
  await output.writeChunk(...chunks[2]); // given twice: written once
  await output.fillFrom(store);
  assert.deepEqual(fs.readFileSync(await output.commit()), original);
});

test("a chunk never written: commit fails with EMISSINGCHUNK and leaves nothing behind", async () => {
  const { store, manifest, out } = await fixture();
  const chunks = await storedChunks(store, manifest);
  const output = await OutputFile.create(manifest, { dir: out });
  for (const [id, bytes] of chunks.slice(1)) await output.writeChunk(id, bytes);
  await assert.rejects(output.commit(), isCasError("EMISSINGCHUNK"));
  assert.deepEqual(fs.readdirSync(out), []);
});

test("a chunk the store lacks: fillFrom fails with EMISSINGCHUNK, and the file can still be completed", async () => {
  const { store, manifest, original, out } = await fixture();
  const [first, ...rest] = await storedChunks(store, manifest);
  fs.rmSync(store.objects.pathOf(first[0]));
  const output = await OutputFile.create(manifest, { dir: out });
  await assert.rejects(output.fillFrom(store), isCasError("EMISSINGCHUNK"));
  await output.writeChunk(...first); // fetched again
  await output.fillFrom(store); // the rest is written already: nothing left to read
  assert.deepEqual(fs.readFileSync(await output.commit()), original);
  assert.equal(rest.length, manifest.chunks.length - 2);
});

test("fillPresentFrom writes what the store has and leaves the rest to the transfer, without failing", async () => {
  const { store, manifest, original, out } = await fixture();
  const [first] = await storedChunks(store, manifest);
  await store.delete(first[0]); // gone from disk and from the index: the fetch has still to get it
  const output = await OutputFile.create(manifest, { dir: out });
  await output.fillPresentFrom(store);
  assert.deepEqual(output.unwritten(), [first[0]], "the absent chunk, and only it, is still to be written");
  await assert.rejects(output.commit(), isCasError("EMISSINGCHUNK"));
  const again = await OutputFile.create(manifest, { dir: out });
  await again.fillPresentFrom(store);
  await again.writeChunk(...first); // as the transfer delivers it
  assert.deepEqual(fs.readFileSync(await again.commit()), original);
});

test("plaintext that does not match the manifest's file digest is never renamed into place", async () => {
  const { store, manifest, out } = await fixture();
  const forged: Manifest = { ...manifest, digest: randomBytes(32) };
  const output = await OutputFile.create(forged, { dir: out });
  await output.fillFrom(store);
  await assert.rejects(output.commit(), isCasError("EHASHMISMATCH"));
  assert.deepEqual(fs.readdirSync(out), []);
});

test("an existing target fails at once without overwrite; with overwrite it is replaced", async () => {
  const { store, manifest, original, out } = await fixture();
  fs.writeFileSync(path.join(out, "report.bin"), "mine");
  await assert.rejects(OutputFile.create(manifest, { dir: out }), isCasError("EEXIST"));
  assert.deepEqual(fs.readdirSync(out), ["report.bin"], "nothing written");
  const output = await OutputFile.create(manifest, { dir: out }, { overwrite: true });
  await output.fillFrom(store);
  assert.deepEqual(fs.readFileSync(await output.commit()), original);
});

test("a temp file that holds nothing right is written over; a second fetch to the same target at once is refused", async () => {
  const { store, manifest, original, out } = await fixture();
  const leftover = path.join(out, ".report.bin.peershare-part");
  fs.writeFileSync(leftover, randomBytes(300 * KiB));
  const output = await OutputFile.create(manifest, { dir: out });
  assert.equal(output.bytesRecovered, 0);
  assert.equal(output.unwritten().length, manifest.chunks.length - 1, "every distinct chunk is still to be written");
  await assert.rejects(OutputFile.create(manifest, { dir: out }), isCasError("EEXIST"));
  await output.fillFrom(store);
  assert.deepEqual(fs.readFileSync(await output.commit()), original);
  assert.deepEqual(fs.readdirSync(out), ["report.bin"]);
  await output.discard(); // after a commit: does nothing, and a later fetch's temp file is safe
  const again = await OutputFile.create(manifest, { dir: out }, { overwrite: true });
  await again.discard();
  assert.deepEqual(fs.readdirSync(out), ["report.bin"]);
});

for (const mode of ["private", "public"] as const) {
  test(`${mode}: a suspended fetch's temp file gives its right chunks to the next one; a torn chunk or an unwritten place is not trusted`, async () => {
    const { store, manifest, original, out } = await fixture({ public: mode === "public" });
    const chunks = await storedChunks(store, manifest); // file order: c0, a (places 1 and 3), c2, c4
    const first = await OutputFile.create(manifest, { dir: out });
    for (const [id, bytes] of chunks.slice(0, 3)) await first.writeChunk(id, bytes);
    await first.suspend();
    const part = path.join(out, ".report.bin.peershare-part");
    assert.ok(fs.existsSync(part), "a suspended fetch keeps its temp file");
    // a power cut: one byte of c0 torn, and a's second place never reached the disk
    const fd = fs.openSync(part, "r+");
    fs.writeSync(fd, Buffer.from([original[100] ^ 0xff]), 0, 1, 100);
    fs.writeSync(fd, Buffer.alloc(64 * KiB), 0, 64 * KiB, 3 * 64 * KiB);
    fs.closeSync(fd);
    const second = await OutputFile.create(manifest, { dir: out });
    const hexes = (ids: Buffer[]) => ids.map((id) => id.toString("hex")).sort();
    assert.deepEqual(hexes(second.unwritten()), hexes([chunks[0][0], chunks[3][0]]), "c0 (torn) and c4 (never written) are still to do");
    assert.equal(second.bytesRecovered, 3 * 64 * KiB, "a at both places, and c2");
    for (const [id, bytes] of [chunks[0], chunks[3]]) await second.writeChunk(id, bytes);
    assert.deepEqual(fs.readFileSync(await second.commit()), original);
    assert.deepEqual(fs.readdirSync(out), ["report.bin"]);
  });
}

test("a discarded fetch, or one suspended before any chunk, leaves no temp file; a symlink in its place is removed, not written through", async () => {
  const { store, manifest, original, out } = await fixture();
  const discarded = await OutputFile.create(manifest, { dir: out });
  await discarded.discard();
  assert.deepEqual(fs.readdirSync(out), []);
  const empty = await OutputFile.create(manifest, { dir: out });
  await empty.suspend();
  assert.deepEqual(fs.readdirSync(out), []);
  const victim = path.join(path.dirname(out), "victim.txt");
  fs.writeFileSync(victim, "keep me");
  fs.symlinkSync(victim, path.join(out, ".report.bin.peershare-part"));
  const output = await OutputFile.create(manifest, { dir: out });
  await output.fillFrom(store);
  assert.deepEqual(fs.readFileSync(await output.commit()), original);
  assert.equal(fs.readFileSync(victim, "utf8"), "keep me");
});
