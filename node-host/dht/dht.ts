// A Kademlia node: answers the protocol's requests, keeps its routing table fresh, and runs
// lookups, puts and gets. It does no I/O of its own beyond its RpcTransport.

import { EventEmitter } from "node:events";
import { Id, randomIdInBucket, toHex } from "./id";
import { Contact, ErrorCodes, ProviderRecord, Request, Response, ValueRecord } from "./messages";
import { RoutingTable, TableEntry } from "./routing-table";
import { RecordStore } from "./record-store";
import { iterativeLookup, LookupOutcome } from "./lookup";
import { Address, Reply, RequestOptions, RpcRemoteError, RpcTimeoutError, RpcTransport } from "./transport";
import { createProviderRecord, createValueRecord, validateProviderRecord, validateValueRecord, valueKey } from "./records";
import { Identity, SignatureVerifier } from "../security/identity";
import { LruMap } from "../util/lru";
import { mapLimit } from "../util/concurrency";

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
}

export const DEFAULT_DHT_SETTINGS: DhtSettings = {
  k: 20,
  alpha: 3,
  offlineAfterMisses: 3,
  recordTtlMs: 24 * 3600_000,
  healthCheckIntervalMs: 60_000,
  refreshIntervalMs: 3600_000,
  republishIntervalMs: 3600_000,
};

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

  // records recur in many replies during a lookup: remember the ones already checked
  private readonly verifier = new SignatureVerifier(4096, 16_384);
  private readonly evictionPings = new Set<string>();

  constructor(
    readonly transport: RpcTransport,
    settings: Partial<DhtSettings> = {},
    private readonly identity?: Identity,
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.settings = { ...DEFAULT_DHT_SETTINGS, ...settings };
    this.table = new RoutingTable(transport.local.id, this.settings.k, now);
    this.records = new RecordStore(undefined, now);
    transport.onRequest((from, req) => this.handle(from, req));
  }

  get id(): Id {
    return this.transport.local.id;
  }

  // ---- answering requests ------------------------------------------------------

  private handle(from: Contact, req: Request): Response | null | Promise<Response | null> {
    if (req.type === "leave") {
      this.forget(from.id);
      return { type: "pong" };
    }
    this.observe(from);
    const k = this.settings.k;
    switch (req.type) {
      case "ping":
        return { type: "pong" };
      case "find_node":
        return { type: "nodes", contacts: this.table.closest(req.target, k, from.id) };
      case "find_value": {
        const record = this.records.getValue(req.key);
        return record ? { type: "value", record } : { type: "nodes", contacts: this.table.closest(req.key, k, from.id) };
      }
      case "store":
        return this.refuseRecordsFrom(from) ?? this.acceptValue(req.record);
      case "add_provider":
        return this.refuseRecordsFrom(from) ?? this.acceptProvider(req.record);
      case "credentials":
        this.recordPolicy?.learn(from, req.membership);
        return { type: "pong" };
      case "get_providers":
        return { type: "providers", providers: this.records.getProviders(req.key), contacts: this.table.closest(req.key, k, from.id) };
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

  /** Records a verified message from `contact`; a full bucket pings its oldest contact first. */
  private observe(contact: Contact, rttMs?: number): void {
    const result = this.table.update(contact, rttMs);
    const key = toHex(contact.id);
    if (this.offline.has(key)) this.offline.delete(key);
    if (result.kind === "added") this.emit("changed");
    else if (result.kind === "full" && result.leastRecentlySeen.lastSeen < this.now() - this.settings.healthCheckIntervalMs) {
      // only an oldest contact not heard from within a health-check interval is worth a ping;
      // one seen recently stays, and the newcomer waits in the replacement cache
      void this.pingBeforeEvict(result.leastRecentlySeen);
    }
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

  /** Sends a request to a known node, keeping the table's view of it up to date. */
  private async call(to: Contact, req: Request, options?: RequestOptions): Promise<Reply> {
    try {
      const reply = await this.transport.request({ host: to.host, port: to.port, id: to.id, publicKey: to.publicKey, via: to.via }, req, options);
      this.observe(reply.from, reply.rttMs);
      if (reply.response.type === "error") throw new RpcRemoteError(reply.response.code, reply.response.message);
      return reply;
    } catch (err) {
      if (err instanceof RpcTimeoutError && this.table.recordFailure(to.id) >= this.settings.offlineAfterMisses) this.dropContact(to.id);
      throw err;
    }
  }

  // ---- joining and leaving ---------------------------------------------------------

  /** Pings an address whose node ID is not known yet (a bootstrap contact). */
  async pingAddress(addr: Address): Promise<Contact> {
    const reply = await this.transport.request(addr, { type: "ping" }, { retries: 1 });
    this.observe(reply.from, reply.rttMs);
    return reply.from;
  }

  /** Joins the network: ping the bootstrap contacts, look up our own ID, then refresh buckets. */
  async join(bootstrap: Address[]): Promise<{ reached: number }> {
    const reached = (await Promise.allSettled(bootstrap.map((b) => this.pingAddress(b)))).filter((r) => r.status === "fulfilled").length;
    if (this.table.size === 0) return { reached };
    await this.lookupNodes(this.id);
    await this.refreshBuckets(true);
    return { reached };
  }

  /** Tells every contact that this node is leaving, so they drop it at once. */
  async leave(timeoutMs = 500): Promise<void> {
    const contacts = this.table.entries().map((e) => e.contact);
    await Promise.allSettled(contacts.map((c) => this.transport.request({ host: c.host, port: c.port, id: c.id, publicKey: c.publicKey }, { type: "leave" }, { timeoutMs })));
  }

  /** True when the contact was heard from within the health-check interval, or answers a ping now. */
  async isAlive(contact: Contact): Promise<boolean> {
    const entry = this.table.get(contact.id);
    if (entry && entry.failures === 0 && entry.lastSeen >= this.now() - this.settings.healthCheckIntervalMs) return true;
    return this.ping(contact);
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

  private lookup(target: Id, query: (c: Contact) => Promise<{ contacts: Contact[]; found?: boolean }>): Promise<LookupOutcome> {
    this.table.touchBucketOf(target);
    return iterativeLookup({
      target,
      self: this.id,
      k: this.settings.k,
      alpha: this.settings.alpha,
      seeds: this.table.closest(target, this.settings.k),
      query,
    });
  }

  /** The k nodes closest to target in the whole network (FIND_NODE). */
  lookupNodes(target: Id): Promise<LookupOutcome> {
    return this.lookup(target, async (c) => {
      const { response } = await this.call(c, { type: "find_node", target });
      return { contacts: response.type === "nodes" ? response.contacts : [] };
    });
  }

  /** A value by key: from this node's store, else from the network (FIND_VALUE). */
  async findValue(key: Id, options: { network?: boolean } = {}): Promise<ValueLookup> {
    const local = this.records.getValue(key);
    if (local && !options.network) return { record: local, lookup: null };
    let record: ValueRecord | null = local ?? null;
    const lookup = await this.lookup(key, async (c) => {
      const { response } = await this.call(c, { type: "find_value", key });
      if (response.type === "value") {
        const r = response.record;
        // a value is accepted only if it is validly signed and really belongs under this key
        if (!validateValueRecord(r, this.verifier, this.now()) && valueKey(r.publisher, r.name).equals(key)) {
          if (!record || r.seq > record.seq) record = r;
          return { contacts: [], found: true };
        }
      }
      return { contacts: response.type === "nodes" ? response.contacts : [] };
    });
    return { record, lookup };
  }

  /** Providers of a content key (GET_PROVIDERS), stopping once `wanted` are known. */
  async findProviders(key: Id, wanted = this.settings.k): Promise<ProviderLookup> {
    const found = new Map<string, ProviderRecord>();
    for (const p of this.records.getProviders(key)) found.set(toHex(p.provider.id), p);
    const lookup = await this.lookup(key, async (c) => {
      const { response } = await this.call(c, { type: "get_providers", key });
      if (response.type !== "providers") return { contacts: [] };
      for (const p of response.providers) {
        if (!p.key.equals(key) || validateProviderRecord(p, this.verifier, this.now())) continue;
        // a node's own record names the address it knows itself by (127.0.0.1 when it listens on
        // 0.0.0.0); the address it was just reached at is the one that works from here
        const self = p.provider.id.equals(c.id);
        found.set(toHex(p.provider.id), self ? { ...p, provider: { ...p.provider, host: c.host, port: c.port } } : p);
      }
      return { contacts: response.contacts, found: found.size >= wanted };
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
    const results = await Promise.allSettled(
      closest.map(async (c) => {
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
    const identity = this.requireIdentity();
    const record = createProviderRecord(identity, this.transport.local, key, this.now() + this.settings.recordTtlMs);
    this.records.addProvider(record);
    this.provided.set(toHex(key), this.now());
    return this.storeAtClosest(key, { type: "add_provider", record });
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
    await mapLimit(indices, 3, (i) => this.lookupNodes(randomIdInBucket(this.id, i)));
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
    for (const [keyHex, at] of this.provided) if (at <= cutoff) await this.provide(Buffer.from(keyHex, "hex")).catch(() => undefined);
    const own = this.identity?.publicKey;
    const held = this.records.heldValues().filter((h) => h.receivedAt <= cutoff && !(own && h.record.publisher.equals(own)));
    await mapLimit(held.slice(0, 100), 3, async (h) => {
      await this.storeAtClosest(h.key, { type: "store", record: h.record }).catch(() => undefined);
      this.records.markReceived(h.key);
    });
    this.records.expire();
  }
}
