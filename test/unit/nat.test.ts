// NAT traversal's pure parts: addresses, the NAT messages, reach records, the reachability state.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { formatAddress, isPublicAddress, normalizeHost, readAddress, writeAddress } from "../../node-host/nat/address";
import { BinaryReader, BinaryWriter } from "../../node-host/util/binary";
import * as natWire from "../../node-host/nat/nat-wire";
import { decodeReach, encodeReach, ReachInfo } from "../../node-host/nat/reach-record";
import { ReachabilityState } from "../../node-host/nat/reachability";
import { natPathsTo, punchTarget, signalledIn } from "../../node-host/nat/nat-paths";
import { canSendTo, familiesOf } from "../../node-host/transport/address-families";
import { Identity } from "../../node-host/security/identity";

test("addresses: public or not, one text form, a binary round trip", () => {
  for (const h of ["203.0.113.7", "8.8.8.8", "2001:db8::1:2", "2a00:1450::1"]) assert.equal(isPublicAddress(h), true, h);
  for (const h of ["10.1.2.3", "192.168.1.1", "172.20.0.1", "127.0.0.1", "100.64.0.1", "169.254.1.1", "::1", "fd00::1", "fe80::1", "0.0.0.0", "not an ip"]) assert.equal(isPublicAddress(h), false, h);
  assert.equal(normalizeHost("::ffff:203.0.113.7"), "203.0.113.7");
  assert.equal(normalizeHost("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  assert.equal(formatAddress({ host: "2001:db8::1", port: 7 }), "[2001:db8::1]:7");
  for (const a of [{ host: "203.0.113.7", port: 1 }, { host: "2001:db8::1:2", port: 65535 }, { host: "::ffff:10.0.0.1", port: 9 }]) {
    const w = new BinaryWriter();
    writeAddress(w, a);
    assert.deepEqual(readAddress(new BinaryReader(w.finish())), { host: normalizeHost(a.host), port: a.port });
  }
});

test("NAT messages round-trip, requests are at least as long as their answers, garbage is a clear error", () => {
  const seen = { host: "2001:db8::42", port: 40000 };
  const observe = natWire.encodeObserve();
  const observed = natWire.encodeObserved(seen, 12345);
  assert.ok(observe.length + 16 >= observed.length, "OBSERVE is padded toward its answer's size");
  assert.deepEqual(natWire.decodeObserved(observed), { seen, secondaryPort: 12345 });
  const nonce = randomBytes(16);
  const dialBack = natWire.encodeDialBack(nonce);
  assert.ok(dialBack.length >= natWire.DIAL_BACK_PAYLOAD_BYTES);
  assert.deepEqual(natWire.decodeNonce(dialBack, natWire.DIAL_BACK_PAYLOAD_BYTES), nonce);
  assert.throws(() => natWire.decodeNonce(nonce, natWire.DIAL_BACK_PAYLOAD_BYTES), /bad nonce/);
  const terms = { seen, keepAliveSeconds: 25, ttlSeconds: 75 };
  assert.deepEqual(natWire.decodeRendezvousOk(natWire.encodeRendezvousOk(terms)), terms);
  const inner = randomBytes(300);
  const target = randomBytes(32);
  assert.deepEqual(natWire.decodeForward(natWire.encodeForward(target, inner)), { target, inner });
  assert.deepEqual(natWire.decodeRelayed(natWire.encodeRelayed(seen, inner)), { origin: seen, inner });
  assert.throws(() => natWire.decodeForward(natWire.encodeForward(target, randomBytes(natWire.MAX_INNER_BYTES + 1))), /exceeds/);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1300 }), (bytes) => {
      const b = Buffer.from(bytes);
      for (const decode of [natWire.decodeObserved, natWire.decodeRendezvousOk, natWire.decodeForward, natWire.decodeRelayed, natWire.decodeInner, natWire.decodeRendezvous]) {
        try {
          decode(b);
        } catch (err) {
          assert.equal((err as Error).name, "WireFormatError");
        }
      }
    }),
  );
});

test("reach records round-trip; a malformed one is refused", () => {
  const rv = Identity.generate();
  const info: ReachInfo = {
    reachable: false,
    udp: true,
    mapping: "endpoint-independent",
    external: [{ host: "203.0.113.101", port: 41000 }],
    rendezvous: [{ id: rv.id, publicKey: rv.publicKey, host: "203.0.113.10", port: 7420 }],
    updated: 1_700_000_000_000,
  };
  assert.deepEqual(decodeReach(encodeReach(info)), info);
  const bytes = encodeReach(info);
  assert.ok(bytes.length < 200, `${bytes.length} bytes`);
  assert.throws(() => decodeReach(Buffer.concat([bytes, Buffer.from([0])])), /trailing/);
  assert.throws(() => decodeReach(Buffer.from([9, 0, 0])), /version/);
});

test("reachability: the most reported external address wins, a dial-back decides, a new external address reopens the question", () => {
  let now = 1000;
  const state = new ReachabilityState(() => [{ host: "192.168.1.5", port: 0 }], () => now);
  assert.deepEqual(state.snapshot(), { reachability: "unknown", external: null, mapping: "unknown" });
  state.observed("a", { host: "203.0.113.101", port: 5000 });
  state.observed("b", { host: "203.0.113.101", port: 5000 });
  state.observed("liar", { host: "198.51.100.9", port: 1 });
  assert.deepEqual(state.external, { host: "203.0.113.101", port: 5000 });
  assert.equal(state.mapping, "unknown", "no second-port observation yet");
  state.observed("a", { host: "203.0.113.101", port: 5000 }, true);
  assert.equal(state.mapping, "endpoint-independent");
  state.observed("b", { host: "203.0.113.101", port: 6001 }, true);
  assert.equal(state.mapping, "endpoint-dependent");
  state.observed("c", { host: "203.0.113.9", port: 1 }, true);
  assert.equal(state.mapping, "endpoint-dependent", "a second-port report alone counts for nothing");
  const seenAs = { host: "203.0.113.101", port: 5000 };
  state.dialBack(false, seenAs);
  assert.equal(state.reachability, "unreachable");
  state.dialBack(true, seenAs);
  assert.equal(state.reachability, "reachable");
  // behind an endpoint-dependent NAT peers see other ports of the same address: the verdict holds
  now += 1000;
  state.observed("e", { host: "203.0.113.101", port: 6002 });
  state.observed("f", { host: "203.0.113.101", port: 6002 });
  state.observed("g", { host: "203.0.113.101", port: 6002 });
  assert.equal(state.external?.port, 6002);
  assert.equal(state.reachability, "reachable");
  // the network changed: every peer now sees another address
  now += 60_000;
  for (const p of ["a", "b", "c", "d", "e", "f", "g", "h"]) state.observed(p, { host: "203.0.113.200", port: 7000 });
  assert.equal(state.reachability, "unknown");
  // no NAT: the external address is one of the node's own
  const open = new ReachabilityState(() => [{ host: "203.0.113.10", port: 0 }]);
  open.observed("a", { host: "203.0.113.10", port: 7420 });
  assert.equal(open.mapping, "none");
});

test("reachability of a dual-stack node: a verdict per family, unreachable when either is disproven", () => {
  const state = new ReachabilityState(() => [{ host: "203.0.113.10", port: 0 }, { host: "2001:db8::1:1", port: 0 }]);
  state.observed("v4peer", { host: "203.0.113.10", port: 7420 });
  state.observed("v6peer", { host: "2001:db8::1:1", port: 7420 });
  assert.deepEqual(state.externals.map((a) => a.host), ["203.0.113.10", "2001:db8::1:1"]);
  assert.equal(state.reachability, "unknown");
  state.dialBack(true, { host: "2001:db8::1:1", port: 7420 });
  assert.equal(state.reachability, "reachable", "proven over IPv6, not disproven over IPv4");
  state.dialBack(true, { host: "203.0.113.10", port: 7420 });
  assert.equal(state.reachability, "reachable");
  assert.equal(state.mapping, "none");
  state.dialBack(false, { host: "203.0.113.10", port: 7420 });
  assert.equal(state.reachability, "unreachable", "IPv4 peers cannot reach it");
});

test("the ways to a node behind NAT: connect back when reachable, a TCP then a WebRTC hole where neither NAT maps per destination, relay last (TURN makes WebRTC worth a try)", () => {
  const reach = (reachable: boolean, mapping: "none" | "endpoint-independent" | "endpoint-dependent", udp = true) => ({ reachable, mapping, udp });
  assert.deepEqual(natPathsTo(reach(true, "none"), reach(false, "endpoint-dependent")), ["reverse", "relay"]);
  assert.deepEqual(natPathsTo(reach(true, "none"), reach(false, "endpoint-independent")), ["reverse", "punch", "webrtc", "relay"]);
  assert.deepEqual(natPathsTo(reach(false, "endpoint-independent"), reach(false, "endpoint-independent")), ["punch", "webrtc", "relay"]);
  assert.deepEqual(natPathsTo(reach(false, "endpoint-independent"), reach(false, "endpoint-dependent")), ["relay"]);
  assert.deepEqual(natPathsTo(reach(false, "endpoint-dependent"), reach(false, "endpoint-dependent"), true, true), ["webrtc", "relay"]);
  assert.deepEqual(natPathsTo(reach(false, "none", false), reach(false, "endpoint-independent")), ["punch", "relay"], "no UDP: a TCP hole, else TCP through a relay");
  assert.deepEqual(natPathsTo(reach(false, "none"), reach(false, "none"), false), ["punch", "relay"], "no WebRTC on this node");
});

test("a punch over IPv6 is signalled through the rendezvous at its IPv6 address when the peer registered there (the other end checks the family)", () => {
  const key = (n: number) => Buffer.alloc(32, n);
  const s1v4 = { id: key(1), publicKey: key(1), host: "203.0.113.10", port: 7420 };
  const s1v6 = { ...s1v4, host: "2001:db8::10" };
  const s2v4 = { id: key(2), publicKey: key(2), host: "203.0.113.11", port: 7420 };
  const reach = { reachable: false, mapping: "none" as const, udp: true, rendezvous: [s1v6, s2v4] };
  const peer = { id: key(9), publicKey: key(9), host: "2001:db8:1::9", port: 7420, via: [s1v4, s2v4], reach };
  assert.deepEqual(signalledIn(peer, true).via, [s1v6], "s1 at its IPv6 address; s2, registered over IPv4 only, would pass on a signal the peer declines");
  assert.deepEqual(signalledIn(peer, false).via, [s1v4, s2v4]);
  assert.deepEqual(signalledIn({ ...peer, reach: { ...reach, rendezvous: [s2v4] } }, true).via, [s1v4, s2v4], "none in the family: as they were");
  assert.equal(signalledIn({ ...peer, via: undefined }, true).via, undefined);
});

test("the address to punch to: IPv6 first where both ends have one and the signal can travel in it, else IPv4", () => {
  const key = (n: number) => Buffer.alloc(32, n);
  const s1v4 = { id: key(1), publicKey: key(1), host: "203.0.113.10", port: 7420 };
  const s1v6 = { ...s1v4, host: "2001:db8::10" };
  const external = [{ host: "203.0.113.7", port: 40000 }, { host: "2001:db8:7::10", port: 40000 }];
  const dual = { id: key(9), publicKey: key(9), host: "203.0.113.7", port: 7420, via: [s1v4], reach: { reachable: false, mapping: "endpoint-independent" as const, udp: true, external, rendezvous: [s1v4, s1v6] } };
  const both = (ipv6: boolean) => (ipv6 ? "2001:db8:8::10" : "203.0.113.8");
  assert.equal(punchTarget(dual, both)?.host, "2001:db8:7::10");
  assert.equal(punchTarget(dual, (ipv6) => (ipv6 ? null : "203.0.113.8"))?.host, "203.0.113.7", "no IPv6 here");
  const v4Registered = { ...dual, reach: { ...dual.reach, rendezvous: [s1v4] } };
  assert.equal(punchTarget(v4Registered, both)?.host, "203.0.113.7", "its rendezvous only over IPv4: a signal would arrive in IPv4");
  assert.equal(punchTarget({ ...dual, reach: { ...dual.reach, external: [] } }, both), null);
});

test("address families: an IPv6-only host cannot send to IPv4 contacts (a request fails at once instead of timing out), loopback always works", () => {
  const v6only = familiesOf(["127.0.0.1", "::1", "fe80::1", "2001:db8:6::10"]);
  assert.deepEqual(v6only, { ipv4: false, ipv6: true });
  assert.equal(canSendTo("203.0.113.10", v6only), false);
  assert.equal(canSendTo("::ffff:203.0.113.10", v6only), false);
  assert.equal(canSendTo("127.0.0.1", v6only), true);
  assert.equal(canSendTo("2001:db8::1", v6only), true);
  const v4only = familiesOf(["127.0.0.1", "::1", "fe80::2", "192.168.7.10"]);
  assert.deepEqual(v4only, { ipv4: true, ipv6: false });
  assert.equal(canSendTo("2001:db8::1", v4only), false, "a link-local IPv6 address reaches no global one");
  assert.equal(canSendTo("198.18.5.10", v4only), true);
});
