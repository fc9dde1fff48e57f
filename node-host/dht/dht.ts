// A Kademlia node: answers the protocol's requests, keeps its routing table fresh, and runs
// lookups, puts and gets. It does no I/O of its own beyond its RpcTransport.

import { EventEmitter } from "node:events";
import { randomBytes as cryptoRandomBytes } from "node:crypto";
import { Id, randomIdInBucket, toHex } from "./id";
import { Contact, ErrorCodes, ProviderRecord, Request, Response, ValueRecord } from "./messages";
import { RoutingTable, TableEntry } from "./routing-table";
import { RecordStore } from "./record-store";
import { iterativeLookup, LookupOutcome, QueryOutcome } from "./lookup";
import { Address, Reply, RequestOptions, RpcRemoteError, RpcTimeoutError, RpcTransport, SenderInfo } from "./transport";
import { Clock, systemClock } from "./clock";
import { RttEstimator } from "./rtt";
import { provideInRegions } from "./provide-regions";
import { requestWithResends } from "./resend";
import { createProviderRecord, createValueRecord, providerRecordUsable, validateProviderRecord, validateValueRecord, valueKey } from "./records";
import { Identity, SignatureVerifier } from "../security/identity";
import { LruMap } from "../util/lru";
import { mapLimit } from "../util/concurrency";
import { bytesKey } from "../util/bytes-key";

/** Where requests to a contact go: its address, or through its rendezvous nodes (nat/) when it names them. */
function addressOf(c: Contact): Address {
  return { host: c.host, port: c.port, id: c.id, publicKey: c.publicKey, via: c.via };
}

export interface DhtSettings {
  k: number;
  alpha: number;
  /** Consecutive failed requests after which a contact is dropped from the table. */
  offlineAfterMisses: number;
  recordTtlMs: number;
  /** Contacts not heard from for this long are pinged by checkHealth(). */
  healthCheckIntervalMs: number;
  /** Buckets with no lookup for this long are refreshed by refreshBuckets(). */
  refreshIntervalMs: number;
  /** Records are republished when older than this. */
  republishIntervalMs: number;
  /**
   * Longest wait for an answer: the timeout before any round trip has been measured. Measured
   * round trips shorten it, per contact (rtt.ts).
   */
  rpcTimeoutMs: number;
  // Switches for this release's changes, on by default; off gives the previous behaviour, so the
  // simulator can show what each change does (npm run simulate -- --help).
  /** Timeouts from each contact's measured round trips (rtt.ts); off: every request waits rpcTimeoutMs. */
  adaptiveTimeouts: boolean;
  /** A lookup moves past a late query, which is sent once more (lookup.ts); off: it waits. */
  passLateQueries: boolean;
  /** A contact that misses is dropped at once when a replacement waits, and a contact whose last request failed is left out of answers; off: only after offlineAfterMisses misses. */
  quickEviction: boolean;
  /**
   * A lookup counts a contact heard from within this long (and not failed since) as alive without
   * asking it, beyond the alpha closest (lookup.ts); 0: every one of the k closest is asked.
   */
  vouchWithinMs: number;
}

export const DEFAULT_DHT_SETTINGS: DhtSettings = {
  adaptiveTimeouts: true,
  passLateQueries: true,
  quickEviction: true,
  vouchWithinMs: 10_000,
  k: 20,
  alpha: 3,
  offlineAfterMisses: 3,
  rpcTimeoutMs: 1000,
  recordTtlMs: 24 * 3600_000,
  healthCheckIntervalMs: 60_000,
  refreshIntervalMs: 3600_000,
  republishIntervalMs: 3600_000,
};

/** A fetch's provider lookup stops once this many nodes have answered with providers (findProviders). */
export const FETCH_PROVIDER_ANSWERS = 2;

export interface ValueLookup {
  record: ValueRecord | null;
  lookup: LookupOutcome | null;
}

export interface ProviderLookup {
  providers: ProviderRecord[];
  lookup: LookupOutcome;
}

export interface PublishedValue {
  name: string;
  value: Buffer;
  seq: number;
  publishedAt: number;
}

/** Who may store records on this node, and the credentials it shows before storing on others. */
export interface RecordPolicy {
  /** This node's team memberships (encoded), shown to a peer before storing records on it. */
  credentials(): Buffer[];
  /** A membership a peer showed (the policy checks it). */
  learn(from: Contact, membership: Buffer): void;
  /** Why `from` may not store records here, or null when it may. */
  refusal(from: Contact): string | null;
}

/** How long a peer is trusted to remember the credentials this node showed it. */
const CREDENTIALS_SHOWN_MS = 10 * 60_000;
/** No request times out sooner, however short its contact's round trip (loopback, LAN). */
const MIN_TIMEOUT_MS = 100;
/** How long a record's signature, once checked, is taken as valid when seen again. */
const CHECKED_SIGNATURES_KEPT_MS = 2 * 60_000;

/** A lookup's query reached a DHT client: it answered, but it is not part of the result. */
class ClientNodeError extends Error {}

/**
 * How many contacts an answer carries: k and a quarter more (what fits in a datagram: 25 of 27 for
 * k = 20). Some contacts in any table are dead and not yet found out; an answer of exactly k then
 * leaves out the live nodes just beyond them, and with a fifth of a network gone at once a lookup
 * missed the k-th closest live node more often than not (the simulation's "right after 20% died").
 */
function answerSize(k: number): number {
  return k + (k >> 2);
}

/** The key contacts are filed under in per-contact state. */
const contactKey = (id: Id): string => bytesKey(id);

export interface OfflineContact {
  contact: Contact;
  lastSeen: number;
  rttMs: number | null;
  since: number;
}

export class Dht extends EventEmitter {
  readonly table: RoutingTable;
  readonly records: RecordStore;
  readonly settings: DhtSettings;
  /** Values this node published, by key (hex), republished before they expire. */
  readonly published = new Map<string, PublishedValue>();
  /**
   * Content keys this node announced itself as a provider of, with when it last did; republish()
   * renews them. Only contents this node keeps belong here (unprovide() drops the others).
   */
  readonly provided = new Map<string, number>();
  readonly offline = new LruMap<string, OfflineContact>(64);

  /** Answers WebRTC signalling from a peer (set by the bulk transport); null = not accepted. */
  signalHandler: ((from: Contact, payload: Buffer) => Promise<Buffer | null>) | null = null;
  /** Team rules for STORE and ADD_PROVIDER (set by the node); null: anyone may store. */
  recordPolicy: RecordPolicy | null = null;
  /** Peer (hex) → when this node last showed it its credentials. */
  private readonly credentialsShown = new LruMap<string, number>(4096);

  /** Round trips measured per contact, and the timeouts that follow from them. */
  readonly rtt: RttEstimator;
  // records recur in many replies during a lookup: remember the ones already checked, for long
  // enough to cover lookups that follow one another (a fetch's, then a status's), not for good
  private readonly verifier = new SignatureVerifier(4096, 16_384, CHECKED_SIGNATURES_KEPT_MS);
  private readonly evictionPings = new Set<string>();
  private readonly now: () => number;
  private clientMode = false;
  /** Where refresh lookups get their random IDs; the simulator sets a seeded one for repeatable runs. */
  randomBytes: (n: number) => Buffer = cryptoRandomBytes;

  constructor(
    readonly transport: RpcTransport,
    settings: Partial<DhtSettings> = {},
    private readonly identity?: Identity,
    readonly clock: Clock = systemClock,
  ) {
    super();
    this.settings = { ...DEFAULT_DHT_SETTINGS, ...settings };
    this.now = () => clock.now();
    this.table = new RoutingTable(transport.local.id, this.settings.k, this.now);
    this.table.skipFailing = this.settings.quickEviction;
    this.records = new RecordStore(undefined, this.now);
    const s = this.settings;
    this.rtt = new RttEstimator(() => ({
      initialTimeoutMs: s.rpcTimeoutMs,
      minTimeoutMs: s.adaptiveTimeouts ? Math.min(MIN_TIMEOUT_MS, s.rpcTimeoutMs) : s.rpcTimeoutMs,
      maxTimeoutMs: s.rpcTimeoutMs,
    }));
    transport.onRequest((from, req, sender) => this.handle(from, req, sender));
  }

  get id(): Id {
    return this.transport.local.id;
  }

  // ---- answering requests ------------------------------------------------------

  private handle(from: Contact, req: Request, sender: SenderInfo): Response | null | Promise<Response | null> {
    if (req.type === "leave") {
      // listed as offline since (the Peers view, and repair sweeps look first at what it held)
      this.dropContact(from.id);
      return { type: "pong" };
    }
    this.observe(from, sender.client);
    const k = this.settings.k;
    switch (req.type) {
      case "ping":
        return { type: "pong" };
      case "find_node":
        return { type: "nodes", contacts: this.table.closest(req.target, answerSize(k), from.id) };
      case "find_value": {
        const record = this.records.getValue(req.key);
        return record ? { type: "value", record } : { type: "nodes", contacts: this.table.closest(req.key, answerSize(k), from.id) };
      }
      case "store":
        return this.refuseRecordsFrom(from) ?? this.acceptValue(req.record);
      case "add_provider":
        return this.refuseRecordsFrom(from) ?? this.acceptProvider(req.record);
      case "credentials":
        this.recordPolicy?.learn(from, req.membership);
        return { type: "pong" };
      case "get_providers":
        return { type: "providers", providers: this.records.getProviders(req.key), contacts: this.table.closest(req.key, answerSize(k), from.id) };
      case "signal":
        return this.answerSignal(from, req.payload);
    }
  }

  private async answerSignal(from: Contact, payload: Buffer): Promise<Response> {
    const answer = this.signalHandler ? await this.signalHandler(from, payload) : null;
    return answer ? { type: "signal", payload: answer } : { type: "error", code: ErrorCodes.Unsupported, message: "signalling not accepted" };
  }

  /** Sends signalling to a peer and returns its answer (a WebRTC offer gets an answer). */
  async signal(to: Contact, payload: Buffer, timeoutMs = 5000): Promise<Buffer> {
    const { response } = await this.call(to, { type: "signal", payload }, { timeoutMs });
    if (response.type !== "signal") throw new Error(`unexpected ${response.type} reply to signalling`);
    return response.payload;
  }

  private refuseRecordsFrom(from: Contact): Response | null {
    const why = this.recordPolicy?.refusal(from);
    return why ? { type: "error", code: ErrorCodes.Forbidden, message: why } : null;
  }

  /** Shows a peer this node's memberships (one datagram each) unless it did so lately. */
  private async showCredentials(to: Contact): Promise<void> {
    const memberships = this.recordPolicy?.credentials() ?? [];
    const key = toHex(to.id);
    if (memberships.length === 0 || (this.credentialsShown.get(key) ?? -Infinity) > this.now() - CREDENTIALS_SHOWN_MS) return;
    await Promise.all(memberships.map((membership) => this.call(to, { type: "credentials", membership })));
    this.credentialsShown.set(key, this.now());
  }

  /** Shows a contact this node's memberships now, unless it saw them lately (e.g. a new member tells its team's admin). */
  showCredentialsTo(to: Contact): Promise<void> {
    return this.showCredentials(to);
  }

  /** Forgets which peers saw this node's credentials (after it joined or left a team). */
  credentialsChanged(): void {
    this.credentialsShown.clear();
  }

  private acceptValue(record: ValueRecord): Response {
    const invalid = validateValueRecord(record, this.verifier, this.now());
    if (invalid) return { type: "error", code: ErrorCodes.InvalidRecord, message: invalid };
    const outcome = this.records.putValue(valueKey(record.publisher, record.name), record);
    if (outcome === "full") return { type: "error", code: ErrorCodes.StorageFull, message: "record store full" };
    return { type: "stored" };
  }

  private acceptProvider(record: ProviderRecord): Response {
    const invalid = validateProviderRecord(record, this.verifier, this.now());
    if (invalid) return { type: "error", code: ErrorCodes.InvalidRecord, message: invalid };
    if (this.records.addProvider(record) === "full") return { type: "error", code: ErrorCodes.StorageFull, message: "provider store full" };
    return { type: "stored" };
  }

  // ---- the routing table ---------------------------------------------------------

  /**
   * Records a verified message from `contact`; a full bucket pings its oldest contact first. A DHT
   * client is kept out of the table (and dropped from it, if it just became one).
   */
  private observe(contact: Contact, client: boolean, rttMs?: number): void {
    const srtt = rttMs === undefined ? undefined : this.rtt.observe(contactKey(contact.id), rttMs);
    if (client) return this.forget(contact.id);
    const result = this.table.update(contact, srtt);
    // a contact in the table is not offline; one just added or waiting for a place may have been
    if (result.kind !== "updated" && this.offline.size > 0) this.offline.delete(toHex(contact.id));
    if (result.kind === "added") this.emit("changed");
    else if (result.kind === "full" && this.questionable(result.leastRecentlySeen)) void this.pingBeforeEvict(result.leastRecentlySeen);
  }

  /**
   * Whether a full bucket's oldest contact is worth a ping before a newcomer is turned away: it
   * missed its last request, or health checks have not heard from it for two intervals. A contact
   * merely quiet for one interval is the health check's to ping; pinging it here as well doubled
   * the pings of an idle network (each health ping from a node not in the table set one off).
   * Otherwise it stays, and the newcomer waits in the replacement cache.
   */
  private questionable(oldest: TableEntry): boolean {
    if (!this.settings.quickEviction) return oldest.lastSeen < this.now() - this.settings.healthCheckIntervalMs;
    return oldest.failures > 0 || oldest.lastSeen < this.now() - 2 * this.settings.healthCheckIntervalMs;
  }

  private async pingBeforeEvict(oldest: TableEntry): Promise<void> {
    const key = toHex(oldest.contact.id);
    if (this.evictionPings.has(key)) return;
    this.evictionPings.add(key);
    try {
      await this.call(oldest.contact, { type: "ping" });
    } catch {
      // call() counted the failure; evict now rather than after more misses, a newer contact waits
      this.dropContact(oldest.contact.id);
    } finally {
      this.evictionPings.delete(key);
    }
  }

  private forget(id: Id): void {
    if (this.table.remove(id)) this.emit("changed");
  }

  private dropContact(id: Id): void {
    const removed = this.table.remove(id);
    if (!removed) return;
    this.offline.set(toHex(id), { contact: removed.contact, lastSeen: removed.lastSeen, rttMs: removed.rttMs, since: this.now() });
    this.emit("changed");
  }

  /**
   * Sends a request to a known node, keeping the table's view of it up to date. It times out after
   * the contact's measured round trip allows (rtt.ts) unless `options` says otherwise; without an
   * explicit timeout, a request still unanswered when it is late is sent again (resend.ts), and
   * `onLate` is told. A contact that misses is dropped at once when a replacement waits for its
   * place, else after offlineAfterMisses misses in a row.
   */
  private call(to: Contact, req: Request, options?: RequestOptions, onLate?: () => void): Promise<Reply> {
    const deadlines = this.rtt.deadlines(contactKey(to.id));
    const sent =
      options?.timeoutMs || !this.settings.passLateQueries
        ? this.transport.request(addressOf(to), req, { timeoutMs: deadlines.giveUpMs, ...options })
        : requestWithResends(this.transport, this.clock, addressOf(to), req, deadlines, onLate);
    // continuations rather than an async function: this runs for every request a node makes
    return sent.then(
      (reply) => {
        this.observe(reply.from, reply.client, reply.rttMs);
        if (reply.response.type === "error") throw new RpcRemoteError(reply.response.code, reply.response.message);
        return reply;
      },
      (err: unknown) => {
        if (err instanceof RpcTimeoutError) this.missed(to);
        throw err;
      },
    );
  }

  /** Counts a request `to` left unanswered; drops the contact when it has missed enough (see call()). */
  private missed(to: Contact): void {
    const misses = this.table.recordFailure(to.id);
    const replaceable = this.settings.quickEviction && misses > 0 && this.table.hasReplacement(to.id);
    if (misses >= this.settings.offlineAfterMisses || replaceable) this.dropContact(to.id);
  }

  // ---- joining and leaving ---------------------------------------------------------

  /** Pings an address whose node ID is not known yet (a bootstrap contact). */
  async pingAddress(addr: Address): Promise<Contact> {
    const reply = await this.transport.request(addr, { type: "ping" }, { retries: 1, timeoutMs: this.settings.rpcTimeoutMs });
    this.observe(reply.from, reply.client, reply.rttMs);
    return reply.from;
  }

  /** Joins the network: ping the bootstrap contacts, look up our own ID, then refresh buckets. */
  async join(bootstrap: Address[]): Promise<{ reached: number }> {
    const answered = (await Promise.allSettled(bootstrap.map((b) => this.pingAddress(b)))).flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const reached = answered.length;
    if (this.table.size > 0) await this.lookupNodes(this.id);
    else {
      // every bootstrap node that answered is a DHT client (kept out of tables, this one's too):
      // its own table still knows servers, and a lookup can start from them
      const seeds = await this.contactsKnownBy(answered);
      if (seeds.length === 0) return { reached };
      await this.lookupNodesFrom(this.id, seeds);
    }
    await this.refreshBuckets(true);
    return { reached };
  }

  /** What `nodes` answer to FIND_NODE of this node's own ID: seeds for a lookup. */
  private async contactsKnownBy(nodes: Contact[]): Promise<Contact[]> {
    const answers = await Promise.allSettled(nodes.map((c) => this.call(c, { type: "find_node", target: this.id })));
    return answers.flatMap((a) => (a.status === "fulfilled" && a.value.response.type === "nodes" ? a.value.response.contacts : []));
  }

  /** Whether this node is a DHT client (setClientMode). */
  get isClient(): boolean {
    return this.clientMode;
  }

  /**
   * Switches DHT client mode, for a node others cannot reach (behind NAT: whoever finds that out
   * calls this). A client asks (lookups, publishing) but is not asked: everything it sends carries
   * the client flag (transport/txid.ts), so peers of this release keep it out of their routing
   * tables, and so out of their answers; its own table and lookups work as before. Switching on
   * tells the table's contacts at once (LEAVE, which peers of the previous release also honour,
   * until the node's next request re-adds it there); switching off looks up the node's own ID, so
   * its neighbours hear from it and add it again.
   */
  async setClientMode(on: boolean): Promise<void> {
    if (on === this.clientMode) return;
    this.clientMode = on;
    this.transport.setClientMode(on);
    if (on) await this.leave();
    else await this.lookupNodes(this.id);
  }

  /** Tells every contact that this node is leaving, so they drop it at once. */
  async leave(timeoutMs = 500): Promise<void> {
    const contacts = this.table.entries().map((e) => e.contact);
    await Promise.allSettled(contacts.map((c) => this.transport.request(addressOf(c), { type: "leave" }, { timeoutMs })));
  }

  /** True when the contact was heard from within the health-check interval, or answers a ping now. */
  async isAlive(contact: Contact): Promise<boolean> {
    return this.heardWithin(contact, this.settings.healthCheckIntervalMs) || this.ping(contact);
  }

  /** True when the contact answers a ping (a miss counts toward dropping it, as for any request). */
  async ping(contact: Contact, timeoutMs?: number): Promise<boolean> {
    try {
      await this.call(contact, { type: "ping" }, timeoutMs ? { timeoutMs } : undefined);
      return true;
    } catch {
      return false;
    }
  }

  // ---- lookups -------------------------------------------------------------------

  private lookup(target: Id, query: (c: Contact, late: () => void) => Promise<QueryOutcome>, seeds = this.table.closest(target, this.settings.k)): Promise<LookupOutcome> {
    this.table.touchBucketOf(target);
    return iterativeLookup({
      target,
      self: this.id,
      k: this.settings.k,
      alpha: this.settings.alpha,
      seeds,
      vouched: (c) => this.heardWithin(c, this.settings.vouchWithinMs),
      query,
    });
  }

  /** In the table, heard from within `ms`, and no request to it failed since. */
  private heardWithin(contact: Contact, ms: number): boolean {
    const entry = this.table.get(contact.id);
    return !!entry && entry.failures === 0 && entry.lastSeen >= this.now() - ms;
  }

  /** A lookup's request: a DHT client's answer is not used (it is no part of the result). */
  private ask(c: Contact, req: Request, late: () => void): Promise<Reply> {
    return this.call(c, req, undefined, late).then((reply) => {
      if (reply.client) throw new ClientNodeError();
      return reply;
    });
  }

  /** The k nodes closest to target in the whole network (FIND_NODE). */
  lookupNodes(target: Id): Promise<LookupOutcome> {
    return this.lookupNodesFrom(target, this.table.closest(target, this.settings.k));
  }

  /** FIND_NODE from the given seeds rather than the own table's closest. */
  private lookupNodesFrom(target: Id, seeds: Contact[]): Promise<LookupOutcome> {
    return this.lookup(
      target,
      async (c, late) => {
        const { response, rttMs } = await this.ask(c, { type: "find_node", target }, late);
        return { contacts: response.type === "nodes" ? response.contacts : [], rttMs };
      },
      seeds,
    );
  }

  /** A value by key: from this node's store, else from the network (FIND_VALUE). */
  async findValue(key: Id, options: { network?: boolean } = {}): Promise<ValueLookup> {
    const local = this.records.getValue(key);
    if (local && !options.network) return { record: local, lookup: null };
    let record: ValueRecord | null = local ?? null;
    const lookup = await this.lookup(key, async (c, late) => {
      const { response, rttMs } = await this.ask(c, { type: "find_value", key }, late);
      if (response.type === "value") {
        const r = response.record;
        // a value is accepted only if it is validly signed and really belongs under this key
        if (!validateValueRecord(r, this.verifier, this.now()) && valueKey(r.publisher, r.name).equals(key)) {
          if (!record || r.seq > record.seq) record = r;
          return { contacts: [], found: true, rttMs };
        }
      }
      return { contacts: response.type === "nodes" ? response.contacts : [], rttMs };
    });
    return { record, lookup };
  }

  /**
   * Providers of a content key (GET_PROVIDERS), stopping once `wanted` are known, or once
   * `answersWithProviders` nodes have each answered with some. Every holder announces itself to the
   * same k closest nodes, so one of them holding records knows (nearly) all holders: a fetch stops
   * at the second such answer (one node alone could leave the real holders out), about one round
   * trip in, instead of waiting for the slowest of the k closest.
   */
  async findProviders(key: Id, stop: { wanted?: number; answersWithProviders?: number } = {}): Promise<ProviderLookup> {
    const { wanted = this.settings.k, answersWithProviders = Infinity } = stop;
    let answered = 0;
    const found = new Map<string, ProviderRecord>();
    for (const p of this.records.getProviders(key)) found.set(bytesKey(p.provider.id), p);
    const lookup = await this.lookup(key, async (c, late) => {
      const { response, rttMs } = await this.ask(c, { type: "get_providers", key }, late);
      if (response.type !== "providers") return { contacts: [], rttMs };
      let usable = 0;
      for (const p of response.providers) {
        if (!p.key.equals(key) || providerRecordUsable(p, this.now())) continue;
        usable++;
        // a node's own record names the address it knows itself by (127.0.0.1 when it listens on
        // 0.0.0.0); the address it was just reached at is the one that works from here
        const self = p.provider.id.equals(c.id);
        found.set(bytesKey(p.provider.id), self ? { ...p, provider: { ...p.provider, host: c.host, port: c.port } } : p);
      }
      if (usable > 0) answered++;
      return { contacts: response.contacts, found: found.size >= wanted || answered >= answersWithProviders, rttMs };
    });
    return { providers: [...found.values()], lookup };
  }

  // ---- publishing ------------------------------------------------------------------

  private requireIdentity(): Identity {
    if (!this.identity) throw new Error("this node has no identity to sign records with");
    return this.identity;
  }

  /** Sends a STORE or ADD_PROVIDER to the k closest nodes; returns how many accepted it. */
  private async storeAtClosest(key: Id, req: Request): Promise<number> {
    const { closest } = await this.lookupNodes(key);
    return this.storeAt(closest, req);
  }

  private async storeAt(nodes: Contact[], req: Request): Promise<number> {
    const results = await Promise.allSettled(
      nodes.map(async (c) => {
        await this.showCredentials(c).catch(() => undefined); // a store without them may still be taken
        return this.call(c, req);
      }),
    );
    return results.filter((r) => r.status === "fulfilled").length;
  }

  /** Publishes a value signed by this node under valueKey(own public key, name). */
  async putValue(name: string, value: Buffer): Promise<{ key: Id; record: ValueRecord; storedOn: number }> {
    const identity = this.requireIdentity();
    const key = valueKey(identity.publicKey, name);
    const previous = this.published.get(toHex(key));
    const now = this.now();
    const seq = Math.max(now, (previous?.seq ?? 0) + 1);
    const record = createValueRecord(identity, name, value, seq, now + this.settings.recordTtlMs);
    this.records.putValue(key, record);
    this.published.set(toHex(key), { name, value, seq, publishedAt: now });
    this.emit("published");
    const storedOn = await this.storeAtClosest(key, { type: "store", record });
    return { key, record, storedOn };
  }

  /** Announces this node as a provider of `key` to the k closest nodes. */
  async provide(key: Id): Promise<number> {
    const { closest } = await this.lookupNodes(key);
    return this.announceProvider(key, closest);
  }

  /**
   * Announces this node as a provider of every key, with one lookup per keyspace region the keys
   * fall in rather than one per key (provide-regions.ts). Resolves with the lookups made.
   */
  async provideMany(keys: Id[]): Promise<{ lookups: number; stored: number }> {
    return provideInRegions(keys, { k: this.settings.k, closest: async (key) => (await this.lookupNodes(key)).closest, announce: (key, nodes) => this.announceProvider(key, nodes) });
  }

  /** Stores a fresh provider record of this node for `key` here and on `nodes`; resolves with how many took it. */
  private async announceProvider(key: Id, nodes: Contact[]): Promise<number> {
    const identity = this.requireIdentity();
    const record = createProviderRecord(identity, this.transport.local, key, this.now() + this.settings.recordTtlMs);
    this.records.addProvider(record);
    this.provided.set(toHex(key), this.now());
    return this.storeAt(nodes, { type: "add_provider", record });
  }

  /**
   * Stops announcing this node as a provider of `key` (it no longer keeps the content): republish()
   * leaves it out from now on. Records already stored elsewhere cannot be withdrawn (the protocol
   * has no such request); they lapse at their expiry, recordTtlMs after the last announcement.
   */
  unprovide(key: Id): boolean {
    return this.provided.delete(toHex(key));
  }

  // ---- maintenance -------------------------------------------------------------------

  /** Looks up a random ID in every bucket idle for longer than the refresh interval (or all, if forced). */
  async refreshBuckets(force = false): Promise<number> {
    const olderThan = force ? Infinity : this.now() - this.settings.refreshIntervalMs;
    const indices = this.table.bucketsToRefresh(olderThan);
    await mapLimit(indices, 3, (i) => this.lookupNodes(randomIdInBucket(this.id, i, this.randomBytes)));
    return indices.length;
  }

  /** Pings contacts not heard from within the health-check interval; repeated misses drop them. */
  async checkHealth(maxPings = 64): Promise<void> {
    const cutoff = this.now() - this.settings.healthCheckIntervalMs;
    const due = this.table
      .entries()
      .filter((e) => e.lastSeen < cutoff)
      .sort((a, b) => a.lastSeen - b.lastSeen)
      .slice(0, maxPings);
    await mapLimit(due, 16, (e) => this.call(e.contact, { type: "ping" }).catch(() => undefined));
  }

  /** Republishes own values and provider records, and re-replicates held values, when due. */
  async republish(): Promise<void> {
    const cutoff = this.now() - this.settings.republishIntervalMs;
    for (const p of this.published.values()) if (p.publishedAt <= cutoff) await this.putValue(p.name, p.value).catch(() => undefined);
    const due = [...this.provided].filter(([, at]) => at <= cutoff).map(([keyHex]) => Buffer.from(keyHex, "hex"));
    if (due.length) await this.provideMany(due).catch(() => undefined);
    const own = this.identity?.publicKey;
    const held = this.records.heldValues().filter((h) => h.receivedAt <= cutoff && !(own && h.record.publisher.equals(own)));
    await mapLimit(held.slice(0, 100), 3, async (h) => {
      await this.storeAtClosest(h.key, { type: "store", record: h.record }).catch(() => undefined);
      this.records.markReceived(h.key);
    });
    this.records.expire();
  }
}
