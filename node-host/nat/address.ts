// IP addresses as NAT traversal needs them: which ones are public (worth telling peers about, and
// proof of reachability when an unsolicited datagram comes from one), one text form per address
// (an IPv4 peer seen through a dual-stack socket as ::ffff:a.b.c.d is a.b.c.d), and a compact
// binary form: family byte (4 or 6), the address bytes, the port.

import * as net from "node:net";
import { BinaryReader, BinaryWriter, WireFormatError } from "../util/binary";

export interface HostPort {
  host: string;
  port: number;
}

/** The one text form of an address: IPv4-mapped IPv6 becomes plain IPv4, IPv6 is lower-case and compressed. */
export function normalizeHost(host: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(host);
  if (mapped) return mapped[1];
  if (net.isIPv6(host)) return bytesToIpv6(ipv6ToBytes(host));
  return host;
}

/** An IPv6 address as 16 bytes (any valid text form, embedded IPv4 included). */
export function ipv6ToBytes(host: string): Buffer {
  const text = host.replace(/%.*$/, ""); // a zone index names a local interface, not part of the address
  if (!net.isIPv6(text)) throw new WireFormatError(`not an IPv6 address: ${host}`);
  let groups: number[] = [];
  const parse = (part: string): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    for (const g of part.split(":")) {
      if (g.includes(".")) {
        const [a, b, c, d] = g.split(".").map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const [head, tail] = text.split("::");
  if (tail === undefined) groups = parse(head);
  else {
    const a = parse(head);
    const b = parse(tail);
    groups = [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
  }
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g & 0xffff, i * 2));
  return out;
}

/** 16 bytes as compressed IPv6 text (the longest run of zero groups as "::"). */
export function bytesToIpv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

function ipv4Bytes(host: string): number[] {
  return host.split(".").map(Number);
}

/**
 * Whether the address can be reached across the internet: not loopback, private (RFC 1918),
 * shared (carrier-grade NAT, 100.64/10), link-local, unspecified, multicast, or an IPv6 unique
 * local (fc00::/7) address. Documentation ranges count as public: test networks are built from them.
 */
export function isPublicAddress(host: string): boolean {
  const h = normalizeHost(host);
  if (net.isIPv4(h)) {
    const [a, b] = ipv4Bytes(h);
    if (a === 0 || a === 10 || a === 127 || a >= 224) return false;
    if (a === 100 && b >= 64 && b < 128) return false;
    if (a === 169 && b === 254) return false;
    if (a === 172 && b >= 16 && b < 32) return false;
    if (a === 192 && b === 168) return false;
    return true;
  }
  if (!net.isIPv6(h)) return false;
  const bytes = ipv6ToBytes(h);
  if (bytes.every((x, i) => x === 0 || (i === 15 && x === 1))) return false; // :: and ::1
  if ((bytes[0] & 0xfe) === 0xfc) return false; // unique local
  if (bytes[0] === 0xfe && (bytes[1] & 0xc0) === 0x80) return false; // link-local
  if (bytes[0] === 0xff) return false; // multicast
  return true;
}

export function isLoopbackAddress(host: string): boolean {
  const h = normalizeHost(host);
  return (net.isIPv4(h) && h.startsWith("127.")) || h === "::1";
}

export function writeAddress(w: BinaryWriter, a: HostPort): void {
  const host = normalizeHost(a.host);
  if (net.isIPv4(host)) {
    w.u8(4);
    for (const x of ipv4Bytes(host)) w.u8(x);
  } else {
    w.u8(6).bytes(ipv6ToBytes(host));
  }
  w.u16(a.port);
}

export function readAddress(r: BinaryReader): HostPort {
  const family = r.u8();
  let host: string;
  if (family === 4) host = Array.from(r.bytes(4)).join(".");
  else if (family === 6) host = bytesToIpv6(Buffer.from(r.bytes(16)));
  else throw new WireFormatError(`unknown address family ${family}`);
  const port = r.u16();
  if (port === 0) throw new WireFormatError("port 0");
  return { host, port };
}

export const sameAddress = (a: HostPort, b: HostPort): boolean => a.port === b.port && normalizeHost(a.host) === normalizeHost(b.host);

export const formatAddress = (a: HostPort): string => (net.isIPv6(a.host) ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);
