import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { isIdOf, objectIdOf } from "../../node-host/cas/object-hash";

/** The input of the BLAKE3 reference test vectors: byte i is i mod 251. */
function vectorInput(length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = i % 251;
  return b;
}

test("object ids are BLAKE3: the reference test vectors", () => {
  // from the BLAKE3 reference implementation's test_vectors.json (first 32 bytes of each output)
  assert.equal(objectIdOf(vectorInput(0)).toString("hex"), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
  assert.equal(objectIdOf(vectorInput(1)).toString("hex"), "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213");
  // 1 MiB: many chunks and tree levels, the SIMD paths (checked against b3sum and a second implementation)
  assert.equal(objectIdOf(vectorInput(1 << 20)).toString("hex"), "74cb441fd087764ca9c3694da742ebe30cbeb3060a17009ca81825c7a8d10343");
});

test("an id of parts is the id of their concatenation, wherever the parts split", () => {
  const whole = randomBytes(300_000);
  for (const cuts of [[0], [1], [1024], [150_000], [7, 70_000, 299_999]]) {
    const parts = [...cuts, whole.length].map((end, i, ends) => whole.subarray(i === 0 ? 0 : ends[i - 1], end));
    assert.deepEqual(objectIdOf(parts), objectIdOf(whole), `cut at ${cuts.join(", ")}`);
  }
});

test("bytes match their BLAKE3 id and, for version 1 and 2 objects, their SHA-256 id; nothing else", () => {
  const bytes = randomBytes(5000);
  assert.ok(isIdOf(objectIdOf(bytes), bytes));
  assert.ok(isIdOf(createHash("sha256").update(bytes).digest(), bytes));
  const flipped = Buffer.from(bytes);
  flipped[4999] ^= 1;
  assert.ok(!isIdOf(objectIdOf(bytes), flipped));
  assert.ok(!isIdOf(createHash("sha256").update(bytes).digest(), flipped));
  assert.ok(!isIdOf(createHash("sha512").update(bytes).digest().subarray(0, 32), bytes), "another hash of the same bytes is no id");
});
