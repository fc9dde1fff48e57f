// Reads the files of a .zip (a .vsix is one) from its central directory: names, and contents
// (stored or deflated). Enough for the archives vsce writes; no ZIP64, no encryption.

import { inflateRawSync } from "node:zlib";

export interface ZipEntry {
  name: string;
  read(): Buffer;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The entries of the archive in `zip`, in central-directory order. */
export function zipEntries(zip: Buffer): ZipEntry[] {
  // the end record is the last 22 bytes, unless a comment (at most 65,535 bytes) follows it
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at--) {
    if (zip.readUInt32LE(at) === EOCD) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new Error("not a zip archive: no end of central directory");
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== CENTRAL) throw new Error(`zip central directory entry ${i} is damaged`);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localAt = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    entries.push({ name, read: () => entryData(zip, localAt, method, compressedSize, name) });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function entryData(zip: Buffer, localAt: number, method: number, size: number, name: string): Buffer {
  if (zip.readUInt32LE(localAt) !== LOCAL) throw new Error(`zip entry ${name}: damaged local header`);
  const start = localAt + 30 + zip.readUInt16LE(localAt + 26) + zip.readUInt16LE(localAt + 28);
  const data = zip.subarray(start, start + size);
  if (method === 0) return Buffer.from(data);
  if (method === 8) return inflateRawSync(data);
  throw new Error(`zip entry ${name}: compression method ${method} is not supported`);
}
