// Which address hints a node puts into its links (own-hints.ts), which of a link's hints a fetcher
// tries (screen-hints.ts), and FirstContact following them over real UDP on 127.0.0.1: the node a
// direct hint names answers; a hint that points at another node, at a port that answers garbage or
// at nothing costs one timeout and is reported as skipped, never taken for the node it names.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { randomBytes } from "node:crypto";
import { Identity } from "../../node-host/security/identity";
import { defaultConfig } from "../../node-host/config";
import { Dht } from "../../node-host/dht/dht";
import { Maintenance } from "../../node-host/maintenance";
import { UdpRpc } from "../../node-host/transport/udp-rpc";
import { chooseHints, OwnHintInputs, resolvePublicAddress } from "../../node-host/first-contact/own-hints";
import { screenHints } from "../../node-host/first-contact/screen-hints";
import { FirstContact, HintOutcome } from "../../node-host/first-contact/first-contact";
import { Hints } from "../../node-host/first-contact/hints";

const me = Identity.generate();
const base: OwnHintInputs = {
  publicKey: me.publicKey,
  port: 7420,
  boundHost: "0.0.0.0",
  nat: { reachability: "unknown", external: null, rendezvous: [] },
  publicAddress: null,
  interfaces: ["127.0.0.1", "::1", "192.168.1.10", "fe80::1", "2001:db8:1::10"],
};
const rendezvousNode = { id: "ab".repeat(32), host: "203.0.113.10", port: 7420 };

test("a reachable node names its public addresses only; a port forward's address comes first", () => {
  const reachable = { ...base, interfaces: [...base.interfaces!, "203.0.113.20"], nat: { reachability: "reachable" as const, external: { host: "203.0.113.20", port: 7420 }, rendezvous: [] } };
  assert.deepEqual(chooseHints(reachable).direct, [{ host: "203.0.113.20", port: 7420 }]);
  const forwarded = { ...base, nat: { reachability: "reachable" as const, external: { host: "198.51.100.4", port: 40001 }, rendezvous: [] }, publicAddress: { host: "198.51.100.4", port: 7420 } };
  assert.deepEqual(chooseHints(forwarded).direct, [
    { host: "198.51.100.4", port: 7420 },
    { host: "198.51.100.4", port: 40001 },
  ]);
  // on "::" an IPv6 address can be named; on 0.0.0.0 not (the socket does not take IPv6)
  assert.deepEqual(chooseHints({ ...reachable, boundHost: "::" }).direct.map((d) => d.host), ["203.0.113.20", "2001:db8:1::10"]);
});

test("behind NAT: one LAN address and the rendezvous nodes by ID prefix; on a LAN: the LAN address; on loopback: loopback", () => {
  const behind = chooseHints({ ...base, nat: { reachability: "unreachable", external: { host: "203.0.113.101", port: 7420 }, rendezvous: [rendezvousNode] } });
  assert.deepEqual(behind.direct, [{ host: "192.168.1.10", port: 7420 }]);
  assert.deepEqual(behind.rendezvous, [{ idPrefix: Buffer.from("ab".repeat(8), "hex"), host: "203.0.113.10", port: 7420 }]);
  assert.deepEqual(chooseHints(base).direct, [{ host: "192.168.1.10", port: 7420 }], "a LAN node whose reachability is not known yet");
  assert.deepEqual(chooseHints({ ...base, boundHost: "127.0.0.1" }).direct, [{ host: "127.0.0.1", port: 7420 }]);
  assert.deepEqual(chooseHints({ ...base, interfaces: ["127.0.0.1", "169.254.3.3"] }).direct, [], "no link-local address, and loopback only on a node that listens on nothing else");
});

test("the publicAddress setting becomes an address for the hints: IPv4, IPv6 in brackets, or a name resolved now", async () => {
  assert.deepEqual(await resolvePublicAddress("198.51.100.4:7420"), { host: "198.51.100.4", port: 7420 });
  assert.deepEqual(await resolvePublicAddress("[2001:DB8::1]:443"), { host: "2001:db8::1", port: 443 });
  const named = await resolvePublicAddress("localhost:7420"); // /etc/hosts: no DNS server needed
  assert.ok(named && ["127.0.0.1", "::1"].includes(named.host) && named.port === 7420, JSON.stringify(named));
  assert.equal(await resolvePublicAddress(""), null);
});

test("a fetcher skips hints no datagram should go to, and private ones from a link that names public ones", () => {
  const hints: Hints = {
    node: me.publicKey,
    direct: [
      { host: "203.0.113.20", port: 7420 },
      { host: "192.168.1.10", port: 7420 },
      { host: "0.0.0.0", port: 7420 },
      { host: "239.1.2.3", port: 7420 },
      { host: "127.0.0.1", port: 7420 },
    ],
    rendezvous: [{ idPrefix: randomBytes(8), host: "ff02::1", port: 7420 }],
    unknown: 1,
  };
  const s = screenHints(hints);
  assert.deepEqual(s.direct, [{ host: "203.0.113.20", port: 7420 }]);
  assert.deepEqual(s.rendezvous, []);
  const why = Object.fromEntries(s.skipped.map((o) => [o.hint, o.reason]));
  assert.match(why["direct 192.168.1.10:7420"], /private or local address, from a link that names public ones/);
  assert.match(why["direct 127.0.0.1:7420"], /private or local/);
  assert.match(why["direct 0.0.0.0:7420"], /no datagram can be sent to/);
  assert.match(why["direct 239.1.2.3:7420"], /no datagram can be sent to/);
  assert.match(why["rendezvous [ff02::1]:7420"], /no datagram can be sent to/);
  assert.match(why.unknown, /kind this version of peershare does not know/);
  // a LAN-only link keeps its LAN addresses
  assert.deepEqual(screenHints({ ...hints, direct: [{ host: "192.168.1.10", port: 7420 }], rendezvous: [], unknown: 0 }).direct, [{ host: "192.168.1.10", port: 7420 }]);
});

/** A DHT node on 127.0.0.1 with its maintenance, as a node runs them. */
async function udpNode(t: test.TestContext) {
  const identity = Identity.generate();
  const config = { ...defaultConfig(), rpcTimeoutMs: 300 };
  const rpc = await UdpRpc.bind({ identity, host: "127.0.0.1", port: 0, timeoutMs: config.rpcTimeoutMs });
  const dht = new Dht(rpc, { k: 20 }, identity);
  const maintenance = new Maintenance(dht, config, () => undefined);
  t.after(async () => {
    await maintenance.stop();
    await rpc.close();
  });
  return { identity, rpc, dht, maintenance, port: rpc.local.port };
}

test("following hints over UDP: the named node answers at its address; another node, garbage and silence are skipped with a reason", async (t) => {
  const sharer = await udpNode(t);
  const other = await udpNode(t);
  const rendezvous = await udpNode(t);
  const fetcher = await udpNode(t);
  const garbage = dgram.createSocket("udp4");
  await new Promise<void>((r) => garbage.bind(0, "127.0.0.1", r));
  garbage.on("message", (_m, from) => garbage.send(randomBytes(64), from.port, from.address));
  const silent = dgram.createSocket("udp4");
  await new Promise<void>((r) => silent.bind(0, "127.0.0.1", r));
  t.after(() => (garbage.close(), silent.close()));
  const at = (port: number) => ({ host: "127.0.0.1", port });
  const first = new FirstContact({ self: fetcher.identity.id, transport: fetcher.rpc, maintenance: fetcher.maintenance });

  const outcomes: HintOutcome[] = [];
  const started = Date.now();
  const reached = await first.reach(
    {
      node: sharer.identity.publicKey,
      direct: [at(other.port), at(garbage.address().port), at(silent.address().port), at(sharer.port)],
      rendezvous: [{ idPrefix: sharer.identity.id.subarray(0, 8), host: "127.0.0.1", port: other.port }],
      unknown: 0,
    },
    (o) => outcomes.push(o),
  );
  t.diagnostic(`five hints followed in ${Date.now() - started} ms`);
  assert.ok(Date.now() - started < 5000, "bad hints cost one timeout, all at once");
  assert.deepEqual(reached.node && { id: reached.node.id, host: reached.node.host, port: reached.node.port }, { id: sharer.identity.id, ...at(sharer.port) });
  assert.equal(reached.node?.via, undefined);
  const why = Object.fromEntries(outcomes.map((o) => [o.hint, `${o.outcome}: ${o.reason}`]));
  assert.match(why[`direct 127.0.0.1:${sharer.port}`], /^used: node [0-9a-f]{12}… answered there/);
  for (const port of [other.port, garbage.address().port, silent.address().port]) assert.match(why[`direct 127.0.0.1:${port}`], /^skipped: no answer from node [0-9a-f]{12}… there/);
  assert.match(why[`rendezvous 127.0.0.1:${other.port}`], new RegExp(`^skipped: node ${other.identity.id.toString("hex").slice(0, 12)}… answered there, not the ${sharer.identity.id.subarray(0, 8).toString("hex")}… the hint names`));
  assert.ok(fetcher.dht.table.get(sharer.identity.id), "the sharer is a contact now");
  assert.equal(fetcher.dht.table.get(other.identity.id), undefined, "a node that answered for another is not taken in");

  // a rendezvous hint that names a node which answers: the node behind it is tried through it
  const viaOutcomes: HintOutcome[] = [];
  const fresh = await udpNode(t);
  const viaOnly = await new FirstContact({ self: fresh.identity.id, transport: fresh.rpc, maintenance: fresh.maintenance }).reach(
    { node: sharer.identity.publicKey, direct: [], rendezvous: [{ idPrefix: rendezvous.identity.id.subarray(0, 8), ...at(rendezvous.port) }], unknown: 0 },
    (o) => viaOutcomes.push(o),
  );
  assert.match(viaOutcomes[0].reason, /rendezvous node [0-9a-f]{12}… answered there/);
  assert.ok(fresh.dht.table.get(rendezvous.identity.id), "the rendezvous node is a bootstrap contact");
  // plain UDP nodes forward nothing: the sharer behind it is reported, not returned
  assert.equal(viaOnly.node, null);
  assert.match(viaOutcomes[1].reason, /no request forwarded through them reached it/);
  assert.equal(viaOnly.answered.length, 1);
});
