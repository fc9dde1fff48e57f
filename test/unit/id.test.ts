import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { bucketIndex, commonPrefixLength, compareDistance, keyFromText, randomIdInBucket, sha256, xorDistance } from "../../node-host/dht/id";

const id = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a));

test("XOR distance is a metric: zero only to itself, symmetric, triangle inequality", () => {
  fc.assert(
    fc.property(id, id, id, (a, b, c) => {
      assert.equal(xorDistance(a, a).every((x) => x === 0), true);
      assert.equal(xorDistance(a, b).equals(xorDistance(b, a)), true);
      if (!a.equals(b)) assert.equal(xorDistance(a, b).some((x) => x !== 0), true);
      // d(a,c) <= d(a,b) + d(b,c), compared as 256-bit integers
      const big = (x: Buffer) => BigInt("0x" + x.toString("hex"));
      assert.ok(big(xorDistance(a, c)) <= big(xorDistance(a, b)) + big(xorDistance(b, c)));
    }),
  );
});

test("compareDistance orders exactly as the XOR distances do", () => {
  fc.assert(
    fc.property(id, id, id, (a, b, t) => {
      assert.equal(Math.sign(compareDistance(a, b, t)), Math.sign(Buffer.compare(xorDistance(a, t), xorDistance(b, t))));
    }),
  );
});

test("unidirectionality: for a point and a distance there is exactly one other point", () => {
  fc.assert(
    fc.property(id, id, (a, b) => {
      assert.equal(xorDistance(a, xorDistance(a, b)).equals(b), true);
    }),
  );
});

test("randomIdInBucket lands in the bucket it was asked for", () => {
  fc.assert(
    fc.property(id, fc.integer({ min: 0, max: 255 }), (self, index) => {
      const other = randomIdInBucket(self, index);
      assert.equal(bucketIndex(self, other), index);
      assert.equal(commonPrefixLength(self, other), 255 - index);
    }),
  );
});

test("a key is 64 hex digits as given, any other text is hashed", () => {
  const hex = "ab".repeat(32);
  assert.equal(keyFromText(hex).toString("hex"), hex);
  assert.equal(keyFromText("hello").toString("hex"), sha256("hello").toString("hex"));
  assert.equal(keyFromText("abc").length, 32);
});
