// The example systemd unit (examples/peershare.service): systemd accepts it (where systemd-analyze
// is installed), and the command lines it runs are ones `peershare` accepts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "../../node-host/cli/args";
import { parseSetting } from "../../node-host/config";
import { MALLOC_ENV } from "../../node-host/platform/malloc-env";

const UNIT = path.join(__dirname, "..", "..", "..", "examples", "peershare.service");
const text = fs.readFileSync(UNIT, "utf8");

test("the example unit's ExecStart lines (also the commented one) are command lines peershare accepts", () => {
  const lines = text.split("\n").filter((l) => /^#?ExecStart=/.test(l));
  assert.equal(lines.length, 2);
  for (const line of lines) {
    const [program, ...argv] = line.replace(/^#?ExecStart=/, "").split(/\s+/);
    assert.match(program, /\/peershare$/);
    const { values, positionals } = parse(argv);
    assert.deepEqual(positionals, ["start"]);
    if (values["public-address"]) assert.equal(parseSetting("publicAddress", values["public-address"]), "team.example.org:7420");
  }
});

test("the example unit gives the node the C library's memory settings the extension gives it", () => {
  const set = new Map([...text.matchAll(/^Environment=(MALLOC_\w+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
  assert.deepEqual(Object.fromEntries(set), MALLOC_ENV);
});

test("systemd-analyze verify accepts the example unit", (t) => {
  if (spawnSync("sh", ["-c", "command -v systemd-analyze"]).status !== 0) return t.skip("systemd-analyze is not installed");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-unit-"));
  try {
    // the unit names where `npm link` puts peershare; any executable stands in for it here
    const unit = path.join(dir, "peershare.service");
    fs.writeFileSync(unit, text.replaceAll("/usr/local/bin/peershare", process.execPath));
    const r = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), "", r.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
