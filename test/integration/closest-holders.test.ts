// A fetch finds a file's holders even when no provider record names one (records expired, holders
// not yet announced again): replication put the copies on the nodes closest to the content ID, and
// the fetcher asks those directly. Real node processes on 127.0.0.1.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { cli, cliJson, RunningNode, startNode, stopNode, tempDir, waitFor, writeConfig } from "../helpers/cli";
import type { ContentStatus, FetchInfo, ShareInfo, StoreListing } from "../../node-host/rpc/api-types";

const root = tempDir("closest");
const nodes: RunningNode[] = [];

after(async () => {
  await Promise.all(nodes.map((n) => stopNode(n, "SIGKILL")));
});

const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

test("with the sharer gone and every provider record expired, a fetch still finds the replica on the closest nodes", async () => {
  // records live 10 s (the shortest allowed) and nobody republishes or repairs within the test
  const config = { healthCheckIntervalMs: 500, offlineAfterMisses: 2, rpcTimeoutMs: 500, replication: 2, recordTtlMs: 10_000, republishIntervalMs: 3_600_000, repairIntervalMs: 3_600_000 };
  for (const name of ["seed", "sharer", "n1", "n2", "n3"]) {
    const dir = path.join(root, name);
    writeConfig(dir, config);
    nodes.push(await startNode(dir, nodes.length ? [`127.0.0.1:${nodes[0].port}`] : []));
  }
  const sharer = nodes[1];
  const file = path.join(root, "notes.bin");
  fs.writeFileSync(file, randomBytes(3 << 20));
  const share = await cliJson<ShareInfo>(sharer.dataDir, ["share", file]);
  assert.equal(share.replicas, 1, "one replica besides the sharer's copy");

  const holdsReplica = async (n: RunningNode) => (await cliJson<StoreListing>(n.dataDir, ["ls"])).contents.some((c) => c.contentId === share.contentId && c.pins.includes("replica"));
  const others = nodes.filter((n) => n !== sharer);
  const held = await Promise.all(others.map(holdsReplica));
  assert.equal(held.filter(Boolean).length, 1);
  const fetcher = others.find((_, i) => !held[i])!;

  await stopNode(sharer, "SIGKILL");
  await waitFor(
    "every provider record to expire",
    async () => (await cliJson<ContentStatus>(fetcher.dataDir, ["status", share.contentId])).holders.length === 0,
    30_000,
    500,
  );

  const out = path.join(root, "out");
  const r = await cli(["fetch", share.link, "-o", out + path.sep, "--json", "--data-dir", fetcher.dataDir]);
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split("\n").pop()!) as FetchInfo; // the last event is "done"
  assert.equal(sha(got.path), sha(file));
  assert.equal(got.holdersUsed, 1);
  assert.equal(got.bytesReused, 0, "every byte came from the replica holder");
});
