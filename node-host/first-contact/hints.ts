// Address hints: where the node that made a share link or a team invite (the sharer, the team's
// admin) can be found, so that a node with nothing configured can reach it from the link alone
// (as magnet links carry peer addresses, `x.pe`, and iroh tickets carry addresses). They name:
//
//   - the node itself, by its Ed25519 public key;
//   - "direct" addresses, where that node answers itself;
//   - "rendezvous" nodes, reachable nodes that forward requests to it while it is behind NAT (and
//     relay bulk connections to it), each by the first 8 bytes of its node ID and its address.
//
// Nothing in a hint is trusted: a direct address is used only once the node answers there under
// the key the hint names, a rendezvous node only once its answer comes from a key whose ID starts
// with the named prefix (64 bits: no one finds a key to match a given prefix). A wrong or stale
// hint costs a timeout, never a wrong peer (first-contact.ts).
//
// Binary form, then base64url (no padding):
//   version u8 (1) | node public key (32) | count u8
//   | count × (kind u8 | length u8 | body): direct: address; rendezvous: ID prefix (8) | address
//   address = family u8 (4 or 6) | 4 or 16 bytes | port u16 (nat/address.ts)
// An entry of a kind this version does not know is skipped by its length, so newer kinds can be added.

import { PUBLIC_KEY_BYTES } from "../security/identity";
import { HostPort, readAddress, writeAddress } from "../nat/address";
import { BinaryReader, BinaryWriter, WireFormatError } from "../util/binary";

const VERSION = 1;
const Kinds = { direct: 1, rendezvous: 2 } as const;
/** Bytes of a rendezvous node's ID named in a hint. */
export const ID_PREFIX_BYTES = 8;
/** Entries one hint block carries at most (each address is tried at once, so this bounds a fetch's first pings). */
export const MAX_HINT_ENTRIES = 6;
/** The longest hint text accepted (6 IPv6 rendezvous entries are 254 bytes: 339 characters). */
const MAX_HINT_TEXT = 400;

export interface RendezvousHint extends HostPort {
  /** The first ID_PREFIX_BYTES bytes of the rendezvous node's ID. */
  idPrefix: Buffer;
}

export interface Hints {
  /** The public key of the node the link or invite comes from. */
  node: Buffer;
  /** Addresses where that node answers itself. */
  direct: HostPort[];
  /** Reachable nodes that pass requests on to it (it is behind NAT). */
  rendezvous: RendezvousHint[];
  /** Entries of kinds this version does not know (skipped). */
  unknown: number;
}

export class HintError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HintError";
  }
}

/** Encodes hints as base64url (at most MAX_HINT_ENTRIES entries: direct ones first, as given). */
export function encodeHints(h: Pick<Hints, "node" | "direct" | "rendezvous">): string {
  if (h.node.length !== PUBLIC_KEY_BYTES) throw new TypeError("a hint names a 32-byte public key");
  const entries: [number, Buffer][] = [
    ...h.direct.map((a): [number, Buffer] => [Kinds.direct, addressBytes(a)]),
    ...h.rendezvous.map((r): [number, Buffer] => {
      if (r.idPrefix.length !== ID_PREFIX_BYTES) throw new TypeError(`a rendezvous hint names ${ID_PREFIX_BYTES} bytes of a node ID`);
      return [Kinds.rendezvous, Buffer.concat([r.idPrefix, addressBytes(r)])];
    }),
  ].slice(0, MAX_HINT_ENTRIES);
  const w = new BinaryWriter().u8(VERSION).bytes(h.node).u8(entries.length);
  for (const [kind, body] of entries) w.u8(kind).u8(body.length).bytes(body);
  return w.finish().toString("base64url");
}

function addressBytes(a: HostPort): Buffer {
  const w = new BinaryWriter();
  writeAddress(w, a);
  return w.finish();
}

/** Decodes hint text; a HintError says what is wrong with it. */
export function decodeHints(text: string): Hints {
  if (text.length === 0) throw new HintError("they are empty");
  if (text.length > MAX_HINT_TEXT) throw new HintError(`they are ${text.length} characters long, more than the ${MAX_HINT_TEXT} a link carries`);
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new HintError("they are not base64url (letters, digits, - and _)");
  const bytes = Buffer.from(text, "base64url");
  if (bytes.toString("base64url") !== text) throw new HintError("they are not base64url (letters, digits, - and _)");
  try {
    return readHints(new BinaryReader(bytes));
  } catch (err) {
    if (err instanceof WireFormatError) throw new HintError(`they do not parse (${err.message}); copy the whole link`);
    throw err;
  }
}

function readHints(r: BinaryReader): Hints {
  const version = r.u8();
  if (version !== VERSION) throw new HintError(`they are of version ${version}, which this peershare (version ${VERSION}) does not read; a newer peershare does`);
  const node = Buffer.from(r.bytes(PUBLIC_KEY_BYTES));
  const count = r.u8();
  if (count > MAX_HINT_ENTRIES) throw new HintError(`they name ${count} addresses, more than the ${MAX_HINT_ENTRIES} allowed`);
  const hints: Hints = { node, direct: [], rendezvous: [], unknown: 0 };
  for (let i = 0; i < count; i++) {
    const kind = r.u8();
    const body = new BinaryReader(r.bytes(r.u8()));
    if (kind === Kinds.direct) hints.direct.push(readAddress(body));
    else if (kind === Kinds.rendezvous) hints.rendezvous.push({ idPrefix: Buffer.from(body.bytes(ID_PREFIX_BYTES)), ...readAddress(body) });
    else {
      hints.unknown++;
      continue;
    }
    body.end();
  }
  r.end();
  return hints;
}

/** The entries of a hint block as short text, for progress lines and logs: "direct 203.0.113.10:7420". */
export function describeHint(kind: "direct" | "rendezvous", a: HostPort): string {
  return `${kind} ${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
}
