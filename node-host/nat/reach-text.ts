// How a node is reached and how a connection reaches its peer, in the words the CLI and the VS
// Code extension both show (so they never say it differently).

import type { NodeInfo, TransferInfo } from "../rpc/api-types";
import { formatAddress } from "./address";

/** How others reach a node, in one line (`peershare id`, the status bar's tooltip). */
export function reachText(nat: NodeInfo["nat"]): string {
  if (!nat) return "reachability: not reported (an older node)";
  const at = nat.external ? formatAddress(nat.external) : null;
  const serving = nat.rendezvousClients ? `; rendezvous for ${nat.rendezvousClients} node(s) behind NAT, ${nat.relay.circuits} relayed connection(s) open` : "";
  if (nat.reachability === "reachable") return `reachable at ${at ?? "its address"}${serving}`;
  if (nat.reachability === "unknown") return `reachability not known yet${at ? ` (seen as ${at})` : ""}`;
  const through = nat.rendezvous.length ? `reachable through ${nat.rendezvous.map((r) => `${r.id.slice(0, 12)}… at ${formatAddress(r)}`).join(", ")}` : "no rendezvous node yet";
  const tunnel = nat.tunnel ? `; no UDP on this network: DHT traffic over TCP through ${formatAddress(nat.tunnel)}` : "";
  return `behind NAT (${nat.mapping} mapping${at ? `, seen as ${at}` : ""}), ${through}${tunnel}`;
}

export type Route = NonNullable<TransferInfo["routes"]>[number];

/** How one holder of a fetch is reached: "direct TLS", "relayed through 3f2a…", … */
export function routeText(r: Pick<Route, "path" | "relay">): string {
  switch (r.path) {
    case "tls":
      return "direct TLS";
    case "tls-reverse":
      return "direct TLS (it connected back)";
    case "tls-punched":
      return "direct TLS (a hole punched through NAT)";
    case "webrtc":
      return "direct WebRTC";
    case "relay":
      return `relayed through ${r.relay ? `${r.relay.slice(0, 12)}…` : "a node"}`;
  }
}
