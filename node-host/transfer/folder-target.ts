// The directory a folder fetch writes into, and the guard on every path it writes there. A path from
// a folder manifest is written only when:
//   - it passes folder-path.ts (no "..", nothing absolute, no drive letter, no device name, …);
//   - on a case-insensitive file system, it does not fold onto an earlier entry's path;
//   - no directory on the way to it is a symbolic link or a file (a symlink placed in the target
//     beforehand, "docs -> /etc", would carry the write out of it): directories are created one
//     component at a time, each checked with lstat.
// The file itself goes through a temp file beside it and a rename (output-file.ts), which replaces a
// symlink at the final name rather than writing through it.

import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { FolderEntry } from "../cas/folder-manifest";
import { CaseFolding, pathProblem } from "../cas/folder-path";
import { fsyncDir } from "../cas/durable-write";

export class FolderTarget {
  /** Directories (relative, "" the root) known to exist as real directories. */
  private readonly made = new Set<string>([""]);
  private readonly folding: CaseFolding;

  private constructor(
    /** The target directory, symlinks resolved. */
    readonly root: string,
    caseInsensitive: boolean,
  ) {
    this.folding = new CaseFolding(caseInsensitive);
  }

  /** Creates `dir` if missing (with its parents) and finds out how its file system treats case. */
  static async open(dir: string): Promise<FolderTarget> {
    await fsp.mkdir(dir, { recursive: true });
    const root = await fsp.realpath(dir);
    if (!(await fsp.stat(root)).isDirectory()) throw new Error(`${dir} is not a directory`);
    return new FolderTarget(root, await isCaseInsensitive(root));
  }

  /**
   * Why an entry may not be written here; null when it may. Call once per entry, in the manifest's
   * order: a later entry that folds onto an earlier one's path is the one refused.
   */
  refusal(entry: FolderEntry): string | null {
    if (entry.badUtf8) return "its path is not valid UTF-8";
    const problem = pathProblem(entry.path);
    if (problem) return `unsafe path: ${problem}`;
    // legal names elsewhere, which the sharer keeps; Windows refuses to create them
    if (process.platform === "win32" && /[<>"|?*]/.test(entry.path)) return 'Windows cannot store a name with <, >, ", |, ? or *';
    const earlier = this.folding.add(entry.path);
    if (earlier !== null) return `it would overwrite ${JSON.stringify(earlier)} on this case-insensitive file system`;
    return null;
  }

  /** The absolute path of a checked relative path. */
  pathOf(rel: string): string {
    return path.join(this.root, ...rel.split("/"));
  }

  /** Makes sure directory `rel` exists as a real directory under the root, creating what is missing; throws when something is in the way. */
  async ensureDir(rel: string): Promise<void> {
    if (this.made.has(rel)) return;
    const parent = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
    await this.ensureDir(parent);
    const abs = this.pathOf(rel);
    try {
      await fsp.mkdir(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const st = await fsp.lstat(abs);
      if (st.isSymbolicLink()) throw new Error(`${abs} is a symbolic link: not followed`);
      if (!st.isDirectory()) throw new Error(`${abs} is in the way: it is not a directory`);
    }
    this.made.add(rel);
  }

  /** fsyncs every directory created or written into, so the renames into them survive a power cut. */
  async syncDirs(): Promise<void> {
    for (const rel of this.made) await fsyncDir(this.pathOf(rel));
  }
}

/** Whether `dir`'s file system takes names that differ only in case for the same file (a probe file tells). */
async function isCaseInsensitive(dir: string): Promise<boolean> {
  const probe = path.join(dir, `.peershare-case-${randomBytes(6).toString("hex")}`);
  await fsp.writeFile(probe, "");
  try {
    return await fsp.stat(path.join(dir, path.basename(probe).toUpperCase())).then(
      () => true,
      () => false,
    );
  } finally {
    await fsp.rm(probe, { force: true });
  }
}
