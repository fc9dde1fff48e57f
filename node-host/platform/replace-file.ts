// Renaming a file over another one, the step that makes every write atomic. On Linux and macOS a
// rename replaces the target whatever else has it open. On Windows it fails (EPERM, EACCES or EBUSY)
// while another process holds the target or the source open without sharing deletion (a virus
// scanner or the search indexer looking at a file just written, for a moment), so there it is tried
// again for up to RETRY_FOR_MS before the error stands.

import { promises as fsp, renameSync } from "node:fs";

/** How long a Windows rename is retried while the target is held open. */
export const RETRY_FOR_MS = 2000;
const FIRST_DELAY_MS = 10;
const MAX_DELAY_MS = 250;

/** Errors a Windows rename gives while a file is briefly held open by another process. */
const TRANSIENT = new Set(["EPERM", "EACCES", "EBUSY"]);

/** What the retry loop uses (injected by the unit tests, which run on Linux). */
export interface RenameEnv {
  platform: NodeJS.Platform;
  now(): number;
}

const realEnv: RenameEnv = { platform: process.platform, now: () => Date.now() };

/** True when an error of a rename on `platform` is worth retrying. */
export function isTransientRenameError(err: unknown, platform: NodeJS.Platform): boolean {
  return platform === "win32" && TRANSIENT.has((err as NodeJS.ErrnoException)?.code ?? "");
}

/** The delays between tries: doubling from 10 ms up to 250 ms, until RETRY_FOR_MS have passed. */
function nextDelay(previous: number): number {
  return Math.min(MAX_DELAY_MS, previous === 0 ? FIRST_DELAY_MS : previous * 2);
}

/** Renames `from` onto `to`, replacing it (retried on Windows while `to` is held open). */
export async function replaceFile(from: string, to: string, rename: (from: string, to: string) => Promise<void> = fsp.rename, env = realEnv): Promise<void> {
  const deadline = env.now() + RETRY_FOR_MS;
  for (let delay = 0; ; ) {
    try {
      return await rename(from, to);
    } catch (err) {
      if (!isTransientRenameError(err, env.platform) || env.now() >= deadline) throw err;
      delay = nextDelay(delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** replaceFile for synchronous callers: the waits between tries block the thread (Windows only, rare). */
export function replaceFileSync(from: string, to: string, rename: (from: string, to: string) => void = renameSync, env = realEnv): void {
  const deadline = env.now() + RETRY_FOR_MS;
  for (let delay = 0; ; ) {
    try {
      return rename(from, to);
    } catch (err) {
      if (!isTransientRenameError(err, env.platform) || env.now() >= deadline) throw err;
      delay = nextDelay(delay);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, delay);
    }
  }
}
