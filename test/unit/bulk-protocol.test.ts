// The bulk wire format, the WebRTC signalling codec, message splitting and the TLS certificate.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, X509Certificate } from "node:crypto";
import { BulkMessage, encodeMessage, FrameDecoder, MAX_FRAME_BYTES, MAX_HELLO_FRAME_BYTES, MAX_OBJECT_BYTES, ProtocolError } from "../../node-host/transport/bulk-protocol";
import { MAX_MANIFEST_BYTES } from "../../node-host/cas/manifest";
import { DEFAULT_CDC_PARAMS } from "../../node-host/cas/chunker";
import { compactFromSdp, decodeSignal, encodeSignal, sdpFromCompact, SignalFormatError } from "../../node-host/transport/webrtc-signal-codec";
import { MESSAGE_BYTES, toMessages } from "../../node-host/transport/webrtc-link";
import { makeSelfSignedCert } from "../../node-host/transport/tls-cert";
import { writeBatches } from "../../node-host/transport/tls-bulk";
import { BufferPool } from "../../node-host/util/buffer-pool";

const samples: BulkMessage[] = [
  { type: "hello", requestId: 0, publicKey: randomBytes(32), signature: randomBytes(64), memberships: [], revocations: [] },
  { type: "hello", requestId: 0, publicKey: randomBytes(32), signature: randomBytes(64), memberships: [randomBytes(300), randomBytes(1)], revocations: [randomBytes(5000)] },
  { type: "has", requestId: 8, replication: 3, audience: { kind: "teams", teams: [randomBytes(32), randomBytes(32)] }, objectIds: [randomBytes(32), randomBytes(32)] },
  { type: "has", requestId: 9, replication: 0, audience: { kind: "unstated" }, objectIds: [randomBytes(32)] },
  { type: "has", requestId: 10, replication: 2, audience: { kind: "public" }, objectIds: [randomBytes(32)] },
  { type: "get", requestId: 1, objectId: randomBytes(32) },
  { type: "put", requestId: 0xffffffff, objectId: randomBytes(32), bytes: randomBytes(70_000) },
  { type: "object", requestId: 3, bytes: randomBytes(5) },
  { type: "object", requestId: 4, bytes: Buffer.alloc(0) },
  { type: "not_found", requestId: 5 },
  { type: "ok", requestId: 6 },
  { type: "ping", requestId: 0 },
  { type: "pong", requestId: 0 },
  { type: "error", requestId: 7, code: 2, text: "refusé" },
];

const bytesOf = (m: BulkMessage) => Buffer.concat(encodeMessage(m));

test("every message survives encoding, whole or split into 1-byte and random pieces", () => {
  const stream = Buffer.concat(samples.map(bytesOf));
  for (const cut of [stream.length, 1, 7, 4096]) {
    const d = new FrameDecoder();
    const out: BulkMessage[] = [];
    for (let off = 0; off < stream.length; off += cut) out.push(...d.push(stream.subarray(off, off + cut)));
    assert.deepEqual(out, samples);
  }
});

test("before HELLO a connection may send only small frames: an object-sized one is refused at its length", () => {
  const d = new FrameDecoder(MAX_HELLO_FRAME_BYTES);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(2 * 1024 * 1024, 0);
  assert.throws(() => d.push(header), ProtocolError);
  const hello: BulkMessage = { type: "hello", requestId: 0, publicKey: randomBytes(32), signature: randomBytes(64), memberships: Array.from({ length: 16 }, () => randomBytes(1024)), revocations: Array.from({ length: 16 }, () => randomBytes(40 * 1024)) };
  assert.deepEqual(new FrameDecoder(MAX_HELLO_FRAME_BYTES).push(bytesOf(hello)), [hello], "the largest HELLO allowed fits");
});

test("a frame length above the limit is refused from its first 4 bytes, before any buffering", () => {
  const d = new FrameDecoder();
  const header = Buffer.alloc(4);
  header.writeUInt32BE(MAX_FRAME_BYTES + 1);
  assert.throws(() => d.push(header), ProtocolError);
  assert.throws(() => new FrameDecoder().push(Buffer.from("0000000400", "hex")), ProtocolError, "shorter than a header");
});

test("malformed bodies and unknown types are protocol errors", () => {
  const frame = (type: number, body: Buffer, requestId = 1) => {
    const h = Buffer.alloc(9);
    h.writeUInt32BE(5 + body.length);
    h.writeUInt8(type, 4);
    h.writeUInt32BE(requestId, 5);
    return Buffer.concat([h, body]);
  };
  for (const bad of [
    frame(0x99, Buffer.alloc(0)),
    frame(0x10, Buffer.alloc(31)), // GET with a short id
    frame(0x11, Buffer.alloc(10)), // PUT without a whole id
    frame(0x21, Buffer.alloc(1)), // NOT_FOUND with a body
    frame(0x2f, Buffer.alloc(1)), // ERROR without a code
    frame(0x01, Buffer.alloc(96), 9), // HELLO with a request id
    frame(0x20, Buffer.alloc(MAX_OBJECT_BYTES + 1)), // OBJECT above the object limit
  ]) {
    assert.throws(() => new FrameDecoder().push(bad), ProtocolError);
  }
});

test("the frame limit fits the largest manifest and the largest chunk the chunker makes", () => {
  assert.ok(MAX_OBJECT_BYTES >= MAX_MANIFEST_BYTES);
  assert.ok(MAX_OBJECT_BYTES >= DEFAULT_CDC_PARAMS.maxSize + 64, "a maximal chunk plus encryption overhead");
  const put = bytesOf({ type: "put", requestId: 1, objectId: randomBytes(32), bytes: Buffer.alloc(MAX_OBJECT_BYTES) });
  assert.equal(new FrameDecoder().push(put).length, 1);
});

test("a large OBJECT body is received into a pooled buffer, small frames are not", () => {
  const pool = new BufferPool(MAX_OBJECT_BYTES, 32 << 20);
  const big: BulkMessage = { type: "object", requestId: 9, bytes: randomBytes(300_000) };
  const stream = Buffer.concat([bytesOf(samples[5]), bytesOf(big), bytesOf(samples[7])]);
  const d = new FrameDecoder(MAX_FRAME_BYTES, pool);
  const out: BulkMessage[] = [];
  for (let off = 0; off < stream.length; off += 16 * 1024) out.push(...d.push(stream.subarray(off, off + 16 * 1024)));
  assert.deepEqual(out, [samples[5], big, samples[7]]);
  const received = (out[1] as { bytes: Buffer }).bytes;
  pool.give(received);
  assert.equal(pool.idleBytes, received.buffer.byteLength, "its buffer came from the pool and went back");
  assert.equal(pool.take(300_000).buffer, received.buffer);
});

test("pieces whose memory is reused after each push (transient) decode to intact messages", () => {
  const all = [...samples, { type: "object", requestId: 11, bytes: randomBytes(200_000) } as BulkMessage, samples[2]];
  const stream = Buffer.concat(all.map(bytesOf));
  for (const cut of [1, 7, 4096, 16 * 1024, stream.length]) {
    const d = new FrameDecoder(MAX_FRAME_BYTES, new BufferPool(MAX_OBJECT_BYTES, 32 << 20), true);
    const scratch = Buffer.alloc(cut);
    const out: BulkMessage[] = [];
    for (let off = 0; off < stream.length; off += cut) {
      const n = stream.copy(scratch, 0, off, off + cut);
      out.push(...d.push(scratch.subarray(0, n)));
      scratch.fill(0xee); // the next read overwrites it
    }
    assert.deepEqual(out, all, `pieces of ${cut} bytes`);
  }
});

test("frames are cut into data-channel messages of at most 64 KiB that rejoin to the same bytes", () => {
  const parts = encodeMessage({ type: "object", requestId: 1, bytes: randomBytes(200_000) });
  const msgs = toMessages(parts, MESSAGE_BYTES);
  assert.ok(msgs.every((m) => m.length <= MESSAGE_BYTES));
  assert.equal(msgs.length, Math.ceil((200_000 + 9) / MESSAGE_BYTES));
  assert.ok(Buffer.concat(msgs).equals(Buffer.concat(parts)));
});

test("TLS writes: small parts are merged with the head of an object, whose rest is written uncopied", () => {
  const body = randomBytes(1 << 20);
  const object = encodeMessage({ type: "object", requestId: 1, bytes: body });
  const writes = writeBatches(object);
  assert.deepEqual(writes.map((w) => w.length), [16 * 1024, 9 + body.length - 16 * 1024]);
  assert.equal(writes[1].buffer, body.buffer, "the rest of the object is a view, not a copy");
  const has = encodeMessage({ type: "has", requestId: 2, replication: 0, audience: { kind: "public" }, objectIds: Array.from({ length: 4096 }, () => randomBytes(32)) });
  assert.equal(writeBatches(has).length, Math.ceil(has.reduce((n, p) => n + p.length, 0) / (16 * 1024)), "thousands of ids go out in 16 KiB writes");
  for (const m of [...samples, { type: "object", requestId: 3, bytes: randomBytes(16 * 1024 - 9) } as BulkMessage]) {
    const parts = encodeMessage(m);
    assert.ok(Buffer.concat(writeBatches(parts)).equals(Buffer.concat(parts)), m.type);
  }
});

const SDP = [
  "v=0",
  "o=rtc 1 0 IN IP4 127.0.0.1",
  "a=fingerprint:sha-256 3C:D9:76:CE:CD:FD:E2:A5:AD:AB:DA:78:92:F0:09:BE:89:4B:62:25:C7:B3:0B:B8:6B:01:6B:49:AE:BF:6F:87",
  "m=application 56244 UDP/DTLS/SCTP webrtc-datachannel",
  "a=setup:actpass",
  "a=ice-ufrag:jgrQ",
  "a=ice-pwd:lEH/VZM3q9KukyG9yZXRe9",
  "a=candidate:2 1 UDP 2116026111 fd00::2 56244 typ host",
  "a=candidate:1 1 UDP 2114977791 192.0.2.2 56244 typ host",
  "a=end-of-candidates",
  "",
].join("\r\n");

test("an offer compresses far below the signalling limit and rebuilds to an equivalent SDP", () => {
  const d = compactFromSdp("offer", SDP);
  const payload = encodeSignal(d, 1000);
  assert.ok(payload.length < 250, `${payload.length} bytes`);
  const back = decodeSignal(payload, "offer");
  assert.deepEqual(back, d);
  const sdp = sdpFromCompact(back);
  assert.match(sdp, /a=fingerprint:sha-256 3C:D9:76:.*:6F:87\r\n/);
  assert.match(sdp, /a=candidate:2 1 UDP 2116026111 fd00::2 56244 typ host\r\n/);
  assert.throws(() => decodeSignal(payload, "answer"), SignalFormatError);
});

test("with too many addresses, the lowest-priority candidates are left out to fit", () => {
  const many = Array.from({ length: 80 }, (_, i) => `a=candidate:${i} 1 UDP ${2000000000 - i} 10.${i}.${(i * 7) % 256}.${(i * 13) % 256} ${40000 + i * 11} typ host`);
  const d = compactFromSdp("answer", SDP.replace("a=end-of-candidates", [...many, "a=end-of-candidates"].join("\r\n")));
  const payload = encodeSignal(d, 1000);
  assert.ok(payload.length <= 1000);
  const back = decodeSignal(payload, "answer");
  assert.ok(back.candidates.length >= 10 && back.candidates.length < 82, `${back.candidates.length} kept`);
  assert.equal(back.candidates[0], d.candidates[0], "the best candidate is kept");
});

test("signalling that is garbage, or would inject SDP lines, is refused", () => {
  const good = encodeSignal(compactFromSdp("offer", SDP), 1000);
  assert.throws(() => decodeSignal(randomBytes(100), "offer"), SignalFormatError);
  assert.throws(() => decodeSignal(good.subarray(0, 40), "offer"), SignalFormatError);
  const d = compactFromSdp("offer", SDP);
  const hostName = { ...d, candidates: ["1 1 UDP 2114977791 attacker.example 56244 typ host"] }; // would make the receiver resolve a name
  for (const injected of [{ ...d, ufrag: "jgrQ\r\na=x" }, { ...d, candidates: ["1 1 UDP 1 10.0.0.1 9 typ host\ra=x"] }, { ...d, candidates: [] }, hostName]) {
    assert.throws(() => decodeSignal(encodeSignal(injected, 1000), "offer"), SignalFormatError);
  }
});

test("the TLS certificate is well-formed X.509 with a P-256 key", () => {
  const { cert } = makeSelfSignedCert();
  const x = new X509Certificate(cert);
  assert.equal(x.publicKey.asymmetricKeyType, "ec");
  assert.ok(x.verify(x.publicKey), "self-signed");
  assert.ok(new Date(x.validTo).getFullYear() >= 2049);
  // Random serials must always encode as minimal DER (a leading zero byte once broke 1 in 256).
  for (let i = 0; i < 500; i++) new X509Certificate(makeSelfSignedCert().cert);
});
