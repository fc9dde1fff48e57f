import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { contentDefinedChunker, fixedSizeChunker, type Chunker } from "../../node-host/cas/chunker";

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
