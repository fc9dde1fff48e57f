// Loading the optional native packages (platform/native-module.ts): once, with the reason when it
// fails, and without the network part of the diagnostic report their loaders read (its reverse
// lookups of every open socket took 20 s in a node whose DNS server did not answer).

import { test } from "node:test";
import assert from "node:assert/strict";
import { optionalNative } from "../../node-host/platform/native-module";

type Report = NodeJS.ProcessReport & { excludeNetwork: boolean };

test("a native package loads once, with the report's network part left out while it loads", () => {
  const report = process.report as Report;
  const before = report.excludeNetwork;
  let calls = 0;
  let seen: boolean | undefined;
  const load = optionalNative<{ v: number }>("some-native", () => {
    calls++;
    seen = report.excludeNetwork;
    return { v: 1 };
  });
  assert.deepEqual(load(), { ok: true, module: { v: 1 } });
  assert.deepEqual(load(), { ok: true, module: { v: 1 } });
  assert.equal(calls, 1);
  assert.equal(seen, true);
  assert.equal(report.excludeNetwork, before, "the setting is as it was afterwards");
});

test("a package that does not load says why, and the setting is restored all the same", () => {
  const report = process.report as Report;
  const before = report.excludeNetwork;
  const missing = optionalNative("not-here", () => {
    const err = new Error("Cannot find module 'not-here'") as NodeJS.ErrnoException;
    err.code = "MODULE_NOT_FOUND";
    throw err;
  });
  assert.deepEqual(missing(), { ok: false, reason: "not-here is not installed" });
  const broken = optionalNative("broken", () => {
    throw new Error("wrong ELF class\nmore");
  });
  assert.deepEqual(broken(), { ok: false, reason: `broken does not load on ${process.platform}-${process.arch}: wrong ELF class` });
  assert.equal(report.excludeNetwork, before);
});
