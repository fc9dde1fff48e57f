// Which address hints a node puts into its share links and invites (hints.ts): the addresses where
// it can be reached, and, while it is behind NAT, its rendezvous nodes. Chosen from what NAT
// traversal found out (nat/nat-service.ts: reachability, the external address, the rendezvous
// nodes), the address a port forward gives it (the publicAddress setting), and the addresses it
// listens on. A node that can be reached at a public address names no private one (it would only
// cost a fetcher a timeout); a node on a LAN or behind NAT names one LAN address, for fetchers on
// its LAN; a node listening on loopback only names that (tests, one machine).

import * as dns from "node:dns/promises";
import * as net from "node:net";
import * as os from "node:os";
import { HostPort, isLoopbackAddress, isPublicAddress, normalizeHost, sameAddress } from "../nat/address";
import { ID_PREFIX_BYTES, Hints, MAX_HINT_ENTRIES } from "./hints";

const MAX_DIRECT = 3;
const MAX_RENDEZVOUS = 3;

export interface OwnHintInputs {
  publicKey: Buffer;
  /** The node's UDP (and TCP) port. */
  port: number;
  /** The address its socket is bound to (0.0.0.0 or :: for every interface). */
  boundHost: string;
  nat: {
    reachability: "unknown" | "reachable" | "unreachable";
    external: HostPort | null;
    rendezvous: { id: string; host: string; port: number }[];
  };
  /** Where a port forward makes it reachable (the publicAddress setting, resolved), if anywhere. */
  publicAddress: HostPort | null;
  /** The addresses of the machine's interfaces (default: os.networkInterfaces()). */
  interfaces?: string[];
}

/** Whether a LAN address (private, not loopback, not link-local) may be named. */
function isLanAddress(host: string): boolean {
  if (isPublicAddress(host) || isLoopbackAddress(host)) return false;
  const h = normalizeHost(host);
  return !(h.startsWith("169.254.") || /^fe[89ab]/i.test(h) || h === "0.0.0.0" || h === "::");
}

/** The addresses the node listens on: the one it is bound to, or every interface's. */
function listeningOn(boundHost: string, interfaces: string[] | undefined): string[] {
  if (boundHost !== "0.0.0.0" && boundHost !== "::" && boundHost !== "") return [normalizeHost(boundHost)];
  const all = interfaces ?? Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
  // an IPv4 wildcard socket cannot be reached over IPv6
  return all.map(normalizeHost).filter((a) => boundHost === "::" || net.isIPv4(a));
}

/** The hints for this node's links (pure: unit-tested). */
export function chooseHints(i: OwnHintInputs): Pick<Hints, "node" | "direct" | "rendezvous"> {
  const direct: HostPort[] = [];
  const add = (a: HostPort | null) => {
    if (a && !direct.some((d) => sameAddress(d, a))) direct.push({ host: normalizeHost(a.host), port: a.port });
  };
  const local = listeningOn(i.boundHost, i.interfaces);
  const behindNat = i.nat.reachability === "unreachable";
  add(i.publicAddress);
  if (!behindNat) {
    if (i.nat.external && isPublicAddress(i.nat.external.host)) add(i.nat.external);
    for (const host of local.filter(isPublicAddress)) add({ host, port: i.port });
  }
  if (direct.length === 0) {
    const lan = local.filter(isLanAddress);
    const loopback = local.filter(isLoopbackAddress);
    add(lan.length ? { host: lan[0], port: i.port } : loopback.length === local.length && loopback.length ? { host: loopback[0], port: i.port } : null);
  }
  const rendezvous = behindNat
    ? i.nat.rendezvous.slice(0, MAX_RENDEZVOUS).map((r) => ({ idPrefix: Buffer.from(r.id, "hex").subarray(0, ID_PREFIX_BYTES), host: r.host, port: r.port }))
    : [];
  return { node: i.publicKey, direct: direct.slice(0, Math.min(MAX_DIRECT, MAX_HINT_ENTRIES - rendezvous.length)), rendezvous };
}

/** The publicAddress setting ("HOST:PORT", HOST a name or an IP address) as an IP address and port; null when unset or unresolvable. */
export async function resolvePublicAddress(setting: string): Promise<HostPort | null> {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(setting.trim());
  if (!m) return null;
  const port = Number(m[2]);
  if (net.isIP(m[1])) return { host: normalizeHost(m[1]), port };
  try {
    const { address } = await dns.lookup(m[1]);
    return { host: normalizeHost(address), port };
  } catch {
    return null; // a name that does not resolve now: the link goes without it
  }
}
