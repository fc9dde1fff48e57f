// IP addresses as NAT traversal needs them: which ones are public (worth telling peers about, and
// proof of reachability when an unsolicited datagram comes from one), one text form per address
// (an IPv4 peer seen through a dual-stack socket as ::ffff:a.b.c.d is a.b.c.d), and a compact
// binary form: family byte (4 or 6), the address bytes, the port.

import * as net from "node:net";
import { BinaryReader, BinaryWriter, WireFormatError } from "../util/binary";
import { ipBytes, ipText, unmapIpv4 } from "../util/ip-address";

export interface HostPort {
  host: string;
  port: number;
}

/** The one text form of an address: IPv4-mapped IPv6 becomes plain IPv4, IPv6 is lower-case and compressed. */
export function normalizeHost(host: string): string {
  const plain = unmapIpv4(host);
  if (!net.isIPv6(plain)) return plain;
  const bytes = ipBytes(plain);
  return bytes ? ipText(bytes) : plain;
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
  const bytes = ipBytes(h);
  if (!bytes) return false;
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
    const bytes = ipBytes(host);
    if (!bytes || bytes.length !== 16) throw new WireFormatError(`not an IP address: ${a.host}`);
    w.u8(6).bytes(bytes);
  }
  w.u16(a.port);
}

export function readAddress(r: BinaryReader): HostPort {
  const family = r.u8();
  let host: string;
  if (family === 4) host = Array.from(r.bytes(4)).join(".");
  else if (family === 6) host = normalizeHost(ipText(r.bytes(16)));
  else throw new WireFormatError(`unknown address family ${family}`);
  const port = r.u16();
  if (port === 0) throw new WireFormatError("port 0");
  return { host, port };
}

export const sameAddress = (a: HostPort, b: HostPort): boolean => a.port === b.port && normalizeHost(a.host) === normalizeHost(b.host);

export const formatAddress = (a: HostPort): string => (net.isIPv6(a.host) ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);
