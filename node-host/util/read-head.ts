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
