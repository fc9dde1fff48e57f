// Where the local control channel listens: Windows named pipes (naming, runs here on Linux with
// Windows paths) and Unix socket paths (length counted in bytes).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { connectEndpoint, isPipeNameFor, listenEndpoint, MAX_SOCKET_PATH_BYTES, PIPE_FILE, pipeNameFor, socketPathFor, windowsDataDirKey } from "../../node-host/rpc/control-endpoint";
import { tempDir } from "../helpers/temp-dir";

test("every spelling of one Windows folder gives one pipe; other folders other pipes", () => {
  const spellings = ["C:\\Users\\Ann\\.peershare", "c:\\users\\ann\\.peershare", "C:/Users/Ann/.peershare", "C:\\Users\\Ann\\.peershare\\", "C:\\Users\\Ann\\x\\..\\.peershare", "C:\\Users\\Ann\\.\\.peershare"];
  const keys = new Set(spellings.map(windowsDataDirKey));
  assert.equal(keys.size, 1, `one key for ${spellings.join(" | ")}`);
  const others = ["D:\\Users\\Ann\\.peershare", "C:\\Users\\Bob\\.peershare", "\\\\server\\share\\Ann\\.peershare", "C:\\Users\\Ann\\.peershare-b"];
  for (const other of others) assert.ok(!keys.has(windowsDataDirKey(other)), other);
});

test("a pipe name is \\\\.\\pipe\\peershare-<path key>-<random>, and is recognised only for its own folder", () => {
  const dir = "C:\\Users\\Ann\\AppData\\Roaming\\Code\\User\\workspaceStorage\\0f3c\\peershare.peershare\\node";
  const name = pipeNameFor(dir, "0123456789abcdef");
  assert.match(name, /^\\\\\.\\pipe\\peershare-[0-9a-f]{16}-0123456789abcdef$/);
  assert.ok(name.length < 256, "within Windows' 256-character pipe name limit");
  assert.ok(isPipeNameFor(name, dir));
  assert.ok(isPipeNameFor(name, dir.toUpperCase()), "case does not matter on Windows");
  assert.ok(!isPipeNameFor(name, "C:\\elsewhere"), "a data dir copied elsewhere does not reuse it");
  for (const bad of ["", "\\\\.\\pipe\\other", `${name}x`, name.replace("\\\\.\\pipe\\", "\\\\host\\pipe\\"), name.toUpperCase()]) assert.ok(!isPipeNameFor(bad, dir), JSON.stringify(bad));
});

test("Windows: the pipe name is made once per data dir, kept in rpc.pipe, and remade for a copy or a damaged file", () => {
  const dir = tempDir("pipe");
  const first = listenEndpoint(dir, "win32");
  assert.equal(first.kind, "named-pipe");
  assert.ok(isPipeNameFor(first.path, dir));
  assert.equal(fs.readFileSync(path.join(dir, PIPE_FILE), "utf8").trim(), first.path);
  assert.equal((fs.statSync(path.join(dir, PIPE_FILE)).mode & 0o777).toString(8), "600");
  assert.deepEqual(listenEndpoint(dir, "win32"), first, "stable: a second node for this data dir finds the pipe taken");
  assert.notEqual(listenEndpoint(tempDir("pipe"), "win32").path, first.path, "another data dir, another pipe");

  const copy = tempDir("pipe-copy");
  fs.copyFileSync(path.join(dir, PIPE_FILE), path.join(copy, PIPE_FILE));
  const copied = listenEndpoint(copy, "win32").path;
  assert.notEqual(copied, first.path, "a copied data dir gets its own pipe");
  assert.ok(isPipeNameFor(copied, copy));

  fs.writeFileSync(path.join(dir, PIPE_FILE), "\\\\.\\pipe\\someone-elses\n");
  const remade = listenEndpoint(dir, "win32").path;
  assert.ok(isPipeNameFor(remade, dir) && remade !== first.path);
});

test("clients use the endpoint node.json records, else where the node would listen", () => {
  const dir = tempDir("endpoint");
  assert.equal(connectEndpoint(dir, undefined, "win32"), null, "Windows, no pipe made yet: no node can be listening");
  const pipe = listenEndpoint(dir, "win32").path;
  assert.equal(connectEndpoint(dir, undefined, "win32"), pipe);
  assert.equal(connectEndpoint(dir, "\\\\.\\pipe\\recorded", "win32"), "\\\\.\\pipe\\recorded");
  assert.equal(connectEndpoint(dir, undefined, "linux"), socketPathFor(dir));
  assert.equal(connectEndpoint(dir, 42, "darwin"), socketPathFor(dir), "a malformed record is ignored");
});

test("Unix sockets: in the data dir while the path fits sun_path in bytes, else a hashed name in the temp dir", () => {
  const short = tempDir("sock");
  assert.equal(socketPathFor(short), path.join(short, "rpc.sock"));
  // 40 characters, but 120 bytes in UTF-8: too long for a socket address although its length in characters fits
  const wide = path.join(short, "ü".repeat(20), "データ".repeat(4));
  assert.ok(path.join(wide, "rpc.sock").length <= MAX_SOCKET_PATH_BYTES && Buffer.byteLength(path.join(wide, "rpc.sock")) > MAX_SOCKET_PATH_BYTES);
  const p = socketPathFor(wide, "/var/folders/xy/abcdefghijklmnopqrstuvwx0000gn/T");
  assert.match(p, /^\/var\/folders\/xy\/abcdefghijklmnopqrstuvwx0000gn\/T\/peershare-[0-9a-f]{16}\.sock$/, "macOS's per-user temp dir");
  assert.ok(Buffer.byteLength(p) <= MAX_SOCKET_PATH_BYTES);
  assert.equal(socketPathFor(wide, "/" + "t".repeat(120)), socketPathFor(wide, "/tmp"), "a temp dir too long for a socket: /tmp");
  assert.notEqual(socketPathFor(path.join(wide, "a")), socketPathFor(path.join(wide, "b")), "one socket per data dir");
});
