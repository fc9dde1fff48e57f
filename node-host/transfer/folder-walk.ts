// What a folder share takes from the disk: every regular file and directory under the folder, and
// what it leaves out, each with its reason (the CLI and VS Code list them):
//
//   - a symbolic link is never followed out of the folder: one to a file inside the folder is shared
//     as that file's content under the link's name; one to a directory (it could loop), to anything
//     outside the folder, or to nothing is left out;
//   - sockets, FIFOs and devices are left out (not regular files);
//   - a name that cannot be written as itself on every system (folder-path.ts: "a:b", "con.txt",
//     a trailing dot) is left out, so the share fetches whole everywhere;
//   - a git repository's own data (.git) is left out unless forced: it holds history and, often,
//     credentials in its config;
//   - then safe publishing (publishChecks below): files git ignores and files that look like secrets
//     are left out unless forced.
//
// Limits (refused with an error rather than cut short): MAX_FOLDER_ENTRIES files and directories,
// MAX_FOLDER_DEPTH levels. A path longer than MAX_PATH_BYTES is left out.

import * as fs from "node:fs";
import * as path from "node:path";
import { MAX_FOLDER_DEPTH, MAX_PATH_BYTES, nameProblem } from "../cas/folder-path";
import { MAX_FOLDER_ENTRIES } from "../cas/folder-manifest";
import { mapLimit } from "../util/concurrency";
import { gitIgnoredAmong, secretReason, sniffHead, SECRET_LITERALS, SNIFF_BYTES } from "./publish-check";
import type { FolderScreen } from "../cas/share-folder";
import type { LeftOutEntry } from "../rpc/api-types";

export interface WalkedFile {
  /** "/"-separated, relative to the folder. */
  rel: string;
  /** Where its bytes are read from (a symlink's target inside the folder). */
  abs: string;
  size: number;
  executable: boolean;
}

export interface FolderWalk {
  files: WalkedFile[];
  /** Every directory below the folder, "/"-separated and relative. */
  dirs: string[];
  leftOut: LeftOutEntry[];
}

const GIT_DIR = ".git";

/** What the walk makes of one directory entry. */
type Found = { file: WalkedFile } | { dir: string } | { leave: string };

/**
 * Entries of a directory looked at (stat, symlink target) at once: one at a time, the stats of a
 * folder of 10,000 small files were ~0.5 s of a share spent waiting on libuv's thread pool.
 */
const ENTRIES_PARALLEL = 16;

/** Walks `root` (a directory). `force` keeps a .git directory. */
export async function walkFolder(root: string, options: { force?: boolean } = {}): Promise<FolderWalk> {
  const realRoot = await fs.promises.realpath(root);
  const walk: FolderWalk = { files: [], dirs: [], leftOut: [] };
  const pending: { rel: string; depth: number }[] = [{ rel: "", depth: 0 }];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const names = (await fs.promises.readdir(path.join(root, dir.rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    const found = await mapLimit(names, ENTRIES_PARALLEL, (d) => lookAt(root, realRoot, dir.rel, d, options));
    for (const [i, f] of found.entries()) {
      const rel = dir.rel ? `${dir.rel}/${names[i].name}` : names[i].name;
      if ("leave" in f) walk.leftOut.push({ path: rel, reason: f.leave });
      else if ("file" in f) walk.files.push(f.file);
      else {
        if (dir.depth + 1 >= MAX_FOLDER_DEPTH) throw new Error(`${path.join(root, rel)} is more than ${MAX_FOLDER_DEPTH} levels deep: a shared folder may have at most ${MAX_FOLDER_DEPTH}`);
        walk.dirs.push(rel);
        pending.push({ rel, depth: dir.depth + 1 });
      }
      if (walk.files.length + walk.dirs.length > MAX_FOLDER_ENTRIES) throw new Error(`${root} holds more than ${MAX_FOLDER_ENTRIES} files and directories: a shared folder may hold at most ${MAX_FOLDER_ENTRIES}`);
    }
  }
  return walk;
}

/** One entry of the directory `dirRel`: a file to share, a directory to walk, or why it is left out. */
async function lookAt(root: string, realRoot: string, dirRel: string, d: fs.Dirent, options: { force?: boolean }): Promise<Found> {
  const rel = dirRel ? `${dirRel}/${d.name}` : d.name;
  const problem = nameProblem(d.name);
  if (problem) return { leave: `its name is not portable: ${problem}` };
  if (Buffer.byteLength(rel) > MAX_PATH_BYTES) return { leave: `its path is longer than ${MAX_PATH_BYTES} bytes` };
  const abs = path.join(root, rel);
  if (d.isDirectory()) {
    if (d.name === GIT_DIR && !options.force) return { leave: "a git repository's own data (history, config): shared only with --force" };
    return { dir: rel };
  }
  if (d.isFile()) {
    const st = await fs.promises.stat(abs);
    return { file: { rel, abs, size: st.size, executable: (st.mode & 0o111) !== 0 } };
  }
  if (d.isSymbolicLink()) {
    const target = await linkTarget(abs, realRoot);
    return typeof target === "string" ? { leave: target } : { file: { rel, ...target } };
  }
  return { leave: "not a regular file (a socket, FIFO or device)" };
}

/** A symlink's target when it is a regular file inside the folder; else why it is left out. */
async function linkTarget(link: string, realRoot: string): Promise<{ abs: string; size: number; executable: boolean } | string> {
  let real: string;
  try {
    real = await fs.promises.realpath(link);
  } catch {
    return "a symbolic link to nothing";
  }
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) return "a symbolic link to outside the folder (not followed)";
  const st = await fs.promises.stat(real);
  if (st.isDirectory()) return "a symbolic link to a directory (not followed)";
  if (!st.isFile()) return "a symbolic link to something that is not a regular file";
  return { abs: real, size: st.size, executable: (st.mode & 0o111) !== 0 };
}

/** Files whose first bytes are read at once to look for secrets. */
const SNIFF_PARALLEL = 8;

/**
 * Safe publishing, per file: leaves out of `walk` what git ignores (a directory it ignores goes with
 * everything in it, listed once; not asked with `gitIgnored: false`) and the files that look like
 * secrets (by name, or by key and token patterns in their first bytes), adding each to leftOut.
 * With `contents: false` the first bytes are not read here: the caller screens them as it shares
 * (secretScreen below, for shareFolder), so that each small file is read once.
 */
export async function leaveOutUnsafe(root: string, walk: FolderWalk, options: { gitIgnored?: boolean; contents?: boolean } = {}): Promise<void> {
  const asked = options.gitIgnored === false ? [] : [...walk.dirs.map((d) => `${d}/`), ...walk.files.map((f) => f.rel)];
  const ignored = await gitIgnoredAmong(root, asked);
  const ignoredDirs = new Set(walk.dirs.filter((d) => ignored.has(`${d}/`)));
  const underIgnored = (p: string) => ancestors(p).some((a) => ignoredDirs.has(a));
  for (const d of walk.dirs) if (ignoredDirs.has(d) && !underIgnored(d)) walk.leftOut.push({ path: d, reason: "ignored by git (.gitignore), with everything in it" });
  walk.dirs = walk.dirs.filter((d) => !ignoredDirs.has(d) && !underIgnored(d));
  const files = walk.files.filter((f) => !underIgnored(f.rel));
  const reasons = await mapLimit(files, SNIFF_PARALLEL, async (f) => {
    if (ignored.has(f.rel)) return "ignored by git (.gitignore)";
    const head = options.contents === false ? Buffer.alloc(0) : await sniffHead(f.abs, f.size).catch(() => Buffer.alloc(0));
    return secretLeftOut(f.rel, head);
  });
  walk.files = files.filter((f, i) => {
    if (reasons[i]) walk.leftOut.push({ path: f.rel, reason: reasons[i]! });
    return !reasons[i];
  });
}

/** Why a file is left out as a secret (its name, or a pattern in `head`); null when it is not. */
function secretLeftOut(rel: string, head: Buffer): string | null {
  const secret = secretReason(path.posix.basename(rel), head);
  return secret && `looks like a secret: ${secret}`;
}

/** The content half of the secret check, for shareFolder to run on the bytes it reads anyway. */
export const secretScreen: FolderScreen = { headBytes: SNIFF_BYTES, check: secretLeftOut, literals: SECRET_LITERALS };

/** The directories above a relative path, nearest last: "a/b/c" → ["a", "a/b"]. */
function ancestors(p: string): string[] {
  const parts = p.split("/");
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
}
