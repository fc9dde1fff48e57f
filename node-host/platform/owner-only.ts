// A data dir that only its owner can read: keys.enc, rpc.token and the store. On Linux and macOS the
// dir is made with mode 0700 and the secret files with 0600. On Windows modes mean nothing, and a
// new folder inherits its parent's access list, which outside the user's profile (D:\peershare, say)
// often lets every signed-in user read it; so the node replaces the data dir's access list, with
// Windows' own icacls, by one that grants full control to the current user and SYSTEM only,
// inherited by everything inside. Files written later inherit it (temp files are made inside the
// data dir and renamed within it, so they never carry another folder's rules). Once done, a marker
// file (OWNER_ONLY_MARKER) says so: setting a folder's list rewrites the list of every file below
// it, seconds for a large store, so it is not repeated at every start.

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../util/fs-atomic";

/** In a data dir whose access list has been set (Windows). */
export const OWNER_ONLY_MARKER = "owner-only";

/** Runs a program and gives its standard output (rejects when it fails). */
export type RunProgram = (file: string, args: string[]) => Promise<string>;

const runProgram: RunProgram = (file, args) =>
  new Promise((resolve, reject) => execFile(file, args, { windowsHide: true, timeout: 15_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));

/** SYSTEM's well-known SID: services and backup run as it. */
const LOCAL_SYSTEM_SID = "S-1-5-18";

/** The current user's SID from `whoami /user /fo csv /nh` (`"machine\name","S-1-5-21-…"`), or null. */
export function sidFromWhoami(output: string): string | null {
  const m = /"(S-1-[0-9-]+)"\s*$/m.exec(output.trim());
  return m ? m[1] : null;
}

/**
 * icacls arguments that leave `dir` with two entries, full control for `userSid` and for SYSTEM,
 * inherited by every file and folder in it (OI: files, CI: folders), and no entry from its parent.
 */
export function ownerOnlyAclArgs(dir: string, userSid: string): string[] {
  return [dir, "/inheritance:r", "/grant:r", `*${userSid}:(OI)(CI)F`, `*${LOCAL_SYSTEM_SID}:(OI)(CI)F`, "/q"];
}

/** Windows' own tools, by full path (not looked up in PATH). */
function system32(program: string): string {
  return path.win32.join(process.env.SystemRoot ?? "C:\\Windows", "System32", program);
}

/**
 * Limits `dir` to its owner. On Windows: the access list above (once), or a sentence saying why it
 * could not be set (the node goes on; the caller logs it). Elsewhere nothing to do (the modes do it): null.
 */
export async function restrictToOwner(dir: string, platform: NodeJS.Platform = process.platform, run: RunProgram = runProgram): Promise<string | null> {
  const marker = path.join(dir, OWNER_ONLY_MARKER);
  if (platform !== "win32" || fs.existsSync(marker)) return null;
  try {
    const sid = sidFromWhoami(await run(system32("whoami.exe"), ["/user", "/fo", "csv", "/nh"]));
    if (!sid) return `could not tell this account's SID, so ${dir} keeps the access rules of its parent folder`;
    await run(system32("icacls.exe"), ownerOnlyAclArgs(dir, sid));
    writeFileAtomic(marker, `access limited to ${sid} and SYSTEM (icacls)\n`);
    return null;
  } catch (err) {
    return `could not limit ${dir} to this account (${(err as Error).message.split("\n")[0]}); it keeps the access rules of its parent folder`;
  }
}
