// The networks the NAT traversal test and the NAT bench put nodes in (see netlab.ts): a public
// server, endpoint-independent and endpoint-dependent NATs that drop what their hosts did not ask
// for, a routed control, an IPv6-only and a dual-stack host behind firewalls, a network that drops
// all UDP. Each cell has one host, named after its role in both.

import type { CellSpec } from "./netlab";

export const NAT_CELLS: Record<string, CellSpec> = {
  eima: { nat: "eim", hosts: ["a"] },
  eimb: { nat: "eim", hosts: ["b"] },
  rnda: { nat: "random-fully", hosts: ["c"] },
  rndb: { nat: "random-fully", hosts: ["d"] },
  open: { nat: "none", firewall: false, hosts: ["e"] },
  v6only: { nat: "none", ipv4: false, ipv6: true, hosts: ["v"] },
  dual: { nat: "eim", ipv6: true, hosts: ["w"] },
  tcponly: { nat: "eim", blockUdp: true, hosts: ["t"] },
};

/** The hosts of NAT_CELLS (they join through the public server "s1"; v has IPv6 only). */
export const NAT_HOSTS = Object.values(NAT_CELLS).flatMap((c) => c.hosts);
