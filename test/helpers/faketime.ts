// Running a node process with its clock shifted: Debian's libfaketime (`apt-get install faketime`)
// preloaded through `env`, which execs node, so the process started is the node itself (the
// `faketime` command would stay as its parent). Monotonic time stays real: only the wall clock is off.

import * as fs from "node:fs";

const LIBRARIES = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1"];

/** The command prefix (for startNode's `wrap`) that runs a node with its clock `offset` off ("-10m", "+2h"); null without libfaketime. */
export function shiftedClock(offset: string): string[] | null {
  const lib = LIBRARIES.find((f) => fs.existsSync(f));
  return lib ? ["env", `LD_PRELOAD=${lib}`, `FAKETIME=${offset}`, "FAKETIME_DONT_FAKE_MONOTONIC=1"] : null;
}
