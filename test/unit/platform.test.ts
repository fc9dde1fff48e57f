// Platform code paths that run on Windows, tested here on Linux by naming the platform: renames
// retried while a file is held open, the data dir's access list, local file names, stop signals.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { isTransientRenameError, replaceFile, replaceFileSync, RETRY_FOR_MS } from "../../node-host/platform/replace-file";
import { OWNER_ONLY_MARKER, ownerOnlyAclArgs, restrictToOwner, sidFromWhoami } from "../../node-host/platform/owner-only";
import { tempDir } from "../helpers/temp-dir";
import { localFileName } from "../../node-host/platform/local-file-name";
import { shutdownSignals } from "../../node-host/platform/signals";
import { isSafeFileName } from "../../node-host/cas/file-name";

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: operation not permitted, rename`), { code });
}

/** A rename that fails with `code` the first `failures` times; a clock that moves `stepMs` per try. */
function flakyRename(code: string, failures: number, stepMs = 50) {
  const calls: string[] = [];
  let clock = 0;
  const rename = (from: string, to: string) => {
    calls.push(`${from}->${to}`);
    clock += stepMs;
    if (calls.length <= failures) throw errno(code);
  };
  return { calls, rename, env: (platform: NodeJS.Platform) => ({ platform, now: () => clock }) };
}

test("Windows: a rename over a file another process holds open is tried again until it succeeds", async () => {
  for (const code of ["EPERM", "EACCES", "EBUSY"]) {
    const sync = flakyRename(code, 3);
    replaceFileSync("a.tmp", "a", sync.rename, sync.env("win32"));
    assert.equal(sync.calls.length, 4, `${code}: three failures, then the rename`);
    const async = flakyRename(code, 3);
    await replaceFile("a.tmp", "a", async (f, t) => async.rename(f, t), async.env("win32"));
    assert.equal(async.calls.length, 4);
  }
});

test("a rename error stands at once off Windows, for other errors, and on Windows after the retry time", async () => {
  const linux = flakyRename("EPERM", 1);
  assert.throws(() => replaceFileSync("a.tmp", "a", linux.rename, linux.env("linux")), /EPERM/);
  assert.equal(linux.calls.length, 1);
  const missing = flakyRename("ENOENT", 1);
  await assert.rejects(replaceFile("a.tmp", "a", async (f, t) => missing.rename(f, t), missing.env("win32")), /ENOENT/);
  assert.equal(missing.calls.length, 1);
  const held = flakyRename("EBUSY", Infinity, 500);
  assert.throws(() => replaceFileSync("a.tmp", "a", held.rename, held.env("win32")), /EBUSY/);
  assert.equal(held.calls.length, RETRY_FOR_MS / 500, `tries until ${RETRY_FOR_MS} ms have passed, then the error`);
  assert.equal(isTransientRenameError(errno("EPERM"), "darwin"), false);
});

test("Windows: the data dir's access list gives full control to this account and SYSTEM only", async () => {
  assert.equal(sidFromWhoami('"desktop-1\\ann","S-1-5-21-1004336348-1177238915-682003330-1001"\r\n'), "S-1-5-21-1004336348-1177238915-682003330-1001");
  assert.equal(sidFromWhoami("ERROR: access denied\r\n"), null);
  assert.deepEqual(ownerOnlyAclArgs("D:\\peershare data", "S-1-5-21-1-2-3-1001"), [
    "D:\\peershare data",
    "/inheritance:r",
    "/grant:r",
    "*S-1-5-21-1-2-3-1001:(OI)(CI)F",
    "*S-1-5-18:(OI)(CI)F",
    "/q",
  ]);
  const runs: string[][] = [];
  const run = async (file: string, args: string[]) => {
    runs.push([file, ...args]);
    return file.endsWith("whoami.exe") ? '"pc\\ann","S-1-5-21-9-9-9-1001"\r\n' : "";
  };
  const dir = tempDir("acl");
  assert.equal(await restrictToOwner(dir, "win32", run), null);
  assert.match(runs[0][0], /System32\\whoami\.exe$/, "Windows' own whoami, not one found in PATH");
  assert.match(runs[1][0], /System32\\icacls\.exe$/);
  assert.deepEqual(runs[1].slice(1), ownerOnlyAclArgs(dir, "S-1-5-21-9-9-9-1001"));
  assert.ok(fs.existsSync(path.join(dir, OWNER_ONLY_MARKER)));
  assert.equal(await restrictToOwner(dir, "win32", run), null);
  assert.equal(runs.length, 2, "done once per data dir: not again at the next start");
  const failing = async () => Promise.reject(new Error("icacls: access denied"));
  const other = tempDir("acl");
  assert.match((await restrictToOwner(other, "win32", failing)) ?? "", /could not limit .* to this account \(icacls: access denied\)/);
  assert.ok(!fs.existsSync(path.join(other, OWNER_ONLY_MARKER)), "tried again at the next start");
  assert.equal(await restrictToOwner(tempDir("acl"), "linux", failing), null, "Linux and macOS: modes 0700/0600 do it");
});

test("Windows: a shared file's name that Windows cannot store as it reads is changed locally", () => {
  const cases: [string, string][] = [
    ["report.pdf", "report.pdf"],
    ["notes:secret.txt", "notes_secret.txt"], // would write an alternate data stream of "notes"
    ['a<b>c"d|e?f*g', "a_b_c_d_e_f_g"],
    ["CON", "_CON"],
    ["nul.txt", "_nul.txt"],
    ["Com1.log", "_Com1.log"],
    ["lpt9", "_lpt9"],
    ["console.log", "console.log"],
    ["trailing.", "trailing"],
    ["dots...", "dots"],
    ["...", "file"],
    ["ünïcødé 文件.md", "ünïcødé 文件.md"],
  ];
  for (const [shared, local] of cases) {
    assert.ok(isSafeFileName(shared), `${shared} is a name a manifest may carry`);
    assert.equal(localFileName(shared, "win32"), local, shared);
    assert.equal(localFileName(shared, "linux"), shared, "kept as it is elsewhere");
    assert.equal(localFileName(shared, "darwin"), shared);
  }
});

test("the signals a node stops gracefully on: no SIGTERM to catch on Windows", () => {
  assert.deepEqual(shutdownSignals("linux"), ["SIGINT", "SIGTERM"]);
  assert.deepEqual(shutdownSignals("darwin"), ["SIGINT", "SIGTERM"]);
  assert.deepEqual(shutdownSignals("win32"), ["SIGINT", "SIGBREAK", "SIGHUP"]);
});
