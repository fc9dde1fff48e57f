// Twenty real node processes on 127.0.0.1, driven through the real `peershare` CLI.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { cliJson, RunningNode, startNode, stopNode, tempDir, waitFor } from "../helpers/cli";
import { Identity } from "../../node-host/security/identity";
import { sealEnvelope } from "../../node-host/transport/envelope";
import { encodeRequest, MessageTypes } from "../../node-host/transport/wire";
import { keyFromText, xorDistance } from "../../node-host/dht/id";
import type { ClosestResult, ContactInfo, NodeInfo, PutResult, ValueRecordInfo } from "../../node-host/rpc/api-types";

const NODES = 20;
const K = 8; // smaller than the network, so "the k closest" is a real selection
const root = tempDir("cluster");
const nodes: RunningNode[] = [];

function writeConfig(dataDir: string): void {
  fs.mkdirSync(dataDir, { recursive: true });
  const config = { k: K, healthCheckIntervalMs: 300, offlineAfterMisses: 2, rpcTimeoutMs: 400, refreshIntervalMs: 2000 };
  fs.writeFileSync(path.join(dataDir, "config.json"), JSON.stringify(config));
}

function trueClosest(key: Buffer, ids: string[], n: number): string[] {
  return [...ids].sort((a, b) => Buffer.compare(xorDistance(Buffer.from(a, "hex"), key), xorDistance(Buffer.from(b, "hex"), key))).slice(0, n);
}

before(async () => {
  for (let i = 0; i < NODES; i++) {
    const dir = path.join(root, `n${i}`);
    writeConfig(dir);
    // each node bootstraps off one or two earlier nodes, not all off the first
    const earlier = nodes.length ? [nodes[Math.floor(Math.random() * nodes.length)], nodes[nodes.length - 1]] : [];
    nodes.push(await startNode(dir, [...new Set(earlier.map((n) => `127.0.0.1:${n.port}`))]));
  }
  // give the last joiners' refresh lookups time to spread them
  await waitFor("every node to know at least K peers", async () => {
    const sizes = await Promise.all(nodes.map((n) => cliJson<NodeInfo>(n.dataDir, ["id"]).then((i) => i.peers)));
    return sizes.every((s) => s >= K);
  }, 30_000, 500);
});

after(async () => {
  await Promise.all(nodes.map((n) => stopNode(n, "SIGKILL")));
  fs.rmSync(root, { recursive: true, force: true });
});

test("from every node, `dht closest` returns the true k closest of all node IDs", async () => {
  const ids = nodes.map((n) => n.id);
  for (const [i, n] of nodes.entries()) {
    const keyText = `some key ${i}`;
    const r = await cliJson<ClosestResult>(n.dataDir, ["dht", "closest", keyText]);
    assert.deepEqual(r.closest.map((c) => c.id), trueClosest(keyFromText(keyText), ids, K), `node ${i}, key "${keyText}"`);
  }
});

test("a value put on one node can be got on every other node, signature checked", async () => {
  const put = await cliJson<PutResult>(nodes[3].dataDir, ["dht", "put", "release-notes", "v1 is out"]);
  assert.ok(put.storedOn >= K - 1, `stored on ${put.storedOn}`);
  for (const n of nodes) {
    const v = await cliJson<ValueRecordInfo>(n.dataDir, ["dht", "get", put.key]);
    assert.equal(v.value, "v1 is out");
    assert.equal(v.publisher, nodes[3].id);
  }
});

test("garbage, truncated, oversized, forged and replayed datagrams are dropped and the node keeps answering", async () => {
  const target = nodes[5];
  const before = await cliJson<NodeInfo>(target.dataDir, ["id"]);
  const socket = dgram.createSocket("udp4");
  const send = (b: Buffer) => new Promise<void>((r) => socket.send(b, target.port, "127.0.0.1", () => r()));
  const attacker = Identity.generate();
  const { type, payload } = encodeRequest({ type: "find_node", target: randomBytes(32) });
  const valid = () => sealEnvelope(attacker, type, randomBytes(8), Date.now(), payload);
  const sent = { garbage: 0, truncated: 0, oversized: 0, forged: 0, stale: 0, replayed: 0 };
  for (let i = 0; i < 300; i++) {
    await send(randomBytes(1 + Math.floor(Math.random() * 1200)));
    sent.garbage++;
    const v = valid();
    await send(v.subarray(0, Math.floor(Math.random() * v.length)));
    sent.truncated++;
    if (i % 10 === 0) {
      await send(randomBytes(1500));
      sent.oversized++;
    }
    const forged = valid();
    forged[forged.length - 1 - (i % 64)] ^= 0x55;
    await send(forged);
    sent.forged++;
    await send(sealEnvelope(attacker, MessageTypes.ping, randomBytes(8), Date.now() - 10 * 60_000, Buffer.alloc(0)));
    sent.stale++;
    if (i % 10 === 0) {
      const once = valid();
      await send(once);
      await send(once);
      sent.replayed++;
    }
  }
  socket.close();
  const afterInfo = await waitFor("the node to count the drops", async () => {
    const info = await cliJson<NodeInfo>(target.dataDir, ["id"]);
    const dropped = info.stats.droppedMalformed + info.stats.droppedOversized + info.stats.droppedBadSignature + info.stats.droppedStale + info.stats.droppedReplayed + info.stats.droppedRateLimited;
    return dropped - (before.stats.droppedMalformed + before.stats.droppedOversized + before.stats.droppedBadSignature + before.stats.droppedStale + before.stats.droppedReplayed + before.stats.droppedRateLimited) >= sent.garbage + sent.truncated + sent.oversized + sent.forged + sent.stale + sent.replayed ? info : undefined;
  });
  assert.ok(afterInfo.stats.droppedBadSignature > before.stats.droppedBadSignature, "forged signatures counted");
  assert.ok(afterInfo.stats.droppedStale > before.stats.droppedStale, "stale timestamps counted");
  assert.ok(afterInfo.stats.droppedReplayed > before.stats.droppedReplayed, "replays counted");
  assert.ok(afterInfo.stats.droppedOversized > before.stats.droppedOversized, "oversized counted");
  // still a correct DHT node
  const r = await cliJson<ClosestResult>(target.dataDir, ["dht", "closest", "after the storm"]);
  assert.deepEqual(r.closest.map((c) => c.id), trueClosest(keyFromText("after the storm"), nodes.map((n) => n.id), K));
});

test("a node killed with SIGKILL drops out of the others' tables after the configured checks", async () => {
  const victim = nodes[7];
  const holders = async () => {
    const lists = await Promise.all(nodes.filter((n) => n !== victim).map((n) => cliJson<ContactInfo[]>(n.dataDir, ["peers"])));
    return lists.filter((peers) => peers.some((p) => p.id === victim.id && p.state !== "offline")).length;
  };
  assert.ok((await holders()) > 0, "the victim is known before it dies");
  await stopNode(victim, "SIGKILL");
  nodes.splice(nodes.indexOf(victim), 1);
  // 300 ms checks, 2 misses of 400 ms each: well under 10 s
  await waitFor("every node to drop the killed node", async () => (await holders()) === 0, 10_000, 300);
});

test("a node stopped gracefully is removed from its neighbours' tables at once", async () => {
  const leaver = nodes[9];
  await stopNode(leaver, "SIGTERM");
  nodes.splice(nodes.indexOf(leaver), 1);
  const lists = await Promise.all(nodes.map((n) => cliJson<ContactInfo[]>(n.dataDir, ["peers"])));
  const stillOnline = lists.filter((peers) => peers.some((p) => p.id === leaver.id && p.state === "online")).length;
  assert.equal(stillOnline, 0);
  assert.match(leaver.stderr(), /telling neighbours/);
});
