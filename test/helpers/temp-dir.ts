// Temp dirs for tests. Each is removed when the test process exits, whether its tests passed or
// failed, so repeated runs do not pile data dirs up under the system temp dir (a fetcher test's dir
// holds ~50 MB of stores).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const made: string[] = [];

process.once("exit", () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh, empty dir named peershare-LABEL-XXXXXX under the system temp dir. */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `peershare-${label}-`));
  made.push(dir);
  return dir;
}
