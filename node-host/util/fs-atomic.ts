// Atomic file writes: write a temp file beside the target, fsync it, then rename over the target,
// so a crash leaves either the old file or the new one, never a torn one. `mode` applies on Linux and
// macOS; on Windows a file takes the access rules of its directory (platform/owner-only.ts).

import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { replaceFileSync } from "../platform/replace-file";

export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = fs.openSync(tmp, "w", mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    replaceFileSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
