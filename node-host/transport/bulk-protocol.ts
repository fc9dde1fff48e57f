// The bulk wire protocol: length-prefixed frames over a reliable ordered byte stream (a TLS socket,
// or a data channel whose messages are treated as consecutive pieces of one stream).
//
//   frame = u32 length (of what follows) | u8 type | u32 request id | body
//
// Requests (GET_OBJECT, PUT_OBJECT) carry an id chosen by the requester; each response carries the id
// of the request it answers, so many requests can be in flight on one connection. HELLO (request id
// 0) is the identity handshake, sent once by each side before anything else (see bulk-handshake.ts).
// PING (either side, request id 0) is answered by PONG at once: a dialler waiting on a slow request
// can tell a busy peer from a vanished one (a killed WebRTC peer is otherwise noticed after ~13 s).
// HAS_OBJECTS asks which of a list of objects the peer holds (answered by HAVE, one bit per id), so a
// replicator sends only what is missing; its replication byte, when not 0, offers the content whose
// manifest is the first id for replication with that factor, for the audience it names (who may
// read it: anyone, the members of some teams, or unstated).
//
// HELLO = public key (32) | signature (64) | u8 count | memberships (u16 length, bytes each)
//         | u8 count | revocation lists (u32 length, bytes each)
// Memberships prove the sender's teams; revocation lists spread a team's revocations from node to
// node (see security/team-cert.ts). Both are checked by the receiver, not by this codec.
// HAS_OBJECTS = replication u8 | audience u8 (0 unstated, 0xff public, else that many 32-byte team
//               keys follow) | object ids

import type { BufferPool } from "../util/buffer-pool";

export const ID_BYTES = 32;
/**
 * Largest object: manifests are at most 8 MiB (cas/manifest.ts MAX_MANIFEST_BYTES); chunks are at most
 * 4 MiB of plaintext plus a few bytes of encryption overhead. A unit test keeps this in step with the CAS.
 */
export const MAX_OBJECT_BYTES = 8 * 1024 * 1024;
const HEADER_BYTES = 9;
/** Largest frame after the length field: type, request id, and the biggest body (a PUT of a maximal object). */
export const MAX_FRAME_BYTES = 5 + ID_BYTES + MAX_OBJECT_BYTES;
/**
 * Largest frame before the peer's HELLO is accepted (a HELLO with the most memberships and
 * revocation lists allowed is ~690 KB): a connection that has proved nothing cannot make this node
 * buffer an 8 MiB frame.
 */
export const MAX_HELLO_FRAME_BYTES = 1024 * 1024;
const MAX_ERROR_TEXT_BYTES = 1024;

export const FrameTypes = {
  hello: 0x01,
  ping: 0x02,
  pong: 0x03,
  get: 0x10,
  put: 0x11,
  has: 0x12,
  object: 0x20,
  not_found: 0x21,
  ok: 0x22,
  have: 0x23,
  error: 0x2f,
} as const;

export const ErrorCodes = {
  internal: 1,
  refused: 2,
  unsupported: 3,
  tooLarge: 4,
  /** The requester is not allowed this (not a member of the content's team, or no write role). */
  forbidden: 5,
} as const;

/** Who may read a content: anyone, the members of any of these teams, or unstated (the holder's policy decides). */
export type Audience = { kind: "public" } | { kind: "teams"; teams: Buffer[] } | { kind: "unstated" };
export const MAX_AUDIENCE_TEAMS = 16;
export const MAX_HELLO_MEMBERSHIPS = 16;
export const MAX_HELLO_REVOCATIONS = 16;
const MAX_MEMBERSHIP_BYTES = 1024;
const MAX_REVOCATION_LIST_BYTES = 40 * 1024;
const AUDIENCE_PUBLIC = 0xff;

export type BulkRequest =
  | { type: "get"; requestId: number; objectId: Buffer }
  | { type: "put"; requestId: number; objectId: Buffer; bytes: Buffer }
  | { type: "has"; requestId: number; replication: number; audience: Audience; objectIds: Buffer[] };

export type BulkResponse =
  | { type: "object"; requestId: number; bytes: Buffer }
  | { type: "not_found"; requestId: number }
  | { type: "ok"; requestId: number }
  | { type: "have"; requestId: number; bits: Buffer }
  | { type: "error"; requestId: number; code: number; text: string };

export type BulkHello = { type: "hello"; requestId: 0; publicKey: Buffer; signature: Buffer; memberships: Buffer[]; revocations: Buffer[] };

export type BulkKeepalive = { type: "ping"; requestId: 0 } | { type: "pong"; requestId: 0 };

export type BulkMessage = BulkHello | BulkKeepalive | BulkRequest | BulkResponse;

/** A frame that breaks the protocol: the connection it arrived on is closed. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

export function isRequest(m: BulkMessage): m is BulkRequest {
  return m.type === "get" || m.type === "put" || m.type === "has";
}

/** The frame as buffers to write in order; object bytes are not copied. */
export function encodeMessage(m: BulkMessage): Buffer[] {
  const bodyParts = bodyOf(m);
  const bodyLength = bodyParts.reduce((n, b) => n + b.length, 0);
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(5 + bodyLength, 0);
  header.writeUInt8(FrameTypes[m.type], 4);
  header.writeUInt32BE(m.requestId, 5);
  return [header, ...bodyParts.filter((b) => b.length > 0)];
}

function bodyOf(m: BulkMessage): Buffer[] {
  switch (m.type) {
    case "hello":
      return [m.publicKey, m.signature, ...lengthPrefixed(m.memberships, 2), ...lengthPrefixed(m.revocations, 4)];
    case "get":
      return [m.objectId];
    case "put":
      return [m.objectId, m.bytes];
    case "has":
      return [Buffer.from([m.replication]), encodeAudience(m.audience), ...m.objectIds];
    case "object":
    case "have":
      return [m.type === "object" ? m.bytes : m.bits];
    case "not_found":
    case "ok":
    case "ping":
    case "pong":
      return [];
    case "error": {
      const code = Buffer.allocUnsafe(2);
      code.writeUInt16BE(m.code, 0);
      return [code, truncateUtf8(m.text, MAX_ERROR_TEXT_BYTES)];
    }
  }
}

/** A u8 count, then each item behind a length of `lengthBytes` bytes. */
function lengthPrefixed(items: Buffer[], lengthBytes: 2 | 4): Buffer[] {
  const out: Buffer[] = [Buffer.from([items.length])];
  for (const item of items) {
    const len = Buffer.allocUnsafe(lengthBytes);
    if (lengthBytes === 2) len.writeUInt16BE(item.length, 0);
    else len.writeUInt32BE(item.length, 0);
    out.push(len, item);
  }
  return out;
}

function encodeAudience(a: Audience): Buffer {
  if (a.kind === "public") return Buffer.from([AUDIENCE_PUBLIC]);
  if (a.kind === "unstated") return Buffer.from([0]);
  return Buffer.concat([Buffer.from([a.teams.length]), ...a.teams]);
}

function truncateUtf8(text: string, maxBytes: number): Buffer {
  const b = Buffer.from(text, "utf8");
  return b.length <= maxBytes ? b : Buffer.from(b.subarray(0, maxBytes).toString("utf8").replace(/\uFFFD$/, ""), "utf8");
}

function decodeBody(type: number, requestId: number, body: Buffer): BulkMessage {
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new ProtocolError(`malformed ${what} frame (${body.length} bytes)`);
  };
  switch (type) {
    case FrameTypes.hello: {
      need(body.length >= 98 && requestId === 0, "HELLO");
      const r = new PieceReader(body, 96, "HELLO");
      const memberships = r.items(MAX_HELLO_MEMBERSHIPS, 2, MAX_MEMBERSHIP_BYTES);
      const revocations = r.items(MAX_HELLO_REVOCATIONS, 4, MAX_REVOCATION_LIST_BYTES);
      r.end();
      return { type: "hello", requestId: 0, publicKey: body.subarray(0, 32), signature: body.subarray(32, 96), memberships, revocations };
    }
    case FrameTypes.ping:
    case FrameTypes.pong:
      need(body.length === 0 && requestId === 0, "PING/PONG");
      return { type: type === FrameTypes.ping ? "ping" : "pong", requestId: 0 };
    case FrameTypes.get:
      need(body.length === ID_BYTES, "GET_OBJECT");
      return { type: "get", requestId, objectId: body };
    case FrameTypes.put:
      need(body.length >= ID_BYTES, "PUT_OBJECT");
      return { type: "put", requestId, objectId: body.subarray(0, ID_BYTES), bytes: body.subarray(ID_BYTES) };
    case FrameTypes.has: {
      need(body.length >= 2, "HAS_OBJECTS");
      const a = body[1];
      need(a === AUDIENCE_PUBLIC || a <= MAX_AUDIENCE_TEAMS, "HAS_OBJECTS");
      const start = 2 + (a === AUDIENCE_PUBLIC ? 0 : a * ID_BYTES);
      need(body.length >= start + ID_BYTES && (body.length - start) % ID_BYTES === 0, "HAS_OBJECTS");
      const teams: Buffer[] = [];
      for (let i = 0; a !== AUDIENCE_PUBLIC && i < a; i++) teams.push(body.subarray(2 + i * ID_BYTES, 2 + (i + 1) * ID_BYTES));
      const audience: Audience = a === AUDIENCE_PUBLIC ? { kind: "public" } : a === 0 ? { kind: "unstated" } : { kind: "teams", teams };
      const objectIds: Buffer[] = [];
      for (let off = start; off < body.length; off += ID_BYTES) objectIds.push(body.subarray(off, off + ID_BYTES));
      return { type: "has", requestId, replication: body[0], audience, objectIds };
    }
    case FrameTypes.have:
      need(body.length <= Math.ceil(MAX_OBJECT_BYTES / ID_BYTES / 8) + 1, "HAVE");
      return { type: "have", requestId, bits: body };
    case FrameTypes.object:
      need(body.length <= MAX_OBJECT_BYTES, "OBJECT");
      return { type: "object", requestId, bytes: body };
    case FrameTypes.not_found:
      need(body.length === 0, "NOT_FOUND");
      return { type: "not_found", requestId };
    case FrameTypes.ok:
      need(body.length === 0, "OK");
      return { type: "ok", requestId };
    case FrameTypes.error:
      need(body.length >= 2 && body.length <= 2 + MAX_ERROR_TEXT_BYTES, "ERROR");
      return { type: "error", requestId, code: body.readUInt16BE(0), text: body.subarray(2).toString("utf8") };
    default:
      throw new ProtocolError(`unknown frame type 0x${type.toString(16)}`);
  }
}

/** Reads the counted, length-prefixed lists of a HELLO body; any overrun is a ProtocolError. */
class PieceReader {
  constructor(
    private readonly body: Buffer,
    private off: number,
    private readonly what: string,
  ) {}

  items(maxCount: number, lengthBytes: 2 | 4, maxBytes: number): Buffer[] {
    const count = this.take(1)[0];
    if (count > maxCount) throw new ProtocolError(`malformed ${this.what} frame: ${count} items`);
    const out: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const len = this.take(lengthBytes);
      const n = lengthBytes === 2 ? len.readUInt16BE(0) : len.readUInt32BE(0);
      if (n > maxBytes) throw new ProtocolError(`malformed ${this.what} frame: item of ${n} bytes`);
      out.push(this.take(n));
    }
    return out;
  }

  end(): void {
    if (this.off !== this.body.length) throw new ProtocolError(`malformed ${this.what} frame: ${this.body.length - this.off} trailing bytes`);
  }

  private take(n: number): Buffer {
    if (this.off + n > this.body.length) throw new ProtocolError(`malformed ${this.what} frame (${this.body.length} bytes)`);
    const b = this.body.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
}

/** OBJECT bodies from this size up are received into a pooled buffer (see FrameDecoder). */
export const POOLED_BODY_BYTES = 64 * 1024;

/**
 * Reassembles frames from stream pieces. It holds at most one frame (a length above MAX_FRAME_BYTES is
 * refused as soon as its 4 bytes arrive), so a peer cannot make it buffer without bound. After a
 * ProtocolError the decoder is unusable and the connection must be closed.
 *
 * The body of a large OBJECT frame is copied, piece by piece as it arrives, into one buffer taken from
 * `bodies` (a buffer in use whose pages are already mapped, instead of a fresh one whose pages fault in
 * as the copy fills it); whoever gets the object gives that buffer back once done with the bytes.
 * Other frames are views of the pieces they arrived in when one piece holds them, copies otherwise;
 * with `transient` pieces (the caller reuses a piece's memory once push returns) every byte kept
 * is copied.
 */
export class FrameDecoder {
  /** The partial frame's bytes (not yet its whole header, or a frame not received into `body`). */
  private pieces: Buffer[] = [];
  private buffered = 0;
  /** Length field of the partial frame, once its 4 bytes are in. */
  private length = -1;
  /** The OBJECT body being filled, and the request it answers. */
  private body: Buffer | null = null;
  private filled = 0;
  private bodyRequestId = 0;

  /** Frames longer than this are refused (raised once the peer's HELLO is accepted). */
  constructor(
    public maxFrameBytes = MAX_FRAME_BYTES,
    private readonly bodies?: BufferPool,
    private readonly transient = false,
  ) {}

  /** Feeds one piece of the stream; returns the messages it completed. Throws ProtocolError. */
  push(piece: Buffer): BulkMessage[] {
    const out: BulkMessage[] = [];
    let rest = piece;
    while (rest.length > 0) {
      if (this.body) {
        rest = this.fillBody(rest, out);
        continue;
      }
      const n = Math.min(rest.length, this.missing());
      this.keep(rest.subarray(0, n));
      rest = rest.subarray(n);
      if (this.length < 0 && this.buffered >= 4) {
        this.length = this.gather(4).readUInt32BE(0);
        if (this.length < 5 || this.length > this.maxFrameBytes) throw new ProtocolError(`frame length ${this.length} out of range`);
      }
      if (this.buffered === HEADER_BYTES && this.bodies && this.startsPooledBody()) continue;
      if (this.length >= 0 && this.buffered === 4 + this.length) {
        const frame = this.gather(this.buffered);
        this.reset();
        out.push(decodeBody(frame[4], frame.readUInt32BE(5), frame.subarray(HEADER_BYTES)));
      }
    }
    return out;
  }

  /** Gives back the buffer of an OBJECT body cut short (the connection closed under it). */
  dispose(): void {
    if (this.body) this.bodies?.give(this.body);
    this.body = null;
  }

  /** Bytes still missing from what the partial frame needs next: its length, its header, or the rest of it. */
  private missing(): number {
    if (this.buffered < 4) return 4 - this.buffered;
    if (this.buffered < HEADER_BYTES) return HEADER_BYTES - this.buffered;
    return 4 + this.length - this.buffered;
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.pieces.push(this.transient ? Buffer.from(bytes) : bytes);
    this.buffered += bytes.length;
  }

  /** The first n buffered bytes as one buffer: a view when they lie in one piece, one copy otherwise. */
  private gather(n: number): Buffer {
    if (this.pieces[0].length >= n) return this.pieces[0].subarray(0, n);
    const whole = Buffer.concat(this.pieces, this.buffered);
    this.pieces = [whole];
    return whole.subarray(0, n);
  }

  private reset(): void {
    this.pieces = [];
    this.buffered = 0;
    this.length = -1;
  }

  /** With the header of a large OBJECT frame in, takes the buffer its body will be copied into. */
  private startsPooledBody(): boolean {
    const header = this.gather(HEADER_BYTES);
    const size = this.length - 5;
    if (header[4] !== FrameTypes.object || size < POOLED_BODY_BYTES) return false;
    if (size > MAX_OBJECT_BYTES) throw new ProtocolError(`malformed OBJECT frame (${size} bytes)`);
    this.bodyRequestId = header.readUInt32BE(5);
    this.body = this.bodies!.take(size);
    this.filled = 0;
    this.reset();
    return true;
  }

  private fillBody(rest: Buffer, out: BulkMessage[]): Buffer {
    const body = this.body!;
    const n = Math.min(rest.length, body.length - this.filled);
    rest.copy(body, this.filled, 0, n);
    this.filled += n;
    if (this.filled === body.length) {
      this.body = null;
      out.push({ type: "object", requestId: this.bodyRequestId, bytes: body });
    }
    return rest.subarray(n);
  }
}
