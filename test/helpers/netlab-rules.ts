// The packet filter of a lab router, as iptables-restore / ip6tables-restore input, and which
// iptables backend (nf_tables or legacy x_tables) works inside a namespace on this machine.

import { deleteNamespaces, ip, runIn } from "./netns";

/** How a cell's router treats traffic; see CellSpec in netlab.ts. */
export interface RouterPolicy {
  /** IPv4 source NAT on the WAN leg: none, endpoint-independent, or address-and-port-dependent mapping. */
  nat: "eim" | "random-fully" | "none";
  /** Drop what the LAN did not ask for (conntrack state ESTABLISHED/RELATED passes). */
  firewall: boolean;
  /** Drop every UDP datagram through the router, both ways. */
  blockUdp: boolean;
}

/** The router's WAN interface name, inside its namespace. */
export const WAN = "wan";

export interface IptablesBackend {
  name: "nft" | "legacy";
  restore4: string;
  restore6: string;
}

const BACKENDS: IptablesBackend[] = [
  { name: "nft", restore4: "iptables-nft-restore", restore6: "ip6tables-nft-restore" },
  { name: "legacy", restore4: "iptables-legacy-restore", restore6: "ip6tables-legacy-restore" },
];

/**
 * The IPv4 rules. A router with NAT also drops unsolicited datagrams to itself on the WAN leg: one
 * that reached it (to answer with ICMP) would leave a conntrack entry for the peer's address and
 * port that the LAN host's own outbound datagram to that peer then clashes with, and MASQUERADE
 * would move that flow to another port, breaking endpoint-independent mapping and hole punching.
 */
export function ipv4Rules(p: RouterPolicy): string {
  const guardRouter = p.firewall || p.nat !== "none";
  const masquerade = p.nat === "none" ? [] : [`-A POSTROUTING -o ${WAN} -j MASQUERADE${p.nat === "random-fully" ? " --random-fully" : ""}`];
  const filter = [...udpBlock(p), ...(p.firewall ? statefulDrop("FORWARD") : []), ...(guardRouter ? statefulDrop("INPUT") : [])];
  return [...table("filter", ["INPUT", "FORWARD", "OUTPUT"], filter), ...table("nat", ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"], masquerade), ""].join("\n");
}

/** The IPv6 rules: no NAT; the same firewall, with ICMPv6 to the router let in (neighbour discovery needs it). */
export function ipv6Rules(p: RouterPolicy): string {
  const firewall = p.firewall ? [...statefulDrop("FORWARD"), `-A INPUT -i ${WAN} -p ipv6-icmp -j ACCEPT`, ...statefulDrop("INPUT")] : [];
  return [...table("filter", ["INPUT", "FORWARD", "OUTPUT"], [...udpBlock(p), ...firewall]), ""].join("\n");
}

/** One table of a rule set: its chains with policy ACCEPT, then its rules. */
function table(name: string, chains: string[], rules: string[]): string[] {
  return [`*${name}`, ...chains.map((c) => `:${c} ACCEPT [0:0]`), ...rules, "COMMIT"];
}

function udpBlock(p: RouterPolicy): string[] {
  return p.blockUdp ? ["-A FORWARD -p udp -j DROP"] : [];
}

function statefulDrop(chain: "INPUT" | "FORWARD"): string[] {
  return [`-A ${chain} -i ${WAN} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`, `-A ${chain} -i ${WAN} -j DROP`];
}

let detected: IptablesBackend | string | undefined;

/**
 * The first backend that loads a NAT and conntrack rule set for both families into a fresh
 * namespace, or why none does. Probed once per process. NETLAB_IPTABLES=nft or =legacy tries
 * that one alone.
 */
export function iptablesBackend(probeNs: string): IptablesBackend | string {
  if (detected !== undefined) return detected;
  const policy: RouterPolicy = { nat: "random-fully", firewall: true, blockUdp: true };
  const failures: string[] = [];
  try {
    ip("netns", "add", probeNs);
    const only = process.env.NETLAB_IPTABLES;
    for (const backend of BACKENDS.filter((b) => !only || b.name === only)) {
      try {
        runIn(probeNs, backend.restore4, [], ipv4Rules(policy));
        runIn(probeNs, backend.restore6, [], ipv6Rules(policy));
        return (detected = backend);
      } catch (err) {
        failures.push(`${backend.name}: ${(err as Error).message.split("\n")[0]}`);
      }
    }
    return (detected = `no iptables backend works in a namespace (${failures.join("; ")}); install Debian's iptables`);
  } catch (err) {
    return (detected = (err as Error).message);
  } finally {
    deleteNamespaces([probeNs]);
  }
}
