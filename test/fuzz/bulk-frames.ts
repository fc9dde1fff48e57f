// Hostile bulk-protocol traffic (transport/bulk-protocol.ts) over a real connection: frames built
// raw (u32 length | u8 type | u32 request id | body) so that lengths, types and bodies can lie, plus
// a valid signed HELLO (bulk-handshake.ts) so that what follows reaches the request handlers.
//
// A connection carries "survivable" frames (requests a correct node answers and keeps the connection
// for: unknown objects, refused pushes, pings) in batches, each batch written in randomly cut pieces;
// then one "fatal" frame that the protocol says must close the connection.

import * as tls from "node:tls";
import { Identity } from "../../node-host/security/identity";
import { makeHello, Role } from "../../node-host/transport/bulk-handshake";
import { BulkMessage, encodeMessage, FrameDecoder, FrameTypes, MAX_FRAME_BYTES } from "../../node-host/transport/bulk-protocol";
import { mutate } from "./mutators";
import { Prng } from "./prng";

const EXPORTER_LABEL = "peershare bulk v1";
const ALPN = ["peershare-bulk/1"];

export function rawFrame(type: number, requestId: number, body: Buffer, length = 5 + body.length): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUInt32BE(length >>> 0, 0);
  h[4] = type;
  h.writeUInt32BE(requestId >>> 0, 5);
  return Buffer.concat([h, body]);
}

export interface OutFrame {
  bytes: Buffer;
  kind: string;
  /** Request id the target should answer (PING is answered with id 0); null when no reply is due. */
  reply: number | null;
}

const RESPONSE_TYPES = [FrameTypes.object, FrameTypes.not_found, FrameTypes.ok, FrameTypes.have, FrameTypes.error];
const KNOWN_TYPES = new Set<number>(Object.values(FrameTypes));

export class FrameFuzzer {
  private nextId = 1;

  constructor(private readonly rng: Prng) {}

  private id(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    return id;
  }

  /** The HELLO a dialler sends: valid, or (fatal) broken in one of several ways. */
  hello(identity: Identity, binding: Buffer, variant: "valid" | "fuzzedCredentials" | "badSignature" | "wrongRole" | "malformed"): Buffer {
    const rng = this.rng;
    const role: Role = variant === "wrongRole" ? "acceptor" : "dialler";
    let credentials = { memberships: [] as Buffer[], revocations: [] as Buffer[] };
    if (variant === "fuzzedCredentials") {
      // well-framed lists of bytes that are no certificates: the team book must shrug them off
      credentials = {
        memberships: Array.from({ length: rng.int(0, 4) }, () => rng.bytes(rng.int(0, 1025))),
        revocations: Array.from({ length: rng.int(0, 3) }, () => rng.bytes(rng.int(0, 2049))),
      };
    }
    const bytes = Buffer.concat(encodeMessage(makeHello(identity, role, binding, credentials)));
    if (variant === "badSignature") bytes[9 + 32 + rng.int(0, 64)] ^= 1 << rng.int(0, 8);
    if (variant === "malformed") {
      switch (rng.int(0, 5)) {
        case 0:
          return rawFrame(FrameTypes.hello, 0, bytes.subarray(9, 9 + rng.int(0, 98))); // too short
        case 1:
          return rawFrame(FrameTypes.hello, rng.int(1, 1 << 30), bytes.subarray(9)); // request id not 0
        case 2: {
          const body = Buffer.from(bytes.subarray(9));
          body[96] = rng.int(17, 256); // more memberships than allowed
          return rawFrame(FrameTypes.hello, 0, body);
        }
        case 3:
          return rawFrame(FrameTypes.hello, 0, Buffer.concat([bytes.subarray(9), rng.bytes(rng.int(1, 64))])); // trailing bytes
        default: {
          const body = Buffer.concat([bytes.subarray(9, 9 + 96), Buffer.from([1, 0xff, 0xff]), rng.bytes(16), Buffer.from([0])]);
          return rawFrame(FrameTypes.hello, 0, body); // a membership longer than the frame
        }
      }
    }
    return bytes;
  }

  /** A frame a correct node answers (or ignores) without closing the connection. */
  survivable(): OutFrame {
    const rng = this.rng;
    const kind = rng.weighted({ getUnknown: 40, ping: 8, pong: 4, putRefused: 14, hasUnknown: 14, getIdZero: 4, getSameId: 6, hasPublic: 5, hasTeams: 5 });
    switch (kind) {
      case "ping":
        return { bytes: rawFrame(FrameTypes.ping, 0, Buffer.alloc(0)), kind, reply: 0 };
      case "pong":
        return { bytes: rawFrame(FrameTypes.pong, 0, Buffer.alloc(0)), kind, reply: null };
      case "getIdZero":
        return { bytes: rawFrame(FrameTypes.get, 0, rng.bytes(32)), kind, reply: 0 };
      case "putRefused": {
        // bytes that do not hash to the id, some of them shaped like a manifest
        const manifestish = rng.chance(0.3) ? Buffer.concat([Buffer.from("PSHM\x01"), rng.bytes(rng.int(0, 300))]) : rng.bytes(rng.int(0, 4096));
        const id = this.id();
        return { bytes: rawFrame(FrameTypes.put, id, Buffer.concat([rng.bytes(32), manifestish])), kind, reply: id };
      }
      case "hasUnknown":
      case "hasPublic":
      case "hasTeams": {
        const audience = kind === "hasPublic" ? Buffer.from([0xff]) : kind === "hasTeams" ? Buffer.concat([Buffer.from([2]), rng.bytes(64)]) : Buffer.from([0]);
        const id = this.id();
        // replication 0: a plain question (an offer, replication > 0, is counted separately)
        return { bytes: rawFrame(FrameTypes.has, id, Buffer.concat([Buffer.from([0]), audience, rng.bytes(32 * rng.int(1, 40))])), kind, reply: id };
      }
      default: {
        const id = kind === "getSameId" ? 7 : this.id();
        return { bytes: rawFrame(FrameTypes.get, id, rng.bytes(32)), kind, reply: id };
      }
    }
  }

  /** An offer for replication of a content nobody has (HAS with replication > 0): answered, but remembered by the target. */
  offer(): OutFrame {
    const id = this.id();
    return { bytes: rawFrame(FrameTypes.has, id, Buffer.concat([Buffer.from([this.rng.int(1, 21), 0]), this.rng.bytes(32)])), kind: "hasOffer", reply: id };
  }

  /** A frame after which the connection must be closed (`afterHello`: the HELLO exchange is done). */
  fatal(afterHello: boolean): OutFrame {
    const rng = this.rng;
    const kind = rng.weighted({
      lengthTooBig: 10,
      lengthTooSmall: 8,
      unknownType: 12,
      badGet: 10,
      response: afterHello ? 12 : 0,
      secondHello: afterHello ? 6 : 0,
      badPing: 6,
      badHas: 8,
      garbage: 10,
      requestBeforeHello: afterHello ? 0 : 18,
      mutated: 10,
    });
    const none = { reply: null };
    switch (kind) {
      case "lengthTooBig":
        return { bytes: rawFrame(FrameTypes.get, 1, rng.bytes(32), rng.pick([MAX_FRAME_BYTES + 1, 0x7fffffff, 0xffffffff, MAX_FRAME_BYTES + rng.int(2, 1 << 20)])), kind, ...none };
      case "lengthTooSmall":
        return { bytes: rawFrame(FrameTypes.get, 1, Buffer.alloc(0), rng.int(0, 5)).subarray(0, 4 + rng.int(0, 5)), kind, ...none };
      case "unknownType": {
        let type = rng.int(0, 256);
        while (KNOWN_TYPES.has(type)) type = rng.int(0, 256);
        return { bytes: rawFrame(type, rng.int(0, 1 << 30), rng.bytes(rng.int(0, 64))), kind, ...none };
      }
      case "badGet":
        return { bytes: rawFrame(FrameTypes.get, 1, rng.bytes(rng.pick([0, 1, 31, 33, 64, rng.int(34, 2000)]))), kind, ...none };
      case "response": {
        const type = rng.pick(RESPONSE_TYPES);
        const body = type === FrameTypes.error ? Buffer.concat([Buffer.from([0, 1]), rng.bytes(rng.int(0, 64))]) : type === FrameTypes.not_found || type === FrameTypes.ok ? Buffer.alloc(0) : rng.bytes(rng.int(0, 256));
        return { bytes: rawFrame(type, rng.int(1, 1 << 30), body), kind, ...none };
      }
      case "secondHello":
        return { bytes: rawFrame(FrameTypes.hello, 0, Buffer.concat([rng.bytes(96), Buffer.from([0, 0])])), kind, ...none };
      case "badPing":
        return { bytes: rng.chance(0.5) ? rawFrame(FrameTypes.ping, 0, rng.bytes(rng.int(1, 16))) : rawFrame(rng.pick([FrameTypes.ping, FrameTypes.pong]), rng.int(1, 1 << 30), Buffer.alloc(0)), kind, ...none };
      case "badHas": {
        const bodies = [Buffer.alloc(0), Buffer.from([0]), Buffer.concat([Buffer.from([0, 0]), rng.bytes(rng.int(1, 32))]), Buffer.concat([Buffer.from([1, rng.int(17, 255)]), rng.bytes(64)]), Buffer.concat([Buffer.from([0, 3]), rng.bytes(64)])];
        return { bytes: rawFrame(FrameTypes.has, 9, rng.pick(bodies)), kind, ...none };
      }
      case "requestBeforeHello": {
        const m: BulkMessage = rng.chance(0.5) ? { type: "get", requestId: 1, objectId: rng.bytes(32) } : { type: "ping", requestId: 0 };
        return { bytes: Buffer.concat(encodeMessage(m)), kind, ...none };
      }
      case "mutated": {
        // a well-formed GET mutated until it no longer parses as one
        for (;;) {
          const b = mutate(rng, rawFrame(FrameTypes.get, 5, rng.bytes(32)));
          if (isFatal(b, afterHello)) return { bytes: b, kind, ...none };
        }
      }
      default: {
        // random bytes whose length field is out of range, or whose frame is unknown or malformed
        for (;;) {
          const b = rng.bytes(rng.int(4, 300));
          if (isFatal(b, afterHello)) return { bytes: b, kind: "garbage", ...none };
        }
      }
    }
  }
}

/** True when the real decoder rejects the first frame of `bytes` (or it is anything but a survivable request). */
function isFatal(bytes: Buffer, afterHello: boolean): boolean {
  const length = bytes.length >= 4 ? bytes.readUInt32BE(0) : -1;
  if (length < 0) return false; // incomplete: the decoder would wait, not fail
  if (length < 5 || length > MAX_FRAME_BYTES) return true;
  if (bytes.length < 4 + length) return false;
  try {
    const [m] = new FrameDecoder().push(bytes.subarray(0, 4 + length));
    if (!afterHello) return true; // anything but a valid HELLO before the HELLO
    return !(m.type === "get" || m.type === "put" || m.type === "has" || m.type === "ping" || m.type === "pong");
  } catch {
    return true;
  }
}

/** A byte stream to the target on either path, with the target's frames decoded as they arrive. */
export interface BulkConn {
  /** Channel binding for the HELLO. */
  binding: Buffer;
  write(pieces: Buffer[]): void;
  /** Resolves once the target's HELLO arrived (or the connection closed first: false). */
  helloSeen: Promise<boolean>;
  /** Replies seen so far by request id (PONG counts as a reply to id 0). */
  replies: Map<number, number>;
  /** Frames received from the target, HELLO included. */
  received: number;
  closed: Promise<void>;
  isClosed(): boolean;
  close(): void;
}

/** Decoding of what the target sends, shared by the TLS and WebRTC connections. */
export function receiver(onClosedByProtocol: () => void): { push: (piece: Buffer) => void; state: Pick<BulkConn, "replies" | "received">; helloSeen: Promise<boolean>; settleHello: (ok: boolean) => void } {
  const decoder = new FrameDecoder();
  const state = { replies: new Map<number, number>(), received: 0 };
  let settleHello: (ok: boolean) => void = () => undefined;
  const helloSeen = new Promise<boolean>((r) => (settleHello = r));
  return {
    state,
    helloSeen,
    settleHello: (ok) => settleHello(ok),
    push(piece: Buffer) {
      let messages: BulkMessage[];
      try {
        messages = decoder.push(piece);
      } catch {
        onClosedByProtocol(); // the target sent something our own decoder rejects
        return;
      }
      for (const m of messages) {
        state.received++;
        if (m.type === "hello") settleHello(true);
        else if (m.type !== "ping") state.replies.set(m.requestId, (state.replies.get(m.requestId) ?? 0) + 1);
      }
    },
  };
}

/** A raw TLS connection to a node's bulk port (TLS 1.3, its ALPN), not yet past HELLO. */
export function connectTls(port: number, timeoutMs = 5000): Promise<BulkConn> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, minVersion: "TLSv1.3", ALPNProtocols: ALPN });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error("no TLS handshake"));
    }, timeoutMs);
    s.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.once("secureConnect", () => {
      clearTimeout(timer);
      s.removeAllListeners("error");
      s.on("error", () => undefined);
      let closed = false;
      const rx = receiver(() => s.destroy());
      s.on("data", (piece: Buffer) => rx.push(piece));
      const closedP = new Promise<void>((r) =>
        s.once("close", () => {
          closed = true;
          rx.settleHello(false);
          r();
        }),
      );
      resolve({
        binding: s.exportKeyingMaterial(32, EXPORTER_LABEL, Buffer.alloc(0)),
        write: (pieces) => {
          if (closed) return;
          for (const p of pieces) s.write(p);
        },
        helloSeen: rx.helloSeen,
        replies: rx.state.replies,
        get received() {
          return rx.state.received;
        },
        closed: closedP,
        isClosed: () => closed,
        close: () => s.destroy(),
      });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `done()` or the connection closes or `ms` pass; true when done. */
export async function until(conn: BulkConn, done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (conn.isClosed() || Date.now() > deadline) return done();
    await sleep(5);
  }
  return true;
}

/** Waits for the connection to close; true when it did within `ms`. */
export async function closesWithin(conn: BulkConn, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([conn.closed.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  return closed;
}

export interface SessionCounts {
  connections: number;
  /** Frames written, and pieces (TLS writes or data-channel messages) they were cut into. */
  frames: number;
  pieces: number;
  /** Survivable requests answered, and how many went unanswered. */
  answered: number;
  unanswered: number;
  /** Connections the target closed after a fatal frame, and ones it did not (within the wait). */
  closedAfterFatal: number;
  notClosedAfterFatal: number;
  /** Connections closed by the target before the fatal frame (should stay 0). */
  closedEarly: number;
  kinds: Record<string, number>;
}

export function newSessionCounts(): SessionCounts {
  return { connections: 0, frames: 0, pieces: 0, answered: 0, unanswered: 0, closedAfterFatal: 0, notClosedAfterFatal: 0, closedEarly: 0, kinds: {} };
}

export interface SessionPlan {
  /** HELLO variant first (none: no HELLO at all). */
  hello: "valid" | "fuzzedCredentials" | "badSignature" | "wrongRole" | "malformed" | "none";
  /** Batches of survivable frames after a valid HELLO, each of up to `batch` frames. */
  batches: number;
  batch: number;
  /** Largest piece a batch is cut into (a data channel message is at most 256 KiB). */
  maxPiece: number;
  /** Offers for replication (HAS with replication > 0) to send among the survivable frames. */
  offers?: number;
  /** End with a fatal frame (a valid-HELLO session), or nothing. */
  fatal: boolean;
  /** After HELLO, a PING written by this function (e.g. as a data channel's text message); it must be answered. */
  ping?: (bytes: Buffer) => void;
}

/** Runs one connection's worth of fuzz: HELLO, answered batches, then the frame that must close it. */
export async function runSession(conn: BulkConn, identity: Identity, fuzzer: FrameFuzzer, rng: Prng, plan: SessionPlan, counts: SessionCounts, replyMs = 3000): Promise<void> {
  counts.connections++;
  const note = (kind: string) => (counts.kinds[kind] = (counts.kinds[kind] ?? 0) + 1);
  const send = (bytes: Buffer) => {
    const pieces = splitPieces(rng, bytes, plan.maxPiece);
    conn.write(pieces);
    counts.pieces += pieces.length;
  };
  const survivableHello = plan.hello === "valid" || plan.hello === "fuzzedCredentials";
  if (plan.hello !== "none") {
    send(fuzzer.hello(identity, conn.binding, plan.hello));
    counts.frames++;
    note(`hello:${plan.hello}`);
  }
  if (!survivableHello) {
    // broken or missing HELLO: one fatal frame (a request before HELLO, or garbage) and the close
    if (plan.hello === "none") {
      const f = fuzzer.fatal(false);
      send(f.bytes);
      counts.frames++;
      note(f.kind);
    }
    if (await closesWithin(conn, replyMs)) counts.closedAfterFatal++;
    else counts.notClosedAfterFatal++;
    conn.close();
    return;
  }
  await conn.helloSeen;
  if (plan.ping) {
    const before = conn.replies.get(0) ?? 0;
    plan.ping(rawFrame(FrameTypes.ping, 0, Buffer.alloc(0)));
    counts.frames++;
    note("pingAsText");
    if (await until(conn, () => (conn.replies.get(0) ?? 0) > before, replyMs)) counts.answered++;
    else counts.unanswered++;
  }
  let offers = plan.offers ?? 0;
  for (let b = 0; b < plan.batches && !conn.isClosed(); b++) {
    const frames: OutFrame[] = [];
    const n = rng.int(1, plan.batch + 1);
    for (let i = 0; i < n; i++) {
      if (offers > 0 && rng.chance(0.2)) {
        offers--;
        frames.push(fuzzer.offer());
      } else frames.push(fuzzer.survivable());
    }
    // replies due per request id (PING and GET with id 0 share id 0; some GETs share an id on purpose)
    const want = new Map<number, number>();
    for (const f of frames) {
      note(f.kind);
      if (f.reply !== null) want.set(f.reply, (want.get(f.reply) ?? 0) + 1);
    }
    const base = new Map([...want.keys()].map((id) => [id, conn.replies.get(id) ?? 0] as const));
    const got = (id: number) => (conn.replies.get(id) ?? 0) - base.get(id)!;
    send(Buffer.concat(frames.map((f) => f.bytes)));
    counts.frames += frames.length;
    await until(conn, () => [...want].every(([id, n]) => got(id) >= n), replyMs);
    for (const [id, n] of want) {
      counts.answered += Math.min(n, got(id));
      counts.unanswered += Math.max(0, n - got(id));
    }
  }
  if (conn.isClosed()) {
    counts.closedEarly++;
    return;
  }
  if (!plan.fatal) {
    conn.close();
    return;
  }
  const f = fuzzer.fatal(true);
  note(f.kind);
  send(f.bytes);
  counts.frames++;
  if (await closesWithin(conn, replyMs)) counts.closedAfterFatal++;
  else counts.notClosedAfterFatal++;
  conn.close();
}

function splitPieces(rng: Prng, bytes: Buffer, maxPiece: number): Buffer[] {
  if (rng.chance(0.3) || bytes.length <= 1) return [bytes];
  const out: Buffer[] = [];
  for (let off = 0; off < bytes.length; ) {
    const n = Math.min(bytes.length - off, rng.chance(0.3) ? rng.int(1, 10) : rng.int(1, maxPiece + 1));
    out.push(bytes.subarray(off, off + n));
    off += n;
  }
  return out;
}
