// DHT client mode on the in-memory network: a client asks (lookups, publishing) but peers keep it
// out of their routing tables and their answers; switching it on makes peers drop it at once, and
// switching it off lets them add it again.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { buildNetwork, SimNode } from "../../scripts/sim-network";
import { Dht } from "../../node-host/dht/dht";
import { Identity } from "../../node-host/security/identity";

/** Nodes (other than `self`) whose routing table holds `self`. */
function holders(nodes: SimNode[], self: Dht): number {
  return nodes.filter((n) => n.dht !== self && n.dht.table.get(self.id)).length;
}

test("a node that switches to client mode leaves every table, stays out while it asks, and comes back when it switches off", async () => {
  const { network, nodes } = await buildNetwork(60, { k: 8, alpha: 3 });
  const client = nodes[7];
  assert.ok(holders(nodes, client.dht) > 5, "a server sits in many tables");

  await client.dht.setClientMode(true);
  const told = nodes.filter((n) => client.dht.table.get(n.dht.id));
  assert.ok(told.every((n) => !n.dht.table.get(client.dht.id)), "the peers in its own table dropped it at once");
  // the others drop it at their next contact with it: here, their next health check
  for (const n of nodes) n.dht.settings.healthCheckIntervalMs = 0;
  await Promise.all(nodes.filter((n) => n !== client).map((n) => n.dht.checkHealth()));
  assert.equal(holders(nodes, client.dht), 0, "after one health check, no table holds it");

  // the client keeps asking: lookups, a publish; nobody adds it back, nobody returns it
  const identity = Identity.generate();
  const publisher = new Dht(network.createTransport(identity.publicKey, identity.id), { k: 8 }, identity);
  await publisher.join([{ host: nodes[0].transport.local.host, port: nodes[0].transport.local.port }]);
  for (let i = 0; i < 10; i++) {
    const { closest } = await client.dht.lookupNodes(randomBytes(32));
    assert.equal(closest.length, 8, "the client's own lookups work");
    const seen = await nodes[i].dht.lookupNodes(client.dht.id);
    assert.ok(!seen.closest.some((c) => c.id.equals(client.dht.id)), "no lookup finds the client");
  }
  assert.equal(holders(nodes, client.dht), 0, "its requests did not put it back in any table");
  assert.ok(client.dht.table.size > 5, "its own table works as before");

  await client.dht.setClientMode(false);
  assert.ok(holders(nodes, client.dht) > 0, "switched off, its neighbours add it again");
  const found = await nodes[3].dht.lookupNodes(client.dht.id);
  assert.ok(found.closest[0].id.equals(client.dht.id), "and lookups find it");
});

test("a peer that hears from a client it holds drops it, and a reply from a client is not a lookup result", async () => {
  const { nodes } = await buildNetwork(30, { k: 8, alpha: 3 });
  const client = nodes[4];
  const peer = nodes.find((n) => n !== client && n.dht.table.get(client.dht.id));
  assert.ok(peer, "some peer holds the future client");
  // only the transport switches (as if the node's LEAVE was lost): the next datagram carries the mark
  client.transport.setClientMode(true);
  await client.dht.ping(peer.transport.local);
  assert.equal(peer.dht.table.get(client.dht.id), undefined, "the peer dropped it on its next request");
  const { closest, queried } = await peer.dht.lookupNodes(client.dht.id);
  assert.ok(!closest.some((c) => c.id.equals(client.dht.id)), "a client that answers is not among the closest");
  assert.ok(queried.every((q) => !q.contact.id.equals(client.dht.id) || !q.ok));
});

test("a node whose only bootstrap contact is a DHT client still joins, through the servers the client knows", async () => {
  const { network, nodes } = await buildNetwork(30, { k: 8, alpha: 3 });
  const client = nodes[4];
  await client.dht.setClientMode(true);
  const identity = Identity.generate();
  const newcomer = new Dht(network.createTransport(identity.publicKey, identity.id), { k: 8 }, identity);
  const { reached } = await newcomer.join([{ host: client.transport.local.host, port: client.transport.local.port }]);
  assert.equal(reached, 1);
  assert.ok(newcomer.table.size >= 8, `the newcomer's table holds ${newcomer.table.size} contacts`);
  assert.equal(newcomer.table.get(client.dht.id), undefined, "the client itself stays out of it");
  const { closest } = await newcomer.lookupNodes(randomBytes(32));
  assert.equal(closest.length, 8, "and its lookups find the k closest");
  assert.ok(holders(nodes, newcomer) > 0, "the servers it met hold it");
});
