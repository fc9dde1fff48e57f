// NAT traversal for one node, put together: it learns how it is reached (reachability-check.ts),
// serves as a rendezvous and STUN server while others can reach it, and while they cannot it
// becomes a DHT client, keeps rendezvous nodes (rendezvous-client.ts) and publishes a reach record
// naming them (reach-record.ts). It also finds other nodes' reach records, so requests and
// connections to a node behind NAT go through its rendezvous nodes.

import * as os from "node:os";
import { EventEmitter } from "node:events";
import { Dht } from "../dht/dht";
import { Contact } from "../dht/messages";
import { toHex } from "../dht/id";
import { valueKey } from "../dht/records";
import { UdpRpc } from "../transport/udp-rpc";
import { LruMap } from "../util/lru";
import { RateLimiter } from "../util/rate-limiter";
import { jittered } from "../util/jitter";
import { formatAddress, HostPort, isLoopbackAddress, isPublicAddress, normalizeHost } from "./address";
import { Reach } from "./nat-paths";
import { ReachabilityCheck } from "./reachability-check";
import { ReachabilitySnapshot, ReachabilityState } from "./reachability";
import { RendezvousServer } from "./rendezvous-server";
import { RelayOptions, RelayServer, RelaySettings, RelayStats } from "./relay-server";
import { forwardThrough, RendezvousClient } from "./rendezvous-client";
import { decodeReach, encodeReach, REACH_RECORD_MAX_AGE_MS, REACH_RECORD_NAME, ReachInfo } from "./reach-record";
import { bindingResponseFor } from "./stun";
import { openTunnel, tcpAnswers, TunnelServer } from "./datagram-tunnel";
import { Identity } from "../security/identity";

/** Reachability is checked this often, and sooner while it is unknown (5 s, doubling up to a minute). */
const CHECK_EVERY_MS = 10 * 60_000;
const RECHECK_UNKNOWN_MS = 5000;
const RECHECK_UNKNOWN_MAX_MS = 60_000;
/** Other nodes' reach records are kept this long. */
const REACH_CACHE_MS = 60_000;

export interface NatStatus extends ReachabilitySnapshot {
  /** This node's rendezvous nodes, while it is behind NAT. */
  rendezvous: { id: string; host: string; port: number }[];
  /** Nodes behind NAT using this node as their rendezvous. */
  rendezvousClients: number;
  /** Requests this node passed on to its rendezvous clients. */
  forwarded: number;
  /** Connections this node relays (now, in all), refused, and the bytes it passed. */
  relay: RelayStats;
  /** Where this node's DHT traffic goes over TCP because its network blocks UDP; null while it has UDP. */
  tunnel: { host: string; port: number } | null;
  /** Nodes whose DHT traffic comes to this node over TCP (their networks block UDP). */
  tunnelClients: number;
}

export interface NatServiceOptions {
  rpc: UdpRpc;
  dht: Dht;
  identity: Identity;
  relay: RelaySettings;
  /** Whether a relay's requester, with the memberships its handshake shows, is in one of this node's teams (true in none). */
  isMember: RelayOptions["isMember"];
  /** Whether a node already proved membership of one of this node's teams (true in none). */
  isKnownMember: (node: Contact) => boolean;
  /**
   * Where a port forward makes this node reachable (the publicAddress setting, resolved); null when
   * not set. When set, the node counts as reachable there whatever the checks find (they still run,
   * and a dial-back that does not arrive is logged: the forward may be wrong).
   */
  publicAddress?: HostPort | null;
  log?: (line: string) => void;
}

export class NatService extends EventEmitter {
  private readonly state: ReachabilityState;
  private readonly checker: ReachabilityCheck;
  private readonly server: RendezvousServer;
  private readonly client: RendezvousClient;
  private readonly stunLimit = new RateLimiter(10, 20, 4096);
  private readonly reachCache = new LruMap<string, { info: ReachInfo | null; at: number }>(1024);
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private unknownRetryMs = RECHECK_UNKNOWN_MS;
  /** Relays bulk connections between nodes that cannot connect to each other (on the node's TCP port). */
  readonly relay: RelayServer;
  /** Takes the DHT traffic of nodes whose networks block UDP, over TCP. */
  readonly tunnels: TunnelServer;
  /** This node's own tunnel, while its network blocks UDP. */
  private ownTunnel: { peer: HostPort; close: () => void } | null = null;

  private constructor(
    private readonly o: NatServiceOptions,
    private readonly secondary: UdpRpc,
  ) {
    super();
    const { rpc, dht } = o;
    this.state = new ReachabilityState(() => localAddresses(rpc.boundHost));
    const servers = () => dht.table.entries().map((e) => e.contact);
    this.checker = new ReachabilityCheck({ rpc, secondary, state: this.state, peers: servers, log: o.log });
    // only a node proven reachable serves: one still finding out may be behind NAT itself
    this.server = new RendezvousServer({ rpc, serving: () => this.snapshot().reachability === "reachable" });
    this.relay = new RelayServer({ self: o.identity.id, settings: o.relay, isMember: o.isMember, now: () => rpc.clock.now(), log: o.log });
    // sends on for tunnel clients within the relay setting: a team node for members only
    this.tunnels = new TunnelServer(rpc, (client) => o.relay.mode() === "anyone" || (o.relay.mode() === "members" && o.isKnownMember(client)));
    // a tunnel client registers only with its tunnel's node (its only way in)
    this.client = new RendezvousClient({ rpc, candidates: () => (this.ownTunnel ? servers().filter((c) => this.isTunnelPeer(c)) : servers()), log: o.log });
    rpc.forwarder = forwardThrough(rpc);
    rpc.onForeignDatagram((datagram, source) => (this.stunLimit.take(`${source.host}:${source.port}`) ? bindingResponseFor(datagram, { address: source.host, port: source.port }) : null));
    this.checker.on("changed", (s: ReachabilitySnapshot) => void this.onChanged(s));
    // a rendezvous node that left the table (it became a DHT client itself, or left) is replaced at
    // once, and a missing one taken as soon as a candidate turns up
    dht.on("changed", () => this.client.refill());
    this.client.on("changed", () => void this.publishReach());
  }

  /** Opens the second socket (on the main one's host, any port) and starts checking once the node has peers. */
  static async start(o: NatServiceOptions): Promise<NatService> {
    const secondary = await UdpRpc.bind({ identity: o.identity, host: o.rpc.boundHost, port: 0 });
    const nat = new NatService(o, secondary);
    const firstCheck = () => {
      if (o.dht.table.size === 0) return;
      o.dht.off("changed", firstCheck);
      nat.schedule(1000);
    };
    o.dht.on("changed", firstCheck);
    return nat;
  }

  status(): NatStatus {
    return {
      ...this.snapshot(),
      rendezvous: this.client.via.map((c) => ({ id: toHex(c.id), host: c.host, port: c.port })),
      rendezvousClients: this.server.clientCount,
      forwarded: this.server.forwardedCount,
      relay: { ...this.relay.stats },
      tunnel: this.ownTunnel ? { ...this.ownTunnel.peer } : null,
      tunnelClients: this.tunnels.count,
    };
  }

  /** How this node is reached, for choosing the ways to a peer behind NAT (nat-paths.ts). */
  selfReach(): Reach {
    const s = this.snapshot();
    return { reachable: s.reachability !== "unreachable", mapping: s.mapping, udp: this.ownTunnel === null };
  }

  private isTunnelPeer(c: Contact): boolean {
    return this.ownTunnel !== null && c.port === this.ownTunnel.peer.port && normalizeHost(c.host) === normalizeHost(this.ownTunnel.peer.host);
  }

  /**
   * When no bootstrap contact answers over UDP but one takes a TCP connection, this node's network
   * blocks UDP: its DHT traffic then goes over TCP through that node (datagram-tunnel.ts). True
   * when a tunnel was opened (the node should join again through it).
   */
  async escapeBlockedUdp(bootstrap: HostPort[]): Promise<boolean> {
    if (this.ownTunnel || this.o.dht.table.size > 0 || this.stopped) return false;
    for (const peer of bootstrap) {
      if (!(await tcpAnswers(peer, 3000))) continue;
      try {
        const t = await openTunnel(this.o.rpc, peer, 5000);
        this.ownTunnel = { peer, close: t.close };
        void t.closed.then(() => {
          if (this.ownTunnel?.close === t.close) this.ownTunnel = null;
        });
        this.o.log?.(`no UDP answer from any bootstrap contact, but ${formatAddress(peer)} takes TCP: this network seems to block UDP, so DHT traffic goes over TCP through it`);
        return true;
      } catch (err) {
        this.o.log?.(`a TCP tunnel to ${formatAddress(peer)} failed: ${(err as Error).message}`);
      }
    }
    return false;
  }

  /** This node's external IP address in a family, as peers see it; null when no peer of that family reported one. */
  ownExternal(ipv6: boolean): string | null {
    return this.externals().find((a) => a.host.includes(":") === ipv6)?.host ?? null;
  }

  /**
   * The addresses others see this node at: what peers reported, plus its global IPv6 addresses no
   * peer reported yet (IPv6 has no NAT to hide one behind; a peer that also has IPv6 may punch
   * through both firewalls to it, the direct path both prefer).
   */
  private externals(): HostPort[] {
    const forwarded = this.o.publicAddress ?? null;
    const seen = forwarded ? [forwarded, ...this.state.externals.filter((a) => a.host.includes(":") !== forwarded.host.includes(":"))] : this.state.externals;
    const port = this.o.rpc.local.port;
    const v6 = this.o.rpc.boundHost === "::" && !seen.some((a) => a.host.includes(":")) ? localAddresses("::").filter((a) => a.host.includes(":") && isPublicAddress(a.host)).slice(0, 1) : [];
    return [...seen, ...v6.map((a) => ({ host: a.host, port }))];
  }

  /** This node's rendezvous nodes (empty unless it is behind NAT). */
  get rendezvous(): Contact[] {
    return this.client.via;
  }

  /**
   * STUN servers for a WebRTC connection with `peer`: reachable peershare nodes (this node's
   * rendezvous nodes and the peer's), which answer STUN on their UDP port. None when neither end is
   * behind NAT: host candidates are enough, and a STUN server costs gathering time.
   */
  stunServersFor(peer: { via?: Contact[] }): string[] {
    // IPv4 only: IPv6 has no NAT to learn a mapping of (host candidates do), and libdatachannel
    // reads no bracketed IPv6 literal in an ICE server URL
    const nodes = [...this.client.via, ...(peer.via ?? [])].filter((c) => !c.host.includes(":"));
    const urls = nodes.map((c) => `stun:${formatAddress(c)}`);
    return [...new Set(urls)].slice(0, 3);
  }

  /**
   * Learns this node's external address and reachability through a node found by other means (the
   * Mainline rendezvous), which may be the only node it can talk to.
   */
  async learnThrough(peer: Contact): Promise<void> {
    if (this.stopped) return;
    await this.checker.checkWith([peer]);
  }

  /** Runs a reachability check now (and keeps the schedule). */
  async check(): Promise<NatStatus> {
    await this.checker.check();
    return this.status();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.checker.check().finally(() => this.schedule(jittered(this.nextCheckMs())));
    }, ms);
    this.timer.unref();
  }

  private nextCheckMs(): number {
    if (this.state.reachability !== "unknown") {
      this.unknownRetryMs = RECHECK_UNKNOWN_MS;
      return CHECK_EVERY_MS;
    }
    const wait = this.unknownRetryMs;
    this.unknownRetryMs = Math.min(RECHECK_UNKNOWN_MAX_MS, wait * 2);
    return wait;
  }

  /**
   * How this node is reached: what the checks found (ReachabilityState), unless the publicAddress
   * setting names where a port forward makes it reachable: then reachable there.
   */
  private snapshot(): ReachabilitySnapshot {
    const s = this.state.snapshot();
    const forwarded = this.o.publicAddress ?? null;
    return forwarded ? { ...s, reachability: "reachable", external: forwarded } : s;
  }

  /** Reachability changed: a node others cannot reach becomes a DHT client with rendezvous nodes, and back. */
  private async onChanged(found: ReachabilitySnapshot): Promise<void> {
    const forwarded = this.o.publicAddress ?? null;
    if (forwarded && found.reachability === "unreachable") {
      this.o.log?.(`publicAddress is ${formatAddress(forwarded)}, but a peer's dial-back to this node${found.external ? ` (seen as ${formatAddress(found.external)})` : ""} did not arrive: check the port forward (UDP and TCP) to this node's port ${this.o.rpc.local.port}; the node goes on as reachable there`);
    }
    const s = this.snapshot();
    const behind = s.reachability === "unreachable";
    this.o.log?.(behind ? `behind NAT (${s.mapping} mapping, seen as ${s.external ? `${s.external.host}:${s.external.port}` : "?"}): a DHT client, reached through rendezvous nodes` : `reachable${s.external ? ` at ${s.external.host}:${s.external.port}` : ""} (${s.reachability})`);
    await this.o.dht.setClientMode(behind);
    if (behind) await this.client.start();
    else await this.client.stop();
    await this.publishReach();
    this.emit("changed", this.status());
  }

  /** Publishes this node's reach record while it is behind NAT (and once more when it no longer is). */
  private async publishReach(): Promise<void> {
    const s = this.snapshot();
    if (s.reachability !== "unreachable" && !this.o.dht.published.has(toHex(valueKey(this.o.rpc.local.publicKey, REACH_RECORD_NAME)))) return;
    const info: ReachInfo = { reachable: s.reachability !== "unreachable", udp: this.ownTunnel === null, mapping: s.mapping, external: this.externals(), rendezvous: this.client.via, updated: Date.now() };
    await this.o.dht.putValue(REACH_RECORD_NAME, encodeReach(info)).catch((err: Error) => this.o.log?.(`publishing the reach record failed: ${err.message}`));
  }

  /** A peer's reach record (cached for a minute): null when it has none, or none recent enough. */
  async reachOf(peer: Contact): Promise<ReachInfo | null> {
    const key = toHex(peer.id);
    const cached = this.reachCache.get(key);
    if (cached && cached.at > Date.now() - REACH_CACHE_MS) return cached.info;
    let info: ReachInfo | null = null;
    try {
      const { record } = await this.o.dht.findValue(valueKey(peer.publicKey, REACH_RECORD_NAME), { network: true });
      const decoded = record && decodeReach(record.value);
      if (decoded && decoded.updated > Date.now() - REACH_RECORD_MAX_AGE_MS) info = decoded;
    } catch {
      info = null; // unreadable or not found: the peer is dialled directly
    }
    this.reachCache.set(key, { info, at: Date.now() });
    return info;
  }

  /**
   * The contact to use for a peer: as it is when it answers a ping there as a DHT server (its reach
   * record is looked up meanwhile, not waited for); else, when its reach record says it cannot be
   * reached directly, with its rendezvous nodes. A client may answer too, through a NAT mapping
   * this node happens to hold (it is this node's rendezvous client): that answer says only that.
   */
  async route(peer: Contact): Promise<Contact & { via?: Contact[]; reach?: ReachInfo }> {
    const record = this.reachOf(peer);
    const asServer = this.o.rpc.request(peer, { type: "ping" }).then((pong) => !pong.client, () => false);
    const behindNat = record.then((r) => r !== null && !r.reachable && r.rendezvous.length > 0);
    // whichever tells first: an answer as a server, or a record naming rendezvous nodes (a ping to a
    // node behind NAT, or in a family this node cannot send in, would only time out)
    const direct = await Promise.race([asServer, behindNat.then((behind) => !behind && asServer)]);
    if (direct) return peer;
    const reach = await record;
    if (!reach || reach.reachable || reach.rendezvous.length === 0) return reach ? { ...peer, reach } : peer;
    // this node is the peer's rendezvous: the peer's mapping to it is open, so it is asked directly
    const registered = this.server.clientAddress(peer.id);
    if (registered) return { ...peer, host: registered.host, port: registered.port, reach };
    // a rendezvous this node knows (a routing-table contact) is reached at the address it knows:
    // the record names the address the peer registered at, which may be of another family
    const via = reach.rendezvous.filter((r) => !r.id.equals(this.o.identity.id)).map((r) => this.o.dht.table.get(r.id)?.contact ?? r);
    return { ...peer, via, reach };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.client.stop();
    this.relay.close();
    this.tunnels.close();
    this.ownTunnel?.close();
    await this.secondary.close();
  }
}

/** The node's own addresses: the one it is bound to, or every interface's when it listens on all. */
function localAddresses(bound: string): HostPort[] {
  if (bound !== "0.0.0.0" && bound !== "::" && !isLoopbackAddress(bound)) return [{ host: normalizeHost(bound), port: 0 }];
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((i): i is os.NetworkInterfaceInfo => !!i)
    .map((i) => ({ host: normalizeHost(i.address), port: 0 }));
}
