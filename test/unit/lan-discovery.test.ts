// The LAN announcement codec (sign/verify, stale, tampered, oversized) and the receive path of
// LanDiscovery, fed datagrams directly (no sockets): what reaches the DHT as a bootstrap candidate.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Identity, SignatureVerifier } from "../../node-host/security/identity";
import { nodeIdFromPublicKey } from "../../node-host/dht/id";
import { KnownAddress } from "../../node-host/dht/transport";
import {
  ANNOUNCEMENT_BYTES,
  ANNOUNCEMENT_FRESHNESS_MS,
  decodeAnnouncement,
  encodeAnnouncement,
  MAX_ANNOUNCEMENT_BYTES,
} from "../../node-host/discovery/announcement";
import { CandidateOutcome, LanDiscovery } from "../../node-host/discovery/lan";
import { isLoopbackHost, lanInterfaces } from "../../node-host/discovery/interfaces";

const verifier = () => new SignatureVerifier();

test("an announcement carries only key, port, kind and timestamp, signed, and decodes to the same", () => {
  const me = Identity.generate();
  const now = Date.now();
  const bytes = encodeAnnouncement(me, "announce", 7420, now);
  assert.equal(bytes.length, ANNOUNCEMENT_BYTES);
  assert.equal(bytes.length, 113);
  const d = decodeAnnouncement(bytes, now, verifier());
  assert.ok(d.ok);
  assert.equal(d.announcement.kind, "announce");
  assert.equal(d.announcement.port, 7420);
  assert.equal(d.announcement.timestamp, now);
  assert.deepEqual(d.announcement.publicKey, me.publicKey);
  assert.deepEqual(d.announcement.id, me.id);
  const q = decodeAnnouncement(encodeAnnouncement(me, "query", 1, now), now, verifier());
  assert.ok(q.ok && q.announcement.kind === "query" && q.announcement.port === 1);
});

test("stale announcements are dropped, either way beyond the freshness window", () => {
  const me = Identity.generate();
  const now = Date.now();
  const old = encodeAnnouncement(me, "announce", 7420, now - ANNOUNCEMENT_FRESHNESS_MS - 1);
  const future = encodeAnnouncement(me, "announce", 7420, now + ANNOUNCEMENT_FRESHNESS_MS + 1);
  assert.deepEqual(decodeAnnouncement(old, now, verifier()), { ok: false, error: "stale" });
  assert.deepEqual(decodeAnnouncement(future, now, verifier()), { ok: false, error: "stale" });
  assert.ok(decodeAnnouncement(old, now - 5, verifier()).ok);
});

test("any tampered byte is caught: by the format checks or by the signature", () => {
  const me = Identity.generate();
  const now = Date.now();
  const bytes = encodeAnnouncement(me, "announce", 7420, now);
  for (let i = 0; i < bytes.length; i++) {
    const t = Buffer.from(bytes);
    t[i] ^= 0x01;
    const d = decodeAnnouncement(t, now, verifier());
    assert.equal(d.ok, false, `byte ${i} flipped`);
  }
  // a different port, re-signed by nobody: the signature no longer matches
  const moved = Buffer.from(bytes);
  moved.writeUInt16BE(9999, 7);
  assert.deepEqual(decodeAnnouncement(moved, now, verifier()), { ok: false, error: "badSignature" });
  // someone else's key in place of the signer's
  const stolen = Buffer.from(bytes);
  Identity.generate().publicKey.copy(stolen, 17);
  assert.deepEqual(decodeAnnouncement(stolen, now, verifier()), { ok: false, error: "badSignature" });
});

test("oversized, truncated, padded, foreign and future-version datagrams are dropped without throwing", () => {
  const me = Identity.generate();
  const now = Date.now();
  const bytes = encodeAnnouncement(me, "announce", 7420, now);
  assert.deepEqual(decodeAnnouncement(Buffer.alloc(MAX_ANNOUNCEMENT_BYTES + 1), now, verifier()), { ok: false, error: "oversized" });
  assert.deepEqual(decodeAnnouncement(Buffer.concat([bytes, randomBytes(2000)]), now, verifier()), { ok: false, error: "oversized" });
  assert.deepEqual(decodeAnnouncement(Buffer.concat([bytes, Buffer.alloc(1)]), now, verifier()), { ok: false, error: "malformed" });
  assert.deepEqual(decodeAnnouncement(bytes.subarray(0, bytes.length - 1), now, verifier()), { ok: false, error: "malformed" });
  assert.deepEqual(decodeAnnouncement(Buffer.alloc(0), now, verifier()), { ok: false, error: "malformed" });
  assert.deepEqual(decodeAnnouncement(Buffer.from("PSLD"), now, verifier()), { ok: false, error: "malformed" });
  const v2 = Buffer.from(bytes);
  v2[4] = 2;
  assert.deepEqual(decodeAnnouncement(v2, now, verifier()), { ok: false, error: "unsupportedVersion" });
  for (let i = 0; i < 2000; i++) {
    const junk = randomBytes(Math.floor(Math.random() * 600));
    if (i % 2) Buffer.from("PSLD\x01").copy(junk);
    assert.equal(decodeAnnouncement(junk, now, verifier()).ok, false);
  }
  assert.throws(() => encodeAnnouncement(me, "announce", 0, now), RangeError);
  assert.throws(() => encodeAnnouncement(me, "announce", 70000, now), RangeError);
});

function receiver(me = Identity.generate(), now?: () => number) {
  const offered: KnownAddress[] = [];
  let outcome: CandidateOutcome = "added";
  const lan = new LanDiscovery({
    identity: me,
    now,
    host: "0.0.0.0",
    port: 7420,
    intervalMs: () => 30_000,
    onCandidate: async (c) => {
      offered.push(c);
      return outcome;
    },
    interfaces: () => [],
  });
  return { lan, me, offered, setOutcome: (o: CandidateOutcome) => (outcome = o) };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

test("a verified announcement becomes a bootstrap candidate at its source address, once; replays, own and forged ones do not", async () => {
  const { lan, me, offered } = receiver();
  const peer = Identity.generate();
  const t = Date.now();
  const first = encodeAnnouncement(peer, "announce", 40001, t);
  lan.handleDatagram(first, "10.213.1.2");
  await settle();
  assert.equal(offered.length, 1);
  assert.deepEqual(offered[0], { host: "10.213.1.2", port: 40001, id: nodeIdFromPublicKey(peer.publicKey), publicKey: peer.publicKey });
  assert.ok(lan.foundOnLan(peer.id.toString("hex")));

  lan.handleDatagram(first, "10.213.1.2"); // the same datagram again
  lan.handleDatagram(first, "10.213.1.9"); // replayed from elsewhere
  lan.handleDatagram(encodeAnnouncement(peer, "announce", 40001, t - 1), "10.213.1.2"); // older
  lan.handleDatagram(encodeAnnouncement(me, "announce", 7420, Date.now()), "10.213.1.1"); // our own, looped back
  const forged = Buffer.from(encodeAnnouncement(peer, "announce", 40001, t + 5));
  forged.writeUInt16BE(40002, 7);
  lan.handleDatagram(forged, "10.213.1.66");
  await settle();
  assert.equal(offered.length, 1);
  assert.equal(lan.stats.droppedReplayed, 3);
  assert.equal(lan.stats.droppedOwn, 1);
  assert.equal(lan.stats.droppedBadSignature, 1);

  lan.handleDatagram(encodeAnnouncement(peer, "announce", 40001, t + 10), "10.213.1.2"); // a newer one is fine
  await settle();
  assert.equal(offered.length, 2);
});

test("a peer counts as on the LAN once it answers at its announced address, whether it was known before or not", async () => {
  const { lan, offered, setOutcome } = receiver();
  const [known, silent] = [Identity.generate(), Identity.generate()];
  setOutcome("unreachable");
  lan.handleDatagram(encodeAnnouncement(silent, "announce", 40001, Date.now()), "10.213.1.2");
  await settle();
  assert.equal(lan.foundOnLan(silent.id.toString("hex")), false);
  setOutcome("known");
  lan.handleDatagram(encodeAnnouncement(known, "announce", 40001, Date.now()), "10.213.1.3");
  await settle();
  assert.equal(offered.length, 2);
  assert.equal(lan.foundOnLan(known.id.toString("hex")), true);
});

test("a flood from one address is rate-limited before any signature check, and garbage never throws", async () => {
  const { lan, offered } = receiver();
  for (let i = 0; i < 200; i++) lan.handleDatagram(encodeAnnouncement(Identity.generate(), "announce", 40001, Date.now()), "10.213.1.66");
  await settle();
  assert.ok(lan.stats.droppedRateLimited >= 150, `rate-limited ${lan.stats.droppedRateLimited}`);
  assert.ok(offered.length <= 40, `offered ${offered.length}`);
  for (let i = 0; i < 500; i++) lan.handleDatagram(randomBytes(Math.floor(Math.random() * 1500)), `10.0.${i % 250}.${i % 7}`);
  lan.handleDatagram(Buffer.alloc(65_000), "10.0.0.1");
  assert.ok(lan.stats.droppedMalformed + lan.stats.droppedOversized > 0);
  await lan.stop();
});

test("discovery never runs on loopback; on 0.0.0.0 it uses every non-loopback IPv4 interface, else only the listening one", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1"]) {
    assert.ok(isLoopbackHost(h));
    assert.equal(LanDiscovery.appliesTo(h), false);
  }
  assert.ok(LanDiscovery.appliesTo("0.0.0.0"));
  const ifaces = {
    lo: [{ address: "127.0.0.1", netmask: "255.0.0.0", family: "IPv4", mac: "00:00:00:00:00:00", internal: true, cidr: "127.0.0.1/8" }],
    eth0: [
      { address: "10.213.1.1", netmask: "255.255.255.0", family: "IPv4", mac: "02:00:00:00:00:01", internal: false, cidr: "10.213.1.1/24" },
      { address: "fe80::1", netmask: "ffff:ffff:ffff:ffff::", family: "IPv6", mac: "02:00:00:00:00:01", internal: false, cidr: "fe80::1/64", scopeid: 2 },
    ],
    eth1: [{ address: "192.168.7.5", netmask: "255.255.255.0", family: "IPv4", mac: "02:00:00:00:00:02", internal: false, cidr: "192.168.7.5/24" }],
  } as unknown as Parameters<typeof lanInterfaces>[1];
  assert.deepEqual(lanInterfaces("0.0.0.0", ifaces).map((i) => i.address), ["10.213.1.1", "192.168.7.5"]);
  assert.deepEqual(lanInterfaces("192.168.7.5", ifaces).map((i) => i.name), ["eth1"]);
  assert.deepEqual(lanInterfaces("127.0.0.1", ifaces), []);
});

test("announcements are checked against the clock the node gives (its clock as corrected to its peers'), not the system's", async () => {
  const behind = () => Date.now() - 5 * 60_000;
  const { lan, offered } = receiver(Identity.generate(), behind);
  const peer = Identity.generate();
  lan.handleDatagram(encodeAnnouncement(peer, "announce", 40001, Date.now()), "10.213.1.2");
  lan.handleDatagram(encodeAnnouncement(Identity.generate(), "announce", 40001, behind()), "10.213.1.3");
  await settle();
  assert.deepEqual(
    offered.map((c) => c.host),
    ["10.213.1.3"],
    "5 minutes off the clock given: the system clock's stamp is stale, one in step with the given clock is taken",
  );
});
