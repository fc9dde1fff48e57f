// A node whose native packages do not load still runs: real node processes with node-datachannel's
// platform package missing (as on a platform no binary was built for), the BLAKE3 binary failing to
// load (as in a damaged install), the keychain module missing, and all three at once. Each shares
// with, and fetches from, a node that has them all. Packages are taken away by a preloaded module
// (test/helpers/hide-native.ts); the product's own loading code meets the failures.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { cli, cliJson, fetchInto, randomFile, RunningNode, startNode, stopNode, tempDir, TEST_PASSPHRASE, waitFor, writeConfig } from "../helpers/cli";
import type { NodeInfo, ShareInfo } from "../../node-host/rpc/api-types";
import { choiceFor, platformChoices, type Lockfile, type PlatformPackage } from "../../scripts/package/platform-packages";
import { currentTarget } from "../../scripts/package/targets";
import { ROOT } from "../helpers/cli";

const HIDE = path.join(__dirname, "..", "helpers", "hide-native.js");
const root = tempDir("native");
const nodes: RunningNode[] = [];
let full: RunningNode;

/** This machine's platform package of a native package: what a platform without a binary lacks. */
function platformPackageOf(name: string): PlatformPackage {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as Lockfile;
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as { optionalDependencies: Record<string, string> };
  const choice = choiceFor(platformChoices(pkg.optionalDependencies, lock), currentTarget()!);
  assert.ok(choice, `${name} has a platform package for this machine`);
  return choice;
}

/** The file name of a platform package's binary. */
function binaryOf(pkg: PlatformPackage): string {
  const file = fs.readdirSync(path.join(ROOT, "node_modules", pkg.name)).find((f) => f.endsWith(".node"));
  assert.ok(file, `${pkg.name} holds a .node binary`);
  return file;
}

const DATACHANNEL_BINARY = () => platformPackageOf("node-datachannel").name;
const BLAKE3_BINARY = () => binaryOf(platformPackageOf("@napi-rs/blake-hash"));
const KEYRING = "@napi-rs/keyring";

/** The environment of a node without these packages (a passphrase unless `passphrase` is false). */
function without(missing: string[], broken: string[], passphrase = true): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: `--require ${HIDE} ${process.env.NODE_OPTIONS ?? ""}`.trim(),
    PEERSHARE_TEST_MISSING: missing.join(","),
    PEERSHARE_TEST_BROKEN: broken.join(","),
  };
  if (passphrase) env.PEERSHARE_PASSPHRASE = TEST_PASSPHRASE;
  else delete env.PEERSHARE_PASSPHRASE;
  delete env.PEERSHARE_PASSPHRASE_FILE;
  return env;
}

async function addNode(name: string, env?: NodeJS.ProcessEnv, config: Record<string, unknown> = {}): Promise<RunningNode> {
  const dir = path.join(root, name);
  writeConfig(dir, { rpcTimeoutMs: 500, healthCheckIntervalMs: 500, replication: 1, handoffTimeoutMs: 0, ...config });
  const node = await startNode(dir, full ? [`127.0.0.1:${full.port}`] : [], [], env);
  nodes.push(node);
  if (full) await waitFor(`${name} to know the full node`, async () => (await cliJson<unknown[]>(dir, ["peers"])).length > 0);
  return node;
}

const makeFile = (name: string, bytes: number) => randomFile(path.join(root, "files", name), bytes);

const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

async function share(node: RunningNode, file: string, ...flags: string[]): Promise<ShareInfo> {
  return cliJson<ShareInfo>(node.dataDir, ["share", file, ...flags]);
}

/** Shares a file on each node and fetches it on the other: the bytes arrive whole both ways. */
async function shareBothWays(node: RunningNode, label: string): Promise<void> {
  for (const [from, to] of [[full, node], [node, full]]) {
    const file = makeFile(`${label}-${from === full ? "to" : "from"}.bin`, 3 << 20);
    const fetched = await fetchInto(to, (await share(from, file)).link);
    assert.equal(sha(fetched.path), sha(file), `${label}: fetched from the ${from === full ? "full" : "degraded"} node`);
  }
}

before(async () => {
  full = await addNode("full");
});

after(async () => {
  await Promise.all(nodes.map((n) => stopNode(n)));
});

test("without node-datachannel's binary a node runs over TLS only, says so, and shares and fetches", async () => {
  // bulkPath "webrtc" asks for data channels on every fetch: with none to be had, TLS serves
  const node = await addNode("no-webrtc", without([DATACHANNEL_BINARY()], []), { bulkPath: "webrtc" });
  const info = await cliJson<NodeInfo>(node.dataDir, ["id"]);
  assert.equal(info.native?.webrtc.available, false);
  assert.match(info.native?.webrtc.available === false ? info.native.webrtc.reason : "", /node-datachannel does not load on linux-x64: .*node-datachannel/);
  assert.deepEqual(info.native?.blake3, { native: true });
  const text = await cli(["id", "--data-dir", node.dataDir]);
  assert.match(text.stdout, /TLS only: WebRTC is unavailable \(node-datachannel does not load/);
  assert.match(node.stderr(), /WebRTC unavailable .*; TLS only \(bulkPath "webrtc" cannot apply\)/);
  await shareBothWays(node, "tls-only");
});

test("without a loadable BLAKE3 binary a node hashes in JavaScript: the same content IDs, and fetches verify", async () => {
  const node = await addNode("no-blake3", without([], [BLAKE3_BINARY()]));
  const info = await cliJson<NodeInfo>(node.dataDir, ["id"]);
  assert.equal(info.native?.blake3.native, false);
  assert.match(info.native?.blake3.native === false ? info.native.blake3.reason : "", /@napi-rs\/blake-hash does not load on linux-x64: .*file too short/);
  assert.deepEqual(info.native?.webrtc, { available: true });
  assert.match((await cli(["id", "--data-dir", node.dataDir])).stdout, /BLAKE3 in JavaScript/);
  // 20 MiB: large enough for the share to want seal workers (which need the native package)
  const file = makeFile("same-ids.bin", 20 << 20);
  const [native, js] = [await share(full, file, "--public"), await share(node, file, "--public")];
  assert.equal(js.contentId, native.contentId, "a public share's content ID is BLAKE3's, whichever BLAKE3 computed it");
  assert.equal(js.chunks, native.chunks);
  await shareBothWays(node, "js-blake3");
});

test("without the keychain module a node keeps its keys in the key file: under the passphrase given, else readable by its owner only, saying why", async () => {
  const dir = path.join(root, "no-keyring-nopass");
  writeConfig(dir, {});
  const bare = await startNode(dir, [], [], without([KEYRING], [], false));
  assert.match(bare.stderr(), /no OS keychain answers \(the keychain module @napi-rs\/keyring is not installed\).*readable by this user only/);
  assert.deepEqual((await cliJson<NodeInfo>(dir, ["id"])).keyStore, { kind: "key-file", location: path.join(dir, "keys.enc") });
  await stopNode(bare);
  const node = await addNode("no-keyring", without([KEYRING], []));
  const info = await cliJson<NodeInfo>(node.dataDir, ["id"]);
  assert.deepEqual(info.keyStore, { kind: "passphrase-file", location: path.join(node.dataDir, "keys.enc") });
});

test("with every native package missing at once a node still runs, shares and fetches", async () => {
  const node = await addNode("none", without([DATACHANNEL_BINARY(), KEYRING], [BLAKE3_BINARY()]));
  const info = await cliJson<NodeInfo>(node.dataDir, ["id"]);
  assert.equal(info.native?.webrtc.available, false);
  assert.equal(info.native?.blake3.native, false);
  assert.equal(info.keyStore.kind, "passphrase-file");
  await shareBothWays(node, "none");
});
