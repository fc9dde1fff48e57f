import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { contentDefinedChunker, DEFAULT_CDC_PARAMS, fixedSizeChunker, type Chunker } from "../../node-host/cas/chunker";
import { fastCdcCutFinder } from "../../node-host/cas/fastcdc";

// Small sizes so that short inputs still produce many chunks.
const smallCdc = contentDefinedChunker({ minSize: 64, avgSize: 256, maxSize: 1024 });
const smallFixed = fixedSizeChunker(100);

async function* pieces(data: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const n = Math.max(1, sizes.length > 0 ? sizes[i % sizes.length] : data.length);
    yield data.subarray(offset, offset + n);
    offset += n;
  }
}

async function collect(chunker: Chunker, data: Buffer, sizes: number[] = []): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of chunker.chunks(pieces(data, sizes))) out.push(chunk);
  return out;
}

test("chunks concatenate back to the input and respect the size bounds, however the input is split", async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 6000 }), fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 5 }), async (bytes, sizes) => {
      const data = Buffer.from(bytes);
      for (const chunker of [smallCdc, smallFixed]) {
        const chunks = await collect(chunker, data, sizes);
        assert.deepEqual(Buffer.concat(chunks), data);
        assert.ok(chunks.every((c) => c.length > 0 && c.length <= chunker.maxSize));
      }
    }),
    { numRuns: 200 },
  );
});

test("chunk boundaries depend only on the content, not on how it arrives", async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 8000 }), fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 4 }), async (bytes, sizes) => {
      const data = Buffer.from(bytes);
      const whole = (await collect(smallCdc, data)).map((c) => c.length);
      const split = (await collect(smallCdc, data, sizes)).map((c) => c.length);
      assert.deepEqual(split, whole);
    }),
    { numRuns: 100 },
  );
});

test("content-defined chunks: all but the last are at least min, and an insertion only disturbs nearby chunks", async () => {
  const data = randomBytes(64 * 1024);
  const chunks = await collect(smallCdc, data);
  assert.ok(chunks.slice(0, -1).every((c) => c.length >= 64));
  const edited = Buffer.concat([data.subarray(0, 30000), Buffer.from("xyz"), data.subarray(30000)]);
  const before = new Set(chunks.map((c) => c.toString("hex")));
  const after = await collect(smallCdc, edited);
  const sharedBytes = after.filter((c) => before.has(c.toString("hex"))).reduce((n, c) => n + c.length, 0);
  assert.ok(sharedBytes > 0.9 * data.length, `only ${sharedBytes} bytes shared`);
});

test("fixed-size chunks are exactly the chunk size except the last", async () => {
  const chunks = await collect(smallFixed, randomBytes(1050), [7, 300]);
  assert.deepEqual(
    chunks.map((c) => c.length),
    [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 50],
  );
  assert.deepEqual(await collect(smallFixed, Buffer.alloc(0)), []);
});

test("reading straight from a file gives the same chunks as a stream, and views hold the same bytes", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-cas-chunker-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const data = randomBytes(50_000);
  const file = path.join(dir, "data.bin");
  fs.writeFileSync(file, data);
  const expected = await collect(smallCdc, data, [999]);
  const fh = await fs.promises.open(file, "r");
  const fromFile: Buffer[] = [];
  try {
    for await (const view of smallCdc.chunkViews(fh)) fromFile.push(Buffer.from(view));
  } finally {
    await fh.close();
  }
  assert.deepEqual(fromFile, expected);
});

test("the WebAssembly cut search cuts exactly where the reference definition does", async () => {
  const paramSets = [
    { minSize: 64, avgSize: 256, maxSize: 1024 },
    { minSize: 16, avgSize: 64, maxSize: 100 },
    { minSize: 256, avgSize: 256, maxSize: 4096 },
  ];
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 12_000 }), fc.constantFrom(...paramSets), async (bytes, params) => {
      const data = Buffer.from(bytes);
      const reference = fastCdcCutFinder(params);
      const expected: number[] = [];
      for (let offset = 0; offset < data.length; ) {
        const cut = reference(data.subarray(offset));
        expected.push(cut);
        offset += cut;
      }
      const chunks = await collect(contentDefinedChunker(params), data, [777]);
      assert.deepEqual(chunks.map((c) => c.length), expected);
    }),
    { numRuns: 150 },
  );
  // and at the default sizes, on a few MiB of low-entropy and random bytes
  const big = Buffer.concat([randomBytes(3 << 20), Buffer.alloc(1 << 20, 7), randomBytes(2 << 20)]);
  const reference = fastCdcCutFinder(DEFAULT_CDC_PARAMS);
  const expected: number[] = [];
  for (let offset = 0; offset < big.length; offset += expected[expected.length - 1]) expected.push(reference(big.subarray(offset)));
  assert.deepEqual((await collect(contentDefinedChunker(), big, [1 << 20])).map((c) => c.length), expected);
});
