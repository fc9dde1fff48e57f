import { test } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { randomBytes } from "node:crypto";
import { Identity } from "../../node-host/security/identity";
import { UdpRpc } from "../../node-host/transport/udp-rpc";
import { openEnvelope, sealEnvelope } from "../../node-host/transport/envelope";
import { MessageTypes } from "../../node-host/transport/wire";
import { RpcTimeoutError } from "../../node-host/dht/transport";

async function pair() {
  const a = await UdpRpc.bind({ identity: Identity.generate(), host: "127.0.0.1", port: 0, timeoutMs: 300 });
  const b = await UdpRpc.bind({ identity: Identity.generate(), host: "127.0.0.1", port: 0, timeoutMs: 300 });
  b.onRequest((from, req) => (req.type === "ping" ? { type: "pong" } : { type: "nodes", contacts: [from] }));
  return { a, b };
}

async function settle() {
  await new Promise((r) => setTimeout(r, 100));
}

test("a request over real UDP gets its signed reply, from the node that was asked", async () => {
  const { a, b } = await pair();
  try {
    const reply = await a.request({ host: "127.0.0.1", port: b.local.port, id: b.local.id }, { type: "find_node", target: randomBytes(32) });
    assert.equal(reply.response.type, "nodes");
    assert.ok(reply.from.id.equals(b.local.id));
    assert.ok(reply.response.type === "nodes" && reply.response.contacts[0].id.equals(a.local.id), "b saw a's verified ID");
    assert.equal(b.stats.signaturesChecked, 1, "a first contact by address is signed");
    await a.request({ host: "127.0.0.1", port: b.local.port, id: b.local.id, publicKey: b.local.publicKey }, { type: "ping" });
    assert.equal(b.stats.macsChecked, 1, "with b's key known, a's request carries a pair-key MAC");
    assert.equal(a.stats.macsChecked, 2, "b's replies carry MACs too");
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test("a request to a node that does not answer times out after the retries", async () => {
  const { a, b } = await pair();
  await b.close();
  try {
    const started = Date.now();
    await assert.rejects(a.request({ host: "127.0.0.1", port: b.local.port }, { type: "ping" }, { timeoutMs: 100, retries: 2 }), RpcTimeoutError);
    assert.ok(Date.now() - started >= 290);
    assert.equal(a.stats.requestTimeouts, 3);
  } finally {
    await a.close();
  }
});

test("a reply from a different node than the one asked is ignored", async () => {
  const { a, b } = await pair();
  try {
    const someoneElse = Identity.generate().id;
    await assert.rejects(a.request({ host: "127.0.0.1", port: b.local.port, id: someoneElse }, { type: "ping" }), RpcTimeoutError);
    assert.equal(a.stats.droppedUnexpected, 1);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test("forged, replayed, stale and garbage datagrams are dropped and counted; the node still answers", async () => {
  const { a, b } = await pair();
  const raw = dgram.createSocket("udp4");
  const send = (buf: Buffer) => new Promise<void>((r) => raw.send(buf, b.local.port, "127.0.0.1", () => r()));
  const mallory = Identity.generate();
  try {
    const good = sealEnvelope(mallory, MessageTypes.ping, randomBytes(8), Date.now(), Buffer.alloc(0));
    await send(good);
    await send(good); // replay
    const forged = Buffer.from(sealEnvelope(mallory, MessageTypes.ping, randomBytes(8), Date.now(), Buffer.alloc(0)));
    forged[forged.length - 1] ^= 1;
    await send(forged);
    await send(sealEnvelope(mallory, MessageTypes.ping, randomBytes(8), Date.now() - 3600_000, Buffer.alloc(0)));
    await send(randomBytes(50));
    await send(randomBytes(1300));
    await send(sealEnvelope(mallory, 0x42, randomBytes(8), Date.now(), Buffer.alloc(0))); // unknown type, validly signed
    await settle();
    assert.equal(b.stats.requestsHandled, 1, "only the first copy of the good ping was handled");
    assert.equal(b.stats.droppedReplayed, 1);
    assert.equal(b.stats.droppedBadSignature, 1);
    assert.equal(b.stats.droppedStale, 1);
    assert.equal(b.stats.droppedOversized, 1);
    assert.equal(b.stats.droppedMalformed, 2);
    const reply = await a.request({ host: "127.0.0.1", port: b.local.port }, { type: "ping" });
    assert.equal(reply.response.type, "pong");
  } finally {
    raw.close();
    await Promise.all([a.close(), b.close()]);
  }
});

test("a flood from one source is rate-limited without starving other sources", async () => {
  const a = await UdpRpc.bind({ identity: Identity.generate(), host: "127.0.0.1", port: 0 });
  const b = await UdpRpc.bind({ identity: Identity.generate(), host: "127.0.0.1", port: 0, perSourceRate: 200 });
  b.onRequest(() => ({ type: "pong" }));
  const raw = dgram.createSocket("udp4");
  try {
    for (let i = 0; i < 1000; i++) await new Promise((r) => raw.send(randomBytes(100), b.local.port, "127.0.0.1", r));
    // a busy machine reads the flood later than it sent it: wait until all of it is read (or 5 s)
    for (let waited = 0; b.stats.received < 1000 && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    assert.ok(b.stats.droppedRateLimited > 0, "flood was limited");
    const reply = await a.request({ host: "127.0.0.1", port: b.local.port }, { type: "ping" });
    assert.equal(reply.response.type, "pong");
  } finally {
    raw.close();
    await Promise.all([a.close(), b.close()]);
  }
});

test("a node in client mode marks its requests and replies; a receiver of this release sees the mark", async () => {
  const { a, b } = await pair();
  const seen: boolean[] = [];
  b.onRequest((_from, req, sender) => {
    seen.push(sender.client);
    return req.type === "ping" ? { type: "pong" } : null;
  });
  a.onRequest((_from, _req, sender) => (seen.push(sender.client), { type: "pong" }));
  const to = (t: UdpRpc) => ({ host: "127.0.0.1", port: t.local.port, id: t.local.id, publicKey: t.local.publicKey });
  try {
    assert.equal((await a.request(to(b), { type: "ping" })).client, false);
    a.setClientMode(true);
    await a.request(to(b), { type: "ping" });
    assert.deepEqual(seen, [false, true], "b saw a's second request come from a client");
    const reply = await b.request(to(a), { type: "ping" });
    assert.equal(reply.client, true, "a's reply to b carries the mark too");
    a.setClientMode(false);
    assert.equal((await b.request(to(a), { type: "ping" })).client, false);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test("a request from a node of the previous release (a plain random txid) gets its txid back unchanged, also from a client", async () => {
  const { a, b } = await pair();
  b.setClientMode(true);
  const raw = dgram.createSocket("udp4");
  const old = Identity.generate();
  try {
    await new Promise<void>((r) => raw.bind(0, "127.0.0.1", () => r()));
    const replies: Buffer[] = [];
    raw.on("message", (msg) => replies.push(msg));
    for (let i = 0; i < 20; i++) {
      const txid = randomBytes(8);
      txid[0] = i === 0 ? 0x00 : (txid[0] === 0xa5 ? 0xa4 : txid[0]); // never the mark of this release
      await new Promise((r) => raw.send(sealEnvelope(old, MessageTypes.ping, txid, Date.now(), Buffer.alloc(0)), b.local.port, "127.0.0.1", r));
      await settle();
      const reply = openEnvelope(replies[replies.length - 1]);
      assert.deepEqual(reply.txid, txid, "the reply echoes the txid byte for byte");
    }
  } finally {
    raw.close();
    await Promise.all([a.close(), b.close()]);
  }
});

test("a stall of the process longer than a request's timeout does not time the request out", async () => {
  const { a, b } = await pair();
  b.onRequest(() => new Promise((resolve) => setTimeout(() => resolve({ type: "pong" }), 50))); // answers 50 ms after it reads the request
  try {
    const asked = a.request({ host: "127.0.0.1", port: b.local.port }, { type: "ping" }, { timeoutMs: 100 });
    const until = Date.now() + 400;
    while (Date.now() < until); // the event loop is blocked: b cannot even read the request before this ends
    const reply = await asked;
    assert.equal(reply.response.type, "pong");
    assert.equal(a.stats.requestTimeouts, 0);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test("over IPv6, a node learned from another node's answer answers when asked", async (t) => {
  const bindV6 = () => UdpRpc.bind({ identity: Identity.generate(), host: "::1", port: 0, timeoutMs: 1000 }).catch(() => null);
  const [a, b, c] = await Promise.all([bindV6(), bindV6(), bindV6()]);
  try {
    if (!a || !b || !c) return t.skip("no IPv6 loopback here");
    c.onRequest(() => ({ type: "pong" }));
    // b knows c by its address only (c has never sent this process a datagram) and names it in an answer
    b.onRequest(() => ({ type: "nodes", contacts: [c.local] }));
    const answer = await a.request({ host: "::1", port: b.local.port, id: b.local.id }, { type: "find_node", target: c.local.id });
    assert.ok(answer.response.type === "nodes");
    const learned = answer.response.contacts[0];
    assert.equal(learned.host, "::1");
    const reply = await a.request({ host: learned.host, port: learned.port, id: learned.id, publicKey: learned.publicKey }, { type: "ping" });
    assert.equal(reply.response.type, "pong");
    assert.ok(reply.from.id.equals(c.local.id));
    assert.equal(a.stats.droppedUnexpected, 0);
  } finally {
    await Promise.all([a?.close(), b?.close(), c?.close()]);
  }
});
