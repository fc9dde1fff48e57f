// Making many freshly written files durable at once. One fsync per file costs a journal commit each
// (and Node runs at most four at a time, on libuv's thread pool): 20,000 small objects took ~9 s
// here that way. syncfs(2) flushes the whole file system in one call; Node has no binding for it,
// but Linux's coreutils `sync -f DIR` is one.

import { execFile } from "node:child_process";

/** Flushes the file system that holds `dir` (syncfs); false where that cannot be done (then fsync file by file). */
export function syncFileSystem(dir: string): Promise<boolean> {
  if (process.platform !== "linux") return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile("sync", ["-f", dir], { timeout: 120_000 }, (err) => resolve(err === null));
  });
}
