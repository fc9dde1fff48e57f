// `peershare repair ID`: a holder tops a file's copies up to r at once, without waiting for a sweep.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { cli, cliJson, RunningNode, startNode, stopNode, tempDir, waitFor, writeConfig } from "../helpers/cli";
import type { ContentStatus, RepairReport, ShareInfo } from "../../node-host/rpc/api-types";
import { startFakeHolder } from "../helpers/fake-holder";

const root = tempDir("repair-now");
const nodes: RunningNode[] = [];

before(async () => {
  for (let i = 0; i < 5; i++) {
    const dir = path.join(root, `n${i}`);
    // no sweep during the test: only the repair asked for may copy
    writeConfig(dir, { repairIntervalMs: 3_600_000, healthCheckIntervalMs: 500, offlineAfterMisses: 2, rpcTimeoutMs: 500 });
    nodes.push(await startNode(dir, i ? [`127.0.0.1:${nodes[0].port}`] : []));
  }
  await waitFor("every node to know the others", async () => {
    for (const n of nodes) if ((await cliJson<unknown[]>(n.dataDir, ["peers"])).length < nodes.length - 1) return false;
    return true;
  });
});

after(async () => {
  await Promise.all(nodes.map((n) => stopNode(n)));
  fs.rmSync(root, { recursive: true, force: true });
});

test("after a holder dies, repair on the sharer restores r at once; a second repair has nothing to do", async () => {
  const file = path.join(root, "doc.bin");
  fs.writeFileSync(file, randomBytes(400_000));
  const share = await cliJson<ShareInfo>(nodes[0].dataDir, ["share", file, "--replication", "3"]);
  assert.equal(share.replicas, 2);
  const status = await cliJson<ContentStatus>(nodes[0].dataDir, ["status", share.contentId]);
  const victim = nodes.find((n) => n !== nodes[0] && status.holders.some((h) => h.id === n.id && h.live))!;
  await stopNode(victim, "SIGKILL");

  const r = await cliJson<RepairReport>(nodes[0].dataDir, ["repair", share.contentId]);
  assert.equal(r.holdersBefore, 2);
  assert.equal(r.copies, 1);
  assert.ok(r.bytes >= 400_000, `${r.bytes} bytes sent`);
  const after = await waitFor("r live holders", async () => {
    const s = await cliJson<ContentStatus>(nodes[0].dataDir, ["status", share.contentId]);
    return s.met && s;
  });
  assert.equal(after.liveHolders, 3);
  // the node's repair state comes with the status: no sweep yet (the interval is an hour), nothing under way
  assert.deepEqual(after.repair, { busy: false, lastSweepAt: null, nextSweepAt: null });

  const again = await cli(["repair", share.contentId, "--data-dir", nodes[0].dataDir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already has 3 of 3 live holders: nothing to do/);
});

test("repair on a node without the file says where to run it", async () => {
  const file = path.join(root, "other.bin");
  fs.writeFileSync(file, randomBytes(1000));
  const share = await cliJson<ShareInfo>(nodes[0].dataDir, ["share", file, "--replication", "1"]);
  const other = nodes.find((n) => n !== nodes[0] && n.proc.exitCode === null && n.proc.signalCode === null)!;
  const r = await cli(["repair", share.contentId, "--data-dir", other.dataDir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /this node does not hold all of .*run repair on a node that does/);
  // once it has fetched the file it is still no holder, in its own status too
  const got = await cli(["fetch", share.link, "-o", path.join(root, "fetched") + path.sep, "--data-dir", other.dataDir]);
  assert.equal(got.code, 0, got.stderr);
  const st = await cliJson<ContentStatus>(other.dataDir, ["status", share.contentId]);
  assert.deepEqual(st.holders.map((h) => h.id), [nodes[0].id]);
  assert.equal(st.liveHolders, 1);
});

test("a node that only claims a file (a provider record it cannot back) is no copy: status leaves it out and repair replaces the lost one", async () => {
  const file = path.join(root, "claimed.bin");
  fs.writeFileSync(file, randomBytes(300_000));
  const share = await cliJson<ShareInfo>(nodes[0].dataDir, ["share", file, "--replication", "3"]);
  assert.equal(share.replicas, 2);
  // it answers no HAS_OBJECTS (it takes no replicas) and sends altered bytes for any object
  const claimer = await startFakeHolder(nodes[0].port, { getObject: async () => randomBytes(1000) });
  try {
    await claimer.provide(share.contentId);
    const status = await cliJson<ContentStatus>(nodes[0].dataDir, ["status", share.contentId]);
    const victim = nodes.find((n) => n !== nodes[0] && status.holders.some((h) => h.id === n.id && h.live))!;
    await stopNode(victim, "SIGKILL");

    const claimed = await waitFor("the claimer listed among the holders", async () => {
      const s = await cliJson<ContentStatus>(nodes[0].dataDir, ["status", share.contentId]);
      return s.holders.some((h) => h.id === claimer.identity.id.toString("hex") && h.live) && !s.holders.some((h) => h.id === victim.id && h.live) && s;
    });
    assert.equal(claimed.holders.find((h) => h.id === claimer.identity.id.toString("hex"))!.complete, false);
    assert.equal(claimed.liveHolders, 2);
    assert.equal(claimed.met, false);

    const r = await cliJson<RepairReport>(nodes[0].dataDir, ["repair", share.contentId]);
    assert.equal(r.holdersBefore, 2);
    assert.equal(r.copies, 1);
    const after = await cliJson<ContentStatus>(nodes[0].dataDir, ["status", share.contentId]);
    assert.equal(after.liveHolders, 3);
  } finally {
    await claimer.close();
  }
});
