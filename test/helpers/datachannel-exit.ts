// node-datachannel's native callbacks keep the event loop alive until their closed objects are
// garbage-collected, so a test file that used data channels may never exit on its own (and
// `node --test` then waits for it forever). Call from the file's last `after` hook.

import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";

/** How long after the last hook a process still held open is ended: every result is reported by then. */
const EXIT_DEADLINE_MS = 15_000;

/** Collects now and every 200 ms (closed objects go, and with them their hold on the loop); ends the process if that is not enough. */
export function letDataChannelsGo(): void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  setInterval(gc, 200).unref();
  // unref'd: a process with nothing else left exits before this fires
  setTimeout(() => process.exit(), EXIT_DEADLINE_MS).unref();
}
