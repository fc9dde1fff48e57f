// What makes a share ask for confirmation first: git-ignored files, secrets by name or content, size.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { checkBeforeSharing, secretReason } from "../../node-host/transfer/publish-check";
import { tempDir } from "../helpers/temp-dir";

function repo(): string {
  const dir = tempDir("publish");
  execFileSync("git", ["init", "-q", dir]);
  fs.writeFileSync(path.join(dir, ".gitignore"), "build/\n*.log\n");
  return dir;
}

function write(dir: string, name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

const kinds = async (file: string, limit = 0) => (await checkBeforeSharing(file, limit)).map((w) => w.kind);

test("an ordinary tracked file shares without a question", async () => {
  const dir = repo();
  assert.deepEqual(await kinds(write(dir, "notes.md", "# notes\nnothing secret here\n")), []);
  // outside any git work tree nothing counts as ignored
  const loose = tempDir("loose");
  assert.deepEqual(await kinds(write(loose, "data.log", "x")), []);
});

test("git-ignored files are flagged", async () => {
  const dir = repo();
  assert.deepEqual(await kinds(write(dir, "build/out.bin", "x")), ["git-ignored"]);
  assert.deepEqual(await kinds(write(dir, "debug.log", "x")), ["git-ignored"]);
});

test("secrets are flagged by name and by well-known patterns in the content", async () => {
  const dir = repo();
  for (const name of [".env", ".env.production", "id_ed25519", "server.key", "cert.p12", ".npmrc"]) {
    assert.deepEqual(await kinds(write(dir, name, "x")), ["secret"], name);
  }
  const samples = [
    "-----BEGIN PRIVATE KEY-----\nMIIE...\n",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n",
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
    `token: ghp_${"a1B2c3D4e5".repeat(4)}\n`,
    `SLACK=xoxb-1234567890-abcdefghij\n`,
  ];
  for (const [i, text] of samples.entries()) {
    const warnings = await checkBeforeSharing(write(dir, `config-${i}.txt`, `setting = 1\n${text}`), 0);
    assert.deepEqual(warnings.map((w) => w.kind), ["secret"], text);
    assert.match(warnings[0].message, /contains what looks like/);
  }
  assert.deepEqual(await kinds(write(dir, "story.txt", "BEGIN the story; the key was under the mat\n")), []);
});

test("files over the size limit are flagged; 0 means no limit", async () => {
  const dir = repo();
  const file = write(dir, "big.bin", Buffer.alloc(3 * 1024 * 1024));
  assert.deepEqual(await kinds(file, 2 * 1024 * 1024), ["large"]);
  assert.deepEqual(await kinds(file, 0), []);
  assert.match((await checkBeforeSharing(file, 2 * 1024 * 1024))[0].message, /3\.0 MiB, over the 2 MiB limit \(setting shareWarnMB\)/);
});

test("the secret scan's literal pre-check changes no verdict: every pattern still found amid random bytes, none invented", () => {
  const plants = [
    ["-----BEGIN RSA PRIVATE KEY-----", "a private key"],
    ["-----BEGIN OPENSSH PRIVATE KEY-----", "a private key"],
    ["AKIAIOSFODNN7EXAMPLE", "an AWS access key ID"],
    [`gho_${"x9".repeat(18)}`, "a GitHub token"],
    [`github_pat_${"A_".repeat(20)}`, "a GitHub token"],
    ["xoxs-0123456789", "a Slack token"],
    [`sk_live_${"a".repeat(20)}`, "a Stripe secret key"],
    [`AIza${"b".repeat(35)}`, "a Google API key"],
    [`npm_${"c".repeat(36)}`, "an npm token"],
  ];
  for (const [secret, what] of plants) {
    const head = Buffer.concat([randomBytes(3000), Buffer.from(` ${secret} `, "latin1"), randomBytes(3000)]);
    assert.match(secretReason("data.bin", head) ?? "", new RegExp(`looks like ${what}$`), secret);
  }
  for (let i = 0; i < 200; i++) assert.equal(secretReason("data.bin", randomBytes(64 * 1024)), null);
});
