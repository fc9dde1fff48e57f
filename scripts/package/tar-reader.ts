// Unpacks an npm package tarball (.tgz: gzip over ustar, with pax headers for long names) into a
// folder, in JavaScript, so packaging needs no tar program (Windows has one only since 2018).
// Regular files and folders only: npm tarballs carry nothing else; a name that would land outside
// the folder is refused.

import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";

const BLOCK = 512;

interface TarEntry {
  name: string;
  type: "file" | "dir";
  mode: number;
  data: Buffer;
}

function field(header: Buffer, at: number, length: number): string {
  const raw = header.subarray(at, at + length);
  const end = raw.indexOf(0);
  return raw.toString("utf8", 0, end < 0 ? length : end);
}

function octal(header: Buffer, at: number, length: number): number {
  const text = field(header, at, length).trim();
  return text ? parseInt(text, 8) : 0;
}

/** The "path" record of a pax extended header, if it has one. */
function paxPath(data: Buffer): string | undefined {
  // records are "LENGTH key=value\n"
  for (let at = 0; at < data.length; ) {
    const space = data.indexOf(0x20, at);
    const length = parseInt(data.toString("latin1", at, space), 10);
    if (!(length > 0)) break;
    const record = data.toString("utf8", space + 1, at + length - 1);
    if (record.startsWith("path=")) return record.slice(5);
    at += length;
  }
  return undefined;
}

/** The files and folders of a ustar archive. */
export function tarEntries(tar: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let longName: string | undefined;
  for (let at = 0; at + BLOCK <= tar.length; ) {
    const header = tar.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break; // end of archive
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 0x30);
    const data = tar.subarray(at + BLOCK, at + BLOCK + size);
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "x") {
      longName = paxPath(data);
      continue;
    }
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    if (type === "0" || type === "5") entries.push({ name, type: type === "5" ? "dir" : "file", mode: octal(header, 100, 8), data });
  }
  return entries;
}

/** Unpacks an npm tarball into `dest`, without its top folder ("package/"). */
export function unpackNpmTarball(tgz: Buffer, dest: string): void {
  const root = path.resolve(dest);
  for (const entry of tarEntries(gunzipSync(tgz))) {
    const relative = entry.name.split("/").slice(1).join("/"); // the top folder's name varies
    if (!relative) continue;
    const target = path.resolve(root, relative);
    if (!target.startsWith(root + path.sep)) throw new Error(`refusing tarball entry ${entry.name}: outside the package`);
    if (entry.type === "dir") {
      fs.mkdirSync(target, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, entry.data, { mode: entry.mode & 0o777 || 0o644 });
  }
}
