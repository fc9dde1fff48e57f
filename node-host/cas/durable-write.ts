// Crash-safe file writes: the bytes go to a temp file (under a tmp dir on the same file system), are
// fsynced, then renamed onto the target, and the target's directory is fsynced so the rename itself
// survives a power cut. A crash at any point leaves either no target or the complete one; a leftover
// temp file is the only debris, and its directory is emptied at open.

import { promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { replaceFile } from "../platform/replace-file";

/** File content, whole or as parts written one after the other. */
export type FileData = Uint8Array | readonly Uint8Array[];

export async function writeFileDurably(tmpDir: string, target: string, data: FileData, mode = 0o644): Promise<void> {
  await writeFileAtomically(tmpDir, target, data, { mode, sync: true });
  await fsyncDir(path.dirname(target));
}

/**
 * Temp file + rename, leaving the directory fsync to the caller, who can batch it. With `sync` the
 * data is fsynced before the rename, so the target is never torn (a power cut may still forget the
 * rename); without, a kill leaves the complete file or none, but a power cut soon after may leave it
 * torn: only for data that is checked when read (objects are, against their hash).
 */
export async function writeFileAtomically(tmpDir: string, target: string, data: FileData, options: { mode?: number; sync: boolean }): Promise<void> {
  const tmp = path.join(tmpDir, tempName());
  if (!options.sync && data instanceof Uint8Array) {
    // one call for open, write and close: a folder share writes tens of thousands of small objects
    // this way, and each trip to the thread pool costs more than the write itself
    await fsp.writeFile(tmp, data, { flag: "wx", mode: options.mode ?? 0o644 }).catch(async (err: unknown) => {
      await fsp.rm(tmp, { force: true });
      throw err;
    });
  } else {
    const fh = await fsp.open(tmp, "wx", options.mode ?? 0o644);
    try {
      for (const part of data instanceof Uint8Array ? [data] : data) await writeAll(fh, part);
      if (options.sync) await fh.sync();
    } catch (err) {
      await fh.close();
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
  }
  try {
    await replaceFile(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** This process's temp file names: a random prefix once, then a counter (no random bytes per write). */
const tempPrefix = randomBytes(6).toString("hex");
let tempCount = 0;
const tempName = () => `${tempPrefix}-${(tempCount++).toString(36)}.tmp`;

/**
 * Writes all of `bytes` at `position` (null: at the file's current offset, appending) with as few
 * write calls as the kernel allows: one, as a rule. (FileHandle.writeFile writes in 512 KiB pieces,
 * each its own trip to the thread pool: three for a 1.2 MB chunk.)
 */
export async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number | null = null): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    done += (await fh.write(bytes, done, bytes.length - done, position === null ? null : position + done)).bytesWritten;
  }
}

/** Rename, then fsync the target's directory; the source is removed if the rename fails. */
export async function renameDurably(from: string, to: string): Promise<void> {
  try {
    await replaceFile(from, to);
  } catch (err) {
    await fsp.rm(from, { force: true });
    throw err;
  }
  await fsyncDir(path.dirname(to));
}

/** fsyncs a file that exists; false when it does not. */
export async function fsyncFile(file: string): Promise<boolean> {
  let fh;
  try {
    fh = await fsp.open(file, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
  try {
    await fh.sync();
    return true;
  } finally {
    await fh.close();
  }
}

/**
 * Windows has no fsync of a directory (FlushFileBuffers wants write access, which Node's handle on a
 * directory does not have). NTFS journals its metadata, so a rename there is never half done, and it
 * is on disk once the journal is flushed, within seconds.
 */
const CAN_FSYNC_DIRECTORIES = process.platform !== "win32";

export async function fsyncDir(dir: string): Promise<void> {
  if (!CAN_FSYNC_DIRECTORIES) return;
  const fh = await fsp.open(dir, "r");
  try {
    await fh.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    await fh.close();
  }
}

/** Remove everything in `dir` (creating it if absent): leftovers of writes a crash interrupted. */
export async function emptyDir(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true });
  for (const name of await fsp.readdir(dir)) await fsp.rm(path.join(dir, name), { recursive: true, force: true });
}
