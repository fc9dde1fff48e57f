// Zero-configuration discovery on the local network: the node multicasts a small signed
// announcement (announcement.ts: its public key, UDP port and a timestamp, nothing else) on its
// interfaces at start and then every `intervalMs` (with jitter), and listens for the announcements
// of others. A verified announcement is handed on as a bootstrap candidate: the node pings the
// sender at the datagram's source address, and only a verified answer puts it into the routing
// table (so an announcement alone never adds anything). The first datagram a node sends is a
// QUERY: every node that hears it answers with an announcement, so a new node learns its
// neighbours at once instead of after an interval.
//
// Group and port: 239.255.80.83 ("P", "S"), UDP 7419. 239.255.0.0/16 is the IPv4 local scope
// (RFC 2365), which routers do not forward beyond the site, and the datagrams go out with TTL 1, so
// they never leave the link; teammates behind a router join through a configured bootstrap contact
// as before. Not mDNS's 224.0.0.251:5353: that port belongs to the system's mDNS responder (Avahi,
// Bonjour), whose peers would parse these datagrams as broken DNS, and a fixed-size binary
// announcement needs no DNS parser on a path any stranger on the link can reach. The port lies
// below the ephemeral range, so a node on port 0 never takes it, and next to the default DHT port.
//
// Whatever arrives, the socket handler never throws: oversized, malformed, stale, replayed and
// badly signed datagrams are dropped and counted, and each source address gets a few datagrams a
// second (checked before the signature, so a flood cannot buy unbounded CPU).

import * as dgram from "node:dgram";
import { toHex } from "../dht/id";
import { KnownAddress } from "../dht/transport";
import { Identity, SignatureVerifier } from "../security/identity";
import { jittered } from "../util/jitter";
import { LruMap } from "../util/lru";
import { RateLimiter } from "../util/rate-limiter";
import { AnnouncementKind, decodeAnnouncement, encodeAnnouncement, MAX_ANNOUNCEMENT_BYTES } from "./announcement";
import { isLoopbackHost, LanInterface, lanInterfaces } from "./interfaces";

export type CandidateOutcome = "added" | "known" | "unreachable";

export const LAN_GROUP = "239.255.80.83";
export const LAN_PORT = 7419;

export interface LanDiscoveryOptions {
  identity: Identity;
  /** The address the node listens on: 0.0.0.0 (every interface), one address, or loopback (discovery stays off). */
  host: string;
  /** The node's UDP port, announced. */
  port: number;
  /** Time between announcements (each is jittered by ±25 %); read again for every one. */
  intervalMs: () => number;
  /**
   * A verified announcement's sender: ping it, and add it to the routing table if it answers.
   * "added" when it was not in the table before.
   */
  onCandidate: (contact: KnownAddress) => Promise<CandidateOutcome>;
  /** This node's clock corrected to its peers' (transport/clock-offset.ts): announcements are stamped and checked with it. */
  now?: () => number;
  log?: (line: string) => void;
  /** For tests: another group or port, or a fixed list of interfaces. */
  group?: string;
  groupPort?: number;
  interfaces?: () => LanInterface[];
}

export type LanStats = Record<
  | "sent"
  | "received"
  | "accepted"
  | "queriesAnswered"
  | "droppedOwn"
  | "droppedOversized"
  | "droppedMalformed"
  | "droppedUnsupportedVersion"
  | "droppedStale"
  | "droppedReplayed"
  | "droppedBadSignature"
  | "droppedRateLimited"
  | "droppedBusy"
  | "sendErrors",
  number
>;

/** At most this many bootstrap candidates are being pinged at once; others wait for the next announcement. */
const MAX_CANDIDATES_IN_FLIGHT = 16;
/** A query is answered after a random delay up to this, so that a whole LAN does not answer at once... */
const ANSWER_DELAY_MS = 250;
/** ...and at most once in this long, however many queries arrive. */
const MIN_ANSWER_GAP_MS = 1000;
/** The start-up query is repeated once after this, in case the first was lost while group memberships settled. */
const REPEAT_QUERY_MS = 1500;

function closeQuietly(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

interface Sender {
  address: string;
  socket: dgram.Socket;
}

export class LanDiscovery {
  readonly stats: LanStats = {
    sent: 0,
    received: 0,
    accepted: 0,
    queriesAnswered: 0,
    droppedOwn: 0,
    droppedOversized: 0,
    droppedMalformed: 0,
    droppedUnsupportedVersion: 0,
    droppedStale: 0,
    droppedReplayed: 0,
    droppedBadSignature: 0,
    droppedRateLimited: 0,
    droppedBusy: 0,
    sendErrors: 0,
  };

  private readonly group: string;
  private readonly groupPort: number;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly verifier = new SignatureVerifier(1024);
  private readonly limiter = new RateLimiter(5, 20, 1024);
  /** Public key (hex) → newest timestamp accepted from it: an older or equal one is a replay. */
  private readonly lastTimestamp = new LruMap<string, number>(4096);
  /** Node IDs (hex) whose announcement arrived and who answer (or answered) at its address: peers on this LAN. */
  private readonly found = new LruMap<string, true>(4096);
  private readonly inFlight = new Set<string>();
  private receiver: dgram.Socket | null = null;
  private readonly senders = new Map<string, Sender>();
  /** Interface addresses that could not be used, reported once (they are retried at every announcement). */
  private readonly unusable = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private answerTimer: NodeJS.Timeout | undefined;
  private lastAnswerAt = -Infinity;
  private lastSentTimestamp = 0;
  private running = false;
  private closed = false;

  constructor(private readonly opts: LanDiscoveryOptions) {
    this.group = opts.group ?? LAN_GROUP;
    this.groupPort = opts.groupPort ?? LAN_PORT;
    this.log = opts.log ?? (() => undefined);
    this.now = opts.now ?? Date.now;
  }

  /** False when the node listens on a loopback address: there is no LAN to discover there. */
  static appliesTo(host: string): boolean {
    return !isLoopbackHost(host);
  }

  /** True when the peer announced itself on this node's LAN (and answers there). */
  foundOnLan(idHex: string): boolean {
    return this.found.has(idHex);
  }

  /** Binds the listening socket, joins the group on each interface, and sends the first query. Never throws. */
  async start(): Promise<void> {
    if (this.running || this.closed || !LanDiscovery.appliesTo(this.opts.host)) return;
    let receiver: dgram.Socket;
    try {
      receiver = await this.bindReceiver();
    } catch (err) {
      this.log(`LAN discovery off: cannot listen on UDP ${this.groupPort} (${(err as Error).message})`);
      return;
    }
    if (this.closed) {
      receiver.close();
      return;
    }
    this.receiver = receiver;
    this.running = true;
    await this.syncInterfaces();
    const names = [...this.senders.keys()];
    this.log(`LAN discovery on ${names.length ? names.join(", ") : "no interface yet"} (group ${this.group}:${this.groupPort})`);
    this.send("query");
    this.schedule(REPEAT_QUERY_MS, () => this.send("query"));
  }

  /** Re-arms the periodic announcement with the current interval. */
  reschedule(): void {
    if (this.running) this.schedule(this.nextAnnounceDelay(), () => this.tick());
  }

  /** Leaves the group and closes the sockets; for good (start() does nothing afterwards). */
  async stop(): Promise<void> {
    this.closed = true;
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.timer);
    clearTimeout(this.answerTimer);
    const sockets = [...[...this.senders.values()].map((s) => s.socket), ...(this.receiver ? [this.receiver] : [])];
    this.senders.clear();
    this.receiver = null;
    await Promise.all(sockets.map(closeQuietly));
  }

  private bindReceiver(): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
      const onError = (err: Error) => {
        socket.close();
        reject(err);
      };
      socket.once("error", onError);
      socket.bind(this.groupPort, "0.0.0.0", () => {
        socket.off("error", onError);
        socket.on("error", (err) => this.log(`LAN discovery socket error: ${err.message}`));
        socket.on("message", (msg, rinfo) => this.handleDatagram(msg, rinfo.address));
        socket.unref();
        resolve(socket);
      });
    });
  }

  /** Joins the group on interfaces that appeared since the last call and leaves those that went away. */
  private async syncInterfaces(): Promise<void> {
    const receiver = this.receiver;
    if (!receiver) return;
    let wanted: LanInterface[];
    try {
      wanted = (this.opts.interfaces ?? (() => lanInterfaces(this.opts.host)))();
    } catch {
      wanted = [];
    }
    const addresses = new Set(wanted.map((i) => i.address));
    for (const [address, sender] of this.senders) {
      if (addresses.has(address)) continue;
      this.senders.delete(address);
      try {
        receiver.dropMembership(this.group, address);
      } catch {
        // the interface is gone, and its membership with it
      }
      sender.socket.close();
    }
    for (const iface of wanted) {
      if (!this.running) return;
      if (this.senders.has(iface.address)) continue;
      try {
        receiver.addMembership(this.group, iface.address);
        const socket = await this.bindSender(iface.address);
        if (!this.running) {
          socket.close();
          return;
        }
        this.senders.set(iface.address, { address: iface.address, socket });
        this.unusable.delete(iface.address);
      } catch (err) {
        try {
          receiver.dropMembership(this.group, iface.address);
        } catch {
          // it was never joined
        }
        if (!this.unusable.has(iface.address)) this.log(`LAN discovery: cannot use ${iface.name} (${iface.address}): ${(err as Error).message}`);
        this.unusable.add(iface.address);
      }
    }
  }

  private bindSender(address: string): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: "udp4" });
      const onError = (err: Error) => {
        socket.close();
        reject(err);
      };
      socket.once("error", onError);
      socket.bind(0, address, () => {
        socket.off("error", onError);
        socket.on("error", () => this.stats.sendErrors++);
        try {
          socket.setMulticastInterface(address);
          socket.setMulticastTTL(1); // never beyond the link
          socket.setMulticastLoopback(true); // other nodes on this machine hear it too
        } catch (err) {
          socket.close();
          reject(err);
          return;
        }
        socket.unref();
        resolve(socket);
      });
    });
  }

  private nextAnnounceDelay(): number {
    return jittered(this.opts.intervalMs(), 0.25, 100);
  }

  private schedule(ms: number, run: () => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.running) return;
      run();
      this.reschedule();
    }, ms);
    this.timer.unref();
  }

  private tick(): void {
    void this.syncInterfaces()
      .catch(() => undefined)
      .then(() => this.send("announce"));
  }

  /** Sends one announcement (or query) on every interface. */
  private send(kind: AnnouncementKind): void {
    if (!this.running || this.senders.size === 0) return;
    // strictly increasing timestamps: receivers take an older or equal one for a replay
    const timestamp = (this.lastSentTimestamp = Math.max(this.now(), this.lastSentTimestamp + 1));
    let datagram: Buffer;
    try {
      datagram = encodeAnnouncement(this.opts.identity, kind, this.opts.port, timestamp);
    } catch (err) {
      this.log(`LAN discovery: cannot announce: ${(err as Error).message}`);
      return;
    }
    for (const { socket } of this.senders.values()) {
      try {
        socket.send(datagram, this.groupPort, this.group, (err) => {
          if (err) this.stats.sendErrors++;
        });
        this.stats.sent++;
      } catch {
        this.stats.sendErrors++;
      }
    }
  }

  /** Answers a query with an announcement, after a random delay and at most once a second. */
  private answerQuery(): void {
    if (this.answerTimer || Date.now() - this.lastAnswerAt < MIN_ANSWER_GAP_MS) return;
    this.answerTimer = setTimeout(() => {
      this.answerTimer = undefined;
      this.lastAnswerAt = Date.now();
      this.stats.queriesAnswered++;
      this.send("announce");
    }, Math.floor(Math.random() * ANSWER_DELAY_MS));
    this.answerTimer.unref();
  }

  /** One datagram from `host`; public for tests. Never throws. */
  handleDatagram(msg: Buffer, host: string): void {
    try {
      this.receive(msg, host);
    } catch {
      this.stats.droppedMalformed++;
    }
  }

  private receive(msg: Buffer, host: string): void {
    this.stats.received++;
    if (msg.length > MAX_ANNOUNCEMENT_BYTES) {
      this.stats.droppedOversized++;
      return;
    }
    if (!this.limiter.take(host)) {
      this.stats.droppedRateLimited++;
      return;
    }
    const decoded = decodeAnnouncement(msg, this.now(), this.verifier);
    if (!decoded.ok) {
      const counter = (`dropped${decoded.error[0].toUpperCase()}${decoded.error.slice(1)}`) as keyof LanStats;
      this.stats[counter]++;
      return;
    }
    const a = decoded.announcement;
    if (a.publicKey.equals(this.opts.identity.publicKey)) {
      this.stats.droppedOwn++;
      return;
    }
    const keyHex = a.publicKey.toString("hex");
    if ((this.lastTimestamp.get(keyHex) ?? -Infinity) >= a.timestamp) {
      this.stats.droppedReplayed++;
      return;
    }
    this.lastTimestamp.set(keyHex, a.timestamp);
    this.stats.accepted++;
    if (a.kind === "query") this.answerQuery();
    this.offer({ host, port: a.port, id: a.id, publicKey: a.publicKey });
  }

  private offer(contact: KnownAddress): void {
    const idHex = toHex(contact.id);
    if (this.inFlight.has(idHex)) return;
    if (this.inFlight.size >= MAX_CANDIDATES_IN_FLIGHT) {
      this.stats.droppedBusy++;
      return;
    }
    this.inFlight.add(idHex);
    Promise.resolve()
      .then(() => this.opts.onCandidate(contact))
      .then((outcome) => {
        if (outcome === "unreachable" || this.found.has(idHex)) return;
        this.found.set(idHex, true);
        this.log(`found ${idHex.slice(0, 12)}… at ${contact.host}:${contact.port} on the LAN`);
      })
      .catch(() => undefined)
      .finally(() => this.inFlight.delete(idHex));
  }
}
