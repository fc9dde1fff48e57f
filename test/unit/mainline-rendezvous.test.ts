// The Mainline rendezvous: its daily topics, and two nodes meeting in a local swarm of
// bittorrent-dht nodes (standing in for the Mainline DHT) through their own peershare UDP sockets,
// each taking the other's identity from its signed answer, not from the DHT.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import * as dgram from "node:dgram";
import { Identity } from "../../node-host/security/identity";
import { UdpRpc } from "../../node-host/transport/udp-rpc";
import { Contact } from "../../node-host/dht/messages";
import { isKrpc, krpcSeenAs, MainlineRendezvous, mainlineTopic, MIDNIGHT_MARGIN_MS, topicsAt, utcDay } from "../../node-host/nat/mainline-rendezvous";
import { waitFor } from "../helpers/cli";

const DAY = 24 * 3600_000;

test("a team's Mainline topic: 20 bytes of HMAC-SHA256(team key, label + UTC day), another each day and for each team", () => {
  const key = randomBytes(32);
  const t = mainlineTopic(key, "2026-12-07");
  assert.equal(t.length, 20);
  assert.ok(t.equals(createHmac("sha256", key).update("peershare-mainline-topic/2026-12-07").digest().subarray(0, 20)));
  assert.ok(t.equals(mainlineTopic(Buffer.from(key), "2026-12-07")), "the same for every member");
  assert.ok(!t.equals(mainlineTopic(key, "2026-12-08")), "rotates daily");
  assert.ok(!t.equals(mainlineTopic(randomBytes(32), "2026-12-07")), "another team, another topic");
  assert.equal(utcDay(Date.UTC(2026, 11, 7, 23, 59)), "2026-12-07");
});

test("around midnight the neighbouring day's topic is used too; at midday only the day's", () => {
  const key = randomBytes(32);
  const midnight = Date.UTC(2026, 11, 8);
  assert.deepEqual(topicsAt(key, midnight + DAY / 2).map((x) => x.day), ["2026-12-08"]);
  assert.deepEqual(topicsAt(key, midnight + 60_000).map((x) => x.day), ["2026-12-08", "2026-12-07"]);
  assert.deepEqual(topicsAt(key, midnight - 60_000).map((x) => x.day), ["2026-12-07", "2026-12-08"]);
  assert.deepEqual(topicsAt(key, midnight + MIDNIGHT_MARGIN_MS + 1).map((x) => x.day), ["2026-12-08"]);
  for (const { day, topic } of topicsAt(key, midnight + 1)) assert.ok(topic.equals(mainlineTopic(key, day)));
});

test("KRPC datagrams (bencoded dictionaries) are told from peershare envelopes and STUN", () => {
  assert.equal(isKrpc(Buffer.from("d1:t2:aa1:y1:qe")), true);
  assert.equal(isKrpc(Buffer.from([0x50, 1, 2, 3])), false);
  assert.equal(isKrpc(Buffer.from([0x00, 0x01, 0x00, 0x00])), false);
  assert.equal(isKrpc(Buffer.from("d")), false);
});

test("a KRPC response's BEP 42 address (what the responder saw this node's query come from) is read; anything else names none", () => {
  const compact = Buffer.from([203, 0, 113, 9, 0x1c, 0xfc]);
  const response = Buffer.concat([Buffer.from("d2:ip6:"), compact, Buffer.from("1:rd2:id20:xxxxxxxxxxxxxxxxxxxxe1:t2:aa1:y1:re")]);
  assert.deepEqual(krpcSeenAs(response), { host: "203.0.113.9", port: 7420 });
  assert.equal(krpcSeenAs(Buffer.from("d1:rd2:id20:xxxxxxxxxxxxxxxxxxxxe1:t2:aa1:y1:re")), null);
  assert.equal(krpcSeenAs(Buffer.from("d2:ip6:abc")), null, "truncated");
  assert.equal(krpcSeenAs(Buffer.concat([Buffer.from("d2:ip6:"), Buffer.from([1, 2, 3, 4, 0, 0]), Buffer.from("e")])), null, "port 0");
});

// ---------------------------------------------------------------------------

interface SwarmNode {
  listen(port: number, host: string, cb: () => void): void;
  address(): { port: number };
  destroy(cb: () => void): void;
  on(event: string, fn: () => void): void;
}

/** A few bittorrent-dht nodes on 127.0.0.1 that know each other: a Mainline DHT in miniature. */
async function swarm(n: number): Promise<{ addresses: string[]; stop: () => Promise<void> }> {
  const DHT = (await import("bittorrent-dht")).default as new (o: Record<string, unknown>) => SwarmNode;
  const nodes: SwarmNode[] = [];
  const addresses: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = new DHT({ bootstrap: addresses.slice(), host: "127.0.0.1" });
    d.on("warning", () => undefined);
    d.on("error", () => undefined);
    await new Promise<void>((r) => d.listen(0, "127.0.0.1", r));
    nodes.push(d);
    addresses.push(`127.0.0.1:${d.address().port}`);
  }
  return { addresses, stop: () => Promise.all(nodes.map((d) => new Promise<void>((r) => d.destroy(r)))).then(() => undefined) };
}

async function member(teamKey: Buffer, bootstrap: string[], found: Contact[], lines: string[]) {
  const rpc = await UdpRpc.bind({ identity: Identity.generate(), host: "127.0.0.1", port: 0, timeoutMs: 500 });
  rpc.onRequest((_from, req) => (req.type === "ping" ? { type: "pong" } : null));
  const m = await MainlineRendezvous.start({
    udp: rpc,
    teamKeys: () => [teamKey],
    teamName: () => "core",
    bootstrap,
    self: rpc.local.id,
    ping: async (at) => (await rpc.request(at, { type: "ping" }, { retries: 0 })).from,
    pingNode: (node) => rpc.request(node, { type: "ping" }, { retries: 0 }).then(() => true, () => false),
    onFound: async (node) => void found.push(node),
    log: (line) => lines.push(line),
    acceptFound: () => true, // loopback, here
  });
  return { rpc, m };
}

test("two members meet in a local Mainline swarm through their peershare sockets; garbage there crashes nothing", { timeout: 120_000 }, async () => {
  const s = await swarm(6);
  const teamKey = randomBytes(32);
  const foundByA: Contact[] = [];
  const foundByB: Contact[] = [];
  const lines: string[] = [];
  const a = await member(teamKey, s.addresses, foundByA, lines);
  const b = await member(teamKey, s.addresses, foundByB, lines);
  const outsider = await member(randomBytes(32), s.addresses, [], lines);
  const junk = dgram.createSocket("udp4");
  try {
    // bencoded garbage, a truncated KRPC message and random bytes at a member's port
    for (const d of [Buffer.from("d1:y1:q1:q9:get_peers1:ad2:id3:abcee"), Buffer.from("d1:t"), randomBytes(60), Buffer.from("de")]) junk.send(d, a.rpc.local.port, "127.0.0.1");
    await waitFor("b to find a", async () => foundByB.some((c) => c.id.equals(a.rpc.local.id)), 60_000, 200);
    await waitFor("a to find b", async () => foundByA.some((c) => c.id.equals(b.rpc.local.id)), 60_000, 200);
    const atA = a.m.get(b.rpc.local.id)!;
    assert.equal(atA.port, b.rpc.local.port, "b is known at its peershare port: the announce named the port its datagrams came from");
    assert.ok(!foundByA.concat(foundByB).some((c) => c.id.equals(outsider.rpc.local.id)), "another team's node is under another topic");
    assert.equal(outsider.m.status().found.length, 0);
    assert.ok(a.m.status().mainlineNodes > 0);
    assert.ok(lines.some((l) => /answered at 127\.0\.0\.1:\d+ \(announced under team core's topic; its identity is its signature\)/.test(l)), lines.join("\n"));
  } finally {
    junk.close();
    for (const x of [a, b, outsider]) {
      await x.m.stop();
      await x.rpc.close();
    }
    await s.stop();
  }
});
