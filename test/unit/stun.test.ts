// STUN Binding codec and client (node-host/nat): RFC 5769's published sample messages, round
// trips and fuzzing of the decoder, the responder's limits, and the client against a responder on
// loopback (and coturn, where Debian's package is installed).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import * as zlib from "node:zlib";
import fc from "fast-check";
import {
  BINDING_INDICATION,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  bindingResponseFor,
  crc32,
  decodeStun,
  encodeBindingRequest,
  encodeBindingSuccess,
  isStunMessage,
  MAX_BINDING_RESPONSE_BYTES,
  newTransactionId,
  StunAddress,
} from "../../node-host/nat/stun";
import { StunClient, StunError, stunBinding } from "../../node-host/nat/stun-client";
import { ipText } from "../../node-host/util/ip-address";
import { sealEnvelope } from "../../node-host/transport/envelope";
import { Identity } from "../../node-host/security/identity";
import { hasTurnServer, startTurnServer } from "../helpers/turn-server";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

// RFC 5769 §2: the transaction ID of the first three samples, and the samples themselves
const RFC5769_TXID = hex("b7e7a701 bc34d686 fa87dfae");
/** §2.1: a Binding request with SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MESSAGE-INTEGRITY and FINGERPRINT (padding with spaces). */
const SAMPLE_REQUEST = hex(`
  0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 0010 5354554e 20746573 7420636c 69656e74
  0024 0004 6e0001ff
  8029 0008 932ff9b1 51263b36
  0006 0009 6576746a 3a683676 59202020
  0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  8028 0004 e57a3bcf`);
/** §2.2: a success response, XOR-MAPPED-ADDRESS 192.0.2.1:32853. */
const SAMPLE_IPV4_RESPONSE = hex(`
  0101 003c 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 000b 74657374 20766563 746f7220
  0020 0008 0001a147 e112a643
  0008 0014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  8028 0004 c07d4c96`);
/** §2.3: a success response, XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
const SAMPLE_IPV6_RESPONSE = hex(`
  0101 0048 2112a442 b7e7a701 bc34d686 fa87dfae
  8022 000b 74657374 20766563 746f7220
  0020 0014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
  0008 0014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
  8028 0004 c8fb0b4c`);
/** §2.4: a Binding request with long-term authentication (USERNAME, NONCE, REALM, MESSAGE-INTEGRITY), no FINGERPRINT. */
const SAMPLE_LONG_TERM_REQUEST = hex(`
  0001 0060 2112a442 78ad3433 c6ad72c0 29da412e
  0006 0012 e3839ee3 8388e383 aae38383 e382afe3 82b90000
  0015 001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341
  0014 000b 6578616d 706c652e 6f726700
  0008 0014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666`);

test("RFC 5769's sample responses decode to their mapped addresses, with the fingerprint checked", () => {
  const v4 = decodeStun(SAMPLE_IPV4_RESPONSE);
  assert.deepEqual(v4, {
    type: BINDING_SUCCESS,
    transactionId: RFC5769_TXID,
    mappedAddress: { family: 4, address: "192.0.2.1", port: 32853 },
    software: "test vector",
    fingerprint: true,
    unknownRequired: [0x0008], // MESSAGE-INTEGRITY, which this codec does not check
  });
  const v6 = decodeStun(SAMPLE_IPV6_RESPONSE);
  assert.deepEqual(v6?.mappedAddress, { family: 6, address: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853 });
  assert.equal(v6?.fingerprint, true);
});

test("RFC 5769's sample requests decode, and are not answered: they carry attributes the responder must understand", () => {
  const ice = decodeStun(SAMPLE_REQUEST);
  assert.equal(ice?.type, BINDING_REQUEST);
  assert.equal(ice?.software, "STUN test client");
  assert.equal(ice?.fingerprint, true);
  assert.deepEqual(ice?.unknownRequired, [0x0024, 0x0006, 0x0008]); // PRIORITY, USERNAME, MESSAGE-INTEGRITY
  const longTerm = decodeStun(SAMPLE_LONG_TERM_REQUEST);
  assert.deepEqual(longTerm?.transactionId, hex("78ad3433 c6ad72c0 29da412e"));
  assert.equal(longTerm?.fingerprint, false);
  assert.deepEqual(longTerm?.unknownRequired, [0x0006, 0x0015, 0x0014, 0x0008]);
  for (const req of [SAMPLE_REQUEST, SAMPLE_LONG_TERM_REQUEST]) assert.equal(bindingResponseFor(req, { address: "192.0.2.1", port: 32853 }), null);
});

test("no single-bit change to a fingerprinted sample decodes as fingerprinted", () => {
  for (const sample of [SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE, SAMPLE_IPV6_RESPONSE]) {
    let rejected = 0;
    for (let bit = 0; bit < sample.length * 8; bit++) {
      const changed = Buffer.from(sample);
      changed[bit >> 3] ^= 0x80 >> (bit & 7);
      const msg = decodeStun(changed);
      // a changed attribute length can hide the FINGERPRINT inside another attribute: then there is none to check
      assert.equal(msg?.fingerprint ?? false, false, `bit ${bit} of a ${sample.length}-byte sample`);
      if (!msg) rejected++;
    }
    assert.ok(rejected > sample.length * 8 * 0.95, `only ${rejected} of ${sample.length * 8} changes rejected`);
  }
});

test("what this codec encodes matches RFC 5769's sample byte for byte where they overlap", () => {
  const mine = encodeBindingSuccess(RFC5769_TXID, { family: 4, address: "192.0.2.1", port: 32853 }, { software: "test vector" });
  // header type, cookie and transaction ID; the SOFTWARE value; XOR-MAPPED-ADDRESS whole
  assert.deepEqual(mine.subarray(0, 2), SAMPLE_IPV4_RESPONSE.subarray(0, 2));
  assert.deepEqual(mine.subarray(4, 20), SAMPLE_IPV4_RESPONSE.subarray(4, 20));
  assert.deepEqual(mine.subarray(20, 35), SAMPLE_IPV4_RESPONSE.subarray(20, 35));
  assert.equal(mine[35], 0, "padding is zero here (the sample pads with spaces)");
  assert.deepEqual(mine.subarray(36, 48), SAMPLE_IPV4_RESPONSE.subarray(36, 48));
  const v6 = encodeBindingSuccess(RFC5769_TXID, { family: 6, address: "2001:db8:1234:5678:11:2233:4455:6677", port: 32853 });
  assert.deepEqual(v6.subarray(20, 44), SAMPLE_IPV6_RESPONSE.subarray(36, 60));
  // ends with a FINGERPRINT over the rest, computed independently with zlib where Node has it
  const fp = mine.subarray(-8);
  assert.deepEqual(fp.subarray(0, 4), hex("8028 0004"));
  const zcrc = (zlib as { crc32?: (b: Uint8Array) => number }).crc32 ?? crc32;
  assert.equal(fp.readUInt32BE(4), (zcrc(mine.subarray(0, -8)) ^ 0x5354554e) >>> 0);
  assert.equal(crc32(Buffer.from("123456789")), 0xcbf43926); // the CRC-32 check value
});

const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => ipText(b));
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => ipText(b));
const port = fc.integer({ min: 1, max: 65535 });
const address: fc.Arbitrary<StunAddress> = fc.oneof(
  fc.tuple(ipv4, port).map(([a, p]): StunAddress => ({ family: 4, address: a, port: p })),
  fc.tuple(ipv6, port).map(([a, p]): StunAddress => ({ family: 6, address: a, port: p })),
);
const txid = fc.uint8Array({ minLength: 12, maxLength: 12 }).map((b) => Buffer.from(b));

test("requests and success responses survive encode and decode", () => {
  fc.assert(
    fc.property(txid, address, fc.option(fc.string({ maxLength: 40 }), { nil: undefined }), (id, mapped, software) => {
      const res = decodeStun(encodeBindingSuccess(id, mapped, { software }));
      assert.deepEqual(res, { type: BINDING_SUCCESS, transactionId: id, mappedAddress: mapped, fingerprint: true, unknownRequired: [], ...(software === undefined ? {} : { software }) });
      const req = decodeStun(encodeBindingRequest(id, { software }));
      assert.deepEqual(req, { type: BINDING_REQUEST, transactionId: id, fingerprint: true, unknownRequired: [], ...(software === undefined ? {} : { software }) });
    }),
    { numRuns: 500 },
  );
});

test("the responder answers a Binding request with its source address, in a response of bounded size", () => {
  fc.assert(
    fc.property(txid, address, (id, source) => {
      const res = bindingResponseFor(encodeBindingRequest(id), source);
      assert.ok(res && res.length <= MAX_BINDING_RESPONSE_BYTES);
      assert.deepEqual(decodeStun(res)?.mappedAddress, source);
      assert.deepEqual(decodeStun(res)?.transactionId, id);
    }),
    { numRuns: 300 },
  );
  // the request's own size does not grow the answer
  const big = encodeBindingRequest(newTransactionId(), { software: "x".repeat(127) });
  assert.ok(bindingResponseFor(big, { address: "2001:db8::1", port: 9 })!.length <= MAX_BINDING_RESPONSE_BYTES);
  // an IPv4 peer of a dual-stack socket is answered as IPv4
  const mapped = decodeStun(bindingResponseFor(encodeBindingRequest(newTransactionId()), { address: "::ffff:198.51.100.7", port: 4000 })!);
  assert.deepEqual(mapped?.mappedAddress, { family: 4, address: "198.51.100.7", port: 4000 });
});

test("the responder does not answer what is not a plain Binding request", () => {
  const id = newTransactionId();
  const from = { address: "192.0.2.9", port: 5000 };
  const indication = encodeBindingRequest(id);
  indication.writeUInt16BE(BINDING_INDICATION, 0);
  for (const datagram of [
    encodeBindingSuccess(id, { family: 4, address: "192.0.2.1", port: 1 }), // a response: answering would loop
    indication, // its fingerprint no longer matches either
    Buffer.alloc(20),
    Buffer.from("PS not a STUN message at all"),
  ]) {
    assert.equal(bindingResponseFor(datagram, from), null);
  }
  assert.equal(bindingResponseFor(encodeBindingRequest(id), { address: "fe80::1%eth0", port: 5000 }), null);
  assert.equal(bindingResponseFor(encodeBindingRequest(id), { address: "192.0.2.9", port: 0 }), null);
});

test("isStunMessage tells STUN from the DHT's datagrams on the same port", () => {
  const identity = Identity.generate();
  const dht = sealEnvelope(identity, 0x01, Buffer.alloc(8, 7), Date.now(), Buffer.alloc(100));
  assert.equal(dht.subarray(0, 2).toString(), "PS");
  assert.equal(isStunMessage(dht), false);
  assert.equal(isStunMessage(encodeBindingRequest(newTransactionId())), true);
  const req = encodeBindingRequest(newTransactionId());
  assert.equal(isStunMessage(req.subarray(0, req.length - 4)), false, "length field no longer matches");
  assert.equal(isStunMessage(Buffer.concat([req, Buffer.alloc(4)])), false, "trailing bytes");
  const badCookie = Buffer.from(req);
  badCookie[4] ^= 1;
  assert.equal(isStunMessage(badCookie), false);
  const topBits = Buffer.from(req);
  topBits[0] |= 0x40;
  assert.equal(isStunMessage(topBits), false);
  fc.assert(fc.property(fc.uint8Array({ minLength: 2, maxLength: 1200 }), (bytes) => {
    bytes[0] = 0x50; // "P"
    return !isStunMessage(bytes);
  }));
});

/** A STUN header (type, length, cookie, transaction ID) over these attribute bytes, as they are. */
function framedMessage(type: number, id: Buffer, attrs: Buffer): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(attrs.length, 2);
  header.writeUInt32BE(0x2112a442, 4);
  id.copy(header, 8);
  return Buffer.concat([header, attrs]);
}

test("the decoder returns null for malformed input and never throws", () => {
  const check = (bytes: Uint8Array) => {
    const buf = Buffer.from(bytes);
    const msg = decodeStun(buf);
    if (msg) assert.ok(isStunMessage(buf));
    return true;
  };
  // arbitrary bytes
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), check), { numRuns: 2000 });
  // well framed headers over arbitrary attribute bytes, where the attribute walk is exercised
  const framed = fc.tuple(fc.integer({ min: 0, max: 0x3fff }), txid, fc.integer({ min: 0, max: 150 })).chain(([type, id, words]) =>
    fc.uint8Array({ minLength: words * 4, maxLength: words * 4 }).map((body) => framedMessage(type, id, Buffer.from(body))),
  );
  fc.assert(fc.property(framed, check), { numRuns: 2000 });
  // valid messages with attribute headers lying about their lengths
  fc.assert(
    fc.property(txid, address, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 20, max: 60 }), (id, mapped, length, at) => {
      const msg = encodeBindingSuccess(id, mapped);
      if (at + 4 <= msg.length) msg.writeUInt16BE(length, at - (at % 4) + 2);
      return check(msg);
    }),
    { numRuns: 1000 },
  );
});

test("malformed attributes make the whole message null", () => {
  const id = newTransactionId();
  const base = (attrs: Buffer) => framedMessage(BINDING_SUCCESS, id, attrs);
  assert.equal(decodeStun(base(hex("0020 0008 0003 a147 e112a643"))), null, "unknown address family");
  assert.equal(decodeStun(base(hex("0020 0014 0001 a147 e112a643 00000000 00000000 00000000"))), null, "IPv4 family, IPv6 length");
  assert.equal(decodeStun(base(hex("0020 000c 0001 a147 e112a643"))), null, "length past the end");
  assert.equal(decodeStun(base(hex("8028 0004 00000000 0020 0008 0001 a147 e112a643"))), null, "an attribute after FINGERPRINT");
  assert.equal(decodeStun(base(hex("8028 0004 00000000"))), null, "a wrong FINGERPRINT");
  // MAPPED-ADDRESS alone (an RFC 3489 server) still gives the address
  assert.deepEqual(decodeStun(base(hex("0001 0008 0001 1f90 c0000201")))?.mappedAddress, { family: 4, address: "192.0.2.1", port: 8080 });
  // XOR-MAPPED-ADDRESS wins over MAPPED-ADDRESS, whatever their order
  assert.deepEqual(decodeStun(base(hex("0001 0008 0001 1f90 c0000202 0020 0008 0001 a147 e112a643")))?.mappedAddress, { family: 4, address: "192.0.2.1", port: 32853 });
});

// ---- the client -------------------------------------------------------------------

/** A UDP socket on loopback that answers Binding requests as a peershare node would; `drop` loses the first few. */
async function responder(drop = 0): Promise<{ socket: dgram.Socket; port: number; requests: Buffer[] }> {
  const socket = dgram.createSocket("udp4");
  const requests: Buffer[] = [];
  socket.on("message", (msg, rinfo) => {
    requests.push(msg);
    if (requests.length <= drop) return;
    const res = bindingResponseFor(msg, rinfo);
    if (res) socket.send(res, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { socket, port: socket.address().port, requests };
}

async function clientSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return socket;
}

test("the client learns its socket's address from a responder, and retransmits through loss", async (t) => {
  const server = await responder(2);
  const client = await clientSocket();
  t.after(() => {
    server.socket.close();
    client.close();
  });
  const mapped = await stunBinding(client, { address: "127.0.0.1", port: server.port }, { rtoMs: 50 });
  assert.deepEqual(mapped, { family: 4, address: "127.0.0.1", port: client.address().port });
  assert.equal(server.requests.length, 3, "two lost, the third answered");
  const ids = server.requests.map((r) => decodeStun(r)!.transactionId.toString("hex"));
  assert.equal(new Set(ids).size, 1, "a retransmission keeps its transaction ID");
  assert.equal(client.listenerCount("message"), 0, "the client's listener is gone");
  // a destination the socket cannot send to fails at once, not after the timeout
  const started = Date.now();
  await assert.rejects(stunBinding(client, { address: "::1", port: server.port }, { timeoutMs: 5000 }), /cannot send/);
  assert.ok(Date.now() - started < 1000);
});

test("the client gives up after its bounded sends, and ignores answers from elsewhere", async (t) => {
  const silent = await clientSocket(); // reads requests, answers none
  const requests: Buffer[] = [];
  silent.on("message", (m) => requests.push(m));
  const impostor = await clientSocket();
  const client = await clientSocket();
  t.after(() => [silent, impostor, client].forEach((s) => s.close()));
  // the impostor answers every request the silent server got, with the right transaction ID, from its own port
  silent.on("message", (m, rinfo) => impostor.send(bindingResponseFor(m, rinfo)!, rinfo.port, rinfo.address));
  const started = Date.now();
  await assert.rejects(stunBinding(client, { address: "127.0.0.1", port: silent.address().port }, { rtoMs: 40, maxSends: 3, timeoutMs: 600 }), StunError);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 590, `gave up after ${elapsed} ms`);
  assert.equal(requests.length, 3);
});

test("the client bounds its transactions in flight, and close() fails them", async (t) => {
  const sent: Buffer[] = [];
  const client = new StunClient((d, _address, _port, done) => {
    sent.push(d);
    done();
  });
  t.after(() => client.close());
  const server = { address: "192.0.2.1", port: 3478 };
  const inFlight = Array.from({ length: StunClient.MAX_PENDING }, () => client.binding(server, { timeoutMs: 60_000 }));
  await assert.rejects(client.binding(server), /already in flight/);
  await assert.rejects(client.binding({ address: "stun.example", port: 3478 }), /IP address/);
  // a success response settles its transaction, from the server it was sent to only
  const [first, second] = sent.map((d) => decodeStun(d)!);
  const answer = (id: Buffer) => encodeBindingSuccess(id, { family: 4, address: "192.0.2.7", port: 1 });
  assert.equal(client.handle(answer(newTransactionId()), server), false, "an answer to nothing in flight");
  assert.equal(client.handle(answer(first.transactionId), { address: "192.0.2.2", port: 3478 }), false, "from another address");
  assert.equal(client.handle(answer(first.transactionId), server), true);
  assert.deepEqual(await inFlight[0], { family: 4, address: "192.0.2.7", port: 1 });
  // an error response (header only) fails its transaction
  const error = Buffer.concat([hex("0111 0000 2112a442"), second.transactionId]);
  assert.equal(client.handle(error, server), true);
  await assert.rejects(inFlight[1], /answered with an error/);
  assert.equal(client.inFlight, StunClient.MAX_PENDING - 2);
  client.close();
  const outcomes = await Promise.allSettled(inFlight.slice(2));
  assert.ok(outcomes.every((o) => o.status === "rejected" && o.reason instanceof StunError));
  assert.equal(client.inFlight, 0);
});

const coturn = hasTurnServer();
test(
  "interop: coturn answers this client's Binding request, and its fingerprinted response decodes",
  { skip: coturn || process.env.CI === "true" ? false : "Debian's coturn (turnserver) is not installed" },
  async (t) => {
    assert.ok(coturn, "turnserver is missing: .ci/run installs Debian's coturn");
    const server = await startTurnServer();
    const client = await clientSocket();
    t.after(async () => {
      client.close();
      await server.stop();
    });
    const raw: Buffer[] = [];
    client.on("message", (m) => raw.push(m));
    const mapped = await stunBinding(client, { address: "127.0.0.1", port: server.port }, { software: "peershare test" });
    assert.deepEqual(mapped, { family: 4, address: "127.0.0.1", port: client.address().port });
    const res = decodeStun(raw[0]);
    assert.equal(res?.type, BINDING_SUCCESS);
    assert.equal(res?.fingerprint, true, "coturn was started with --fingerprint");
  },
);
