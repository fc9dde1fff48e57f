// The key file: round trips under a passphrase, a wrong passphrase, damaged files, atomic rewrites,
// the passphrase from the environment, the file without a passphrase (mode 0600) and adding or
// removing a passphrase, and the node identity kept in it.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { KEY_FILE, KeyStoreError, openKeyStore, SCRYPT_DEFAULTS, setKeyFilePassphrase } from "../../node-host/security/key-store";
import { Identity, loadOrCreateIdentity } from "../../node-host/security/identity";

const PASS = "correct horse battery staple";

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-keys-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const open = (dir: string, passphrase = PASS) => openKeyStore(dir, { passphrase, keychain: "never" });

/** Runs `fn` with environment variables set (undefined removes one), restoring them after. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, value] of Object.entries(v)) {
      if (value === undefined) delete process.env[k];
      else process.env[k] = value;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

async function rejectsWith(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof KeyStoreError, `a KeyStoreError, not ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test("secrets round-trip through the key file, two names kept apart, and survive a reopen", async (t) => {
  const dir = tempDir(t);
  const started = performance.now();
  const store = await open(dir);
  t.diagnostic(`opening a new key file (scrypt N=2^${SCRYPT_DEFAULTS.log2N}, r=${SCRYPT_DEFAULTS.r}, p=${SCRYPT_DEFAULTS.p}): ${(performance.now() - started).toFixed(0)} ms`);
  const file = path.join(dir, KEY_FILE);
  assert.equal(store.kind, "passphrase-file");
  assert.equal(store.location, file);
  assert.equal(await store.get("identity"), null);
  assert.equal(fs.existsSync(file), false, "nothing written before the first secret");

  const a = randomBytes(32);
  const b = randomBytes(1000);
  await store.set("identity", a);
  await store.set("team/alpha", b);
  assert.deepEqual(await store.get("identity"), a);
  assert.deepEqual(await store.get("team/alpha"), b);
  assert.equal((fs.statSync(file).mode & 0o777).toString(8), "600");
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.includes(a), false, "the secret is not in the file in the clear");
  assert.equal(bytes.includes(Buffer.from("team/alpha")), false, "nor are the names");
  assert.equal(bytes[8], SCRYPT_DEFAULTS.log2N, "scrypt parameters are in the header");
  assert.ok(SCRYPT_DEFAULTS.log2N >= 15);

  const reopenedAt = performance.now();
  const again = await open(dir);
  t.diagnostic(`reopening it: ${(performance.now() - reopenedAt).toFixed(0)} ms`);
  assert.ok(performance.now() - reopenedAt < 5000, "opening costs well under a few seconds even on a busy machine");
  assert.deepEqual(await again.get("identity"), a);
  assert.deepEqual(await again.get("team/alpha"), b);

  const a2 = randomBytes(32);
  await again.set("identity", a2); // replace
  await again.delete("team/alpha");
  await again.delete("never-set"); // no error
  const third = await open(dir);
  assert.deepEqual(await third.get("identity"), a2);
  assert.equal(await third.get("team/alpha"), null);
  // the first handle reads the file as it is now
  assert.deepEqual(await store.get("identity"), a2);
  // a returned secret is a copy
  (await third.get("identity"))!.fill(0);
  assert.deepEqual(await third.get("identity"), a2);
});

test("a wrong passphrase is a KeyStoreError at open, never a crash or a garbage key", async (t) => {
  const dir = tempDir(t);
  await (await open(dir)).set("identity", randomBytes(32));
  await rejectsWith(open(dir, "not the passphrase"), /^wrong passphrase for .*keys\.enc/);
  await rejectsWith(open(dir, PASS + " "), /^wrong passphrase for /);
  // without any passphrase, the error says how to give one
  await withEnv({ PEERSHARE_PASSPHRASE: undefined, PEERSHARE_PASSPHRASE_FILE: undefined }, () =>
    rejectsWith(openKeyStore(dir, { keychain: "never" }), /keys\.enc, protected by a passphrase: set PEERSHARE_PASSPHRASE/),
  );
});

test("a truncated, altered or foreign key file gives a clear KeyStoreError", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, KEY_FILE);
  await (await open(dir)).set("identity", randomBytes(32));
  const good = fs.readFileSync(file);

  const cases: [string, Buffer, RegExp][] = [
    ["empty", Buffer.alloc(0), /is damaged \(it is truncated\)/],
    ["cut in the magic", good.subarray(0, 3), /is damaged \(it is truncated\)/],
    ["cut in the header", good.subarray(0, 20), /is damaged \(it is truncated\)/],
    ["header only", good.subarray(0, 44), /is damaged \(it is truncated\)/],
    ["cut in the body", good.subarray(0, 60), /is damaged \(it is truncated\)/],
    ["tag cut short", good.subarray(0, good.length - 1), /is damaged \(it is truncated\)/],
    ["bytes past the end", Buffer.concat([good, Buffer.from("x")]), /has bytes past its end/],
    ["not ours", Buffer.from("-----BEGIN PRIVATE KEY-----\n"), /is not a peershare key file/],
    ["newer version", Buffer.from(good).fill(9, 6, 7), /version 9 key file/],
    ["absurd scrypt cost", Buffer.from(good).fill(40, 8, 9), /unknown key derivation parameters/],
  ];
  // one flipped bit anywhere past the parameters: salt, nonce, length, body or tag
  for (const at of [12, 30, 36, 41, 44, 50, good.length - 1]) {
    const bad = Buffer.from(good);
    bad[at] ^= 0x01;
    cases.push([`bit flipped at ${at}`, bad, /wrong passphrase for .*\(or the file was altered\)|is damaged/]);
  }
  for (const [what, bytes, pattern] of cases) {
    fs.writeFileSync(file, bytes);
    await rejectsWith(open(dir), pattern).catch((err: Error) => assert.fail(`${what}: ${err.message}`));
  }
  fs.writeFileSync(file, good);
  assert.equal((await (await open(dir)).get("identity"))?.length, 32);
});

test("every change replaces the file atomically (a new file renamed over the old, no temp files left)", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, KEY_FILE);
  const store = await open(dir);
  await store.set("one", Buffer.from("1"));
  const before = fs.statSync(file).ino;
  const oldBytes = fs.readFileSync(file);
  await store.set("two", Buffer.from("2"));
  assert.notEqual(fs.statSync(file).ino, before, "replaced by rename, not rewritten in place");
  assert.notDeepEqual(fs.readFileSync(file), oldBytes);
  // concurrent changes are applied one after another: none is lost
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(`n${i}`, Buffer.from(String(i)))));
  for (let i = 0; i < 20; i++) assert.deepEqual(await store.get(`n${i}`), Buffer.from(String(i)));
  assert.deepEqual(fs.readdirSync(dir), [KEY_FILE]);
  // a crash before the rename leaves the old file whole (a stray temp file is ignored)
  fs.writeFileSync(path.join(dir, `.${KEY_FILE}.abc123.tmp`), oldBytes.subarray(0, 10));
  assert.deepEqual(await (await open(dir)).get("two"), Buffer.from("2"));
});

test("the passphrase comes from PEERSHARE_PASSPHRASE, else from the file PEERSHARE_PASSPHRASE_FILE names", async (t) => {
  const dir = tempDir(t);
  const secret = randomBytes(32);
  await withEnv({ PEERSHARE_PASSPHRASE: PASS, PEERSHARE_PASSPHRASE_FILE: undefined }, async () => {
    await (await openKeyStore(dir, { keychain: "never" })).set("identity", secret);
  });
  const passFile = path.join(tempDir(t), "pass");
  fs.writeFileSync(passFile, PASS + "\n", { mode: 0o600 });
  await withEnv({ PEERSHARE_PASSPHRASE: undefined, PEERSHARE_PASSPHRASE_FILE: passFile }, async () => {
    assert.deepEqual(await (await openKeyStore(dir, { keychain: "never" })).get("identity"), secret);
  });
  await withEnv({ PEERSHARE_PASSPHRASE: undefined, PEERSHARE_PASSPHRASE_FILE: path.join(dir, "missing") }, () =>
    rejectsWith(openKeyStore(dir, { keychain: "never" }), /cannot read the passphrase file named by PEERSHARE_PASSPHRASE_FILE/),
  );
  // the option wins over the environment
  await withEnv({ PEERSHARE_PASSPHRASE: "something else", PEERSHARE_PASSPHRASE_FILE: undefined }, async () => {
    assert.deepEqual(await (await open(dir)).get("identity"), secret);
  });
  await rejectsWith(openKeyStore(dir, { passphrase: "", keychain: "never" }), /passphrase is empty/);
});

test("with no passphrase and no keychain, the keys go to a file only its owner can read, and the log says where and how to protect it", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, KEY_FILE);
  const lines: string[] = [];
  const secret = randomBytes(32);
  await withEnv({ PEERSHARE_PASSPHRASE: undefined, PEERSHARE_PASSPHRASE_FILE: undefined }, async () => {
    const store = await openKeyStore(dir, { keychain: "never", log: (l) => lines.push(l) });
    assert.equal(store.kind, "key-file");
    assert.equal(store.location, file);
    await store.set("identity", secret);
    assert.equal((fs.statSync(file).mode & 0o777).toString(8), "600");
    assert.match(lines.join("\n"), /no passphrase was given and no OS keychain answers.*keys go to .*keys\.enc, readable by this user only.*peershare keys protect/);
    lines.length = 0;
    const again = await openKeyStore(dir, { keychain: "never", log: (l) => lines.push(l) });
    assert.deepEqual(await again.get("identity"), secret);
    assert.deepEqual(lines, [`keys: in ${file} (no passphrase; readable by this user only)`], "the notice comes once, when the file is made");
  });
  assert.deepEqual(fs.readdirSync(dir), [KEY_FILE]);
  // a passphrase given later does not lock the keys away: it is said that the file has none
  lines.length = 0;
  assert.deepEqual(await (await openKeyStore(dir, { passphrase: PASS, keychain: "never", log: (l) => lines.push(l) })).get("identity"), secret);
  assert.match(lines[0], /a passphrase was given, but .*keys\.enc has none/);
});

test("a key file without a passphrase that others may read is refused, as ssh refuses such a key; a damaged one is reported", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, KEY_FILE);
  await withEnv({ PEERSHARE_PASSPHRASE: undefined, PEERSHARE_PASSPHRASE_FILE: undefined }, async () => {
    await (await openKeyStore(dir, { keychain: "never" })).set("identity", randomBytes(32));
    fs.chmodSync(file, 0o644);
    await rejectsWith(openKeyStore(dir, { keychain: "never" }), /users other than its owner may read it \(mode 0644\): run chmod 600 .*keys\.enc, or give it a passphrase/);
    fs.chmodSync(file, 0o600);
    const good = fs.readFileSync(file);
    for (const [what, bytes, pattern] of [
      ["cut short", good.subarray(0, good.length - 1), /is damaged \(it is truncated\)/],
      ["a flipped bit", Buffer.from(good).fill(good[20] ^ 1, 20, 21), /is damaged \(its check sum does not match\)/],
      ["bytes past the end", Buffer.concat([good, Buffer.from("x")]), /has bytes past its end/],
    ] as const) {
      fs.writeFileSync(file, bytes, { mode: 0o600 });
      await rejectsWith(openKeyStore(dir, { keychain: "never" }), pattern).catch((err: Error) => assert.fail(`${what}: ${err.message}`));
    }
  });
});

test("a passphrase is added to a key file, changed and taken away again; the secrets and the node ID stay", async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, KEY_FILE);
  await rejectsWith(setKeyFilePassphrase(dir, undefined, PASS), /no key file in .*start the node there once/);
  const identity = await withEnv({ PEERSHARE_PASSPHRASE: undefined, PEERSHARE_PASSPHRASE_FILE: undefined }, async () => loadOrCreateIdentity(dir, await openKeyStore(dir, { keychain: "never" })));
  assert.deepEqual(await setKeyFilePassphrase(dir, undefined, PASS), { file, protected: true });
  assert.equal(fs.readFileSync(file).includes(identity.seed()), false, "the seed is no longer in the clear");
  assert.equal((fs.statSync(file).mode & 0o777).toString(8), "600");
  await withEnv({ PEERSHARE_PASSPHRASE: undefined, PEERSHARE_PASSPHRASE_FILE: undefined }, () =>
    rejectsWith(openKeyStore(dir, { keychain: "never" }), /protected by a passphrase: set PEERSHARE_PASSPHRASE/),
  );
  assert.deepEqual((await loadOrCreateIdentity(dir, await open(dir))).id, identity.id);

  await rejectsWith(setKeyFilePassphrase(dir, undefined, "another"), /protected by a passphrase/);
  await rejectsWith(setKeyFilePassphrase(dir, "not it", "another"), /wrong passphrase/);
  await rejectsWith(setKeyFilePassphrase(dir, PASS, ""), /new passphrase is empty/);
  await setKeyFilePassphrase(dir, PASS, "another");
  await rejectsWith(open(dir), /wrong passphrase/);
  assert.deepEqual((await loadOrCreateIdentity(dir, await open(dir, "another"))).id, identity.id);

  assert.deepEqual(await setKeyFilePassphrase(dir, "another", null), { file, protected: false });
  const plain = await withEnv({ PEERSHARE_PASSPHRASE: undefined, PEERSHARE_PASSPHRASE_FILE: undefined }, async () => openKeyStore(dir, { keychain: "never" }));
  assert.equal(plain.kind, "key-file");
  assert.deepEqual((await loadOrCreateIdentity(dir, plain)).id, identity.id);
  assert.deepEqual(fs.readdirSync(dir), [KEY_FILE], "no temp files left");
});

test("names and secrets are checked", async (t) => {
  const store = await open(tempDir(t));
  await rejectsWith(store.set("", Buffer.from("x")), /key name/);
  await rejectsWith(store.set("x".repeat(256), Buffer.from("x")), /key name/);
  await rejectsWith(store.set("big", Buffer.alloc((1 << 20) + 1)), /at most/);
  await store.set("ünïcödé/名前", Buffer.alloc(0));
  assert.deepEqual(await store.get("ünïcödé/名前"), Buffer.alloc(0));
});

test("the identity is kept in the store; a plaintext identity.pem is moved into it with the same node ID", async (t) => {
  const dir = tempDir(t);
  const keys = await open(dir);
  const first = await loadOrCreateIdentity(dir, keys);
  assert.deepEqual(await keys.get("identity"), first.seed());
  const again = await loadOrCreateIdentity(dir, await open(dir));
  assert.deepEqual(again.id, first.id);
  assert.deepEqual(fs.readdirSync(dir), [KEY_FILE]);

  const legacyDir = tempDir(t);
  const legacy = Identity.generate();
  fs.writeFileSync(path.join(legacyDir, "identity.pem"), legacy.exportPem(), { mode: 0o600 });
  const migrated = await loadOrCreateIdentity(legacyDir, await open(legacyDir));
  assert.deepEqual(migrated.id, legacy.id);
  assert.equal(fs.existsSync(path.join(legacyDir, "identity.pem")), false, "the plaintext key is gone");
  assert.deepEqual((await loadOrCreateIdentity(legacyDir, await open(legacyDir))).id, legacy.id);
  assert.equal(fs.readFileSync(path.join(legacyDir, KEY_FILE)).includes(legacy.seed()), false);

  // a seed of the wrong length is reported, not used
  await keys.set("identity", Buffer.alloc(31));
  await rejectsWith(loadOrCreateIdentity(dir, keys), /is 31 bytes long, not 32/);
});
