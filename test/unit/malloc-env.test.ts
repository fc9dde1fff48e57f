// The C library's memory settings for node-host processes (platform/malloc-env.ts): with them, a
// burst of large buffers that is freed gives its memory back, even with long-lived blocks
// allocated in between (as a node's pooled buffers and connections are).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { MALLOC_ENV, withMallocSettings } from "../../node-host/platform/malloc-env";

const MiB = 1024;

/** A child that allocates 64 MiB in 2 MiB buffers among 200 KiB ones it keeps, frees the large ones; RssAnon in KiB. */
const BURST = `
const fs = require("fs");
const anon = () => Number(/RssAnon:\\s+(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);
const keep = [];
Buffer.allocUnsafeSlow(4 << 20).fill(1);
global.gc();
const before = anon();
let big = [];
for (let i = 0; i < 32; i++) {
  big.push(Buffer.allocUnsafeSlow(2 << 20).fill(i));
  keep.push(Buffer.allocUnsafeSlow(200 << 10).fill(i));
}
const peak = anon();
big = null;
global.gc();
global.gc();
console.log(JSON.stringify({ before, peak, after: anon(), kept: keep.length }));
`;

function burst(env: NodeJS.ProcessEnv): { before: number; peak: number; after: number } {
  const run = spawnSync(process.execPath, ["--expose-gc", "-e", BURST], { env, encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as { before: number; peak: number; after: number };
}

function withoutMallocSettings(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("MALLOC_")) delete env[name];
  return env;
}

test("a node-host process with the settings gives a freed burst of large buffers back to the system", (t) => {
  const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
  if (process.platform !== "linux" || !glibc) return t.skip("glibc's malloc only (other C libraries ignore the settings)");
  const tuned = burst(withMallocSettings(withoutMallocSettings()));
  assert.ok(tuned.peak - tuned.before > 60 * MiB, "the burst was resident");
  const kept = tuned.after - tuned.before;
  const untuned = burst(withoutMallocSettings());
  t.diagnostic(`kept after the burst: ${(kept / MiB).toFixed(1)} MiB with the settings, ${((untuned.after - untuned.before) / MiB).toFixed(1)} MiB without (glibc ${glibc})`);
  assert.ok(kept < 12 * MiB, `kept ${(kept / MiB).toFixed(1)} MiB of the 64 MiB burst (6.4 MiB of it is still in use)`);
});

test("settings the environment already has are left as they are", () => {
  const name = Object.keys(MALLOC_ENV)[0];
  assert.equal(withMallocSettings({ PATH: "/bin" })[name], MALLOC_ENV[name]);
  assert.equal(withMallocSettings({ [name]: "65536" })[name], "65536");
  assert.equal(withMallocSettings({ PATH: "/bin" }).PATH, "/bin");
});
