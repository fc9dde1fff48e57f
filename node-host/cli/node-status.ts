// `peershare status --node`: a running node's health in one answer, for people and monitoring
// scripts: up or not, reachable from the internet or not (and where), peers, the nodes behind NAT
// it serves as rendezvous, and the connections it relays.

import { NatInfo } from "../rpc/api-types";
import { NoNodeRunningError } from "../rpc/local-socket";
import { dataDirOf, Flags } from "./args";
import { humanBytes } from "./format";
import { print, withNode } from "./verb";

export interface NodeStatus {
  up: true;
  id: string;
  version: string;
  pid: number;
  uptimeSeconds: number;
  /** host:port of its UDP (and TCP) socket. */
  listening: string;
  /** The publicAddress setting, if set (a port forward). */
  publicAddress: string | null;
  reachability: NatInfo["reachability"];
  external: NatInfo["external"];
  mapping: NatInfo["mapping"];
  /** Nodes in its routing table (reachable ones: nodes behind NAT are DHT clients, counted in rendezvousClients when they use this one). */
  peers: number;
  /** This node's own rendezvous nodes (it is behind NAT). */
  rendezvous: number;
  /** Nodes behind NAT that use this node as their rendezvous. */
  rendezvousClients: number;
  relay: NatInfo["relay"];
  /** The Mainline rendezvous (setting rendezvous = "mainline"): Mainline DHT nodes known, and the peershare nodes found there; null when off. */
  mainline: { mainlineNodes: number; found: number } | null;
  transfersRunning: number;
}

const unknownNat: Pick<NatInfo, "reachability" | "external" | "mapping" | "rendezvous" | "rendezvousClients" | "relay"> = {
  reachability: "unknown",
  external: null,
  mapping: "unknown",
  rendezvous: [],
  rendezvousClients: 0,
  relay: { circuits: 0, circuitsOpened: 0, refused: 0, bytesRelayed: 0 },
};

async function statusOf(flags: Flags): Promise<NodeStatus> {
  const info = await withNode(flags, "node.info", {});
  const { publicAddress } = await withNode(flags, "config.get", { key: "publicAddress" });
  const transfers = await withNode(flags, "transfer.list", {});
  const nat = info.nat ?? unknownNat;
  return {
    up: true,
    id: info.id,
    version: info.version,
    pid: info.pid,
    uptimeSeconds: Math.round((Date.now() - info.startedAt) / 1000),
    listening: `${info.host}:${info.port}`,
    publicAddress: typeof publicAddress === "string" && publicAddress !== "" ? publicAddress : null,
    reachability: nat.reachability,
    external: nat.external,
    mapping: nat.mapping,
    peers: info.peers,
    rendezvous: nat.rendezvous.length,
    rendezvousClients: nat.rendezvousClients,
    relay: nat.relay,
    mainline: info.mainline ? { mainlineNodes: info.mainline.mainlineNodes, found: info.mainline.found.length } : null,
    transfersRunning: transfers.filter((t) => t.state === "running").length,
  };
}

function statusText(s: NodeStatus): string {
  const where = s.external ? ` at ${s.external.host}:${s.external.port}` : "";
  const reach = { reachable: `reachable from the internet${where}`, unreachable: `not reachable from the internet (behind NAT${where ? `, seen${where}` : ""}; ${s.rendezvous} rendezvous node(s))`, unknown: "reachability not known yet" }[s.reachability];
  return [
    `node ${s.id.slice(0, 16)}… up ${s.uptimeSeconds} s (version ${s.version}, pid ${s.pid}), listening on ${s.listening}${s.publicAddress ? `, public address ${s.publicAddress}` : ""}`,
    `  ${reach}`,
    `  ${s.peers} peer(s); rendezvous for ${s.rendezvousClients} node(s) behind NAT`,
    `  relaying ${s.relay.circuits} connection(s) now, ${s.relay.circuitsOpened} in all (${humanBytes(s.relay.bytesRelayed)}), ${s.relay.refused} refused`,
    ...(s.mainline ? [`  Mainline rendezvous: ${s.mainline.mainlineNodes} Mainline DHT node(s) known, ${s.mainline.found} teammate node(s) found there`] : []),
    `  ${s.transfersRunning} fetch(es) running`,
  ].join("\n");
}

export async function nodeStatus(flags: Flags): Promise<void> {
  let status: NodeStatus;
  try {
    status = await statusOf(flags);
  } catch (err) {
    if (!(err instanceof NoNodeRunningError)) throw err;
    print(flags, { up: false, dataDir: dataDirOf(flags), error: err.message }, () => `no node is running for ${dataDirOf(flags)}`);
    process.exitCode = 1;
    return;
  }
  print(flags, status, () => statusText(status));
}
