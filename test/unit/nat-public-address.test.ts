// The publicAddress setting (a port forward) and NAT traversal: a node given one counts as
// reachable there before any peer checked it, names it as its external address, and serves as a
// rendezvous node; without one it waits for the checks.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Identity } from "../../node-host/security/identity";
import { UdpRpc } from "../../node-host/transport/udp-rpc";
import { Dht } from "../../node-host/dht/dht";
import { NatService } from "../../node-host/nat/nat-service";
import { encodeRendezvous, NatTypes, RendezvousFlags } from "../../node-host/nat/nat-wire";
import type { HostPort } from "../../node-host/nat/address";

async function natNode(t: test.TestContext, publicAddress: HostPort | null) {
  const identity = Identity.generate();
  const rpc = await UdpRpc.bind({ identity, host: "127.0.0.1", port: 0, timeoutMs: 500 });
  const dht = new Dht(rpc, { k: 20 }, identity);
  const nat = await NatService.start({
    rpc,
    dht,
    identity,
    relay: { mode: () => "members", circuitBytesPerSecond: () => 0, totalBytesPerSecond: () => 0, circuitLifetimeMs: () => 60_000 },
    isMember: () => true,
    isKnownMember: () => true,
    publicAddress,
  });
  t.after(async () => {
    await nat.stop();
    await rpc.close();
  });
  return { rpc, nat };
}

test("with publicAddress set, the node is reachable at it at once: its external address, its own way out, and it serves as rendezvous", async (t) => {
  const forwarded = { host: "203.0.113.7", port: 7420 };
  const { rpc, nat } = await natNode(t, forwarded);
  const s = nat.status();
  assert.equal(s.reachability, "reachable");
  assert.deepEqual(s.external, forwarded);
  assert.equal(nat.selfReach().reachable, true);
  assert.equal(nat.ownExternal(false), "203.0.113.7");
  assert.equal(nat.ownExternal(true), null, "no IPv6 address named or seen");

  // a node behind NAT registering with it is taken
  const client = await UdpRpc.bind({ identity: Identity.generate(), host: "127.0.0.1", port: 0, timeoutMs: 500 });
  t.after(() => client.close());
  const reply = await client.requestRaw(rpc.local, { type: NatTypes.rendezvous, payload: encodeRendezvous(RendezvousFlags.register) });
  assert.equal(reply.type, NatTypes.rendezvousOk);
  assert.equal(nat.status().rendezvousClients, 1);
});

test("without publicAddress, reachability is unknown until peers checked, and the node serves no rendezvous meanwhile", async (t) => {
  const { rpc, nat } = await natNode(t, null);
  assert.equal(nat.status().reachability, "unknown");
  assert.equal(nat.status().external, null);
  assert.equal(nat.ownExternal(false), null);
  const client = await UdpRpc.bind({ identity: Identity.generate(), host: "127.0.0.1", port: 0, timeoutMs: 300 });
  t.after(() => client.close());
  await assert.rejects(client.requestRaw(rpc.local, { type: NatTypes.rendezvous, payload: encodeRendezvous(RendezvousFlags.register) }));
  assert.equal(nat.status().rendezvousClients, 0);
});
