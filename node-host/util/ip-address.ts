// IP addresses between their text and their network-order bytes (Node parses them for its sockets
// but exposes no inet_pton / inet_ntop).

import * as net from "node:net";

const MAPPED_PREFIX = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/** The 4 or 16 bytes of an IPv4 or IPv6 address; null for anything else (a zone index included). */
export function ipBytes(address: string): Buffer | null {
  if (net.isIPv4(address)) return Buffer.from(address.split(".").map(Number));
  if (!net.isIPv6(address) || address.includes("%")) return null;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address); // a trailing IPv4 part, as in ::ffff:192.0.2.1
  const text = dotted ? address.slice(0, -dotted[1].length) + ipv4AsGroups(dotted[1]) : address;
  const [head, tail] = text.split("::");
  const groups = (s: string | undefined) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const a = groups(head);
  const b = groups(tail);
  const all = tail === undefined ? a : [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/**
 * The text of 4 or 16 address bytes, as Node writes addresses: dotted IPv4; IPv6 in RFC 5952's short
 * form (lower case, the first longest run of two or more zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d).
 */
export function ipText(raw: Uint8Array): string {
  if (raw.length === 4) return raw.join(".");
  if (raw.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, not ${raw.length}`);
  const groups = Array.from({ length: 8 }, (_, i) => (raw[2 * i] << 8) | raw[2 * i + 1]);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${[...raw.subarray(12)].join(".")}`;
  let best = -1;
  let bestLength = 1; // a lone zero group is written out
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  return best < 0 ? hex.join(":") : `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLength).join(":")}`;
}

/** An IPv4-mapped IPv6 address (what a dual-stack socket reports for an IPv4 peer) as plain IPv4; others unchanged. */
export function unmapIpv4(address: string): string {
  return MAPPED_PREFIX.exec(address)?.[1] ?? address;
}

function ipv4AsGroups(dotted: string): string {
  const [a, b, c, d] = dotted.split(".").map(Number);
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}
