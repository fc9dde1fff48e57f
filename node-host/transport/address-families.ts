// Which address families this host can send in: an IPv6-only host cannot reach an IPv4 contact
// (and an IPv4-only one an IPv6 contact), and a request to one would only wait out its timeout,
// which a lookup pays for every such contact it meets. Read from the interfaces, at most every
// few seconds (a laptop changes networks).

import * as net from "node:net";
import * as os from "node:os";
import { isLoopbackAddress, normalizeHost } from "../nat/address";

const REFRESH_MS = 5000;

export interface Families {
  ipv4: boolean;
  ipv6: boolean;
}

/** The families of a list of interface addresses that reach beyond this host (loopback and link-local do not). */
export function familiesOf(addresses: string[]): Families {
  const routable = addresses.map(normalizeHost).filter((a) => !isLoopbackAddress(a) && !a.toLowerCase().startsWith("fe80:"));
  return { ipv4: routable.some((a) => net.isIPv4(a)), ipv6: routable.some((a) => net.isIPv6(a)) };
}

let cached: { families: Families; at: number } | null = null;

function hostFamilies(): Families {
  if (cached && cached.at > Date.now() - REFRESH_MS) return cached.families;
  const addresses = Object.values(os.networkInterfaces())
    .flat()
    .filter((i): i is os.NetworkInterfaceInfo => !!i)
    .map((i) => i.address);
  cached = { families: familiesOf(addresses), at: Date.now() };
  return cached.families;
}

/** False when `host` is of a family this host has no address in (loopback is always reachable). */
export function canSendTo(host: string, families: Families = hostFamilies()): boolean {
  if (families.ipv4 && families.ipv6) return true;
  const h = normalizeHost(host);
  if (isLoopbackAddress(h)) return true;
  return net.isIPv4(h) ? families.ipv4 : net.isIPv6(h) ? families.ipv6 : true;
}
