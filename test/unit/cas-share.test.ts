import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { fixedSizeChunker, KiB, MiB } from "../../node-host/cas/chunker";
import { ConvergentKeys, cryptChunk, seal } from "../../node-host/cas/convergent-crypto";
import { encodeManifest, fileDigestOfChunkDigests } from "../../node-host/cas/manifest";
import { formatShareLink } from "../../node-host/cas/share-link";
import { objectIdOf, sha256 } from "../../node-host/cas/object-hash";
import { ContentStore } from "../../node-host/cas/content-store";
import { CasError } from "../../node-host/cas/errors";
import { shareFile, type ShareOptions } from "../../node-host/cas/share";
import { assembleFile, missingChunks, openManifest, readContent } from "../../node-host/cas/assemble";
import { openChunk } from "../../node-host/cas/chunk-plaintext";
import { inThreadSealer, startSealPool } from "../../node-host/cas/seal-pool";

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-cas-share-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeFile(dir: string, name: string, data: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return file;
}

const sha = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

function objectBytesOnDisk(storeDir: string): number {
  let total = 0;
  const objects = path.join(storeDir, "objects");
  for (const fanOut of fs.readdirSync(objects)) for (const name of fs.readdirSync(path.join(objects, fanOut))) total += fs.statSync(path.join(objects, fanOut, name)).size;
  return total;
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath ?? e.path, e.name));
}

const isCasError = (code: string) => (err: unknown) => err instanceof CasError && err.code === code;

test("share then assemble gives identical bytes: empty, 1 byte, exactly one chunk, several chunks", async (t) => {
  const dir = tempDir(t);
  const store = await ContentStore.open(path.join(dir, "store"));
  const cases: [string, Buffer, ShareOptions][] = [
    ["empty.txt", Buffer.alloc(0), {}],
    ["one.bin", Buffer.from([7]), {}],
    ["exact.bin", randomBytes(MiB), { chunker: fixedSizeChunker(MiB) }],
    ["multi.bin", randomBytes(3 * MiB + 12345), {}],
    ["multi-public.bin", randomBytes(2 * MiB + 1), { public: true, chunker: fixedSizeChunker(MiB) }],
  ];
  const outDir = mkdir(path.join(dir, "out"));
  for (const [name, data, options] of cases) {
    const shared = await shareFile(store, writeFile(dir, name, data), options);
    assert.equal(shared.manifest.name, name);
    assert.equal(shared.manifest.size, data.length);
    const manifest = await openManifest(store, shared.link);
    assert.deepEqual(manifest, shared.manifest);
    const out = await assembleFile(store, manifest, { dir: outDir });
    assert.equal(out, path.join(outDir, name));
    assert.equal(sha(fs.readFileSync(out)), sha(data), name);
    const streamed: Buffer[] = [];
    for await (const piece of readContent(store, manifest)) streamed.push(piece as Buffer);
    assert.equal(sha(Buffer.concat(streamed)), sha(data));
  }
  assert.equal((await shareFile(store, writeFile(dir, "exact.bin", randomBytes(10)))).manifest.chunks.length, 1);
  assert.deepEqual(fs.readdirSync(outDir).sort(), cases.map(([n]) => n).sort(), "no temp files left");
});

function mkdir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

test("sharing the same file twice, or two files with a common region, writes each chunk once", async (t) => {
  const dir = tempDir(t);
  const storeDir = path.join(dir, "store");
  const store = await ContentStore.open(storeDir);
  const chunker = fixedSizeChunker(MiB);
  const common = randomBytes(2 * MiB);
  const first = await shareFile(store, writeFile(dir, "a.bin", common), { chunker });
  const onDisk = objectBytesOnDisk(storeDir);
  assert.equal(first.bytesWritten, onDisk);

  const again = await shareFile(store, writeFile(dir, "a-copy.bin", common), { chunker });
  assert.equal(objectBytesOnDisk(storeDir) - onDisk, again.bytesWritten);
  assert.ok(again.bytesWritten < 2000, "only a new manifest (the name differs)");
  const repeat = await shareFile(store, path.join(dir, "a.bin"), { chunker });
  assert.equal(repeat.contentId, first.contentId);
  assert.equal(repeat.bytesWritten, 0);

  const before = objectBytesOnDisk(storeDir);
  const extended = await shareFile(store, writeFile(dir, "b.bin", Buffer.concat([common, randomBytes(MiB)])), { chunker });
  const growth = objectBytesOnDisk(storeDir) - before;
  assert.equal(growth, extended.bytesWritten);
  assert.ok(growth < MiB + 20_000, `grew ${growth} bytes: only the new chunk and a manifest`);

  const zeros = await shareFile(store, writeFile(dir, "zeros.bin", Buffer.alloc(4 * MiB)), { chunker });
  assert.equal(zeros.objectIds.length, 2, "manifest + one distinct chunk");
  assert.ok(zeros.bytesWritten < MiB + 2000);
});

test("a private share stores no plaintext; a public one does", async (t) => {
  const dir = tempDir(t);
  const marker = "PEERSHARE-SECRET-MARKER-";
  const file = writeFile(dir, "secret-plans.txt", Buffer.from(marker.repeat(100_000)));
  const privateDir = path.join(dir, "private");
  const privateShare = await shareFile(await ContentStore.open(privateDir), file);
  const publicDir = path.join(dir, "public");
  const publicShare = await shareFile(await ContentStore.open(publicDir), file, { public: true });
  const containsMarker = (storeDir: string) => filesUnder(storeDir).some((f) => fs.readFileSync(f).includes(marker) || fs.readFileSync(f).includes("secret-plans"));
  assert.equal(containsMarker(privateDir), false);
  assert.equal(containsMarker(publicDir), true);
  assert.match(privateShare.link, /#k=/);
  assert.doesNotMatch(publicShare.link, /#/);
  await assert.rejects(openManifest(await ContentStore.open(privateDir), privateShare.contentId), /key/);
});

test("the same convergence secret gives the same ids across stores; a different one gives different ids", async (t) => {
  const dir = tempDir(t);
  const file = writeFile(dir, "shared.bin", randomBytes(3 * MiB));
  const secret = randomBytes(32);
  const share = async (name: string, convergenceSecret?: Buffer) => shareFile(await ContentStore.open(path.join(dir, name)), file, { convergenceSecret });
  const alice = await share("alice", secret);
  const bob = await share("bob", secret);
  const eve = await share("eve", randomBytes(32));
  const own = await share("own");
  assert.equal(alice.contentId, bob.contentId);
  assert.equal(alice.link, bob.link);
  assert.deepEqual(alice.objectIds, bob.objectIds);
  for (const other of [eve, own]) {
    assert.notEqual(other.contentId, alice.contentId);
    const aliceIds = new Set(alice.objectIds.map((id) => id.toString("hex")));
    assert.ok(other.objectIds.every((id) => !aliceIds.has(id.toString("hex"))));
  }
  const ownAgain = await shareFile(await ContentStore.open(path.join(dir, "own")), file);
  assert.equal(ownAgain.contentId, own.contentId, "the node's own secret persists in its data dir");
});

test("fetch flow: missing chunks, verified chunk bytes, refusal of tampered chunks", async (t) => {
  const dir = tempDir(t);
  const source = await ContentStore.open(path.join(dir, "source"));
  const original = randomBytes(3 * MiB);
  const shared = await shareFile(source, writeFile(dir, "f.bin", original), { chunker: fixedSizeChunker(MiB) });
  const target = await ContentStore.open(path.join(dir, "target"));
  const manifestBytes = await source.get(shared.objectIds[0]);
  assert.ok(manifestBytes);
  await target.putVerified(shared.objectIds[0], manifestBytes);
  const manifest = await openManifest(target, shared.link);
  assert.equal((await missingChunks(target, manifest)).length, 3);
  await assert.rejects(assembleFile(target, manifest, { path: path.join(dir, "out.bin") }), isCasError("EMISSINGCHUNK"));
  assert.deepEqual(fs.readdirSync(dir).sort(), ["f.bin", "source", "target"], "no partial output");

  for (const chunk of manifest.chunks) {
    const stored = await source.get(chunk.id);
    assert.ok(stored);
    assert.equal(openChunk(chunk, stored).length, chunk.size);
    const tampered = Buffer.from(stored);
    tampered[0] ^= 1;
    assert.throws(() => openChunk(chunk, tampered), isCasError("EHASHMISMATCH"));
    await target.putVerified(chunk.id, stored);
  }
  assert.deepEqual(await missingChunks(target, manifest), []);
  await assert.rejects(assembleFile(target, manifest, { dir }), isCasError("EEXIST"));
  const out = await assembleFile(target, manifest, { path: path.join(dir, "renamed.bin") });
  assert.equal(sha(fs.readFileSync(out)), sha(original));
});

/**
 * A store holding two chunks as a version 1 or 2 share stored them: sealed by `sealOne`, named by
 * their SHA-256; and the manifest chunk list naming them.
 */
async function storeWithOldChunks(t: TestContext, sealOne: (plaintext: Buffer, keys: ConvergentKeys) => { key: Buffer; sealed: Buffer }) {
  const dir = tempDir(t);
  const store = await ContentStore.open(path.join(dir, "store"));
  const keys = new ConvergentKeys(randomBytes(32));
  const plaintexts = [randomBytes(1000), randomBytes(777)];
  const chunks = [];
  for (const plaintext of plaintexts) {
    const { key, sealed } = sealOne(plaintext, keys);
    const id = sha256(sealed);
    await store.putVerified(id, sealed, { kind: "chunk" });
    chunks.push({ id, size: plaintext.length, key });
  }
  return { dir, store, keys, plaintexts, chunks };
}

/** Stores an encoded manifest under its content ID and opens it by its link. */
async function storeAndOpen(store: ContentStore, encoded: { bytes: Buffer; contentId: string; key: Buffer | null }) {
  await store.putVerified(Buffer.from(encoded.contentId, "hex"), encoded.bytes, { kind: "manifest" });
  return openManifest(store, formatShareLink(encoded.contentId, encoded.key));
}

test("a version 1 share (AES-GCM chunks, whole-file SHA-256) still opens and assembles", async (t) => {
  const { dir, store, keys, plaintexts, chunks } = await storeWithOldChunks(t, (plaintext) => {
    const key = randomBytes(32);
    return { key, sealed: seal(key, plaintext) };
  });
  const whole = Buffer.concat(plaintexts);
  const v1 = encodeManifest({ version: 1, mode: "private", name: "old.bin", size: whole.length, mediaType: "application/octet-stream", digest: sha256(whole), chunks }, keys);
  const manifest = await storeAndOpen(store, v1);
  assert.equal(manifest.version, 1);
  assert.deepEqual(fs.readFileSync(await assembleFile(store, manifest, { dir })), whole);
  // a version 2 digest of the same chunks is not what version 1 checks
  await assert.rejects(assembleFile(store, { ...manifest, digest: fileDigestOfChunkDigests(plaintexts.map(sha256), 2) }, { path: path.join(dir, "x") }), isCasError("EHASHMISMATCH"));
});

test("a version 2 share (SHA-256 object ids and digests) still opens and assembles", async (t) => {
  const { dir, store, keys, plaintexts, chunks } = await storeWithOldChunks(t, (plaintext, keys) => {
    const key = keys.chunkKey(sha256(plaintext));
    return { key, sealed: cryptChunk(key, plaintext) };
  });
  const digest = fileDigestOfChunkDigests(plaintexts.map(sha256), 2);
  const v2 = encodeManifest({ version: 2, mode: "private", name: "old.bin", size: 1777, mediaType: "application/octet-stream", digest, chunks }, keys);
  assert.equal(v2.contentId, sha256(v2.bytes).toString("hex"), "a version 2 content ID is a SHA-256");
  const manifest = await storeAndOpen(store, v2);
  assert.equal(manifest.version, 2);
  assert.deepEqual(fs.readFileSync(await assembleFile(store, manifest, { dir })), Buffer.concat(plaintexts));
  // a version 3 (BLAKE3) digest of the same chunks is not what version 2 checks
  await assert.rejects(assembleFile(store, { ...manifest, digest: fileDigestOfChunkDigests(plaintexts.map(objectIdOf), 3) }, { path: path.join(dir, "x") }), isCasError("EHASHMISMATCH"));
});

test("shared objects are pinned as own, so the cache never evicts them", async (t) => {
  const dir = tempDir(t);
  const store = await ContentStore.open(path.join(dir, "store"), { cacheLimitBytes: 0 });
  const shared = await shareFile(store, writeFile(dir, "mine.bin", randomBytes(2 * MiB)));
  assert.equal(await store.gc(), 0);
  assert.ok(store.ls().every((o) => o.pins.includes("own")));
  assert.equal(store.ls().filter((o) => o.kind === "manifest").length, 1);
  const manifest = await openManifest(store, shared.link);
  assert.deepEqual(await missingChunks(store, manifest), []);
});

test("a manifest object whose bytes no longer match its content ID is never opened", async (t) => {
  const dir = tempDir(t);
  const store = await ContentStore.open(path.join(dir, "store"));
  const shared = await shareFile(store, writeFile(dir, "doc.txt", Buffer.from("hello")), { public: true });
  const file = store.objects.pathOf(shared.objectIds[0]);
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 1] ^= 0x20; // still a well-formed manifest, but not the one the id names
  fs.writeFileSync(file, bytes);
  await assert.rejects(openManifest(store, shared.contentId), isCasError("ENOTFOUND"));
  assert.equal(fs.readdirSync(path.join(dir, "store", "quarantine")).length, 1);
});

/** Every object of a store: id (hex) -> stored bytes. */
function objectsOnDisk(storeDir: string): Map<string, Buffer> {
  const objects = path.join(storeDir, "objects");
  const found = new Map<string, Buffer>();
  for (const fanOut of fs.readdirSync(objects)) for (const name of fs.readdirSync(path.join(objects, fanOut))) found.set(fanOut + name, fs.readFileSync(path.join(objects, fanOut, name)));
  return found;
}

test("sealing on worker threads stores the same objects and gives the same content IDs as sealing in-thread", async (t) => {
  const dir = tempDir(t);
  const secret = randomBytes(32);
  // empty, 1 byte, under FastCDC's minimum chunk, one chunk, several chunks (FastCDC), exact fixed-size chunks
  const cases: [number, ShareOptions][] = [[0, {}], [1, {}], [300 * KiB, {}], [3 * MiB + 12345, {}], [3 * 256 * KiB, { chunker: fixedSizeChunker(256 * KiB) }]];
  for (const [size, options] of cases) {
    const data = randomBytes(size);
    const file = writeFile(dir, `f-${size}.bin`, data);
    for (const isPublic of [false, true]) {
      const runs = [];
      for (const sealWorkers of [0, 1, 2]) {
        const storeDir = path.join(dir, `store-${size}-${isPublic ? "public" : "private"}-${sealWorkers}`);
        const store = await ContentStore.open(storeDir);
        const shared = await shareFile(store, file, { ...options, public: isPublic, convergenceSecret: isPublic ? undefined : secret, sealWorkers });
        const streamed: Buffer[] = [];
        for await (const piece of readContent(store, await openManifest(store, shared.link))) streamed.push(piece as Buffer);
        assert.ok(Buffer.concat(streamed).equals(data), `${size} bytes, ${sealWorkers} workers: content read back`);
        runs.push({ sealWorkers, shared, objects: objectsOnDisk(storeDir) });
        fs.rmSync(storeDir, { recursive: true, force: true });
      }
      const [inThread, ...onWorkers] = runs;
      assert.equal(inThread.sealWorkers, 0);
      for (const run of onWorkers) {
        const what = `${size} bytes, ${isPublic ? "public" : "private"}, ${run.sealWorkers} worker(s)`;
        assert.equal(run.shared.contentId, inThread.shared.contentId, what);
        assert.equal(run.shared.link, inThread.shared.link, what);
        assert.deepEqual(run.shared.objectIds, inThread.shared.objectIds, what);
        assert.deepEqual(run.shared.manifest, inThread.shared.manifest, what);
        assert.equal(run.shared.bytesWritten, inThread.shared.bytesWritten, what);
        assert.deepEqual(run.objects, inThread.objects, `${what}: byte-identical objects`);
      }
    }
  }
});

test("chunks sealed on worker threads are convergent-crypto's: the same keys, ciphertexts and ids", async (t) => {
  const dir = tempDir(t);
  const secret = randomBytes(32);
  const chunkSize = 256 * KiB;
  const data = randomBytes(4 * chunkSize + 5);
  const file = writeFile(dir, "ref.bin", data);
  const keys = new ConvergentKeys(secret);
  const plaintexts = Array.from({ length: 5 }, (_, i) => data.subarray(i * chunkSize, (i + 1) * chunkSize));
  for (const sealWorkers of [0, 2]) {
    const store = await ContentStore.open(path.join(dir, `private-${sealWorkers}`));
    const shared = await shareFile(store, file, { convergenceSecret: secret, chunker: fixedSizeChunker(chunkSize), sealWorkers });
    assert.equal(shared.manifest.chunks.length, plaintexts.length);
    assert.deepEqual(shared.manifest.digest, fileDigestOfChunkDigests(plaintexts.map(objectIdOf)), "file digest");
    for (const [i, plaintext] of plaintexts.entries()) {
      const chunk = shared.manifest.chunks[i];
      const key = keys.chunkKey(objectIdOf(plaintext));
      const sealed = cryptChunk(key, plaintext);
      assert.deepEqual(chunk.key, key, `chunk ${i}: key`);
      assert.deepEqual(chunk.id, objectIdOf(sealed), `chunk ${i}: id`);
      assert.deepEqual(await store.get(chunk.id), sealed, `chunk ${i}: stored bytes`);
    }
    const publicStore = await ContentStore.open(path.join(dir, `public-${sealWorkers}`));
    const publicShare = await shareFile(publicStore, file, { public: true, chunker: fixedSizeChunker(chunkSize), sealWorkers });
    for (const [i, plaintext] of plaintexts.entries()) {
      assert.deepEqual(publicShare.manifest.chunks[i].id, objectIdOf(plaintext), `public chunk ${i}: id`);
      assert.deepEqual(await publicStore.get(publicShare.manifest.chunks[i].id), plaintext, `public chunk ${i}: stored bytes`);
    }
  }
});

test("a share's worker threads end with it: nothing keeps the process alive, after a share or a failed one", async (t) => {
  const dir = tempDir(t);
  const file = writeFile(dir, "big.bin", randomBytes(3 * MiB));
  // A child process that shares (and fails a share midway) on worker threads, then has nothing left to do:
  // it exits by itself only if no worker outlives its share.
  const cas = path.join(__dirname, "..", "..", "node-host", "cas");
  const script = `
    const { ContentStore } = require(${JSON.stringify(path.join(cas, "content-store.js"))});
    const { shareFile } = require(${JSON.stringify(path.join(cas, "share.js"))});
    const { fixedSizeChunker } = require(${JSON.stringify(path.join(cas, "chunker.js"))});
    const inner = fixedSizeChunker(256 * 1024);
    const failing = { ...inner, async *chunkViews(source) { let n = 0; for await (const view of inner.chunkViews(source)) { if (++n === 4) throw new Error("disk gone"); yield view; } } };
    (async () => {
      const store = await ContentStore.open(${JSON.stringify(path.join(dir, "store"))});
      const shared = await shareFile(store, ${JSON.stringify(file)}, { sealWorkers: 2 });
      const failed = await shareFile(store, ${JSON.stringify(file)}, { sealWorkers: 2, public: true, chunker: failing }).then(() => "no error", (e) => e.message);
      process.stdout.write(JSON.stringify({ contentId: shared.contentId, failed }));
    })();`;
  const started = Date.now();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, ["-e", script], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }));
    t.after(() => child.kill("SIGKILL"));
  });
  assert.equal(code, 0, `the child exited by itself (after ${Date.now() - started} ms): ${stderr}`);
  const out = JSON.parse(stdout) as { contentId: string; failed: string };
  assert.match(out.contentId, /^[0-9a-f]{64}$/);
  assert.equal(out.failed, "disk gone");
});

test("files sealed in a batch on a worker are the chunks sealing each in-thread gives; a file not as walked is left to the caller; heads come back only when they hold a literal", async (t) => {
  const dir = tempDir(t);
  const literal = Buffer.from("ghp_");
  const contents = [Buffer.alloc(0), Buffer.from([7]), randomBytes(40 * KiB), Buffer.concat([randomBytes(100), literal, randomBytes(100)]), randomBytes(256 * KiB)];
  const files = contents.map((data, i) => ({ path: writeFile(dir, `f${i}.bin`, data), size: data.length }));
  const grown = { path: writeFile(dir, "grown.bin", randomBytes(1001)), size: 1000 };
  const absent = { path: path.join(dir, "absent.bin"), size: 10 };
  for (const mode of [{ public: false as const, convergenceSecret: randomBytes(32) }, { public: true as const }]) {
    const pool = startSealPool(mode, { workers: 1, bufferBytes: MiB, screen: { literals: [literal], headBytes: 64 * KiB } });
    try {
      const batch = await pool.sealFiles([...files, grown, absent]);
      assert.equal(batch.files.length, files.length + 2);
      assert.equal(batch.files[files.length], null, "grown since the walk");
      assert.equal(batch.files[files.length + 1], null, "unreadable");
      const inThread = inThreadSealer(mode, MiB);
      for (const [i, data] of contents.entries()) {
        const got = batch.files[i]!;
        assert.deepEqual(got.head, i === 3 ? data : null, `file ${i}: head`);
        if (data.length === 0) {
          assert.equal(got.chunk, null, "an empty file has no chunk");
          continue;
        }
        const want = await inThread.seal(data);
        assert.deepEqual(got.chunk!.data, want.data, `file ${i}: stored bytes`);
        assert.deepEqual([got.chunk!.id, got.chunk!.key, got.chunk!.digest], [want.id, want.key, want.digest], `file ${i}: id, key, digest`);
      }
      batch.release();
    } finally {
      await pool.close();
    }
  }
});
