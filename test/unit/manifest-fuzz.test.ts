// Property and crafted-input tests of what a hostile holder can hand a node: manifest bytes (decoded
// by decodeManifest, read from the store by openManifest), the file names inside them, share links.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { ConvergentKeys } from "../../node-host/cas/convergent-crypto";
import { CasError } from "../../node-host/cas/errors";
import { isSafeFileName, MAX_NAME_BYTES, sanitizeFileName } from "../../node-host/cas/file-name";
import { decodeManifest, decodeManifestHeader, encodeManifest, fileDigestOfChunkDigests, MANIFEST_VERSION, MAX_CHUNK_BYTES, MAX_MANIFEST_BYTES, type EncryptionMode, type Manifest } from "../../node-host/cas/manifest";
import { parseShareLink, formatShareLink } from "../../node-host/cas/share-link";
import { ContentStore } from "../../node-host/cas/content-store";
import { assembleFile, openManifest } from "../../node-host/cas/assemble";
import { openChunk } from "../../node-host/cas/chunk-plaintext";
import { craftedManifests, rawPublicManifest, UNSAFE_NAMES } from "../fuzz/manifests";
import { objectIdOf } from "../../node-host/cas/object-hash";
import { mutateMany } from "../fuzz/mutators";
import { fuzzSeed, Prng } from "../fuzz/prng";

const SEED = fuzzSeed();
const keys = new ConvergentKeys(Buffer.alloc(32, 7));
const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const fcParams = { seed: SEED | 0, numRuns: 300 };

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-manifest-fuzz-"));
  dirs.push(d);
  return d;
}

/** Decodes, or returns the CasError; anything else thrown fails the test. */
function decodeOrCasError(bytes: Buffer, key: Buffer | null): Manifest | CasError {
  try {
    return decodeManifest(bytes, key);
  } catch (err) {
    assert.ok(err instanceof CasError, `decodeManifest threw ${String(err)}`);
    assert.ok(err.code === "EBADMANIFEST" || err.code === "EDECRYPT", `code ${err.code}`);
    return err;
  }
}

/** What every manifest that decodes must satisfy, whatever bytes it came from. */
function assertInvariants(m: Manifest, bytes: Buffer): void {
  assert.ok(isSafeFileName(m.name), `unsafe name ${JSON.stringify(m.name)} accepted`);
  const dir = path.resolve("/srv/downloads");
  assert.equal(path.dirname(path.join(dir, m.name)), dir, `name ${JSON.stringify(m.name)} escapes`);
  assert.ok(Number.isSafeInteger(m.size) && m.size >= 0);
  assert.equal(m.chunks.reduce((n, c) => n + c.size, 0), m.size);
  for (const c of m.chunks) {
    assert.ok(Number.isInteger(c.size) && c.size >= 1 && c.size <= MAX_CHUNK_BYTES);
    assert.equal(c.id.length, 32);
    assert.equal(c.key === null ? 0 : c.key.length, m.mode === "private" ? 32 : 0);
  }
  assert.equal(m.chunks.length, decodeManifestHeader(bytes).chunkIds.length);
  assert.ok(bytes.length <= MAX_MANIFEST_BYTES);
}

const safeName = fc.stringMatching(/^[A-Za-z0-9._ -]{1,40}$/).filter((s) => isSafeFileName(s));

const arbManifest = fc
  .record({
    mode: fc.constantFrom<EncryptionMode>("public", "private"),
    name: safeName,
    mediaType: fc.constantFrom("application/octet-stream", "text/plain", "image/png"),
    sizes: fc.array(fc.integer({ min: 1, max: MAX_CHUNK_BYTES }), { maxLength: 12 }),
    seed: fc.integer({ min: 0, max: 0xffffffff }),
  })
  .map(({ mode, name, mediaType, sizes, seed }): Manifest => {
    const rng = new Prng(seed);
    return {
      version: MANIFEST_VERSION,
      mode,
      name,
      size: sizes.reduce((a, b) => a + b, 0),
      mediaType,
      digest: rng.bytes(32),
      chunks: sizes.map((size) => ({ id: rng.bytes(32), size, key: mode === "private" ? rng.bytes(32) : null })),
    };
  });

test(`seed ${SEED} (set FUZZ_SEED=${SEED} to replay)`, () => undefined);

test("random bytes, with or without a manifest's magic, never escape decodeManifest as anything but a CasError", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.boolean(),
      fc.constantFrom(null, 0, 16, 32, 33),
      (body, withMagic, keyLength) => {
        const bytes = withMagic ? Buffer.concat([Buffer.from("PSHM\x01"), Buffer.from(body)]) : Buffer.from(body);
        const key = keyLength === null ? null : Buffer.alloc(keyLength, 1);
        const r = decodeOrCasError(bytes, key);
        if (!(r instanceof CasError)) assertInvariants(r, bytes);
      },
    ),
    { ...fcParams, numRuns: 2000 },
  );
});

test("mutated valid manifests (public and private) are refused cleanly or keep every invariant", () => {
  fc.assert(
    fc.property(arbManifest, fc.integer({ min: 0, max: 0xffffffff }), (m, mutationSeed) => {
      const { bytes, key } = encodeManifest(m, keys);
      assert.deepEqual(decodeManifest(bytes, key), m);
      const rng = new Prng(mutationSeed);
      const mutated = mutateMany(rng, bytes, 4, MAX_MANIFEST_BYTES);
      const r = decodeOrCasError(mutated, rng.chance(0.2) ? rng.bytes(32) : key);
      if (!(r instanceof CasError)) assertInvariants(r, mutated);
    }),
    { ...fcParams, numRuns: 1500 },
  );
});

test("crafted manifests: path traversal, NUL, huge chunk counts, negative and overflowing sizes, bad lengths", () => {
  const chunk = Buffer.from("one chunk");
  for (const c of craftedManifests(objectIdOf(chunk), chunk.length)) {
    const r = decodeOrCasError(c.bytes, null);
    assert.ok(r instanceof CasError, `${c.what}: accepted`);
    assert.match(r.message, c.error, c.what);
  }
  // encodeManifest does not check names: a sharer's forged manifest must still be refused by readers
  for (const name of UNSAFE_NAMES) {
    for (const mode of ["public", "private"] as const) {
      const m: Manifest = { version: MANIFEST_VERSION, mode, name, size: 9, mediaType: "text/plain", digest: objectIdOf(chunk), chunks: [{ id: objectIdOf(chunk), size: 9, key: mode === "private" ? Buffer.alloc(32) : null }] };
      let encoded;
      try {
        encoded = encodeManifest(m, keys);
      } catch {
        continue; // a name the encoder itself cannot write (over 65535 bytes)
      }
      const r = decodeOrCasError(encoded.bytes, encoded.key);
      assert.ok(r instanceof CasError, `${mode} manifest named ${JSON.stringify(name)} accepted`);
      assert.match(r.message, /unsafe file name|malformed manifest/);
    }
  }
});

test("the largest manifests decode or fail in bounded time", () => {
  const chunk = 4096;
  const n = Math.floor((MAX_MANIFEST_BYTES - 10 - 40 - 2 - 8 - 2 - 24) / 36);
  const all = new Prng(SEED).bytes(32 * n);
  const ids = Array.from({ length: n }, (_, i) => all.subarray(32 * i, 32 * (i + 1)));
  const fields = { ids, size: BigInt(n * chunk), sizes: new Array<number>(n).fill(chunk), name: "big.bin" };
  let started = performance.now();
  const m = decodeManifest(rawPublicManifest(fields), null);
  assert.equal(m.chunks.length, n);
  assert.ok(performance.now() - started < 20_000, `decoding ${n} chunks took ${performance.now() - started} ms`);
  started = performance.now();
  assert.throws(() => decodeManifest(rawPublicManifest({ ...fields, trailing: Buffer.alloc(MAX_MANIFEST_BYTES) }), null), /exceeds/);
  assert.throws(() => decodeManifest(rawPublicManifest({ ...fields, sizes: fields.sizes.slice(1) }), null), CasError);
  assert.ok(performance.now() - started < 20_000);
});

test("openManifest reads crafted manifests from a real store and refuses them with a CasError", async () => {
  const store = await ContentStore.open(tmp());
  try {
    const chunk = Buffer.from("one chunk");
    for (const c of craftedManifests(objectIdOf(chunk), chunk.length)) {
      const { id } = await store.put(c.bytes, { kind: "manifest" });
      await assert.rejects(openManifest(store, id.toString("hex")), (err: unknown) => err instanceof CasError && c.error.test(err.message), c.what);
    }
    // a private manifest opened with the wrong key, without one, and through a link with a key that is not one
    const { bytes, key, contentId } = encodeManifest({ version: MANIFEST_VERSION, mode: "private", name: "p.bin", size: 9, mediaType: "text/plain", digest: objectIdOf(chunk), chunks: [{ id: objectIdOf(chunk), size: 9, key: Buffer.alloc(32) }] }, keys);
    await store.put(bytes, { kind: "manifest" });
    await assert.rejects(openManifest(store, formatShareLink(contentId, Buffer.alloc(32, 9))), (err: unknown) => err instanceof CasError && err.code === "EDECRYPT");
    await assert.rejects(openManifest(store, contentId), (err: unknown) => err instanceof CasError && /key/.test(err.message));
    await assert.rejects(openManifest(store, `peershare://${contentId}#k=AAAA`), (err: unknown) => err instanceof CasError && err.code === "EBADLINK");
    assert.equal((await openManifest(store, formatShareLink(contentId, key))).name, "p.bin");
  } finally {
    await store.close();
  }
});

test("wrong hashes: chunks that do not match their id or size, and a file digest that does not match, write nothing", async () => {
  const dir = tmp();
  const out = path.join(dir, "out");
  fs.mkdirSync(out);
  const store = await ContentStore.open(path.join(dir, "store"));
  try {
    const chunk = Buffer.from("the only chunk of the file");
    const { id } = await store.put(chunk, { kind: "chunk" });
    const base: Manifest = { version: MANIFEST_VERSION, mode: "public", name: "victim.txt", size: chunk.length, mediaType: "text/plain", digest: fileDigestOfChunkDigests([objectIdOf(chunk)]), chunks: [{ id, size: chunk.length, key: null }] };
    assert.throws(() => openChunk(base.chunks[0], Buffer.from("other bytes")), (err: unknown) => err instanceof CasError && err.code === "EHASHMISMATCH");
    assert.throws(() => openChunk({ ...base.chunks[0], size: chunk.length - 1 }, chunk), (err: unknown) => err instanceof CasError && err.code === "EHASHMISMATCH");
    await assert.rejects(assembleFile(store, { ...base, digest: Buffer.alloc(32) }, { dir: out }), (err: unknown) => err instanceof CasError && err.code === "EHASHMISMATCH");
    await assert.rejects(assembleFile(store, { ...base, chunks: [{ ...base.chunks[0], size: chunk.length + 1 }], size: chunk.length + 1 }, { dir: out }), (err: unknown) => err instanceof CasError);
    await assert.rejects(assembleFile(store, { ...base, name: "../escape.txt" }, { dir: out }), (err: unknown) => err instanceof CasError && err.code === "EBADMANIFEST");
    assert.deepEqual(fs.readdirSync(out), [], "no file and no temp file left behind");
    assert.deepEqual(fs.readdirSync(dir).sort(), ["out", "store"], "nothing written next to the output dir");
    assert.equal(fs.readFileSync(await assembleFile(store, base, { dir: out }), "utf8"), chunk.toString());
  } finally {
    await store.close();
  }
});

test("file names: whatever the input, sanitizeFileName gives a safe, stable name, and a safe name cannot leave its directory", () => {
  const anyString = fc.oneof(fc.string({ maxLength: 400 }), fc.string({ unit: "grapheme", maxLength: 200 }), fc.string({ unit: "binary", maxLength: 300 }), fc.constantFrom(...UNSAFE_NAMES));
  fc.assert(
    fc.property(anyString, (s) => {
      const safe = sanitizeFileName(s);
      assert.ok(isSafeFileName(safe), `sanitizeFileName(${JSON.stringify(s)}) = ${JSON.stringify(safe)} is not safe`);
      assert.equal(sanitizeFileName(safe), safe, "idempotent");
      if (isSafeFileName(s)) {
        assert.equal(safe, s, "a safe name is kept as it is");
        const dir = path.resolve("/srv/out");
        assert.equal(path.dirname(path.join(dir, s)), dir);
        assert.equal(path.basename(s), s);
        assert.ok(Buffer.byteLength(s) <= MAX_NAME_BYTES);
        assert.equal(Buffer.from(s, "utf8").toString("utf8"), s, "survives UTF-8");
      }
    }),
    { ...fcParams, numRuns: 1500 },
  );
  for (const name of UNSAFE_NAMES) assert.equal(isSafeFileName(name), false, JSON.stringify(name));
  for (const name of ["...", "..x", ".hidden", "a b", "\u00e9t\u00e9.txt", "\ud83d\ude00"]) assert.equal(isSafeFileName(name), true, JSON.stringify(name));
});

test("file names: long names are cut in linear time, to the longest prefix that fits, trimmed", () => {
  // cutting one character at a time took quadratic time (minutes for 30,000 characters)
  for (const n of [300, 30_000, 1_000_000]) {
    const started = performance.now();
    const safe = sanitizeFileName("a".repeat(n));
    assert.ok(performance.now() - started < 500, `${n} characters took ${performance.now() - started} ms`);
    assert.equal(safe, "a".repeat(MAX_NAME_BYTES));
  }
  // a cut that ends on a space used to make the name unsafe and give "file"
  assert.equal(sanitizeFileName("a".repeat(254) + " x"), "a".repeat(254));
  // multi-byte characters are never split
  assert.equal(sanitizeFileName("\u00e9".repeat(200)), "\u00e9".repeat(127));
  assert.equal(sanitizeFileName("\ud83d\ude00".repeat(100)), "\ud83d\ude00".repeat(63));
  // an unpaired surrogate has no UTF-8 form: it is replaced, not carried into a manifest
  assert.equal(isSafeFileName("a\ud800"), false);
  assert.equal(sanitizeFileName("a\ud800b"), "a\ufffdb");
});

test("share links: any text parses to a link or fails with EBADLINK", () => {
  const hex = fc.stringMatching(/^[0-9a-fA-F]{60,68}$/);
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), hex, hex.map((h) => `peershare://${h}#k=${h.slice(0, 43)}`), fc.string({ unit: "binary" }).map((s) => `peershare://${s}`)), (text) => {
      try {
        const l = parseShareLink(text);
        assert.match(l.contentId, /^[0-9a-f]{64}$/);
        assert.ok(l.key === null || l.key.length === 32);
      } catch (err) {
        assert.ok(err instanceof CasError && err.code === "EBADLINK", `parseShareLink threw ${String(err)}`);
      }
    }),
    { ...fcParams, numRuns: 3000 },
  );
});
