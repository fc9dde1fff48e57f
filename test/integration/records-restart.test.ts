// Records a node holds for the network survive its restart (records.bin): after a graceful stop and
// a SIGKILL alike (the latter keeps what the last periodic save had), the restarted node still holds
// the provider record of a teammate's share, before anyone announces it again.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { cliJson, randomFile, RunningNode, startNode, stopNode, tempDir, waitFor, writeConfig } from "../helpers/cli";
import type { NodeInfo, ShareInfo } from "../../node-host/rpc/api-types";

const root = tempDir("records-restart");
const nodes: RunningNode[] = [];

after(async () => {
  await Promise.all(nodes.map((n) => stopNode(n, "SIGKILL").catch(() => undefined)));
  fs.rmSync(root, { recursive: true, force: true });
});

const providersHeld = async (n: RunningNode) => (await cliJson<NodeInfo>(n.dataDir, ["id"])).stats.providers;

test("a restarted node still holds the provider records it held for others", async () => {
  const [aDir, bDir] = [path.join(root, "a"), path.join(root, "b")];
  // nothing is announced again during the test: republishing is hours away
  for (const dir of [aDir, bDir]) writeConfig(dir, { republishIntervalMs: 3_600_000, replication: 1 });
  const a = await startNode(aDir);
  nodes.push(a);
  let b = await startNode(bDir, [`127.0.0.1:${a.port}`]);
  nodes.push(b);
  const share = await cliJson<ShareInfo>(a.dataDir, ["share", randomFile(path.join(root, "doc.bin"), 50_000)]);
  assert.ok(share.contentId);
  await waitFor("b to hold a's provider record", async () => (await providersHeld(b)) >= 1);

  // a graceful stop saves them; a restart reads them back
  await stopNode(b);
  b = await startNode(bDir, [`127.0.0.1:${a.port}`]);
  nodes.push(b);
  assert.ok((await providersHeld(b)) >= 1, "after a stop and a start, b still holds a's provider record");
  assert.match(b.stderr(), /record\(s\) held for the network read back/);
  // a SIGKILL keeps what the last save had (here the stop's)
  await stopNode(b, "SIGKILL");
  b = await startNode(bDir, [`127.0.0.1:${a.port}`]);
  nodes.push(b);
  assert.ok((await providersHeld(b)) >= 1, "after a SIGKILL and a start, b still holds a's provider record");
});
