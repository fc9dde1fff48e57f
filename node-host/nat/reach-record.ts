// How to reach a node that others cannot dial: its reach record, a DHT value record it signs and
// publishes under its own key (name REACH_RECORD_NAME, so anyone with its public key can find it).
// It names the node's rendezvous nodes, its external addresses, its NAT's mapping and what it can
// do. A value record rides on STORE and FIND_VALUE, which older nodes already store and serve.
//
//   version u8 | flags u8 (1 reachable, 2 no UDP) | mapping u8 | updated u64 (ms)
//   | u8 count, external addresses | u8 count, rendezvous (public key 32, address)

import { nodeIdFromPublicKey } from "../dht/id";
import { Contact } from "../dht/messages";
import { PUBLIC_KEY_BYTES } from "../security/identity";
import { BinaryReader, BinaryWriter, WireFormatError } from "../util/binary";
import { HostPort, readAddress, writeAddress } from "./address";
import { Mapping } from "./reachability";

export const REACH_RECORD_NAME = "peershare/reach/1";
const VERSION = 1;
const MAX_ADDRESSES = 4;
const MAX_RENDEZVOUS = 4;
/** A record older than this is not relied on (its rendezvous nodes have likely forgotten the node). */
export const REACH_RECORD_MAX_AGE_MS = 2 * 3600_000;

const MAPPINGS: Mapping[] = ["unknown", "none", "endpoint-independent", "endpoint-dependent"];
const Flags = { reachable: 1, noUdp: 2 } as const;

export interface ReachInfo {
  reachable: boolean;
  /** False when the node's network lets no UDP through (it reaches others over TCP only). */
  udp: boolean;
  mapping: Mapping;
  external: HostPort[];
  rendezvous: Contact[];
  updated: number;
}

export function encodeReach(r: ReachInfo): Buffer {
  const w = new BinaryWriter()
    .u8(VERSION)
    .u8((r.reachable ? Flags.reachable : 0) | (r.udp ? 0 : Flags.noUdp))
    .u8(MAPPINGS.indexOf(r.mapping))
    .u64(r.updated);
  const external = r.external.slice(0, MAX_ADDRESSES);
  w.u8(external.length);
  for (const a of external) writeAddress(w, a);
  const rendezvous = r.rendezvous.slice(0, MAX_RENDEZVOUS);
  w.u8(rendezvous.length);
  for (const c of rendezvous) {
    w.bytes(c.publicKey);
    writeAddress(w, c);
  }
  return w.finish();
}

export function decodeReach(value: Buffer): ReachInfo {
  const r = new BinaryReader(value);
  if (r.u8() !== VERSION) throw new WireFormatError("unknown reach record version");
  const flags = r.u8();
  const mapping = MAPPINGS[r.u8()];
  if (!mapping) throw new WireFormatError("unknown NAT mapping");
  const updated = r.u64();
  const nExternal = r.u8();
  if (nExternal > MAX_ADDRESSES) throw new WireFormatError("too many addresses");
  const external = Array.from({ length: nExternal }, () => readAddress(r));
  const nRendezvous = r.u8();
  if (nRendezvous > MAX_RENDEZVOUS) throw new WireFormatError("too many rendezvous nodes");
  const rendezvous = Array.from({ length: nRendezvous }, () => {
    const publicKey = Buffer.from(r.bytes(PUBLIC_KEY_BYTES));
    return { id: nodeIdFromPublicKey(publicKey), publicKey, ...readAddress(r) };
  });
  r.end();
  return { reachable: (flags & Flags.reachable) !== 0, udp: (flags & Flags.noUdp) === 0, mapping, external, rendezvous, updated };
}
