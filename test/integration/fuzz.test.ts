// Robustness fuzzing of a live node (real processes on 127.0.0.1).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { cli, cliJson, RunningNode, startNode, stopNode, tempDir, waitFor, writeConfig } from "../helpers/cli";
import { letDataChannelsGo } from "../helpers/datachannel-exit";
import { connectLocal, LocalClient } from "../../node-host/rpc/local-socket";
import type { ClosestResult, FetchInfo, LookupResult, NodeInfo, ShareInfo } from "../../node-host/rpc/api-types";
import { UdpRpc } from "../../node-host/transport/udp-rpc";
import { Dht } from "../../node-host/dht/dht";
import { Contact } from "../../node-host/dht/messages";
import { fuzzSeed, Prng } from "../fuzz/prng";
import { UdpAgents } from "../fuzz/udp-agents";
import { seededIdentity } from "../fuzz/datagrams";
import { connectTls, FrameFuzzer, newSessionCounts, runSession, SessionCounts, SessionPlan } from "../fuzz/bulk-frames";
import { connectWebRtc } from "../fuzz/webrtc-raw";
import { authenticatedCases, overLimitLine, RawRpc, RpcCase, unauthenticatedCases } from "../fuzz/rpc-cases";
import { MAX_LINE_BYTES } from "../../node-host/rpc/line-stream";
import { startFakeHolder } from "../helpers/fake-holder";
import { ConvergentKeys } from "../../node-host/cas/convergent-crypto";
import { encodeManifest, fileDigestOfChunkDigests, MANIFEST_VERSION } from "../../node-host/cas/manifest";
import { formatShareLink } from "../../node-host/cas/share-link";
import { craftedManifests, rawPublicManifest } from "../fuzz/manifests";
import { objectIdOf } from "../../node-host/cas/object-hash";

const SEED = fuzzSeed();
const DATAGRAMS = Number(process.env.FUZZ_DATAGRAMS ?? 100_000);
/** The target's resident memory must stay below this throughout (it starts at ~70 MiB). */
const RSS_BOUND_MIB = 256;
const root = tempDir("fuzz");
const nodes: RunningNode[] = [];
let target: RunningNode;
let other: RunningNode;
let third: RunningNode;
let shared: { file: string; share: ShareInfo };
/** Datagrams and data-channel messages sent at the target, over all tests (the issue asks for 100,000). */
const total = { datagrams: 0, dataChannelMessages: 0, tlsFrames: 0 };

function configure(dataDir: string, extra: Record<string, unknown> = {}): void {
  writeConfig(dataDir, { rpcTimeoutMs: 400, healthCheckIntervalMs: 2000, offlineAfterMisses: 3, replication: 1, ...extra });
}

async function addNode(name: string, extra: Record<string, unknown> = {}): Promise<RunningNode> {
  const dir = path.join(root, name);
  configure(dir, extra);
  const node = await startNode(dir, nodes.length ? [`127.0.0.1:${nodes[0].port}`] : []);
  nodes.push(node);
  return node;
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  return kb / 1024;
}

function alive(n: RunningNode): boolean {
  return n.proc.exitCode === null && n.proc.signalCode === null;
}

before(async () => {
  process.stdout.write(`fuzz seed ${SEED} (set FUZZ_SEED=${SEED} to replay)\n`);
  target = await addNode("target");
  other = await addNode("other");
  third = await addNode("third", { bulkPath: "webrtc" });
  await waitFor("the nodes to know each other", async () => (await cliJson<NodeInfo>(target.dataDir, ["id"])).peers >= 2);
  // a file the target serves; fetched after the fuzzing, it must come back byte-identical
  const file = path.join(root, "shared.bin");
  fs.writeFileSync(file, new Prng(SEED).bytes(3 * 1024 * 1024 + 12345));
  shared = { file, share: await cliJson<ShareInfo>(target.dataDir, ["share", file]) };
});

after(async () => {
  await Promise.all(nodes.map((n) => stopNode(n, "SIGKILL")));
  fs.rmSync(root, { recursive: true, force: true });
  process.stdout.write(`total at the target: ${total.datagrams} datagrams + ${total.dataChannelMessages} data-channel messages = ${total.datagrams + total.dataChannelMessages} (and ${total.tlsFrames} frames over TLS)\n`);
  letDataChannelsGo();
});

const sha = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");

async function info(node: RunningNode): Promise<NodeInfo> {
  const c = await connectLocal(node.dataDir);
  try {
    return await c.call("node.info", {});
  } finally {
    c.close();
  }
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

test(`${DATAGRAMS} fuzzed datagrams: the node stays up, answers lookups, counts the drops, and its memory stays bounded`, async () => {
  const rng = new Prng(SEED);
  const info0 = await cliJson<NodeInfo>(target.dataDir, ["id"]);
  const rpcTarget: LocalClient = await connectLocal(target.dataDir);
  const rpcOther: LocalClient = await connectLocal(other.dataDir);
  const agents = await UdpAgents.open(rng.fork(), 12, { publicKey: Buffer.from(info0.publicKey, "hex"), port: target.port });
  const floodRng = rng.fork();
  const lookupRng = rng.fork();
  const rss = { before: rssMiB(target.proc.pid!), max: 0, after: 0 };
  const started = performance.now();
  let lookups = 0;
  try {
    await agents.introduce();
    // checks while the datagrams fly: alive, memory, the target's own lookups (which ask the
    // agents, who answer with fuzz), and a lookup through another node that must find the target
    let fuzzing = true;
    const monitor = (async () => {
      let lastLookup = 0;
      while (fuzzing) {
        assert.ok(alive(target), `target died: ${target.stderr()}`);
        rss.max = Math.max(rss.max, rssMiB(target.proc.pid!));
        void rpcTarget.call("dht.closest", { key: lookupRng.bytes(32).toString("hex") }, 20_000).catch(() => undefined);
        if (performance.now() - lastLookup > 3000) {
          lastLookup = performance.now();
          const r = await rpcOther.call("dht.closest", { key: target.id, n: 1 }, 20_000);
          assert.equal(r.closest[0]?.id, target.id, "a lookup through another node finds the target during the fuzzing");
          lookups++;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    try {
      await agents.run(DATAGRAMS, 7000);
    } finally {
      fuzzing = false;
      await monitor;
    }
    await agents.flood(floodRng, 8000);
    await new Promise((r) => setTimeout(r, 500));
    const counts = agents.counts;
    const info1 = await cliJson<NodeInfo>(target.dataDir, ["id"]);
    rss.after = rssMiB(target.proc.pid!);
    const d = (k: string) => info1.stats[k] - info0.stats[k];
    const dropped = ["droppedMalformed", "droppedOversized", "droppedStale", "droppedReplayed", "droppedBadSignature", "droppedUnexpected", "droppedRateLimited"].reduce((n, k) => n + d(k), 0);
    total.datagrams += counts.sent + counts.answersToTarget + counts.flood;
    process.stdout.write(
      `udp: sent ${counts.sent} + ${counts.answersToTarget} answers + ${counts.flood} flood in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `received ${d("received")}, dropped ${dropped} (expected ≥ ${counts.expectedDrops}), handled ${d("requestsHandled")} (expected ~${counts.expectedHandled}); ` +
        `rss ${rss.before.toFixed(0)} → max ${rss.max.toFixed(0)} → ${rss.after.toFixed(0)} MiB; lookups ${lookups}\n` +
        `  by category ${JSON.stringify(counts.byCategory)}\n  stats delta ${JSON.stringify(Object.fromEntries(Object.keys(info1.stats).map((k) => [k, d(k)])))}\n`,
    );
    const sentToTarget = counts.sent + counts.answersToTarget + counts.flood;
    assert.ok(sentToTarget >= DATAGRAMS);
    // a busy machine may lose some datagrams in the kernel; nearly all must reach the node
    assert.ok(d("received") >= 0.9 * sentToTarget, `received ${d("received")} of ${sentToTarget}`);
    assert.ok(dropped >= 0.9 * (counts.expectedDrops + counts.flood), `dropped ${dropped}, expected about ${counts.expectedDrops + counts.flood}`);
    assert.ok(d("requestsHandled") >= 0.8 * counts.expectedHandled, `handled ${d("requestsHandled")}, expected about ${counts.expectedHandled}`);
    for (const k of ["droppedMalformed", "droppedOversized", "droppedStale", "droppedReplayed", "droppedBadSignature", "droppedUnexpected"]) assert.ok(d(k) > 0, `${k} counted`);
    assert.ok(d("droppedRateLimited") >= 1000, `flood rate-limited: ${d("droppedRateLimited")}`);
    assert.equal(d("handlerErrors"), 0, "no request made a handler throw");
    assert.ok(lookups >= 1, "lookups ran during the fuzzing");
    // memory: bounded by the transport's LRUs (replay cache, rate limiter, pair keys) and the record store
    assert.ok(rss.max < RSS_BOUND_MIB && rss.after < RSS_BOUND_MIB, `rss ${rss.before.toFixed(0)} → max ${rss.max.toFixed(0)} → ${rss.after.toFixed(0)} MiB (bound ${RSS_BOUND_MIB})`);
  } finally {
    rpcTarget.close();
    rpcOther.close();
    await agents.close();
  }
  assert.ok(alive(target), `target died: ${target.stderr()}`);
  // after the storm, through the real CLI: another node still finds the target
  const r = await cliJson<ClosestResult>(other.dataDir, ["dht", "closest", target.id, "-n", "1"]);
  assert.equal(r.closest[0].id, target.id);
  const l = await cliJson<LookupResult>(third.dataDir, ["dht", "lookup", target.id]);
  assert.ok(l.queried.some((q) => q.id === target.id && q.ok), "a lookup from the third node reaches the target");
});

test("malformed bulk frames over TLS and WebRTC data channels close only their connection; the node keeps serving", async () => {
  const rng = new Prng(SEED + 2);
  const identity = seededIdentity(rng);
  const before = await info(target);
  const rss = { before: rssMiB(target.proc.pid!), after: 0 };
  const factorsFile = path.join(target.dataDir, "replication.jsonl");
  const factorsBefore = fs.existsSync(factorsFile) ? fs.statSync(factorsFile).size : 0;
  const started = performance.now();

  // TLS: sessions past a valid HELLO (answered batches, then a fatal frame), and broken handshakes
  const tlsCounts = newSessionCounts();
  const plans: SessionPlan[] = [];
  for (let i = 0; i < 40; i++) plans.push({ hello: rng.chance(0.3) ? "fuzzedCredentials" : "valid", batches: 8, batch: 16, maxPiece: 4096, offers: i < 10 ? 2 : 0, fatal: true });
  for (let i = 0; i < 120; i++) plans.push({ hello: rng.weighted({ none: 60, badSignature: 15, wrongRole: 10, malformed: 15 }), batches: 0, batch: 0, maxPiece: 512, fatal: true });
  // one stream of draws per connection, so a seed replays the same frames whatever the interleaving
  const sessionRngs = plans.map(() => rng.fork());
  await mapLimit(plans.map((p, i) => [p, i] as const), 4, async ([plan, i]) => {
    const conn = await connectTls(target.port);
    await runSession(conn, identity, new FrameFuzzer(sessionRngs[i].fork()), sessionRngs[i], plan, tlsCounts);
  });

  // WebRTC: the same over data channels, set up through the target's DHT signalling
  const rtcCounts = newSessionCounts();
  const transport = await UdpRpc.bind({ identity, host: "127.0.0.1", port: 0 });
  const dht = new Dht(transport, {}, identity);
  const targetContact: Contact = { id: Buffer.from(target.id, "hex"), publicKey: Buffer.from(before.publicKey, "hex"), host: "127.0.0.1", port: target.port };
  let messages = 0;
  try {
    const rtcPlans: SessionPlan[] = [
      { hello: "valid", batches: 60, batch: 16, maxPiece: 3000, fatal: true },
      { hello: "fuzzedCredentials", batches: 60, batch: 16, maxPiece: 70_000, fatal: true },
      { hello: "valid", batches: 60, batch: 16, maxPiece: 200, fatal: true },
      { hello: "none", batches: 0, batch: 0, maxPiece: 100, fatal: true },
      { hello: "badSignature", batches: 0, batch: 0, maxPiece: 100, fatal: true },
    ];
    for (const plan of rtcPlans) {
      const conn = await connectWebRtc(dht, targetContact);
      // a PING sent as a text message: the target must read it as the same bytes and answer
      if (plan.batches > 0) plan.ping = (bytes) => conn.writeText(bytes.toString("latin1"));
      const sessionRng = rng.fork();
      await runSession(conn, identity, new FrameFuzzer(sessionRng.fork()), sessionRng, plan, rtcCounts);
      messages += conn.messages();
    }
  } finally {
    await transport.close();
  }
  total.dataChannelMessages += messages;
  total.tlsFrames += tlsCounts.frames;

  assert.ok(alive(target), `target died: ${target.stderr()}`);
  const afterInfo = await info(target);
  rss.after = rssMiB(target.proc.pid!);
  const d = (k: string) => afterInfo.stats[k] - before.stats[k];
  const factorsAfter = fs.existsSync(factorsFile) ? fs.statSync(factorsFile).size : 0;
  process.stdout.write(
    `bulk: TLS ${tlsCounts.connections} connections, ${tlsCounts.frames} frames in ${tlsCounts.pieces} writes; WebRTC ${rtcCounts.connections} channels, ${rtcCounts.frames} frames in ${messages} messages; ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s; rss ${rss.before.toFixed(0)} → ${rss.after.toFixed(0)} MiB; replication.jsonl ${factorsBefore} → ${factorsAfter} bytes\n` +
      `  tls ${JSON.stringify(tlsCounts)}\n  webrtc ${JSON.stringify(rtcCounts)}\n` +
      `  target: protocol errors +${d("bulkProtocolErrors")}, handshake failures +${d("bulkHandshakeFailures")}, requests served +${d("bulkRequestsServed")}\n`,
  );
  for (const [name, c] of [["TLS", tlsCounts], ["WebRTC", rtcCounts]] as [string, SessionCounts][]) {
    assert.equal(c.closedEarly, 0, `${name}: no connection closed by survivable frames`);
    assert.equal(c.unanswered, 0, `${name}: every survivable request answered`);
    assert.equal(c.notClosedAfterFatal, 0, `${name}: every fatal frame closed its connection`);
  }
  assert.ok(d("bulkProtocolErrors") + d("bulkHandshakeFailures") >= tlsCounts.closedAfterFatal + rtcCounts.closedAfterFatal, "the target counted the bad connections");
  assert.ok(rss.after < rss.before + 150, `rss grew from ${rss.before.toFixed(0)} to ${rss.after.toFixed(0)} MiB`);

  // legitimate GETs afterwards, over TLS (other) and WebRTC (third): the same bytes
  for (const [node, name] of [[other, "tls"], [third, "webrtc"]] as const) {
    const out = path.join(root, `fetched-${name}`) + path.sep;
    const r = await cli(["fetch", shared.share.link, "-o", out, "--json", "--data-dir", node.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const done = JSON.parse(r.stdout.trim().split("\n").pop()!) as FetchInfo;
    assert.equal(sha(done.path), sha(shared.file), `fetched over ${name}`);
  }
  const third1 = await info(third);
  assert.ok(third1.stats.webrtcBytesIn > 3e6, "the third node fetched over WebRTC");
});

type Msg = { id?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends one case and then a probe request; returns what came back for the case, or why nothing did. */
async function runRpcCase(c: RawRpc, k: RpcCase, probeId: string): Promise<{ replies: unknown[]; probeAnswered: boolean; end: "ok" | "closed" | "timeout" }> {
  if (k.split) {
    const cut = Math.floor(k.payload.length / 2);
    c.write(k.payload.subarray(0, cut));
    await sleep(100);
    c.write(k.payload.subarray(cut));
  } else c.write(k.payload);
  c.write(Buffer.from(JSON.stringify({ jsonrpc: "2.0", id: probeId, method: "node.info" }) + "\n"));
  const replies: unknown[] = [];
  let probeAnswered = false;
  const caseAnswered = () => replies.some((m) => Array.isArray(m) || (m as Msg)?.id === k.id);
  for (;;) {
    if (probeAnswered && (k.expect.kind === "noReply" || caseAnswered() || k.id === null)) return { replies, probeAnswered, end: "ok" };
    const m = await c.next(15_000);
    if (m === "closed" || m === "timeout") return { replies, probeAnswered, end: m };
    if ((m as Msg)?.id === probeId) probeAnswered = true;
    else replies.push(m);
  }
}

function checkRpcCase(k: RpcCase, r: Awaited<ReturnType<typeof runRpcCase>>): string | null {
  if (r.end !== "ok") return `connection ${r.end} (replies: ${JSON.stringify(r.replies).slice(0, 200)})`;
  const e = k.expect;
  if (e.kind === "noReply") return r.replies.length === 0 ? null : `expected no reply, got ${JSON.stringify(r.replies).slice(0, 200)}`;
  if (r.replies.length !== 1) return `expected one reply, got ${r.replies.length}: ${JSON.stringify(r.replies).slice(0, 200)}`;
  const m = r.replies[0];
  if (e.kind === "batch") return Array.isArray(m) && m.length === e.length ? null : `expected a batch of ${e.length}, got ${JSON.stringify(m).slice(0, 200)}`;
  const msg = m as Msg;
  if (msg.id !== k.id) return `reply id ${JSON.stringify(msg.id)?.slice(0, 40)}, expected ${JSON.stringify(k.id)?.slice(0, 40)}`;
  if (e.kind === "result") return msg.result !== undefined ? null : `expected a result, got ${JSON.stringify(msg).slice(0, 200)}`;
  if (!msg.error || typeof msg.error.code !== "number" || typeof msg.error.message !== "string") return `expected an error, got ${JSON.stringify(msg).slice(0, 200)}`;
  if (e.kind === "error" && e.codes && !e.codes.includes(msg.error.code)) return `error code ${msg.error.code} (${msg.error.message}), expected ${e.codes.join(" or ")}`;
  return null;
}

test("malformed JSON-RPC on the control socket: each gets an error or a closed connection, and the node keeps answering", async () => {
  const rng = new Prng(SEED + 3);
  const rss = { before: rssMiB(target.proc.pid!), after: 0 };
  const failures: string[] = [];
  const fail = (why: string) => {
    failures.push(why);
    process.stdout.write(`json-rpc failure: ${why}\n`);
  };
  const cases = authenticatedCases(rng.fork());
  let c = await RawRpc.authenticated(target.dataDir);
  try {
    for (const [i, k] of cases.entries()) {
      const r = await runRpcCase(c, k, `probe-${i}`);
      const why = checkRpcCase(k, r);
      if (why) fail(`${k.name}: ${why}`);
      assert.ok(alive(target), `target died after "${k.name}": ${target.stderr()}`);
      if (r.end !== "ok") {
        c.close();
        c = await RawRpc.authenticated(target.dataDir);
      }
    }
  } finally {
    c.close();
  }

  // a line far over the limit: refused with an error, and the connection closed
  const big = await RawRpc.authenticated(target.dataDir);
  try {
    big.write(overLimitLine(MAX_LINE_BYTES + (1 << 20)));
    const m = await big.next(20_000);
    if (m === "timeout") fail("a line over the limit: neither an error nor a close within 20 s");
    else if (m !== "closed" && !(m as Msg).error) fail(`a line over the limit: got ${JSON.stringify(m).slice(0, 200)}`);
    else if (m !== "closed" && (await big.next(5000)) !== "closed") fail("a line over the limit: the connection stayed open after the error");
  } finally {
    big.close();
  }

  // connections without the token
  const token = fs.readFileSync(path.join(target.dataDir, "rpc.token"), "utf8").trim();
  for (const u of unauthenticatedCases(token, rng.fork())) {
    const conn = await RawRpc.connect(target.dataDir);
    try {
      conn.write(u.payload);
      const m = await conn.next(10_000);
      if (!alive(target)) fail(`unauthenticated, ${u.name}: the node died: ${target.stderr().slice(-2000)}`);
      if (m === "timeout" || m === "closed") fail(`unauthenticated, ${u.name}: ${m} without an error`);
      else if (!(m as Msg).error) fail(`unauthenticated, ${u.name}: got ${JSON.stringify(m).slice(0, 200)}`);
      else if (u.closes && (await conn.next(5000)) !== "closed") fail(`unauthenticated, ${u.name}: the connection stayed open`);
      else if (!u.closes) {
        // still unauthenticated: the right token now works
        conn.write(Buffer.from(JSON.stringify({ jsonrpc: "2.0", id: "a", method: "auth", params: { token } }) + "\n"));
        const ok = (await conn.next(5000)) as Msg;
        if (!(ok as { result?: { ok?: boolean } }).result?.ok) fail(`unauthenticated, ${u.name}: auth afterwards failed: ${JSON.stringify(ok)}`);
      }
    } finally {
      conn.close();
    }
    assert.ok(alive(target), `target died after unauthenticated "${u.name}": ${target.stderr()}`);
  }
  // a connection that goes away mid-line, and one that goes away at once
  const gone = await RawRpc.connect(target.dataDir);
  gone.write(Buffer.from('{"jsonrpc":"2.0","id":1,"meth'));
  gone.close();
  (await RawRpc.connect(target.dataDir)).close();
  await sleep(200);

  assert.ok(alive(target), `target died: ${target.stderr()}`);
  const after = await info(target);
  rss.after = rssMiB(target.proc.pid!);
  process.stdout.write(`json-rpc: ${cases.length} cases on an authenticated connection, 1 over-limit line, ${unauthenticatedCases(token, rng).length} unauthenticated; rss ${rss.before.toFixed(0)} → ${rss.after.toFixed(0)} MiB\n`);
  assert.equal(after.id, target.id);
  assert.deepEqual(failures, []);
});

/** Every file name under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

test("a holder serving crafted manifests: `peershare fetch` ends with a clear error, writes nothing outside its output dir, and the node stays up", async () => {
  const rng = new Prng(SEED + 4);
  const holder = await startFakeHolder(target.port, { identity: seededIdentity(rng) });
  const serve = holder.serve;
  const outRoot = path.join(root, "crafted-out");
  fs.mkdirSync(outRoot);
  const rootBefore = fs.readdirSync(root).sort();
  try {
    const chunk = rng.bytes(5000);
    const chunkId = Buffer.from(serve(chunk), "hex");
    const cases: { what: string; link: string; error: RegExp | null }[] = [];
    const wanted = new Set(["name \"../../x\"", "name \"/etc/passwd\"", "name \"a/../../b\"", "name \"x\\u0000.txt\"", "name \"..\"", "chunk count 2^32 - 1", "chunk count larger than the ids present", "file size 2^53 (beyond exact numbers)", "file size -1 as a signed 64-bit integer", "sizes that do not add up", "cut short"]);
    for (const c of craftedManifests(chunkId, chunk.length).filter((c) => wanted.has(c.what))) cases.push({ what: c.what, link: serve(c.bytes), error: c.error });
    // a private manifest whose encrypted name climbs out
    const keys = new ConvergentKeys(rng.bytes(32));
    const evil = encodeManifest({ version: MANIFEST_VERSION, mode: "private", name: "../../x", size: chunk.length, mediaType: "application/octet-stream", digest: objectIdOf(chunk), chunks: [{ id: chunkId, size: chunk.length, key: rng.bytes(32) }] }, keys);
    cases.push({ what: "private, name ../../x", link: formatShareLink(serve(evil.bytes), evil.key), error: /unsafe file name/ });
    // wrong hashes: of the whole file, of a chunk, of the manifest itself
    const fields = { ids: [chunkId], size: BigInt(chunk.length), sizes: [chunk.length], name: "wrong-hash.bin" };
    cases.push({ what: "whole-file hash wrong", link: serve(rawPublicManifest({ ...fields, digest: rng.bytes(32) })), error: /does not match the manifest's file digest/ });
    const liedChunk = rng.bytes(32);
    serve(rng.bytes(777), liedChunk);
    cases.push({ what: "chunk bytes that do not hash to its id", link: serve(rawPublicManifest({ ...fields, ids: [liedChunk], size: 777n, sizes: [777], name: "lied.bin" })), error: /could not be fetched/ });
    cases.push({ what: "manifest bytes that do not hash to the content ID", link: serve(rawPublicManifest(fields), rng.bytes(32)), error: /could send its manifest|could not/ });
    // many chunks, none of which the holder has
    const many = Array.from({ length: 5000 }, () => rng.bytes(32));
    cases.push({ what: "5,000 chunks nobody has", link: serve(rawPublicManifest({ ids: many, size: 5000n * 1000n, sizes: new Array<number>(5000).fill(1000), name: "many.bin", digest: rng.bytes(32) })), error: /could not be fetched/ });
    // an odd but safe name: fetched, into the output dir and nowhere else
    cases.push({ what: "safe name ..x", link: serve(rawPublicManifest({ ...fields, digest: fileDigestOfChunkDigests([objectIdOf(chunk)]), name: "..x" })), error: null });
    for (const c of cases) await holder.provide(c.link.replace(/^peershare:\/\//, "").slice(0, 64));

    const failures: string[] = [];
    await mapLimit(cases.map((c, i) => [c, i] as const), 3, async ([c, i]) => {
      const out = path.join(outRoot, `case-${i}`);
      const r = await cli(["fetch", c.link, "-o", out + path.sep, "--json", "--data-dir", other.dataDir], 120_000);
      const written = filesUnder(out);
      if (c.error === null) {
        if (r.code !== 0) failures.push(`${c.what}: failed: ${r.stderr.trim()}`);
        else if (written.length !== 1 || written[0] !== path.join(out, "..x") || !fs.readFileSync(written[0]).equals(chunk)) failures.push(`${c.what}: wrote ${JSON.stringify(written)}`);
        return;
      }
      if (r.code === 0) failures.push(`${c.what}: fetch succeeded: ${r.stdout.slice(-300)}`);
      else if (!c.error.test(r.stderr)) failures.push(`${c.what}: unclear error: ${r.stderr.trim().slice(0, 300)}`);
      if (written.length) failures.push(`${c.what}: wrote ${JSON.stringify(written)}`);
    });
    assert.deepEqual(failures, []);
    assert.deepEqual(fs.readdirSync(root).sort(), rootBefore, "nothing appeared next to the output dirs");
    for (const escaped of ["x", "passwd", "b"]) {
      assert.equal(fs.existsSync(path.join(outRoot, escaped)), false);
      assert.equal(fs.existsSync(path.join(root, escaped)), false);
    }
    assert.ok(alive(other) && alive(target), "the nodes stay up");
    assert.equal((await info(other)).id, other.id);
    process.stdout.write(`manifests: ${cases.length} crafted manifests fetched by a real node: ${cases.filter((c) => c.error).length} refused with a clear error, 1 safe odd name written in place\n`);
  } finally {
    await holder.close();
  }
});
