import { promises as fsp } from "node:fs";

/** The first `length` bytes of a file (fewer when it is shorter). */
export async function readFileHead(file: string, length: number): Promise<Buffer> {
  const fh = await fsp.open(file, "r");
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * The whole file, read into `into` when it fits (a view of it is returned) and into a fresh buffer
 * when it does not. For hot loops that read many files of similar size: reusing one buffer spares a
 * fresh allocation per file, whose page faults cost more than the read.
 */
export async function readFileInto(file: string, into: Buffer): Promise<Buffer> {
  const fh = await fsp.open(file, "r");
  try {
    const { size } = await fh.stat();
    const buf = size <= into.length ? into : Buffer.allocUnsafe(size);
    let n = 0;
    while (n < size) {
      const { bytesRead } = await fh.read(buf, n, size - n, n);
      if (bytesRead === 0) break; // shrank while being read: the hash check rejects what was read
      n += bytesRead;
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}
