// Sharing and fetching between real node processes on 127.0.0.1, over real TLS and WebRTC.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { cli, cliJson, fetchOk as fetchOkTo, fetchStreaming as fetchStreamingTo, RunningNode, startNode, stopNode, tempDir } from "../helpers/cli";
import { startFakeHolder } from "../helpers/fake-holder";
import { ContentStore } from "../../node-host/cas";
import type { ContentStatus, NodeInfo, ShareInfo, StoreListing, TransferInfo } from "../../node-host/rpc/api-types";

const MARKER = "PEERSHARE-PLAINTEXT-MARKER-7f3a";
const root = tempDir("share");
const nodes: RunningNode[] = [];
const files = path.join(root, "files");

function configure(dataDir: string, extra: Record<string, unknown> = {}): void {
  fs.mkdirSync(dataDir, { recursive: true });
  // replication 3: a share is held by the sharer and two replica holders; a fetcher keeps the file,
  // not a copy in its store, and does not become a holder (replication.test.ts covers repair)
  const config = { healthCheckIntervalMs: 500, offlineAfterMisses: 2, rpcTimeoutMs: 500, uploadLimitMBps: 20, replication: 3, ...extra };
  fs.writeFileSync(path.join(dataDir, "config.json"), JSON.stringify(config));
}

async function addNode(name: string, extra: Record<string, unknown> = {}): Promise<RunningNode> {
  const dir = path.join(root, name);
  configure(dir, extra);
  const node = await startNode(dir, nodes.length ? [`127.0.0.1:${nodes[0].port}`] : []);
  nodes.push(node);
  return node;
}

function makeFile(name: string, mib: number): string {
  fs.mkdirSync(files, { recursive: true });
  const file = path.join(files, name);
  const fd = fs.openSync(file, "w");
  for (let i = 0; i < mib; i++) fs.writeSync(fd, Buffer.concat([Buffer.from(`${MARKER}\n`), randomBytes((1 << 20) - MARKER.length - 1)]));
  fs.closeSync(fd);
  return file;
}

const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** Every file under dir whose bytes contain the marker. */
function filesWithMarker(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (fs.readFileSync(p).includes(MARKER)) out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** A fetch into directory `outDir` (see fetchStreaming). */
const fetchStreaming = (node: RunningNode, link: string, outDir: string, onProgress?: (t: TransferInfo) => void, extra: string[] = []) =>
  fetchStreamingTo(node, link, outDir + path.sep, onProgress, extra);

const fetchOk = (node: RunningNode, link: string, outDir: string, extra: string[] = []) => fetchOkTo(node, link, outDir + path.sep, extra);

/** IDs of the live nodes with a provider record for a content, as `peershare status` on `observer` sees them. */
async function liveHolders(observer: RunningNode, link: string): Promise<string[]> {
  const status = await cliJson<ContentStatus>(observer.dataDir, ["status", link]);
  return status.holders.filter((h) => h.live).map((h) => h.id).sort();
}

let big: { file: string; share: ShareInfo; holders: string[] };

before(async () => {
  for (let i = 0; i < 6; i++) await addNode(`n${i}`);
  await new Promise((r) => setTimeout(r, 1500)); // joins settle
  const file = makeFile("big.bin", 40);
  const share = await cliJson<ShareInfo>(nodes[0].dataDir, ["share", file]);
  big = { file, share, holders: await liveHolders(nodes[5], share.link) };
});

after(async () => {
  await Promise.all(nodes.map((n) => stopNode(n, "SIGKILL")));
  fs.rmSync(root, { recursive: true, force: true });
});

test("a private share is fetched byte-identical from its three holders at once; fetchers do not become holders; no store holds plaintext", async () => {
  assert.match(big.share.link, /^peershare:\/\/[0-9a-f]{64}#k=/);
  assert.equal(big.share.replicas, 2, "copied to two more nodes");
  assert.equal(big.holders.length, 3, `holders: ${big.holders.join(", ")}`);
  assert.ok(big.holders.includes(nodes[0].id), "the sharer holds it");
  const fetchers = nodes.filter((n) => !big.holders.includes(n.id)).slice(0, 2);
  for (const [i, fetcher] of fetchers.entries()) {
    const r = await fetchOk(fetcher, big.share.link, path.join(root, `out${i}`));
    assert.equal(sha(r.path), sha(big.file));
    assert.equal(r.holdersUsed, 3, "chunks came from the sharer and both replica holders");
  }
  // a fetcher is not announced as a holder, so the holders are still the three pinned copies
  assert.deepEqual(await liveHolders(nodes[5], big.share.link), big.holders);
  for (const n of nodes) assert.deepEqual(filesWithMarker(path.join(n.dataDir, "store")), [], `plaintext in ${n.dataDir}`);
});

test("a public share is stored as plaintext, and fetched by ID alone", async () => {
  const file = path.join(files, "notes.txt");
  fs.writeFileSync(file, `${MARKER}\nmeeting notes\n`);
  const share = await cliJson<ShareInfo>(nodes[0].dataDir, ["share", file, "--public"]);
  assert.equal(share.linkWithoutHints, `peershare://${share.contentId}`);
  assert.match(share.link, new RegExp(`^peershare://${share.contentId}#h=[A-Za-z0-9_-]+$`), "the link carries only address hints");
  const out = await cli(["cat", share.contentId, "--data-dir", nodes[4].dataDir]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, `${MARKER}\nmeeting notes\n`);
  assert.ok(filesWithMarker(path.join(nodes[0].dataDir, "store")).length > 0);
});

test("a fetch over WebRTC data channels (bulkPath = webrtc) gives the same bytes", async () => {
  const rtc = await addNode("rtc", { bulkPath: "webrtc" });
  await new Promise((r) => setTimeout(r, 1000));
  const r = await fetchOk(rtc, big.share.link, path.join(root, "out-rtc"));
  assert.equal(sha(r.path), sha(big.file));
  const info = await cliJson<NodeInfo>(rtc.dataDir, ["id"]);
  assert.ok(info.stats.webrtcBytesIn > 40e6, `webrtc bytes in: ${info.stats.webrtcBytesIn}`);
  assert.equal(info.stats.tlsBytesIn, 0);
});

test("fetch --cache keeps the chunks in the store, so fetching again needs no holder; a plain fetch keeps only the file", async () => {
  const cached = await addNode("cached");
  const plain = await addNode("plain");
  await new Promise((r) => setTimeout(r, 800));
  const first = await fetchOk(cached, big.share.link, path.join(root, "out-cached-1"), ["--cache"]);
  assert.equal(sha(first.path), sha(big.file));
  const cachedListing = await cliJson<StoreListing>(cached.dataDir, ["ls"]);
  assert.ok(cachedListing.cacheBytes >= big.share.size, "the chunks are cached");
  const entry = cachedListing.contents.find((c) => c.contentId === big.share.contentId);
  assert.deepEqual([entry?.chunks, entry?.chunksHeld], [big.share.chunks, big.share.chunks]);
  const again = await fetchOk(cached, big.share.link, path.join(root, "out-cached-2"));
  assert.equal(sha(again.path), sha(big.file));
  assert.deepEqual([again.bytesFetched, again.bytesReused, again.holdersUsed], [0, big.share.size, 0]);
  await fetchOk(plain, big.share.link, path.join(root, "out-plain"));
  const plainListing = await cliJson<StoreListing>(plain.dataDir, ["ls"]);
  assert.ok(plainListing.cacheBytes < 1 << 20, `a plain fetch cached ${plainListing.cacheBytes} bytes (its manifest only)`);
  assert.equal(plainListing.contents.find((c) => c.contentId === big.share.contentId)?.chunksHeld, 0);
  const shown = await cli(["ls", "--data-dir", plain.dataDir]);
  assert.match(shown.stdout, new RegExp(`${big.share.contentId} .*manifest only`));
});

test("a holder killed mid-fetch: the fetch completes from the others", async () => {
  const fetcher = await addNode("k1");
  const victim = nodes.find((n) => n !== nodes[0] && big.holders.includes(n.id))!; // a replica holder
  let killed = false;
  const { exited } = fetchStreaming(fetcher, big.share.link, path.join(root, "out-k1"), (t) => {
    if (!killed && t.bytesDone > t.bytesTotal * 0.2) {
      killed = true;
      victim.proc.kill("SIGKILL");
    }
  });
  const r = await exited;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(killed, "the holder was killed before the fetch ended");
  assert.equal(sha(r.done!.path), sha(big.file));
});

test("the fetching node killed mid-fetch resumes after a restart without fetching its chunks again", async () => {
  const fetcher = await addNode("k2");
  // dead holders are skipped now, so the live ones are slowed for the kill to land mid-fetch
  const live = nodes.filter((n) => n !== fetcher && n.proc.exitCode === null && n.proc.signalCode === null);
  await Promise.all(live.map((n) => cliJson(n.dataDir, ["config", "set", "uploadLimitMBps", "4"])));
  let killed = false;
  const first = fetchStreaming(fetcher, big.share.link, path.join(root, "out-k2"), (t) => {
    if (!killed && t.bytesDone > t.bytesTotal * 0.4) {
      killed = true;
      fetcher.proc.kill("SIGKILL");
    }
  });
  const r1 = await first.exited;
  assert.ok(killed && r1.code !== 0, "the fetch was cut short");
  const restarted = await startNode(fetcher.dataDir, [`127.0.0.1:${nodes[0].port}`]);
  nodes.push(restarted);
  // the killed fetch's pin on its manifest was released at the start: it is cache now
  const left = (await cliJson<StoreListing>(restarted.dataDir, ["ls"])).contents.find((c) => c.contentId === big.share.contentId);
  assert.deepEqual(left?.pins, [], JSON.stringify(left));
  await new Promise((r) => setTimeout(r, 800));
  const r2 = await fetchOk(restarted, big.share.link, path.join(root, "out-k2"));
  assert.equal(sha(r2.path), sha(big.file));
  assert.ok(r2.bytesReused >= big.share.size * 0.35, `reused ${r2.bytesReused} of ${big.share.size}`);
  assert.ok(r2.bytesFetched <= big.share.size * 0.65, `moved ${r2.bytesFetched} bytes the second time`);
  assert.deepEqual(fs.readdirSync(path.join(root, "out-k2")), [path.basename(r2.path)], "the killed fetch's temp file was replaced, not left beside the file");
});

test("a holder that serves corrupted bytes is caught and dropped; the file is still right", async () => {
  // a hostile peer: real UDP and TLS, announcing itself as a holder, flipping a bit in what it serves
  const copy = path.join(root, "liar-store");
  fs.cpSync(path.join(nodes[0].dataDir, "store"), copy, { recursive: true });
  const store = await ContentStore.open(copy);
  const liar = await startFakeHolder(nodes[0].port, {
    getObject: async (id) => {
      const bytes = await store.get(id);
      if (bytes && bytes.length > 1000) bytes[bytes.length >> 1] ^= 0x01;
      return bytes;
    },
  });
  try {
    await liar.provide(big.share.contentId);
    const fetcher = await addNode("victim-of-liar");
    await new Promise((r) => setTimeout(r, 800));
    const r = await fetchOk(fetcher, big.share.link, path.join(root, "out-liar"));
    assert.equal(sha(r.path), sha(big.file));
    assert.deepEqual(r.badHolders, [liar.identity.id.toString("hex")]);
  } finally {
    await liar.close();
    await store.close();
  }
});

test("verify names a corrupted object and it is never served", async () => {
  const dir = nodes[0].dataDir;
  const objects = path.join(dir, "store", "objects");
  const sub = fs.readdirSync(objects)[0];
  const victim = path.join(objects, sub, fs.readdirSync(path.join(objects, sub))[0]);
  const bytes = fs.readFileSync(victim);
  bytes[0] ^= 0xff;
  fs.writeFileSync(victim, bytes);
  const r = await cli(["verify", "--json", "--data-dir", dir]);
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout) as { corrupt: string[] };
  assert.deepEqual(report.corrupt, [sub + path.basename(victim)]);
  assert.equal(fs.existsSync(victim), false, "moved to quarantine");
});

test("a temp file left beside the target gives back its right chunks, and a chunk torn in it is fetched again", async () => {
  const fetcher = await addNode("torn");
  await new Promise((r) => setTimeout(r, 800));
  const first = await fetchOk(fetcher, big.share.link, path.join(root, "out-torn-1"));
  assert.equal(sha(first.path), sha(big.file));
  // what a fetch cut short by a power cut could leave: the file's bytes as its temp file, 4 KiB torn
  const dir = path.join(root, "out-torn-2");
  fs.mkdirSync(dir);
  const bytes = fs.readFileSync(first.path);
  bytes.fill(0, bytes.length >> 1, (bytes.length >> 1) + 4096);
  fs.writeFileSync(path.join(dir, `.${path.basename(first.path)}.peershare-part`), bytes);
  const second = await fetchOk(fetcher, big.share.link, dir);
  assert.equal(sha(second.path), sha(big.file));
  assert.ok(second.bytesFetched >= 4096 && second.bytesFetched < big.share.size / 2, `fetched ${second.bytesFetched} bytes again for 4 KiB torn`);
  assert.equal(second.bytesReused, big.share.size - second.bytesFetched);
  assert.deepEqual(fs.readdirSync(dir), [path.basename(second.path)]);
});
