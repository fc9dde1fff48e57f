// Replication, repair and hand-off between 12 real node processes on 127.0.0.1: 20 files shared
// with r = 3, the sharer and more holders killed at once, copies restored by the repair sweep, a
// holder's graceful stop handing its files on, and every file still fetchable byte-identical.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { cli, cliJson, exited, RunningNode, startNode, stopNode, tempDir, waitFor } from "../helpers/cli";
import { connectLocal } from "../../node-host/rpc/local-socket";
import { mapLimit } from "../../node-host/util/concurrency";
import type { ContentStatus, FetchInfo, NodeInfo, ShareInfo, StoreListing } from "../../node-host/rpc/api-types";

const R = 3;
const NODES = 12;
/** How long the test allows from the kill until every file has r live holders again. */
const RESTORE_BOUND_MS = 30_000;
const KiB = 1024;
const SIZES = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 1, 700, 3000].map((k) => k * KiB);

const root = tempDir("replication");
const nodes: RunningNode[] = [];
const shares: { file: string; sha: string; share: ShareInfo }[] = [];
/** Every node seen holding each file (by content ID), so fetches can pick one that never did. */
const everHeld = new Map<string, Set<string>>();

const t0 = Date.now();
const mark = (what: string) => process.stdout.write(`# ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}\n`);
const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const alive = (n: RunningNode) => n.proc.exitCode === null && n.proc.signalCode === null;

async function addNode(name: string): Promise<RunningNode> {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const config = { healthCheckIntervalMs: 500, offlineAfterMisses: 2, rpcTimeoutMs: 500, repairIntervalMs: 2000, replication: R };
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  const node = await startNode(dir, nodes.length ? [`127.0.0.1:${nodes[0].port}`] : []);
  nodes.push(node);
  return node;
}

/** Status of every shared file, asked of one node over its local socket. */
async function statusAll(observer: RunningNode): Promise<ContentStatus[]> {
  const client = await connectLocal(observer.dataDir);
  try {
    const all = await Promise.all(shares.map((s) => client.call("content.status", { link: s.share.contentId })));
    for (const st of all) for (const h of st.holders) everHeld.get(st.contentId)!.add(h.id);
    return all;
  } finally {
    client.close();
  }
}

const liveIds = (st: ContentStatus) => st.holders.filter((h) => h.live).map((h) => h.id);
const bulkBytesOut = async (n: RunningNode) => {
  const info = await cliJson<NodeInfo>(n.dataDir, ["id"]);
  return info.stats.tlsBytesOut + info.stats.webrtcBytesOut;
};

before(async () => {
  await addNode("n0");
  await Promise.all(Array.from({ length: NODES - 1 }, (_, i) => addNode(`n${i + 1}`)));
  await new Promise((r) => setTimeout(r, 1500)); // joins settle
  mark(`${NODES} nodes up`);
  const files = path.join(root, "files");
  fs.mkdirSync(files);
  const paths = SIZES.map((size, i) => {
    const file = path.join(files, `f${i}.bin`);
    fs.writeFileSync(file, randomBytes(size));
    return file;
  });
  // the first through the CLI, the rest over the node's local socket, a few at a time
  const first = await cliJson<ShareInfo>(nodes[0].dataDir, ["share", paths[0], "--replication", String(R)]);
  const client = await connectLocal(nodes[0].dataDir);
  try {
    const rest = await mapLimit(paths.slice(1), 4, (file) => client.call("content.share", { path: file }));
    for (const [i, share] of [first, ...rest].entries()) {
      shares.push({ file: paths[i], sha: sha(paths[i]), share });
      everHeld.set(share.contentId, new Set());
    }
  } finally {
    client.close();
  }
  mark(`${SIZES.length} files shared`);
});

after(async () => {
  await Promise.all(nodes.map((n) => stopNode(n, "SIGKILL")));
  fs.rmSync(root, { recursive: true, force: true });
});

test("replication, repair after a crash of several holders, graceful hand-off, fetch from a non-holder", async () => {
  // 1. every share was copied to r-1 other nodes at once, and status sees r live holders
  for (const s of shares) assert.equal(s.share.replicas, R - 1, `${s.share.name}: copied to ${s.share.replicas}`);
  const observer = nodes[NODES - 1];
  const initial = await statusAll(observer);
  for (const st of initial) {
    assert.equal(st.liveHolders, R, `${st.contentId}: ${JSON.stringify(st.holders)} live holders`);
    assert.ok(st.met);
    for (const h of st.holders) assert.equal(h.complete, true, `holder ${h.id} lacks chunks`);
  }
  mark("status checked");
  const cliStatus = await cliJson<ContentStatus>(nodes[5].dataDir, ["status", shares[0].share.link]);
  assert.equal(cliStatus.liveHolders, R);

  // 2. choose whom to kill: the sharer, plus for each file one more holder unless that would leave
  // some file without any live holder
  const sharer = nodes[0].id;
  const kill = new Set([sharer]);
  const holdersOf = new Map(initial.map((st) => [st.contentId, liveIds(st)]));
  const wouldWipeOut = (extra: string) => [...holdersOf.values()].some((hs) => hs.every((h) => kill.has(h) || h === extra));
  for (const hs of holdersOf.values()) {
    if (hs.some((h) => h !== sharer && kill.has(h))) continue;
    const pick = hs.find((h) => h !== sharer && h !== observer.id && !wouldWipeOut(h));
    if (pick) kill.add(pick);
  }
  const lost = initial.map((st) => liveIds(st).filter((h) => kill.has(h)).length);
  const bytesLost = initial.reduce((n, _, i) => n + lost[i] * shares[i].share.size, 0);
  const survivors = nodes.filter((n) => !kill.has(n.id));
  const outBefore = (await Promise.all(survivors.map(bulkBytesOut))).reduce((a, b) => a + b, 0);

  const killedAt = Date.now();
  await Promise.all(nodes.filter((n) => kill.has(n.id)).map((n) => stopNode(n, "SIGKILL")));
  assert.ok(lost.every((l) => l >= 1 && l < R), "every file lost a holder, none lost all");

  // 3. the repair sweep brings every file back to r live holders
  await waitFor("every file back to r live holders", async () => (await statusAll(observer)).every((st) => st.liveHolders >= R), RESTORE_BOUND_MS, 250);
  const restoreMs = Date.now() - killedAt;
  const repairBytes = (await Promise.all(survivors.map(bulkBytesOut))).reduce((a, b) => a + b, 0) - outBefore;
  process.stdout.write(
    `# killed ${kill.size} of ${NODES} nodes (${lost.filter((l) => l === 2).length} files lost 2 holders, ${lost.filter((l) => l === 1).length} lost 1); ` +
      `r restored in ${restoreMs} ms; repair sent ${repairBytes} bulk bytes for ${bytesLost} bytes of lost copies\n`,
  );
  assert.ok(repairBytes < bytesLost * 1.5 + 1e6, `repair sent ${repairBytes} bytes to restore ${bytesLost}`);

  mark("r restored");
  // 4. a holder that stops gracefully hands its files on: no file drops below r (repair is slowed
  // right down first, so what keeps the count is the hand-off alone)
  await Promise.all(survivors.map((n) => cliJson(n.dataDir, ["config", "set", "repairIntervalMs", "600000"])));
  const before = await statusAll(observer);
  const leaving = survivors.find((n) => n.id !== observer.id && before.some((st) => liveIds(st).includes(n.id)))!;
  const r = await cli(["stop", "--data-dir", leaving.dataDir]);
  assert.equal(r.code, 0, r.stderr);
  await exited(leaving.proc);
  const afterStop = await statusAll(observer);
  for (const [i, st] of afterStop.entries()) {
    assert.ok(!liveIds(st).includes(leaving.id));
    assert.ok(st.liveHolders >= Math.min(R, before[i].liveHolders), `${st.contentId}: ${before[i].liveHolders} live holders before the stop, ${st.liveHolders} after`);
  }

  mark("graceful stop checked");
  // 5. every file is fetched byte-identical by a live node that never held it
  const fetchedBy = new Map<string, string>();
  for (const [i, s] of shares.entries()) {
    const held = everHeld.get(s.share.contentId)!;
    const fetcher = nodes.find((n) => alive(n) && !held.has(n.id));
    assert.ok(fetcher, `a live node that never held ${s.share.name}`);
    // with --json a fetch prints progress events, then its result as the last line
    const raw = await cli(["fetch", s.share.link, "-o", path.join(root, `out${i}`) + path.sep, "--json", "--data-dir", fetcher.dataDir]);
    assert.equal(raw.code, 0, raw.stderr);
    const got = JSON.parse(raw.stdout.trim().split("\n").pop()!) as FetchInfo;
    assert.equal(sha(got.path), s.sha, `${s.share.name} fetched by ${fetcher.id.slice(0, 12)}`);
    fetchedBy.set(s.share.contentId, fetcher.id);
  }
  // 6. a fetch makes no replica: no node lists a fetcher as a holder (the observer may be a fetcher
  // itself) unless repair has since placed a replica on it
  for (const st of await statusAll(observer)) {
    const fetcher = nodes.find((n) => n.id === fetchedBy.get(st.contentId))!;
    if (!st.holders.some((h) => h.id === fetcher.id)) continue;
    const listing = await cliJson<StoreListing>(fetcher.dataDir, ["ls"]);
    const pins = listing.contents.find((c) => c.contentId === st.contentId)?.pins ?? [];
    assert.ok(pins.includes("replica"), `${st.contentId}: its fetcher${fetcher === observer ? " (the observer)" : ""} is listed as a holder of a cached copy`);
  }
});
