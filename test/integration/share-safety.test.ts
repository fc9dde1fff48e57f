// The CLI refuses to share what looks like a mistake (a secret, a git-ignored file, a very large
// file) unless --force is given, through a real node.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { cli, RunningNode, startNode, stopNode, tempDir, writeConfig } from "../helpers/cli";

const root = tempDir("share-safety");
let node: RunningNode;

before(async () => {
  const dir = path.join(root, "node");
  writeConfig(dir, { replication: 1, shareWarnMB: 1 });
  node = await startNode(dir);
});

after(async () => {
  await stopNode(node);
  fs.rmSync(root, { recursive: true, force: true });
});

const share = (file: string, ...extra: string[]) => cli(["share", file, "--data-dir", node.dataDir, ...extra]);

test("a .env file is refused with the reason and the way out; --force shares it", async () => {
  const file = path.join(root, ".env");
  fs.writeFileSync(file, "DATABASE_URL=postgres://u:p@db/x\n");
  const refused = await share(file);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /not shared: \.env looks like an environment file \(\.env\)\. Share anyway with --force/);
  const forced = await share(file, "--force");
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /peershare:\/\//);
});

test("a file over shareWarnMB is refused until forced; an ordinary file is not", async () => {
  const big = path.join(root, "big.bin");
  fs.writeFileSync(big, Buffer.alloc(2 * 1024 * 1024, 7));
  assert.match((await share(big)).stderr, /big\.bin is 2\.0 MiB, over the 1 MiB limit/);
  assert.equal((await share(big, "--force")).code, 0);
  const small = path.join(root, "notes.txt");
  fs.writeFileSync(small, "plain notes\n");
  assert.equal((await share(small)).code, 0);
});
