// A peershare node: identity, settings, the UDP transport and the DHT, and the timers that keep
// them healthy. The CLI daemon and the VS Code extension's background process both run one.

import * as fs from "node:fs";
import * as path from "node:path";
import { EventEmitter } from "node:events";
import { Config, loadConfig, parseHostPort, parseSetting, saveSetting, SettingName, SETTINGS } from "./config";
import { Identity, loadOrCreateIdentity } from "./security/identity";
import { KeyStore, openKeyStore } from "./security/key-store";
import { UdpRpc } from "./transport/udp-rpc";
import { systemClock } from "./dht/clock";
import { Dht, DhtSettings, PublishedValue } from "./dht/dht";
import { Maintenance } from "./maintenance";
import { writeFileAtomic } from "./util/fs-atomic";
import { nodeIdFromPublicKey } from "./dht/id";
import { ContentStore, formatShareLink, parseShareLink } from "./cas";
import { ContentService } from "./transfer/content-service";
import { BulkNode, createBulkNode } from "./transport/bulk-client";
import { Signaller } from "./transport/webrtc-bulk";
import { ByteRateLimiter } from "./util/byte-rate-limiter";
import { ReplicationFactors } from "./replication/factors";
import { ReplicaPlacements } from "./replication/placements";
import { ReplicaSink } from "./replication/replica-sink";
import { Replicator } from "./replication/replicator";
import { Repair } from "./replication/repair";
import { TeamBook } from "./security/teams";
import { AudienceIndex } from "./security/audiences";
import { AccessPolicy } from "./security/access-policy";
import { CopyConfinement } from "./security/copy-confinement";
import { AuditLog } from "./security/audit-log";
import { LanDiscovery } from "./discovery/lan";
import { restrictToOwner } from "./platform/owner-only";
import { NatService } from "./nat/nat-service";
import { RelayMode } from "./nat/relay-server";
import { AccessDeniedError } from "./transport/bulk-api";
import { FirstContact, HintOutcome, Reached } from "./first-contact/first-contact";
import { encodeHints, Hints } from "./first-contact/hints";
import { chooseHints, resolvePublicAddress } from "./first-contact/own-hints";
import { formatAddress } from "./nat/address";
import { MainlineRendezvous } from "./nat/mainline-rendezvous";
import type { MainlineInfo } from "./rpc/api-types";
import type { BulkPeer } from "./transport/bulk";
import { loadRecords, saveRecords } from "./dht/record-file";

/** The package version: from the nearest peershare package.json above this file (dist/ or the bundle in out/). */
export const VERSION: string = (() => {
  for (let dir = __dirname, i = 0; i < 4; dir = path.dirname(dir), i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
      if (pkg.name === "peershare") return String(pkg.version);
    } catch {
      // not here: look one level up
    }
  }
  return "0.0.0";
})();

export interface NodeOptions {
  dataDir: string;
  port?: number;
  host?: string;
  bootstrap?: string[];
  /** HOST:PORT at which the internet reaches this node (a port forward); overrides the setting. */
  publicAddress?: string;
  /**
   * A one-off node (`peershare fetch` with no node running, `share --once`): it takes no replicas,
   * runs no repair sweeps, announces no earlier shares and hands nothing on when it stops.
   */
  ephemeral?: boolean;
  /** Where its secrets are kept (default: openKeyStore on the data dir); a throwaway node keeps them in memory. */
  keys?: KeyStore;
  log?: (line: string) => void;
}

const PUBLISHED_FILE = "published.json";
/** Bootstrap contacts an invite may add to the configured ones (which it never removes). */
const MAX_SAVED_BOOTSTRAP = 8;
/** How long a node waits for a UDP answer from its bootstrap contacts before it tries them over TCP. */
const BLOCKED_UDP_AFTER_MS = 4000;
/**
 * Sweeps of its own a holder waits, seeing a content below r, before it copies the content although
 * another holder leads its repair (that leader may be busy with thousands of contents, or slower).
 */
const LEADER_GRACE_SWEEPS = 2;
/** Records held for the network (dht/record-file.ts), and how often they are saved besides at a stop. */
const RECORDS_FILE = "records.bin";
const RECORDS_SAVE_INTERVAL_MS = 5 * 60_000;

function dhtSettings(c: Config): Partial<DhtSettings> {
  return {
    k: c.k,
    alpha: c.alpha,
    offlineAfterMisses: c.offlineAfterMisses,
    recordTtlMs: c.recordTtlMs,
    healthCheckIntervalMs: c.healthCheckIntervalMs,
    refreshIntervalMs: c.refreshIntervalMs,
    republishIntervalMs: c.republishIntervalMs,
    rpcTimeoutMs: c.rpcTimeoutMs,
  };
}

/** WebRTC offers and answers travel as signed DHT messages. */
function dhtSignaller(dht: Dht): Signaller {
  return {
    signal: (peer, payload) => dht.signal(peer, payload),
    onSignal: (handler) => {
      dht.signalHandler = (from, payload) => handler(from, payload);
    },
  };
}

/** The node's UDP socket; on a machine without IPv6, the default "::" falls back to IPv4 only (0.0.0.0). */
async function bindUdp(config: Config, identity: Identity, log: (line: string) => void): Promise<UdpRpc> {
  const bind = () => UdpRpc.bind({ identity, host: config.host, port: config.port, timeoutMs: config.rpcTimeoutMs, log });
  try {
    return await bind();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (config.host !== "::" || (code !== "EAFNOSUPPORT" && code !== "EADDRNOTAVAIL" && code !== "EINVAL")) throw err;
    log("no IPv6 on this machine: listening on IPv4 only (0.0.0.0)");
    config.host = "0.0.0.0";
    return bind();
  }
}

export class PeershareNode extends EventEmitter {
  readonly startedAt = Date.now();
  private readonly maintenance: Maintenance;
  private stopping: Promise<void> | null = null;
  private lan: LanDiscovery | null = null;
  /** The Mainline rendezvous (nat/mainline-rendezvous.ts), while the setting is on; `mainlineChange` orders its starts and stops. */
  private mainline: MainlineRendezvous | null = null;
  private mainlineChange: Promise<void> = Promise.resolve();
  /** Follows the address hints of links and invites (first-contact/). */
  private readonly firstContact: FirstContact;

  private constructor(
    readonly dataDir: string,
    readonly config: Config,
    readonly identity: Identity,
    readonly transport: UdpRpc,
    readonly dht: Dht,
    readonly bulk: BulkNode,
    readonly content: ContentService,
    private readonly uploadLimit: ByteRateLimiter,
    readonly replicator: Replicator,
    readonly repair: Repair,
    readonly teams: TeamBook,
    readonly audit: AuditLog,
    readonly log: (line: string) => void,
    /** Where the node's secrets are kept, encrypted at rest (OS keychain or passphrase-protected file). */
    readonly keys: KeyStore,
    /** How others reach this node, and how it reaches nodes behind NAT. */
    readonly nat: NatService,
    /** A one-off node (NodeOptions.ephemeral). */
    readonly ephemeral: boolean,
  ) {
    super();
    const jobs = ephemeral
      ? []
      : [
          { name: "repair", intervalMs: () => config.repairIntervalMs, run: () => repair.sweep() },
          { name: "save-records", intervalMs: () => RECORDS_SAVE_INTERVAL_MS, run: () => this.saveRecords() },
        ];
    this.maintenance = new Maintenance(dht, config, log, jobs, dht.clock);
    this.firstContact = new FirstContact({
      self: identity.id,
      transport,
      maintenance: this.maintenance,
      beforeNatPaths: async () => void (nat.status().reachability === "unknown" && (await nat.check())),
      log,
    });
    content.shareWarnBytes = () => config.shareWarnMB * 1024 * 1024;
    content.replicate = async (contentId, r) => (await repair.afterShare(contentId, r)).copies;
    content.followHints = async (hints, report) => (await this.firstContact.reach(hints, report)).node;
    content.nearby = () => this.mainline?.nodes() ?? [];
    content.nearbyRoute = (id) => this.mainlineRoute(id);
    content.transfers.on("progress", (t) => this.emit("transfer.progress", t));
    // Provider records live in other nodes' memory: announce our shares again once this node has
    // peers after a start (whether it joined them or they joined it), when the table has filled a bit.
    const announceOnce = () => {
      if (dht.table.size === 0) return;
      dht.off("changed", announceOnce);
      setTimeout(() => void content.announceOwnShares().then((n) => n && log(`announced ${n} share(s)`)), 1000).unref();
    };
    if (!ephemeral) dht.on("changed", announceOnce);
    dht.on("changed", () => this.emit("peers.changed", { peers: dht.table.size }));
    dht.on("published", () => this.savePublished());
  }

  static async start(opts: NodeOptions): Promise<PeershareNode> {
    const log = opts.log ?? (() => undefined);
    fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    const aclProblem = await restrictToOwner(opts.dataDir); // Windows: what mode 0700 does elsewhere
    if (aclProblem) log(aclProblem);
    const config = loadConfig(opts.dataDir);
    if (opts.port !== undefined) config.port = opts.port;
    if (opts.host !== undefined) config.host = opts.host;
    if (opts.bootstrap?.length) config.bootstrap = opts.bootstrap;
    if (opts.publicAddress !== undefined) config.publicAddress = parseSetting("publicAddress", opts.publicAddress) as string;
    if (opts.ephemeral) config.handoffTimeoutMs = 0;
    const bootstrap = config.bootstrap.map(parseHostPort);
    const keys = opts.keys ?? (await openKeyStore(opts.dataDir, { log }));
    const identity = await loadOrCreateIdentity(opts.dataDir, keys);
    let transport: UdpRpc;
    try {
      transport = await bindUdp(config, identity, log);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === "EADDRINUSE") throw new Error(`UDP port ${config.port} on ${config.host} is in use; choose another with --port (0 picks a free one)`);
      if (e.code === "EADDRNOTAVAIL") throw new Error(`cannot listen on ${config.host}: no such local address`);
      throw err;
    }
    const teams = TeamBook.load(opts.dataDir, identity, keys);
    const audiences = AudienceIndex.load(opts.dataDir);
    const audit = new AuditLog(opts.dataDir, identity);
    const store = await ContentStore.open(path.join(opts.dataDir, "store"), { cacheLimitBytes: config.cacheSizeMB * 1024 * 1024 });
    const policy = new AccessPolicy(teams, audiences, (id) => store.keeps(id));
    const confinement = new CopyConfinement(teams, audiences, identity.id);
    // the DHT's time (record expiries, last-seen times) is the clock corrected to the peers' (clock-offset.ts)
    const clock = { ...systemClock, now: () => transport.clock.now() };
    const dht = new Dht(transport, dhtSettings(config), identity, clock);
    dht.recordPolicy = policy.recordPolicy();
    if (!opts.ephemeral) {
      const loaded = loadRecords(path.join(opts.dataDir, RECORDS_FILE), dht.records, clock.now(), log);
      if (loaded) log(`${loaded} record(s) held for the network read back`);
    }
    // a port forward named by the publicAddress setting: the node counts as reachable there
    const forwarded = await resolvePublicAddress(config.publicAddress);
    if (config.publicAddress && !forwarded) log(`publicAddress ${config.publicAddress} does not resolve now: reachability is found out from peers`);
    const nat = await NatService.start({
      rpc: transport,
      dht,
      identity,
      publicAddress: forwarded,
      relay: {
        mode: () => config.relay as RelayMode,
        circuitBytesPerSecond: () => config.relayMBps * 1e6,
        totalBytesPerSecond: () => config.relayTotalMBps * 1e6,
        circuitLifetimeMs: () => config.relayMinutes * 60_000,
      },
      // a team node relays for members of its teams (the relay handshake shows the requester's memberships)
      isMember: (requester, publicKey, memberships) => teams.open || (teams.received(requester, publicKey, { memberships, revocations: [] }), teams.sharedTeams(requester).length > 0),
      isKnownMember: (node) => teams.open || teams.sharedTeams(node.id).length > 0,
      log,
    });
    const uploadLimit = new ByteRateLimiter(config.uploadLimitMBps * 1e6);
    const MiB = 1024 * 1024;
    const factors = new ReplicationFactors(opts.dataDir, () => config.replication);
    const sink = new ReplicaSink({
      store,
      factors,
      quotaBytesPerPeer: () => config.replicaQuotaMB * MiB,
      placements: new ReplicaPlacements(opts.dataDir, store),
      authorize: (from, action) => {
        if (opts.ephemeral && action === "push") throw new AccessDeniedError("this node runs for one fetch or share only, and keeps no replicas");
        return action === "push" ? policy.checkPush(from) : policy.checkQuery(from);
      },
      acceptAudience: (audience) => confinement.checkOffer(audience),
      mayKnow: (from, id) => policy.mayGet(from, id),
      recordAudience: (contentId, audience, chunkIds) => audiences.set(contentId, audience, chunkIds),
      onComplete: async (contentId) => void (await dht.provide(contentId)),
      log,
    });
    await sink.load();
    const bulk = await createBulkNode({
      identity,
      now: () => transport.clock.now(),
      host: config.host,
      port: transport.local.port,
      source: {
        getObject: async (requester, id, into) => {
          // requests for one of this node's own shares (its manifest: every fetch starts there) are audited
          const audited = content.isOwnShare(id);
          try {
            policy.checkGet(requester, id);
          } catch (err) {
            if (audited) audit.record(requester, id, "refused");
            throw err;
          }
          const bytes = await store.get(id, into);
          if (bytes && audited) audit.record(requester, id, "served");
          if (bytes) await uploadLimit.take(bytes.length);
          if (bytes) content.onServed?.(requester, id);
          return bytes;
        },
      },
      sink,
      credentials: teams,
      signaller: dhtSignaller(dht),
      forceWebRtc: config.bulkPath === "webrtc",
      iceServers: config.iceServers,
      selfReach: () => nat.selfReach(),
      ownRendezvous: () => nat.rendezvous,
      ownExternal: (ipv6) => nat.ownExternal(ipv6),
      iceServersFor: (peer) => nat.stunServersFor(peer),
      onRawConnection: (socket, first) => nat.relay.accept(socket, first),
      onTunnel: (socket) => nat.tunnels.accept(socket),
      answersPing: (peer) => dht.ping(peer),
      log,
    });
    if (!bulk.tcpListening) log(`TCP port ${transport.local.port} unavailable (${bulk.tcpError}); serving over WebRTC only`);
    const content = new ContentService(store, dht, bulk.client, path.join(opts.dataDir, "downloads"), opts.dataDir, { teams, audiences }, (p) => nat.route(p));
    const replicator = new Replicator(store, dht, bulk.client, factors, transport.local, (c) => audiences.ofContent(c) ?? { kind: "unstated" }, confinement);
    const repair = new Repair(
      replicator,
      { bytesPerSweep: () => config.repairMBPerSweep * MiB, contentsPerSweep: () => config.repairContentsPerSweep, leaderGraceMs: () => LEADER_GRACE_SWEEPS * config.repairIntervalMs },
      log,
    );
    const node = new PeershareNode(opts.dataDir, config, identity, transport, dht, bulk, content, uploadLimit, replicator, repair, teams, audit, log, keys, nat, opts.ephemeral === true);
    node.loadPublished();
    log(`node ${identity.id.toString("hex")} listening on udp ${transport.local.host}:${transport.local.port}`);
    node.maintenance.start(bootstrap);
    node.escapeBlockedUdpLater(bootstrap);
    await node.applyLanDiscovery();
    await node.applyRendezvous();
    return node;
  }

  /**
   * A few seconds after start, a node that heard nothing over UDP from its bootstrap contacts tries
   * them over TCP (a network that blocks UDP), and joins again through the tunnel it opens.
   */
  private escapeBlockedUdpLater(bootstrap: { host: string; port: number }[]): void {
    if (bootstrap.length === 0) return;
    const timer = setTimeout(() => {
      // a bootstrap contact that answered over UDP but gave no contacts (it is a DHT client itself)
      // is no sign of a network that blocks UDP
      if (this.dht.table.size > 0 || this.maintenance.bootstrapAnswered || this.stopping) return;
      void this.nat.escapeBlockedUdp(bootstrap).then(async (opened) => void (opened && (await this.join())));
    }, BLOCKED_UDP_AFTER_MS);
    timer.unref();
  }

  /** LAN discovery (discovery/lan.ts), or null when it is off. */
  get lanDiscovery(): LanDiscovery | null {
    return this.lan;
  }

  /**
   * Starts or stops LAN discovery as the setting says. A node listening on a loopback address has
   * no LAN: it neither announces nor listens, whatever the setting.
   */
  private async applyLanDiscovery(): Promise<void> {
    const wanted = this.config.lanDiscovery === "on" && !this.stopping;
    if (wanted && !this.lan) {
      if (!LanDiscovery.appliesTo(this.config.host)) {
        this.log(`LAN discovery off: the node listens on ${this.config.host}, a loopback address`);
        return;
      }
      this.lan = new LanDiscovery({
        identity: this.identity,
        host: this.config.host,
        port: this.transport.local.port,
        intervalMs: () => this.config.lanAnnounceIntervalMs,
        onCandidate: (contact) => this.maintenance.addBootstrap(contact),
        now: () => this.transport.clock.now(),
        log: this.log,
      });
      await this.lan.start();
    } else if (!wanted && this.lan) {
      const lan = this.lan;
      this.lan = null;
      await lan.stop();
    }
  }

  /**
   * Starts or stops the Mainline rendezvous as the "rendezvous" setting says (a one-off node never
   * runs it). A failure to start (bittorrent-dht missing) is logged; the node runs on without it.
   */
  private applyRendezvous(): Promise<void> {
    this.mainlineChange = this.mainlineChange.then(async () => {
      const wanted = this.config.rendezvous === "mainline" && !this.stopping && !this.ephemeral;
      if (wanted && !this.mainline) {
        try {
          this.mainline = await MainlineRendezvous.start({
            udp: this.transport,
            teamKeys: () => this.teams.teamKeys(),
            teamName: (key) => this.teams.nameOf(key) ?? key.toString("hex").slice(0, 12),
            bootstrap: this.config.mainlineBootstrap,
            self: this.identity.id,
            ping: async (at) => (await this.transport.request(at, { type: "ping" }, { retries: 0 })).from,
            pingNode: (node) => this.transport.request(node, { type: "ping" }, { retries: 0 }).then(() => true, () => false),
            onFound: async (node) => {
              // as a contact it may be a way into the DHT; its view of this node's address, and
              // whether its dial-back gets through, is what choosing the way to it needs (a hole
              // punch), so it is asked before the node is offered as a holder
              void this.maintenance.addBootstrap(node, "found through the Mainline DHT").catch(() => undefined);
              await this.nat.learnThrough(node).catch(() => undefined);
            },
            isOwnAddress: (at) => {
              const seen = this.nat.status().external;
              return seen !== null && seen.port === at.port && seen.host === at.host;
            },
            log: this.log,
          });
        } catch (err) {
          this.log((err as Error).message);
        }
      } else if (!wanted && this.mainline) {
        const m = this.mainline;
        this.mainline = null;
        await m.stop();
        this.log("Mainline rendezvous off");
      }
    });
    return this.mainlineChange;
  }

  /** The node's teams changed (created, joined): the Mainline rendezvous announces under the new topics soon. */
  teamsChanged(): void {
    this.mainline?.soon();
  }

  /** The Mainline rendezvous's state, or null while it is off. */
  mainlineStatus(): MainlineInfo | null {
    return this.mainline?.status() ?? null;
  }

  /** A node the Mainline rendezvous found, as it is reached: behind NAT at the address it answered at, through which a hole punch connects. */
  private mainlineRoute(id: Buffer): BulkPeer | null {
    const node = this.mainline?.get(id);
    if (!node) return null;
    return { ...node, reach: { reachable: false, mapping: "unknown", udp: true, external: [{ host: node.host, port: node.port }] } };
  }

  /** Joins through the configured bootstrap contacts (also retried by maintenance while alone). */
  join(): Promise<{ reached: number }> {
    return this.maintenance.join();
  }

  /**
   * Shows a team's admin this node's memberships now, when the admin is a contact, or was reached
   * through an invite's address hints (`reached`); it learns them from the next connection otherwise.
   */
  async tellAdmin(teamKey: Buffer, reached: Reached | null = null): Promise<void> {
    const admin = this.teams.adminOf(teamKey);
    const hinted = admin && reached?.node?.publicKey.equals(admin) ? reached.node : null;
    const contact = hinted ?? (admin && this.dht.table.get(nodeIdFromPublicKey(admin))?.contact);
    if (!contact) return;
    // rendezvous nodes forward only PING and SIGNAL: an admin behind NAT sees the memberships in
    // the HELLO of a bulk connection (opened by its NAT paths) instead
    if (contact.via?.length) await this.bulk.client.hasObjects(contact, [this.identity.id]).catch(() => undefined);
    else await this.dht.showCredentialsTo(contact).catch(() => undefined);
  }

  /** The address hints for this node's links and invites now (first-contact/own-hints.ts), encoded. */
  async addressHints(): Promise<string> {
    const publicAddress = await resolvePublicAddress(this.config.publicAddress);
    return encodeHints(chooseHints({ publicKey: this.identity.publicKey, port: this.transport.local.port, boundHost: this.transport.boundHost, nat: this.nat.status(), publicAddress }));
  }

  /** `link` with this node's address hints now. */
  async linkWithHints(link: string): Promise<string> {
    const { contentId, key } = parseShareLink(link);
    return formatShareLink(contentId, key, await this.addressHints());
  }

  /**
   * Follows an invite's address hints: joins the network through the nodes that answer and keeps
   * them as bootstrap contacts (up to MAX_SAVED_BOOTSTRAP in all), so the node finds its team again
   * after a restart. Returns what became of each hint, the reached admin, and the contacts saved.
   */
  async followInviteHints(hints: Hints): Promise<{ reached: Reached; hints: HintOutcome[]; bootstrapAdded: string[] }> {
    const outcomes: HintOutcome[] = [];
    const reached = await this.firstContact.reach(hints, (o) => outcomes.push(o));
    const stored = loadConfig(this.dataDir).bootstrap; // not the --bootstrap of this run
    const known = new Set([...stored, ...this.config.bootstrap]);
    const added = [...new Set(reached.answered.map((c) => formatAddress(c)))].filter((a) => !known.has(a)).slice(0, Math.max(0, MAX_SAVED_BOOTSTRAP - stored.length));
    if (added.length) {
      saveSetting(this.dataDir, "bootstrap", [...stored, ...added]);
      this.log(`bootstrap contacts from an invite kept in config.json: ${added.join(", ")}`);
    }
    return { reached, hints: outcomes, bootstrapAdded: added };
  }

  /** Applies a setting: saved to config.json, and to the running node where it can be. */
  setSetting(name: string, raw: unknown): { value: number | string | string[]; appliedLive: boolean } {
    const value = parseSetting(name, raw);
    saveSetting(this.dataDir, name, value);
    const setting = SETTINGS[name as SettingName];
    if (!setting.live) return { value, appliedLive: false };
    (this.config as unknown as Record<string, unknown>)[name] = value;
    Object.assign(this.dht.settings, dhtSettings(this.config));
    this.content.store.cacheLimitBytes = this.config.cacheSizeMB * 1024 * 1024;
    this.uploadLimit.bytesPerSecond = this.config.uploadLimitMBps * 1e6;
    this.transport.timeoutMs = this.config.rpcTimeoutMs;
    this.maintenance.reschedule();
    if (name === "lanDiscovery") void this.applyLanDiscovery();
    if (name === "rendezvous") void this.applyRendezvous();
    if (name === "lanAnnounceIntervalMs") this.lan?.reschedule();
    return { value, appliedLive: true };
  }

  private loadPublished(): void {
    const file = path.join(this.dataDir, PUBLISHED_FILE);
    if (!fs.existsSync(file)) return;
    try {
      const items = JSON.parse(fs.readFileSync(file, "utf8")) as { key: string; name: string; value: string; seq: number; publishedAt: number }[];
      for (const i of items) this.dht.published.set(i.key, { name: i.name, value: Buffer.from(i.value, "base64"), seq: i.seq, publishedAt: 0 });
    } catch (err) {
      this.log(`ignoring unreadable ${file}: ${(err as Error).message}`);
    }
  }

  private savePublished(): void {
    const items = [...this.dht.published].map(([key, p]: [string, PublishedValue]) => ({ key, name: p.name, value: p.value.toString("base64"), seq: p.seq, publishedAt: p.publishedAt }));
    writeFileAtomic(path.join(this.dataDir, PUBLISHED_FILE), JSON.stringify(items));
  }

  /**
   * Before leaving: hands each content whose copies would drop below r without this node to the
   * nearest live nodes lacking it, for at most handoffTimeoutMs.
   */
  private async handOff(): Promise<void> {
    const timeoutMs = this.config.handoffTimeoutMs;
    if (timeoutMs === 0 || this.dht.table.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
    const report = await Promise.race([this.repair.handoff().catch((err: Error) => (this.log(`hand-off failed: ${err.message}`), null)), timedOut]);
    clearTimeout(timer);
    if (report === null) this.log(`hand-off unfinished after ${timeoutMs} ms`);
    else if (report.copies) this.log(`handed ${report.copies} copy(ies) on (${report.bytes} bytes) before leaving`);
  }

  /** Keeps the records held for the network across a restart (dht/record-file.ts). */
  private async saveRecords(): Promise<void> {
    await saveRecords(path.join(this.dataDir, RECORDS_FILE), this.dht.records, this.dht.clock.now()).catch((err: Error) => this.log(`records not saved: ${err.message}`));
  }

  /** Hands its files on where needed, leaves the network (neighbours are told) and closes. Safe to call more than once. */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = (async () => {
        await this.lan?.stop();
        await this.applyRendezvous(); // stops it: the node is stopping
        await this.maintenance.stop();
        if (!this.ephemeral) await this.saveRecords();
        await this.handOff();
        await this.dht.leave().catch(() => undefined);
        await this.nat.stop().catch(() => undefined);
        await this.bulk.close().catch(() => undefined);
        await this.content.store.close().catch(() => undefined);
        await this.transport.close();
        this.emit("stopped");
      })();
    }
    return this.stopping;
  }
}
