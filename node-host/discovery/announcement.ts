// The LAN announcement: what a node multicasts so that nodes on the same link find it without any
// configured bootstrap contact. It carries only what any stranger on the link may see anyway (it is
// in every DHT datagram the node sends): the node's Ed25519 public key, its UDP port and a
// timestamp, signed with the node's key. No team names, no content, no addresses of other nodes.
//
// Version 1, 113 bytes, big-endian:
//
//   "PSLD" | version (1) = 1 | kind (1) | flags (1) = 0 | port (2) | timestamp ms (8) |
//   public key (32) | Ed25519 signature (64)
//
// The signature covers SIGNING_CONTEXT followed by the first 49 bytes, so it cannot be mistaken for
// (or replayed as) any other signature the node makes. `kind` is ANNOUNCE ("I am here") or QUERY
// ("I am here; who else is?": receivers answer with an announcement of their own).

import { Id, nodeIdFromPublicKey } from "../dht/id";
import { Identity, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, SignatureVerifier } from "../security/identity";

export const ANNOUNCEMENT_MAGIC = Buffer.from("PSLD", "ascii");
export const ANNOUNCEMENT_VERSION = 1;
const SIGNING_CONTEXT = Buffer.from("peershare/lan-announcement/v1\0", "ascii");
const BODY_BYTES = ANNOUNCEMENT_MAGIC.length + 1 + 1 + 1 + 2 + 8 + PUBLIC_KEY_BYTES;
export const ANNOUNCEMENT_BYTES = BODY_BYTES + SIGNATURE_BYTES;
/** Larger datagrams are dropped before any parsing (room for a later version's additions). */
export const MAX_ANNOUNCEMENT_BYTES = 512;
/** Announcements whose timestamp is further than this from the receiver's clock are stale (as for DHT datagrams). */
export const ANNOUNCEMENT_FRESHNESS_MS = 30_000;

export type AnnouncementKind = "announce" | "query";
const KIND_CODES: Record<AnnouncementKind, number> = { announce: 1, query: 2 };

export interface Announcement {
  kind: AnnouncementKind;
  /** The node's UDP port (its DHT and, over TCP, its bulk transfers); the host is the datagram's source address. */
  port: number;
  timestamp: number;
  publicKey: Buffer;
  /** SHA-256 of the public key, as everywhere else. */
  id: Id;
}

export type AnnouncementError = "oversized" | "malformed" | "unsupportedVersion" | "badSignature" | "stale";

export type DecodedAnnouncement = { ok: true; announcement: Announcement } | { ok: false; error: AnnouncementError };

function signingBytes(body: Buffer): Buffer {
  return Buffer.concat([SIGNING_CONTEXT, body]);
}

/** A signed announcement of `identity` listening on UDP `port`. */
export function encodeAnnouncement(identity: Identity, kind: AnnouncementKind, port: number, timestamp: number): Buffer {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port ${port} is not a UDP port`);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new RangeError("timestamp must be a non-negative whole number of ms");
  const body = Buffer.alloc(BODY_BYTES);
  let o = ANNOUNCEMENT_MAGIC.copy(body, 0);
  o = body.writeUInt8(ANNOUNCEMENT_VERSION, o);
  o = body.writeUInt8(KIND_CODES[kind], o);
  o = body.writeUInt8(0, o);
  o = body.writeUInt16BE(port, o);
  o = body.writeBigUInt64BE(BigInt(timestamp), o);
  identity.publicKey.copy(body, o);
  return Buffer.concat([body, identity.sign(signingBytes(body))]);
}

/**
 * Parses and checks an announcement: size, format, version, signature and freshness against
 * `now`. Never throws; whatever is wrong is named in the result. Replays within the freshness
 * window are for the caller to catch (it knows what it has seen).
 */
export function decodeAnnouncement(datagram: Buffer, now: number, verifier: SignatureVerifier, freshnessMs = ANNOUNCEMENT_FRESHNESS_MS): DecodedAnnouncement {
  try {
    if (datagram.length > MAX_ANNOUNCEMENT_BYTES) return { ok: false, error: "oversized" };
    if (datagram.length < ANNOUNCEMENT_MAGIC.length + 1 || !datagram.subarray(0, ANNOUNCEMENT_MAGIC.length).equals(ANNOUNCEMENT_MAGIC)) return { ok: false, error: "malformed" };
    let o = ANNOUNCEMENT_MAGIC.length;
    if (datagram.readUInt8(o++) !== ANNOUNCEMENT_VERSION) return { ok: false, error: "unsupportedVersion" };
    if (datagram.length !== ANNOUNCEMENT_BYTES) return { ok: false, error: "malformed" };
    const kindCode = datagram.readUInt8(o++);
    const kind = (Object.keys(KIND_CODES) as AnnouncementKind[]).find((k) => KIND_CODES[k] === kindCode);
    const flags = datagram.readUInt8(o++);
    const port = datagram.readUInt16BE(o);
    o += 2;
    const ts = datagram.readBigUInt64BE(o);
    o += 8;
    if (!kind || flags !== 0 || port === 0 || ts > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, error: "malformed" };
    const publicKey = Buffer.from(datagram.subarray(o, o + PUBLIC_KEY_BYTES));
    const signature = datagram.subarray(BODY_BYTES);
    // freshness first: a stale datagram costs no signature check
    const timestamp = Number(ts);
    if (Math.abs(now - timestamp) > freshnessMs) return { ok: false, error: "stale" };
    if (!verifier.verify(publicKey, signingBytes(datagram.subarray(0, BODY_BYTES)), signature)) return { ok: false, error: "badSignature" };
    return { ok: true, announcement: { kind, port, timestamp, publicKey, id: nodeIdFromPublicKey(publicKey) } };
  } catch {
    return { ok: false, error: "malformed" };
  }
}
