// Where a real node process keeps its keys. With a real Secret Service (gnome-keyring, unlocked,
// in a private D-Bus session from dbus-run-session) and no passphrase: in the keychain, nothing on
// disk, the same node ID after a restart. Without one: a key file under the passphrase when one is
// given, else a key file only its owner can read, and a notice that says so.
//
// Needs dbus-run-session, dbus-send, gnome-keyring-daemon and secret-tool (Debian: dbus,
// gnome-keyring, libsecret-tools; .ci/run installs them). Where they are missing the keychain
// tests fail under CI=true and are skipped, with the reason, elsewhere.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { NodeInfo } from "../../node-host/rpc/api-types";
import { Identity } from "../../node-host/security/identity";
import { keychainAccountPrefix } from "../../node-host/security/key-store";
import { cli, exited, plaintextKeyFiles, RunningNode, startNode, stopNode, tempDir, TEST_PASSPHRASE } from "../helpers/cli";

const TOOLS = ["dbus-run-session", "dbus-send", "gnome-keyring-daemon", "secret-tool"];
const missing = TOOLS.filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
const inCi = /^(1|true|yes)$/i.test(process.env.CI ?? "");

/** The environment without anything that picks a key store (passphrase, D-Bus session). */
function bareEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ["PEERSHARE_PASSPHRASE", "PEERSHARE_PASSPHRASE_FILE", "DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY"]) delete env[k];
  return { ...env, ...extra };
}

/** Skips (locally) or fails (under CI) when the Secret Service tools are not installed. */
function needSecretService(t: TestContext): boolean {
  if (missing.length === 0) return true;
  const why = `the keychain tests need ${missing.join(", ")} (Debian packages dbus, gnome-keyring, libsecret-tools; .ci/run installs them)`;
  if (inCi) assert.fail(`${why}; they are required under CI`);
  t.skip(why);
  return false;
}

interface Session {
  env: NodeJS.ProcessEnv;
  home: string;
  /** `secret-tool` in the session. */
  secretTool(args: string[]): Promise<Buffer>;
  end(): Promise<void>;
}

/**
 * A private D-Bus session (dbus-run-session) with gnome-keyring-daemon's Secret Service unlocked,
 * its keyrings in a temporary HOME. The session lasts until end() (or until this process exits:
 * it ends when its stdin closes).
 */
async function secretServiceSession(): Promise<Session> {
  const home = tempDir("keyring-home");
  const runtime = path.join(home, "run");
  fs.mkdirSync(runtime, { mode: 0o700 });
  const baseEnv = bareEnv({ HOME: home, XDG_RUNTIME_DIR: runtime, XDG_DATA_HOME: path.join(home, "data"), XDG_CONFIG_HOME: path.join(home, "config"), XDG_CACHE_HOME: path.join(home, "cache") });
  const script = [
    "printf %s test-login-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1",
    // wait until the Secret Service owns its bus name
    "i=0; until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true; do i=$((i+1)); [ $i -gt 100 ] && { echo 'no Secret Service on the bus' >&2; exit 1; }; sleep 0.05; done",
    'echo "$DBUS_SESSION_BUS_ADDRESS"',
    "exec cat >/dev/null",
  ].join("\n");
  const proc: ChildProcess = spawn("dbus-run-session", ["--", "sh", "-c", script], { env: baseEnv, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const deadline = Date.now() + 15_000;
  while (!out.includes("\n")) {
    if (proc.exitCode !== null) throw new Error(`dbus-run-session exited: ${err}`);
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`no D-Bus session with a Secret Service within 15 s: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const env = { ...baseEnv, DBUS_SESSION_BUS_ADDRESS: out.trim() };
  return {
    env,
    home,
    secretTool: (args) =>
      new Promise((resolve, reject) =>
        execFile("secret-tool", args, { env, encoding: "buffer", timeout: 10_000 }, (e, stdout, stderr) => (e ? reject(new Error(`secret-tool ${args.join(" ")}: ${stderr.toString()}`)) : resolve(stdout))),
      ),
    async end() {
      proc.stdin!.end();
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await exited(proc);
      clearTimeout(t);
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

const account = (dataDir: string, name: string) => `${keychainAccountPrefix(dataDir)}/${name}`;

test("with an unlocked Secret Service and no passphrase, the keys live in the keychain and nowhere on disk", { timeout: 120_000 }, async (t) => {
  if (!needSecretService(t)) return;
  const session = await secretServiceSession();
  const dirA = tempDir("keychain-a");
  const dirB = tempDir("keychain-b");
  const running: RunningNode[] = [];
  try {
    const a = await startNode(dirA, [], [], session.env);
    running.push(a);
    const info = JSON.parse((await cli(["id", "--json", "--data-dir", dirA])).stdout) as NodeInfo;
    assert.deepEqual(info.keyStore, { kind: "keychain", location: "Secret Service (service peershare)" });
    assert.match(a.stderr(), /keys: in the OS keychain/);

    // the seed is in the Secret Service, under this data dir's account, and it is this node's key
    const seed = await session.secretTool(["lookup", "service", "peershare", "username", account(dirA, "identity")]);
    assert.equal(seed.length, 32);
    assert.equal(Identity.fromSeed(seed).id.toString("hex"), a.id);
    // no key file, no PEM, and the seed in no file of the data dir; gnome-keyring's own file is encrypted too
    assert.equal(fs.existsSync(path.join(dirA, "keys.enc")), false);
    assert.equal(fs.existsSync(path.join(dirA, "identity.pem")), false);
    assert.deepEqual(plaintextKeyFiles(dirA, seed), []);
    assert.deepEqual(plaintextKeyFiles(session.home, seed), []);
    assert.ok(fs.readdirSync(path.join(session.home, "data", "keyrings")).length > 0, "gnome-keyring kept its keyring in the test HOME");

    // the node ID survives a restart
    await stopNode(a);
    const again = await startNode(dirA, [], [], session.env);
    running.push(again);
    assert.equal(again.id, a.id);

    // a second node on the same machine gets its own entry and its own ID
    const b = await startNode(dirB, [], [], session.env);
    running.push(b);
    assert.notEqual(b.id, a.id);
    const seedB = await session.secretTool(["lookup", "service", "peershare", "username", account(dirB, "identity")]);
    assert.equal(Identity.fromSeed(seedB).id.toString("hex"), b.id);
    const listed = (await session.secretTool(["search", "--all", "service", "peershare"])).toString();
    for (const d of [dirA, dirB]) assert.ok(listed.includes(`label = keyring:${account(d, "identity")}@peershare`), listed);
    await stopNode(again);

    // once its keys are in the keychain, the data dir refuses to start without it (no silent new identity)
    const lost = await cli(["start", "--data-dir", dirA, "--port", "0", "--host", "127.0.0.1"], 30_000, bareEnv({ PEERSHARE_PASSPHRASE: TEST_PASSPHRASE }));
    assert.equal(lost.code, 1);
    assert.match(lost.stderr, /peershare: this node's keys are in the OS keychain \(Secret Service \(service peershare\)\), which does not answer/);
    assert.equal(fs.existsSync(path.join(dirA, "keys.enc")), false);
  } finally {
    await Promise.all(running.map((n) => stopNode(n)));
    await session.end();
    fs.rmSync(dirA, { recursive: true, force: true });
    fs.rmSync(dirB, { recursive: true, force: true });
  }
});

test("a passphrase given wins over an available keychain: the keys go to the key file", { timeout: 60_000 }, async (t) => {
  if (!needSecretService(t)) return;
  const session = await secretServiceSession();
  const dir = tempDir("keychain-pass");
  try {
    const node = await startNode(dir, [], [], { ...session.env, PEERSHARE_PASSPHRASE: TEST_PASSPHRASE });
    await stopNode(node);
    assert.equal(fs.existsSync(path.join(dir, "keys.enc")), true);
    await assert.rejects(session.secretTool(["lookup", "service", "peershare", "username", account(dir, "identity")]));
  } finally {
    await session.end();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("without a Secret Service and without a passphrase, `peershare start` keeps the keys in a file only its owner reads, says so once, and starts", { timeout: 30_000 }, async () => {
  const dir = tempDir("nokeys");
  try {
    const started = Date.now();
    const node = await startNode(dir, [], [], bareEnv());
    assert.ok(Date.now() - started < 15_000, "no long wait for a keychain that is not there");
    const file = path.join(dir, "keys.enc");
    assert.match(node.stderr(), /no passphrase was given and no OS keychain answers \(there is no D-Bus session.*keys go to .*keys\.enc, readable by this user only \(mode 0600\)\. To protect them with a passphrase: peershare keys protect/);
    assert.equal((fs.statSync(file).mode & 0o777).toString(8), "600");
    const info = JSON.parse((await cli(["id", "--data-dir", dir, "--json"], 20_000, bareEnv())).stdout) as NodeInfo;
    assert.deepEqual(info.keyStore, { kind: "key-file", location: file });
    await stopNode(node);

    const again = await startNode(dir, [], [], bareEnv());
    assert.equal(again.id, node.id, "the same node ID from the same key file");
    assert.doesNotMatch(again.stderr(), /To protect them/, "the notice is given once, when the keys are made");
    await stopNode(again);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the key file without a D-Bus session: a wrong passphrase is refused; an old plaintext identity.pem is moved in, same node ID", { timeout: 60_000 }, async () => {
  const dir = tempDir("keyfile");
  try {
    const legacy = Identity.generate();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "identity.pem"), legacy.exportPem(), { mode: 0o600 });
    const passFile = path.join(dir, "..", `${path.basename(dir)}.pass`);
    fs.writeFileSync(passFile, `${TEST_PASSPHRASE}\n`, { mode: 0o600 });
    const node = await startNode(dir, [], [], bareEnv({ PEERSHARE_PASSPHRASE_FILE: passFile }));
    assert.equal(node.id, legacy.id.toString("hex"));
    assert.equal(fs.existsSync(path.join(dir, "identity.pem")), false);
    assert.deepEqual(plaintextKeyFiles(dir, legacy.seed()), []);
    await stopNode(node);
    fs.rmSync(passFile);

    const wrong = await cli(["start", "--data-dir", dir, "--port", "0", "--host", "127.0.0.1"], 30_000, bareEnv({ PEERSHARE_PASSPHRASE: "not it" }));
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /peershare: wrong passphrase for .*keys\.enc/);
    const again = await startNode(dir, [], [], bareEnv({ PEERSHARE_PASSPHRASE: TEST_PASSPHRASE }));
    assert.equal(again.id, node.id);
    await stopNode(again);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
