// The serving halves of NAT traversal on real loopback sockets, against bad input: the rendezvous
// (forwards only to registered clients, only PING and SIGNAL, answers only the requester), the
// relay (signed, fresh, members-only headers; bounded circuits; bytes passed unchanged), and the
// reachability check (a dial-back probe goes only to the requester's own address).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { Identity } from "../../node-host/security/identity";
import { UdpRpc } from "../../node-host/transport/udp-rpc";
import { RendezvousServer } from "../../node-host/nat/rendezvous-server";
import { forwardThrough, NotAtRendezvousError, RendezvousClient } from "../../node-host/nat/rendezvous-client";
import { RelayServer, RelaySettings } from "../../node-host/nat/relay-server";
import { acceptRelayed, newRelayToken, openRelayed } from "../../node-host/nat/relay-client";
import { encodeRelayHeader, RelayStatus, signedPart } from "../../node-host/nat/relay-wire";
import { encodeForward, NatTypes } from "../../node-host/nat/nat-wire";
import { ReachabilityCheck } from "../../node-host/nat/reachability-check";
import { ReachabilityState } from "../../node-host/nat/reachability";
import { punchPort, punchTcp } from "../../node-host/nat/tcp-punch";
import { sealEnvelope } from "../../node-host/transport/envelope";
import { MessageTypes } from "../../node-host/transport/wire";
import type { BulkPeer } from "../../node-host/transport/bulk";

const bind = (identity = Identity.generate()) => UdpRpc.bind({ identity, host: "127.0.0.1", port: 0, timeoutMs: 300 });

test("rendezvous: forwards a ping to a registered client and back, refuses unknown targets and other request types", async () => {
  const [server, client, asker] = await Promise.all([bind(), bind(), bind()]);
  try {
    const rv = new RendezvousServer({ rpc: server, serving: () => true });
    const rc = new RendezvousClient({ rpc: client, candidates: () => [server.local] });
    client.onRequest(() => ({ type: "pong" }));
    asker.forwarder = forwardThrough(asker);
    // not registered yet: the rendezvous says so at once
    await assert.rejects(forwardThrough(asker)(server.local, client.local, randomBytes(100), 500), NotAtRendezvousError);
    await rc.start();
    assert.equal(rv.clientCount, 1);
    const reply = await asker.request({ ...client.local, host: "192.0.2.1", port: 9, via: [server.local] }, { type: "ping" });
    assert.equal(reply.response.type, "pong");
    assert.ok(reply.from.id.equals(client.local.id), "the answer is the client's own, sealed end to end");
    assert.equal(rv.forwardedCount, 1);
    // a FIND_NODE is not forwarded: a client is not asked for routing
    const findNode = sealEnvelope(Identity.generate(), MessageTypes.find_node, randomBytes(8), Date.now(), randomBytes(32));
    const refused = await asker.requestRaw(server.local, { type: NatTypes.forward, payload: encodeForward(client.local.id, findNode) });
    assert.equal(refused.type, NatTypes.forwarded);
    assert.equal(refused.payload.readUInt16BE(0), 0, "an empty answer: not forwarded");
    assert.equal(rv.refusedCount >= 2, true);
    // a node that does not serve (not proven reachable) registers nobody
    const quietRpc = await bind();
    const quiet = new RendezvousServer({ rpc: quietRpc, serving: () => false });
    await new RendezvousClient({ rpc: asker, candidates: () => [quietRpc.local] }).start().then(() => undefined);
    assert.equal(quiet.clientCount, 0);
    await quietRpc.close();
    await rc.stop();
  } finally {
    await Promise.all([server.close(), client.close(), asker.close()]);
  }
});

test("rendezvous client: takes RELAYED requests only from its own rendezvous nodes", async () => {
  const [client, stranger] = await Promise.all([bind(), bind()]);
  try {
    new RendezvousClient({ rpc: client, candidates: () => [] });
    const inner = sealEnvelope(Identity.generate(), MessageTypes.ping, randomBytes(8), Date.now(), Buffer.alloc(0));
    const payload = Buffer.concat([Buffer.from([4, 127, 0, 0, 1, 0, 9]), Buffer.from([inner.length >> 8, inner.length & 0xff]), inner]);
    await assert.rejects(stranger.requestRaw(client.local, { type: NatTypes.relayed, payload }, 300), /no answer/);
  } finally {
    await Promise.all([client.close(), stranger.close()]);
  }
});

test("dial-back: the probe goes to the requester's own address, once per few seconds per requester, and proves reachability on loopback", async () => {
  const [main, second, peerMain, peerSecond] = await Promise.all([bind(), bind(), bind(), bind()]);
  try {
    const state = new ReachabilityState(() => [{ host: "127.0.0.1", port: 0 }]);
    const check = new ReachabilityCheck({ rpc: main, secondary: second, state, peers: () => [peerMain.local] });
    new ReachabilityCheck({ rpc: peerMain, secondary: peerSecond, state: new ReachabilityState(() => []), peers: () => [] });
    await check.check();
    assert.equal(state.reachability, "reachable");
    assert.equal(state.mapping, "none");
    assert.deepEqual(state.external, { host: "127.0.0.1", port: main.local.port });
    // a short DIAL_BACK (no padding) is not answered: the answer and the probe would outweigh it
    await assert.rejects(main.requestRaw(peerMain.local, { type: NatTypes.dialBack, payload: randomBytes(16) }, 300), /no answer/);
    // a burst of requests gets at most two probes
    const answers = await Promise.allSettled(Array.from({ length: 4 }, () => main.requestRaw(peerMain.local, { type: NatTypes.dialBack, payload: Buffer.alloc(160) }, 300)));
    assert.ok(answers.filter((a) => a.status === "fulfilled").length <= 2);
  } finally {
    await Promise.all([main.close(), second.close(), peerMain.close(), peerSecond.close()]);
  }
});

const settings = (mode: "members" | "anyone" | "off" = "anyone"): RelaySettings => ({ mode: () => mode, circuitBytesPerSecond: () => 0, totalBytesPerSecond: () => 0, circuitLifetimeMs: () => 60_000 });

async function relayOn(server: RelayServer): Promise<{ peer: BulkPeer; close: () => Promise<void> }> {
  const tcp = net.createServer((socket) => {
    socket.once("readable", () => {
      const first = socket.read() as Buffer;
      socket.unshift(first);
      if (!server.accept(socket, first)) socket.destroy();
    });
  });
  tcp.listen(0, "127.0.0.1");
  await once(tcp, "listening");
  return { peer: { id: relayId.id, publicKey: relayId.publicKey, host: "127.0.0.1", port: (tcp.address() as net.AddressInfo).port }, close: () => new Promise((r) => tcp.close(() => r())) };
}
const relayId = Identity.generate();

test("relay: splices a requester and its target byte for byte, after both signed headers check out", async () => {
  const server = new RelayServer({ self: relayId.id, settings: settings(), isMember: () => true });
  const { peer, close } = await relayOn(server);
  try {
    const [a, b] = [Identity.generate(), Identity.generate()];
    const token = newRelayToken();
    const [sa, sb] = await Promise.all([openRelayed(peer, a, b.id, token, [], 3000), new Promise((r) => setTimeout(r, 50)).then(() => acceptRelayed(peer, b, token, 3000))]);
    const data = randomBytes(1 << 20);
    const received: Buffer[] = [];
    sb.on("data", (d: Buffer) => received.push(d)).resume(); // a relayed socket is handed over paused
    sa.end(data);
    await once(sb, "end");
    assert.ok(Buffer.concat(received).equals(data));
    assert.equal(server.stats.circuitsOpened, 1);
    assert.ok(server.stats.bytesRelayed >= data.length);
    sa.destroy();
    sb.destroy();
  } finally {
    server.close();
    await close();
  }
});

test("relay: header timestamps are checked against the relay's corrected clock; a requester stamps with its own", async () => {
  // the relay's system clock runs 8 minutes behind (more than the 5 minutes a header may be off);
  // corrected from its peers' answers, it reads their time
  const skew = 8 * 60_000;
  const server = new RelayServer({ self: relayId.id, settings: settings(), isMember: () => true, now: () => Date.now() });
  const uncorrected = new RelayServer({ self: relayId.id, settings: settings(), isMember: () => true, now: () => Date.now() - skew });
  const [relay, stale] = [await relayOn(server), await relayOn(uncorrected)];
  try {
    const [a, b] = [Identity.generate(), Identity.generate()];
    const token = newRelayToken();
    const [sa, sb] = await Promise.all([openRelayed(relay.peer, a, b.id, token, [], 3000, Date.now()), new Promise((r) => setTimeout(r, 50)).then(() => acceptRelayed(relay.peer, b, token, 3000, Date.now()))]);
    sa.destroy();
    sb.destroy();
    await assert.rejects(openRelayed(stale.peer, a, b.id, newRelayToken(), [], 3000, Date.now()), /stale header|refused/, "the uncorrected clock finds the same header stale");
  } finally {
    server.close();
    uncorrected.close();
    await relay.close();
    await stale.close();
  }
});

test("relay: refuses forged, stale, replayed-elsewhere and non-member headers, a wrong target, floods, and everything when off", async () => {
  const member = Identity.generate();
  const server = new RelayServer({ self: relayId.id, settings: settings("members"), isMember: (id) => id.equals(member.id) });
  const { peer, close } = await relayOn(server);
  const statusOf = async (header: Buffer) => {
    const s = net.connect(peer.port, "127.0.0.1");
    s.write(header);
    const [chunk] = (await once(s, "data")) as [Buffer];
    s.destroy();
    return chunk[0];
  };
  const connect = (who: Identity, opts: { relay?: Buffer; timestamp?: number; tamper?: boolean } = {}) => {
    const unsigned = { kind: "connect" as const, publicKey: who.publicKey, target: Identity.generate().id, token: newRelayToken(), timestamp: opts.timestamp ?? Date.now(), memberships: [] };
    const signature = who.sign(signedPart(opts.relay ?? relayId.id, unsigned));
    if (opts.tamper) signature[0] ^= 1;
    return encodeRelayHeader({ ...unsigned, signature });
  };
  try {
    assert.equal(await statusOf(connect(Identity.generate())), RelayStatus.refused, "not a member");
    assert.equal(await statusOf(connect(member, { tamper: true })), RelayStatus.refused, "forged");
    assert.equal(await statusOf(connect(member, { timestamp: Date.now() - 3600_000 })), RelayStatus.refused, "stale");
    assert.equal(await statusOf(connect(member, { relay: Identity.generate().id })), RelayStatus.refused, "signed for another relay");
    // a target that presents the token but is not the node named: refused
    const token = newRelayToken();
    const waiting = openRelayed(peer, member, Identity.generate().id, token, [], 2000).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(acceptRelayed(peer, Identity.generate(), token, 1000), /did not arrive|status/);
    // at most four circuits waiting or open per requester
    const flood = Array.from({ length: 6 }, () => openRelayed(peer, member, Identity.generate().id, newRelayToken(), [], 500).catch((e: Error) => e.message));
    const results = await Promise.all(flood);
    assert.ok(results.filter((m) => /busy/.test(String(m))).length >= 2, JSON.stringify(results));
    await waiting;
    assert.ok(server.stats.refused >= 6);
    // garbage on the port is dropped without an answer
    const junk = net.connect(peer.port, "127.0.0.1");
    junk.write(Buffer.concat([Buffer.from("PSR1"), Buffer.from([9, 0, 4]), randomBytes(4)]));
    await once(junk, "close");
  } finally {
    server.close();
    await close();
  }
  const off = new RelayServer({ self: relayId.id, settings: settings("off"), isMember: () => true });
  const offPort = await relayOn(off);
  try {
    await assert.rejects(openRelayed(offPort.peer, member, Identity.generate().id, newRelayToken(), [], 1000), /refused/);
  } finally {
    off.close();
    await offPort.close();
  }
});

test("TCP hole punch: a port that keeps refusing is tried until the deadline, then an error names both ends", async () => {
  const port = punchPort();
  await assert.rejects(punchTcp(port, { host: "127.0.0.1", port: port === 20000 ? 20001 : port - 1 }, 600), /no TCP connection through to 127\.0\.0\.1:\d+ from port \d+/);
});
