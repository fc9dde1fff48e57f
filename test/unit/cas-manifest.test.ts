import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { ConvergentKeys } from "../../node-host/cas/convergent-crypto";
import { CasError } from "../../node-host/cas/errors";
import { isSafeFileName, sanitizeFileName } from "../../node-host/cas/file-name";
import { decodeManifest, encodeManifest, MANIFEST_VERSION, type EncryptionMode, type Manifest } from "../../node-host/cas/manifest";
import { mediaTypeFor } from "../../node-host/cas/media-type";
import { formatShareLink, parseShareLink } from "../../node-host/cas/share-link";

const keys = new ConvergentKeys(randomBytes(32));

function manifest(mode: EncryptionMode, overrides: Partial<Manifest> = {}): Manifest {
  return {
    version: MANIFEST_VERSION,
    mode,
    name: "report.pdf",
    size: 300,
    mediaType: "application/pdf",
    digest: randomBytes(32),
    chunks: [100, 200].map((size) => ({ id: randomBytes(32), size, key: mode === "private" ? randomBytes(32) : null })),
    ...overrides,
  };
}

/** Decoding must either succeed or fail with a CasError: nothing else may escape. */
function decodeOrCasError(bytes: Buffer, key: Buffer | null): Manifest | CasError {
  try {
    return decodeManifest(bytes, key);
  } catch (err) {
    assert.ok(err instanceof CasError, `unexpected ${String(err)}`);
    return err;
  }
}

function assertRejected(bytes: Buffer, key: Buffer | null, pattern?: RegExp): void {
  const result = decodeOrCasError(bytes, key);
  assert.ok(result instanceof CasError, "hostile manifest accepted");
  if (pattern) assert.match(result.message, pattern);
}

test("manifests round-trip, and encoding is deterministic", () => {
  for (const mode of ["public", "private"] as const) {
    const m = manifest(mode);
    const a = encodeManifest(m, keys);
    const b = encodeManifest(structuredClone(m), keys);
    assert.deepEqual(a.bytes, b.bytes);
    assert.equal(a.contentId, b.contentId);
    assert.match(a.contentId, /^[0-9a-f]{64}$/);
    assert.deepEqual(decodeManifest(a.bytes, a.key), m);
  }
});

test("a private manifest reveals nothing without its key and rejects a wrong one", () => {
  const m = manifest("private");
  const { bytes, key } = encodeManifest(m, keys);
  assert.ok(key);
  assert.equal(bytes.includes(Buffer.from(m.name)), false);
  assertRejected(bytes, null, /key/);
  const wrong = decodeOrCasError(bytes, randomBytes(32));
  assert.ok(wrong instanceof CasError && wrong.code === "EDECRYPT");
});

test("hostile manifests are rejected with a clean error", () => {
  const { bytes } = encodeManifest(manifest("public"), null);
  const header = 4 + 1 + 1 + 4 + 2 * 32;

  const hugeCount = Buffer.from(bytes);
  hugeCount.writeUInt32BE(0xffffffff, 6);
  assertRejected(hugeCount, null, /chunk count/);

  const negativeSize = Buffer.from(bytes);
  negativeSize.writeBigInt64BE(-1n, header);
  assertRejected(negativeSize, null);

  const wrongTotal = Buffer.from(bytes);
  wrongTotal.writeBigUInt64BE(301n, header);
  assertRejected(wrongTotal, null, /add up/);

  for (const name of ["../x", "a/b", "a\\b", "..", ".", "", "nul\0byte", "x".repeat(256)]) {
    assertRejected(encodeManifest(manifest("public", { name }), null).bytes, null);
  }
  const escaping = encodeManifest(manifest("private", { name: "../etc/passwd" }), keys);
  assertRejected(escaping.bytes, escaping.key, /unsafe/);
  assertRejected(encodeManifest(manifest("public", { mediaType: "text/plain; x" }), null).bytes, null);
  assertRejected(encodeManifest(manifest("public", { size: 0, chunks: [{ id: randomBytes(32), size: 0, key: null }] }), null).bytes, null);

  const future = Buffer.from(bytes);
  future[4] = 4;
  assertRejected(future, null, /unsupported manifest version 4/);
  assertRejected(Buffer.concat([bytes, Buffer.from([0])]), null, /trailing/);
  assertRejected(Buffer.alloc(9 * 1024 * 1024), null, /exceeds/);
  for (let n = 0; n < bytes.length; n++) assertRejected(bytes.subarray(0, n), null);
});

test("random bytes and random corruptions never escape as anything but a CasError", () => {
  const valid = encodeManifest(manifest("private"), keys);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (random, position, flip) => {
      decodeOrCasError(Buffer.concat([Buffer.from("PSHM\x01"), Buffer.from(random)]), valid.key);
      decodeOrCasError(Buffer.from(random), null);
      const corrupted = Buffer.from(valid.bytes);
      corrupted[position % corrupted.length] ^= flip;
      assert.ok(decodeOrCasError(corrupted, valid.key) instanceof CasError, "a tampered private manifest must not decode");
    }),
    { numRuns: 500 },
  );
});

test("share links: format and parse, with clear errors", () => {
  const id = "ab".repeat(32);
  const key = randomBytes(32);
  const link = formatShareLink(id, key);
  assert.match(link, /^peershare:\/\/[0-9a-f]{64}#k=[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(parseShareLink(link), { contentId: id, key, hints: null });
  assert.deepEqual(parseShareLink(` ${formatShareLink(id, null)} `), { contentId: id, key: null, hints: null });
  assert.deepEqual(parseShareLink(id.toUpperCase()), { contentId: id, key: null, hints: null });
  const rejects = (text: string, pattern: RegExp) => assert.throws(() => parseShareLink(text), (err: unknown) => err instanceof CasError && err.code === "EBADLINK" && pattern.test(err.message));
  rejects("https://example.com/x", /not a peershare link/);
  rejects("peershare://abc", /64 hex/);
  rejects(`peershare://${id}#k=short`, /32 bytes/);
  rejects(`peershare://${id}#key=${key.toString("base64url")}`, /fragment/);
  rejects("", /64 hex/);
});

test("file names: sanitized when sharing, and media types by extension", () => {
  assert.equal(sanitizeFileName("/home/me/notes.md"), "notes.md");
  assert.equal(sanitizeFileName("a\\..\\b.txt"), "b.txt");
  assert.equal(sanitizeFileName(".."), "file");
  assert.equal(sanitizeFileName("tab\there"), "tab_here");
  assert.ok(isSafeFileName(sanitizeFileName("é".repeat(300))));
  assert.equal(mediaTypeFor("Photo.JPG"), "image/jpeg");
  assert.equal(mediaTypeFor("archive.unknown"), "application/octet-stream");
});
