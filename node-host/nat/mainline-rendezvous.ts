// Rendezvous in the BitTorrent Mainline DHT, for teams with no peershare node the internet can reach
// (setting rendezvous = "mainline"; off by default):
//
//   - the topic: HMAC-SHA256(team key, "peershare-mainline-topic/" + UTC day), cut to 20 bytes (an
//     info hash). It changes every day, so announcements of different days cannot be linked to one
//     team, and only holders of the team key can compute it. Around midnight (MIDNIGHT_MARGIN_MS)
//     the neighbouring day's topic is used too, so clocks a little apart still meet;
//   - each round, for each team and topic: get_peers, then announce_peer with implied_port, sent
//     from the node's own peershare UDP socket (the Mainline DHT shares it: KRPC is bencoded and
//     starts with "d", never a peershare envelope). So the address others find is this node's
//     peershare address as the internet sees it, the mapping its NAT keeps for that socket;
//   - what the DHT says is only an address. Each found address is pinged over peershare's own UDP
//     (signed envelopes): the node's identity comes from its signature, never from the DHT. Both
//     ends ping each other's address for a while (PUNCH_TRIES), which opens both NATs' mappings
//     (a UDP hole punch), and the pings then keep them open (KEEPALIVE_MS);
//   - a node that answered is a teammate candidate (onFound): the node adds it as a contact, learns
//     its own external address through it, and asks it for contents. Whether it may read a team's
//     files is decided as for any node, by the memberships its bulk handshake shows.
//
// Bounded: MAX_TEAMS teams, MAX_FOUND addresses per topic and round, MAX_PUNCHING punches at once,
// MAX_KNOWN nodes kept; the Mainline DHT's own tables are capped (MAINLINE_LIMITS).

import { createHmac } from "node:crypto";
import { EventEmitter } from "node:events";
import { Contact } from "../dht/messages";
import { toHex } from "../dht/id";
import { formatAddress, HostPort, isPublicAddress, normalizeHost } from "./address";

export const TOPIC_LABEL = "peershare-mainline-topic/";
export const DEFAULT_MAINLINE_BOOTSTRAP = ["router.bittorrent.com:6881", "router.utorrent.com:6881", "dht.transmissionbt.com:6881"];
const DAY_MS = 24 * 3600_000;
/** Within this of a UTC midnight, the topic of the day on its other side is announced and looked up too. */
export const MIDNIGHT_MARGIN_MS = 2 * 3600_000;
/** Rounds: the first at once, then 5 s, 10 s, … up to ROUND_MAX_MS while no node was found, ROUND_MAX_MS after. */
const ROUND_FIRST_MS = 5000;
const ROUND_MAX_MS = 5 * 60_000;
/** A lookup or announce that has not finished by then is left. */
const STEP_TIMEOUT_MS = 30_000;
const MAX_TEAMS = 8;
const MAX_FOUND = 32;
const MAX_PUNCHING = 16;
const MAX_KNOWN = 64;
/** A found address is pinged this many times, a second apart, until it answers. */
const PUNCH_TRIES = 10;
const PUNCH_GAP_MS = 1000;
/** Known nodes are pinged this often (NATs forget idle UDP mappings after 30 s or more), and forgotten after this many misses in a row. */
const KEEPALIVE_MS = 15_000;
const KEEPALIVE_MISSES = 3;
const MAX_SEEN_REPORTS = 32;
const MAINLINE_LIMITS = { maxTables: 32, maxValues: 64, maxPeers: 2000, maxAge: 30 * 60_000 };

/** The UTC day of a time, YYYY-MM-DD. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A team's Mainline topic (a 20-byte info hash) on a UTC day. */
export function mainlineTopic(teamKey: Buffer, day: string): Buffer {
  return createHmac("sha256", teamKey).update(TOPIC_LABEL + day).digest().subarray(0, 20);
}

/** The topics of a team at a time: the day's, and near midnight the neighbouring day's. */
export function topicsAt(teamKey: Buffer, now: number): { day: string; topic: Buffer }[] {
  const days = [utcDay(now)];
  const intoDay = now % DAY_MS;
  if (intoDay < MIDNIGHT_MARGIN_MS) days.push(utcDay(now - DAY_MS));
  if (DAY_MS - intoDay <= MIDNIGHT_MARGIN_MS) days.push(utcDay(now + DAY_MS));
  return days.map((day) => ({ day, topic: mainlineTopic(teamKey, day) }));
}

/**
 * The address a KRPC response says it saw its query come from (BEP 42: a top-level "ip" key with a
 * compact IPv4 address and port, which sorts first); null when it names none.
 */
export function krpcSeenAs(datagram: Buffer): HostPort | null {
  const head = "d2:ip6:";
  if (datagram.length < head.length + 6 || datagram.subarray(0, head.length).toString("latin1") !== head) return null;
  const b = datagram.subarray(head.length, head.length + 6);
  const port = b.readUInt16BE(4);
  return port === 0 ? null : { host: `${b[0]}.${b[1]}.${b[2]}.${b[3]}`, port };
}

/** Whether a datagram looks like a KRPC message (a bencoded dictionary). */
export function isKrpc(datagram: Buffer): boolean {
  return datagram.length >= 2 && datagram[0] === 0x64 /* d */ && datagram[datagram.length - 1] === 0x65 /* e */;
}

// ---------------------------------------------------------------------------
// The part of bittorrent-dht (ESM, untyped) used here.

interface MainlineDht {
  listen(port: number, cb: () => void): void;
  lookup(infoHash: Buffer, cb: (err: Error | null) => void): () => void;
  announce(infoHash: Buffer, port: number, cb: (err: Error | null) => void): void;
  destroy(cb: () => void): void;
  readonly nodes: { count(): number };
  on(event: "peer", fn: (peer: { host: string; port: number }, infoHash: Buffer) => void): this;
  on(event: "ready" | "error" | "warning", fn: (err?: Error) => void): this;
  once(event: "ready", fn: () => void): this;
  removeListener(event: "peer", fn: (peer: { host: string; port: number }, infoHash: Buffer) => void): this;
}

type MainlineDhtConstructor = new (opts: Record<string, unknown>) => MainlineDht;

async function loadMainlineDht(): Promise<MainlineDhtConstructor> {
  // an ES module: import() (which tsc keeps as it is for module node16) loads it from CommonJS
  const mod = await import("bittorrent-dht");
  return mod.default as MainlineDhtConstructor;
}

/** What the peershare socket offers the Mainline DHT. */
export interface SharedUdp {
  tapForeign(claims: (datagram: Buffer) => boolean, take: (datagram: Buffer, source: HostPort) => void): () => void;
  sendForeign(datagram: Buffer, to: HostPort): void;
  readonly local: { port: number };
  readonly boundHost: string;
}

/** The dgram.Socket that k-rpc-socket sees: sends and receives through the peershare socket. */
class SharedSocket extends EventEmitter {
  private closed = false;
  private readonly untap: () => void;

  constructor(
    private readonly udp: SharedUdp,
    /** A response named the address it saw this node at (BEP 42). */
    private readonly seenAs: (at: HostPort, by: HostPort) => void,
  ) {
    super();
    this.untap = udp.tapForeign(isKrpc, (datagram, from) => {
      const seen = krpcSeenAs(datagram);
      if (seen) this.seenAs(seen, from);
      if (!this.closed) this.emit("message", datagram, { address: from.host, port: from.port, family: from.host.includes(":") ? "IPv6" : "IPv4", size: datagram.length });
    });
  }

  send(buf: Buffer, offset: number, length: number, port: number, host: string, cb?: (err: Error | null) => void): void {
    if (!this.closed) this.udp.sendForeign(Buffer.from(buf.subarray(offset, offset + length)), { host, port });
    cb?.(null);
  }

  bind(...args: unknown[]): void {
    const cb = args.find((a): a is () => void => typeof a === "function");
    setImmediate(() => {
      this.emit("listening");
      cb?.();
    });
  }

  address(): { address: string; family: string; port: number } {
    return { address: this.udp.boundHost, family: this.udp.boundHost.includes(":") ? "IPv6" : "IPv4", port: this.udp.local.port };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.untap();
    setImmediate(() => this.emit("close"));
  }
}

// ---------------------------------------------------------------------------

export interface MainlineRendezvousOptions {
  udp: SharedUdp;
  /** The keys of this node's teams (the topics are derived from them). */
  teamKeys: () => Buffer[];
  /** The name of a team, for the log. */
  teamName: (teamKey: Buffer) => string;
  /** HOST:PORT Mainline nodes to join through (empty: DEFAULT_MAINLINE_BOOTSTRAP). */
  bootstrap: string[];
  self: Buffer;
  /** Pings an address under no key; resolves with the node that answered (authenticated by its envelope's signature). */
  ping: (at: HostPort) => Promise<Contact>;
  /** Pings a known node; true when it answered. */
  pingNode: (node: Contact) => Promise<boolean>;
  /**
   * A node found through the Mainline DHT answered (once per node, and again after it was forgotten
   * or moved); it is offered (nodes(), get()) once this resolves.
   */
  onFound: (node: Contact, team: string) => Promise<void>;
  log?: (line: string) => void;
  now?: () => number;
  /** Whether an address is this node's own as others see it (its own announcement, found back). */
  isOwnAddress?: (at: HostPort) => boolean;
  /** Which found addresses are pinged (default: public ones only; a test on loopback takes all). */
  acceptFound?: (host: string) => boolean;
}

export interface MainlineStatus {
  /** Mainline DHT nodes in its routing table. */
  mainlineNodes: number;
  rounds: number;
  /** Peershare nodes found there that answered, with the address they answered at. */
  found: { id: string; host: string; port: number; team: string }[];
  lastRoundAt: number | null;
}

interface Known {
  node: Contact;
  team: string;
  misses: number;
}

export class MainlineRendezvous {
  private dht: MainlineDht | null = null;
  private socket: SharedSocket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private keepalive: NodeJS.Timeout | null = null;
  private stopped = false;
  private roundGapMs = ROUND_FIRST_MS;
  private inRound = false;
  /** soon() was called during a round: another follows at once. */
  private again = false;
  private rounds = 0;
  private lastRoundAt: number | null = null;
  private readonly known = new Map<string, Known>();
  /** Addresses ("host|port") being punched now. */
  private readonly punching = new Set<string>();
  /** What Mainline nodes said they saw this node at (at most MAX_SEEN_REPORTS, the latest). */
  private readonly reports = new Map<string, string>();
  /** Addresses ("host|port") where this node found itself. */
  private readonly ownAt = new Set<string>();
  private readonly now: () => number;

  private constructor(private readonly o: MainlineRendezvousOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Joins the Mainline DHT through the peershare socket and starts the rounds; throws when bittorrent-dht cannot be loaded. */
  static async start(o: MainlineRendezvousOptions): Promise<MainlineRendezvous> {
    let DHT: MainlineDhtConstructor;
    try {
      DHT = await loadMainlineDht();
    } catch (err) {
      throw new Error(`rendezvous "mainline" needs the bittorrent-dht package, which does not load here: ${(err as Error).message}`);
    }
    const r = new MainlineRendezvous(o);
    const bootstrap = o.bootstrap.length ? o.bootstrap : DEFAULT_MAINLINE_BOOTSTRAP;
    r.socket = new SharedSocket(o.udp, (at, by) => r.seenBy(at, by));
    const dht = new DHT({ socket: r.socket, bootstrap, host: false, ...MAINLINE_LIMITS });
    dht.on("error", (err) => o.log?.(`Mainline DHT: ${err?.message}`));
    dht.on("warning", () => undefined); // malformed or unexpected datagrams from strangers: dropped
    dht.listen(o.udp.local.port, () => undefined);
    r.dht = dht;
    o.log?.(`Mainline rendezvous on: joining the Mainline DHT through ${bootstrap.join(", ")} from this node's UDP port ${o.udp.local.port}`);
    r.schedule(0);
    r.keepalive = setInterval(() => void r.keepAlive(), KEEPALIVE_MS);
    r.keepalive.unref();
    return r;
  }

  status(): MainlineStatus {
    return {
      mainlineNodes: this.dht?.nodes.count() ?? 0,
      rounds: this.rounds,
      found: [...this.known.values()].map((k) => ({ id: toHex(k.node.id), host: k.node.host, port: k.node.port, team: k.team })),
      lastRoundAt: this.lastRoundAt,
    };
  }

  /** The nodes found that answer, as they are reached. */
  nodes(): Contact[] {
    return [...this.known.values()].map((k) => k.node);
  }

  /** The node with this ID, when it was found here. */
  get(id: Buffer): Contact | null {
    return this.known.get(toHex(id))?.node ?? null;
  }

  /** A round soon (the node's teams changed), and the quick ones after it again. */
  soon(): void {
    this.roundGapMs = ROUND_FIRST_MS;
    if (this.inRound) this.again = true;
    else {
      if (this.timer) clearTimeout(this.timer);
      this.schedule(0);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.inRound = true;
      void this.round().finally(() => {
        this.inRound = false;
        const again = this.again;
        this.again = false;
        this.schedule(again ? 0 : this.nextGap());
      });
    }, ms);
    this.timer.unref();
  }

  private nextGap(): number {
    if (this.known.size > 0) return ROUND_MAX_MS;
    const gap = this.roundGapMs;
    this.roundGapMs = Math.min(ROUND_MAX_MS, gap * 2);
    return gap;
  }

  /** One round: for each team and topic, the addresses announced there are punched to, then this node announces itself. */
  private async round(): Promise<void> {
    const dht = this.dht;
    if (!dht || this.stopped) return;
    this.rounds++;
    this.lastRoundAt = this.now();
    const teams = this.o.teamKeys().slice(0, MAX_TEAMS);
    if (teams.length === 0) {
      if (this.rounds === 1) this.o.log?.("Mainline rendezvous: this node is in no team yet, so it announces nothing");
      return;
    }
    for (const key of teams) {
      const team = this.o.teamName(key);
      for (const { day, topic } of topicsAt(key, this.now())) {
        if (this.stopped) return;
        const found = await this.lookup(dht, topic);
        await this.announce(dht, topic);
        const others = found.filter((a) => !this.isKnownAt(a) && !this.isOwn(a));
        this.o.log?.(`Mainline rendezvous, team ${team} (topic of ${day}, ${toHex(topic).slice(0, 8)}…): ${found.length} address(es) announced there${others.length ? `, ${others.length} to try` : ""}; ${dht.nodes.count()} Mainline node(s) known`);
        for (const a of others) void this.punch(a, team);
      }
    }
  }

  /** The addresses announced under a topic (at most MAX_FOUND), skipping ones no datagram should go to. */
  private lookup(dht: MainlineDht, topic: Buffer): Promise<HostPort[]> {
    const found = new Map<string, HostPort>();
    return new Promise((resolve) => {
      const onPeer = (peer: { host: string; port: number }, infoHash: Buffer) => {
        if (!infoHash.equals(topic) || found.size >= MAX_FOUND) return;
        if (!Number.isInteger(peer.port) || peer.port <= 0 || peer.port > 65535 || !(this.o.acceptFound ?? isPublicAddress)(normalizeHost(peer.host))) return;
        found.set(`${normalizeHost(peer.host)}|${peer.port}`, { host: normalizeHost(peer.host), port: peer.port });
      };
      const done = () => {
        clearTimeout(timer);
        dht.removeListener("peer", onPeer);
        resolve([...found.values()]);
      };
      const timer = setTimeout(() => {
        abort();
        done();
      }, STEP_TIMEOUT_MS);
      dht.on("peer", onPeer);
      const abort = dht.lookup(topic, () => done());
    });
  }

  private announce(dht: MainlineDht, topic: Buffer): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, STEP_TIMEOUT_MS);
      // port 0: implied_port, so the DHT keeps the port it saw this node's datagrams come from
      dht.announce(topic, 0, (err) => {
        clearTimeout(timer);
        if (err) this.o.log?.(`Mainline rendezvous: announcing failed (${err.message})`);
        resolve();
      });
    });
  }

  /** Mainline nodes that named the address they see this node at (BEP 42): responder → address. */
  private seenBy(at: HostPort, by: HostPort): void {
    const key = `${by.host}|${by.port}`;
    this.reports.delete(key);
    this.reports.set(key, `${at.host}|${at.port}`);
    if (this.reports.size > MAX_SEEN_REPORTS) this.reports.delete(this.reports.keys().next().value!);
  }

  /**
   * This node's own address: as the node knows it, as two Mainline nodes saw it, or one where it
   * answered itself (a NAT that loops back). Its own announcement is not pinged.
   */
  private isOwn(a: HostPort): boolean {
    const key = `${a.host}|${a.port}`;
    if (this.ownAt.has(key) || this.o.isOwnAddress?.(a) === true) return true;
    return [...this.reports.values()].filter((r) => r === key).length >= 2;
  }

  private isKnownAt(a: HostPort): boolean {
    return [...this.known.values()].some((k) => k.node.port === a.port && normalizeHost(k.node.host) === a.host);
  }

  /**
   * Pings an address until a peershare node answers there or PUNCH_TRIES pass: the other end, having
   * found this node's address, pings it meanwhile, and the pings of both open both NATs.
   */
  private async punch(at: HostPort, team: string): Promise<void> {
    const key = `${at.host}|${at.port}`;
    if (this.punching.has(key) || this.punching.size >= MAX_PUNCHING) return;
    this.punching.add(key);
    try {
      for (let i = 0; i < PUNCH_TRIES && !this.stopped; i++) {
        const node = await this.o.ping(at).catch(() => null);
        if (node) return await this.answered(node, at, team);
        await new Promise((r) => setTimeout(r, PUNCH_GAP_MS).unref());
      }
      this.o.log?.(`Mainline rendezvous: nothing answered at ${formatAddress(at)} (another team's clash of topics, a node gone, or a NAT no hole opens in)`);
    } finally {
      this.punching.delete(key);
    }
  }

  private async answered(node: Contact, at: HostPort, team: string): Promise<void> {
    if (node.id.equals(this.o.self)) {
      if (this.ownAt.size < MAX_FOUND) this.ownAt.add(`${at.host}|${at.port}`); // its own announcement: not tried again
      return;
    }
    const id = toHex(node.id);
    const reached: Contact = { ...node, host: at.host, port: at.port };
    const had = this.known.get(id);
    if (!had && this.known.size >= MAX_KNOWN) return;
    if (had && had.node.host === at.host && had.node.port === at.port) return void (had.misses = 0);
    this.o.log?.(`Mainline rendezvous: node ${id.slice(0, 12)}… answered at ${formatAddress(at)} (announced under team ${team}'s topic; its identity is its signature)`);
    await this.o.onFound(reached, team).catch(() => undefined);
    if (!this.stopped) this.known.set(id, { node: reached, team, misses: 0 });
  }

  private async keepAlive(): Promise<void> {
    for (const [id, k] of [...this.known]) {
      if (this.stopped) return;
      if (await this.o.pingNode(k.node)) {
        k.misses = 0;
        continue;
      }
      if (++k.misses >= KEEPALIVE_MISSES) {
        this.known.delete(id);
        this.o.log?.(`Mainline rendezvous: node ${id.slice(0, 12)}… stopped answering at ${formatAddress(k.node)}; looked for again`);
        this.roundGapMs = ROUND_FIRST_MS;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.keepalive) clearInterval(this.keepalive);
    const dht = this.dht;
    this.dht = null;
    if (dht) await new Promise<void>((resolve) => dht.destroy(() => resolve()));
    this.socket?.close();
  }
}
