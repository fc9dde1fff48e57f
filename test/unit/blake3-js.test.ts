// The JavaScript BLAKE3 (the fallback where @napi-rs/blake-hash does not load) gives the same
// digests as the reference and as the native package, however its input is split.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { blake3 } from "@napi-rs/blake-hash";
import { Blake3Js, blake3Js } from "../../node-host/cas/blake3-js";

/** The input of the BLAKE3 reference test vectors: byte i is i mod 251. */
function vectorInput(length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = i % 251;
  return b;
}

test("the reference test vectors", () => {
  // from the BLAKE3 reference implementation's test_vectors.json (first 32 bytes of each output)
  const vectors: [number, string][] = [
    [0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"],
    [1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"],
    [1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"],
    [1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"],
    [1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"],
    [31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"],
    [1 << 20, "74cb441fd087764ca9c3694da742ebe30cbeb3060a17009ca81825c7a8d10343"],
  ];
  for (const [length, hex] of vectors) assert.equal(blake3Js(vectorInput(length)).toString("hex"), hex, `${length} bytes`);
});

test("the same digest as the native package at every size around block, chunk and tree edges", () => {
  const sizes = [2, 63, 64, 65, 127, 128, 129, 960, 2047, 2048, 2049, 3072, 3073, 4095, 4096, 4097, 8191, 8193, 65_536, 100_001, (1 << 20) + 7];
  for (const size of sizes) {
    const data = randomBytes(size);
    assert.equal(blake3Js(data).toString("hex"), blake3(data).toString("hex"), `${size} bytes`);
  }
});

test("a digest does not depend on how the input is split across update()", () => {
  const data = randomBytes(70_000);
  const expected = blake3(data).toString("hex");
  for (const step of [1, 7, 63, 64, 65, 1000, 1024, 1025, 4096]) {
    const hasher = new Blake3Js();
    for (let at = 0; at < data.length; at += step) hasher.update(data.subarray(at, at + step));
    assert.equal(hasher.digest().toString("hex"), expected, `pieces of ${step} bytes`);
  }
  // views at odd offsets into a larger buffer
  const big = randomBytes(10_001);
  assert.equal(blake3Js(big.subarray(3, 9_999)).toString("hex"), blake3(Buffer.from(big.subarray(3, 9_999))).toString("hex"));
});
