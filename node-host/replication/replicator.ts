// The sending side of replication and what it needs to know: which objects make up a content held
// here, which nodes hold a content and are alive, which live nodes are near it, and copying a
// content to a peer without sending what the peer already has.

import { randomInt } from "node:crypto";
import { ContentStore, isIdOf } from "../cas";
import { contentRoots } from "../cas/content-roots";
import { contentObjects } from "../cas/manifest-links";
import { Dht } from "../dht/dht";
import { Id, toHex } from "../dht/id";
import { BulkPeer, ObjectNotFoundError } from "../transport/bulk";
import { BulkRemoteError } from "../transport/bulk-api";
import { BulkNodeClient } from "../transport/bulk-client";
import { Audience, ErrorCodes } from "../transport/bulk-protocol";
import { mapLimit } from "../util/concurrency";
import { ExpiringSet } from "../util/expiring-set";
import { LruMap } from "../util/lru";
import { CopyRefusedError } from "./declined";
import { ReplicationFactors } from "./factors";
import type { Eligibility } from "./placement";

/** Which nodes may hold a content's copies (a share made for teams stays with their members); see security/copy-confinement.ts. */
export interface Confinement {
  /** Who may hold and place the content's copies; null when any node may. */
  eligibility(contentId: Buffer): Eligibility | null;
  /** Why `peer` may not hold the content's copies (asked once its connection showed its credentials); null when it may. */
  refusal(peer: Id, contentId: Buffer): string | null;
  /** Why the content cannot reach r when no allowed node is left to copy it to ("too few live members of team …"); null when copies are not confined. */
  shortfall(contentId: Buffer): string | null;
}

/** Copies go anywhere (a node without teams, and the unit tests' default). */
export const UNCONFINED: Confinement = { eligibility: () => null, refusal: () => null, shortfall: () => null };

/** The receiver of a copy may not hold it; the text says why. */
export class NotAllowedHolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotAllowedHolderError";
  }
}

/** What one sweep (or one hand-off) may still send; shared by every copy it makes. */
export interface Budget {
  bytes: number;
}

export interface CopyResult {
  /** Bytes pushed (objects the peer already had are not sent). */
  sent: number;
  /** False when the budget ran out before every missing object was sent. */
  complete: boolean;
}

/** Pushes to one peer at once: enough to keep its connection busy without a burst of disk reads. */
const PUSH_PARALLEL = 4;
/** Objects checked for presence at once (a folder has tens of thousands). */
const CHECK_PARALLEL = 32;
/** Ids asked about in one HAS_OBJECTS request (a frame holds at most 8 MiB of them). */
const HAS_BATCH = 65536;

/** How long a node that failed a spot check counts as holding nothing, and how many such nodes are kept. */
const SPOT_CHECK_FAILED_FOR_MS = 10 * 60_000;
const SPOT_CHECKS_KEPT = 1024;

/** Manifest kinds remembered (beyond this many manifests, the rest are read again each sweep). */
const KINDS_KEPT = 65_536;

export class Replicator {
  private readonly manifestKinds = new LruMap<string, boolean>(KINDS_KEPT);
  /** Nodes (hex ID) that count as holding nothing for a while, having failed a spot check (holdsAll). */
  private readonly failedSpotChecks = new ExpiringSet(SPOT_CHECKS_KEPT);

  constructor(
    readonly store: ContentStore,
    readonly dht: Dht,
    private readonly bulk: BulkNodeClient,
    readonly factors: ReplicationFactors,
    readonly self: BulkPeer,
    /** Who may read a content (sent with each offer, so holders enforce it too). */
    private readonly audienceOf: (contentId: Buffer) => Audience = () => ({ kind: "unstated" }),
    /** Which nodes may hold each content's copies. */
    readonly confinement: Confinement = UNCONFINED,
  ) {}

  /**
   * Every object of a content, when every one is stored here, else null: the manifest, then (a
   * folder) its parts, then the rest (a file's chunks; a folder's file manifests and chunks), each once.
   */
  async objectsOf(contentId: Buffer): Promise<Buffer[] | null> {
    return (await this.listedObjects(contentId))?.ids ?? null;
  }

  /** objectsOf, and how many of the ids lead (the manifest and a folder's parts): a receiver takes what they list only once it holds them. */
  private async listedObjects(contentId: Buffer): Promise<{ ids: Buffer[]; lead: number } | null> {
    const listed = await contentObjects(contentId, (id) => this.store.get(id));
    if (!listed) return null;
    const present = await mapLimit(listed.ids, CHECK_PARALLEL, (id) => this.store.has(id));
    return present.every(Boolean) ? { ids: listed.ids, lead: listed.lead } : null;
  }

  /**
   * Whether this node keeps the content: pinned as its own share or a replica, every object stored.
   * A fetched copy is cache (it may be evicted at any time): it makes this node no holder.
   */
  async keeps(contentId: Buffer): Promise<boolean> {
    if (!this.store.keeps(contentId)) return false;
    return (await this.objectsOf(contentId).catch(() => null)) !== null;
  }

  /**
   * Contents this node keeps, by content ID: shared files and folders, not the parts and file
   * manifests of a folder (they travel with it), unless such a file was also shared on its own.
   */
  async heldContents(): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (const id of await this.pinnedContents()) if (await this.keeps(id)) out.push(id);
    return out;
  }

  /**
   * Contents pinned here (own shares, replicas), from what the store lists in memory and the
   * manifests' kinds (read once each): heldContents without reading each content's objects, for a
   * sweep that then looks at a slice of them.
   */
  async pinnedContents(): Promise<Buffer[]> {
    const manifests = this.store.ls().filter((o) => o.kind === "manifest" && this.store.keeps(o.id)).map((o) => o.id);
    return contentRoots(this.store, manifests, (m) => this.factors.has(toHex(m)), this.manifestKinds);
  }

  /**
   * Which of `ids` a peer holds; null when it cannot say (an older node). With `replication`, the
   * first request offers the content `ids[0]`; a long list (a folder) goes in several requests.
   */
  async peerHas(peer: BulkPeer, ids: Buffer[], replication = 0): Promise<boolean[] | null> {
    const has: boolean[] = [];
    try {
      for (let at = 0; at < ids.length || at === 0; at += HAS_BATCH) {
        const offer = at === 0 ? replication : 0;
        has.push(...(await this.bulk.hasObjects(peer, ids.slice(at, at + HAS_BATCH), offer, offer > 0 ? this.audienceOf(ids[0]) : undefined)));
      }
      return has;
    } catch (err) {
      if (err instanceof BulkRemoteError && err.code === ErrorCodes.unsupported) return null;
      throw err;
    }
  }

  /**
   * Copies a content held here to a peer: offers it (with its replication factor), then pushes the
   * manifest and the chunks the peer lacks. Throws when the peer refuses or cannot be reached.
   */
  async copyTo(peer: BulkPeer, contentId: Buffer, budget: Budget = { bytes: Infinity }): Promise<CopyResult> {
    const listed = await this.listedObjects(contentId);
    if (!listed) throw new Error(`${toHex(contentId).slice(0, 12)}… is not held in full here`);
    const { ids, lead } = listed;
    await this.checkHolder(peer, contentId);
    const has = (await this.peerHas(peer, ids, this.factors.get(toHex(contentId)))) ?? ids.map(() => false);
    const missing = ids.filter((_, i) => !has[i]);
    let sent = 0;
    let complete = true;
    const push = async (id: Buffer) => {
      const bytes = await this.store.get(id);
      if (!bytes) throw new Error(`object ${toHex(id).slice(0, 12)}… vanished from the store`);
      if (bytes.length > budget.bytes) {
        complete = false;
        return;
      }
      budget.bytes -= bytes.length;
      if ((await this.bulk.putObject(peer, id, bytes)) === "refused") throw new CopyRefusedError(`node ${toHex(peer.id).slice(0, 12)}… refused ${toHex(id).slice(0, 12)}…`);
      sent += bytes.length;
    };
    // the manifest (and a folder's parts) go first: the receiver accepts only objects listed by manifests it holds
    const leading = new Set(ids.slice(0, lead).map(toHex));
    for (const id of missing.filter((m) => leading.has(toHex(m)))) if (complete) await push(id);
    if (!complete) return { sent, complete };
    await mapLimit(
      missing.filter((m) => !leading.has(toHex(m))),
      PUSH_PARALLEL,
      push,
    );
    return { sent, complete };
  }

  /**
   * Throws NotAllowedHolderError when the peer may not hold the content's copies. Where copies are
   * confined, the connection is opened first: its HELLO shows the peer's current memberships, and
   * nothing about the content (not even its ID) is sent to a node that shows none of the right ones.
   */
  private async checkHolder(peer: BulkPeer, contentId: Buffer): Promise<void> {
    if (!this.confinement.eligibility(contentId)) return;
    await this.bulk.pathTo(peer);
    const refusal = this.confinement.refusal(peer.id, contentId);
    if (refusal) throw new NotAllowedHolderError(refusal);
  }

  /**
   * Whether a peer holds every one of `ids` (a content's objects, held here too): its HAS_OBJECTS
   * answer or, from a node that cannot answer one, one of the objects picked at random, fetched and
   * checked against its id. A node that only claims a content (a provider record it cannot back)
   * then does not count as a copy. Throws when the peer cannot be asked.
   */
  async holdsAll(peer: BulkPeer, ids: Buffer[]): Promise<boolean> {
    const has = await this.peerHas(peer, ids);
    if (has) return has.every(Boolean);
    const key = toHex(peer.id);
    if (this.failedSpotChecks.has(key)) return false;
    const id = ids[randomInt(ids.length)];
    const bytes = await this.bulk.getObject(peer, id).catch((err: Error) => {
      if (err instanceof ObjectNotFoundError || err instanceof BulkRemoteError) return null; // it answered: not held
      throw err;
    });
    if (bytes && isIdOf(id, bytes)) return true;
    // a node that claims a content it cannot send (or sends altered bytes) is not asked again for a while
    this.failedSpotChecks.add(key, SPOT_CHECK_FAILED_FOR_MS);
    return false;
  }

  /** One object from a peer, checked against its id; null when the peer cannot give it. */
  async fetchObject(peer: BulkPeer, id: Buffer): Promise<Buffer | null> {
    if (peer.id.equals(this.self.id)) return null;
    const bytes = await this.bulk.getObject(peer, id).catch(() => null);
    return bytes && isIdOf(id, bytes) ? bytes : null;
  }

  /**
   * Nodes with a provider record for the content, each marked live when it was heard from lately or
   * answers a ping now.
   */
  async providers(contentId: Buffer): Promise<{ peer: BulkPeer; live: boolean }[]> {
    // every holder's record is on each of the k nodes closest to the content: the first answers
    // name them all, so the lookup can stop once comfortably more than r are known
    const wanted = 2 * this.factors.get(toHex(contentId)) + 2;
    const { providers } = await this.dht.findProviders(contentId, { wanted });
    return Promise.all(providers.map(async (p) => ({ peer: p.provider, live: await this.isLive(p.provider, contentId) })));
  }

  private async isLive(peer: BulkPeer, contentId: Buffer): Promise<boolean> {
    if (peer.id.equals(this.self.id)) return this.keeps(contentId);
    return this.dht.isAlive(peer);
  }

  /** Live holders of the content: providers that answer, plus this node when it holds it in full. */
  async liveHolders(contentId: Buffer): Promise<BulkPeer[]> {
    const live = (await this.providers(contentId)).filter((p) => p.live).map((p) => p.peer);
    if (!live.some((p) => p.id.equals(this.self.id)) && (await this.keeps(contentId))) live.push(this.self);
    return live;
  }

  /**
   * Nodes to copy the content to: the closest that answered a lookup of its ID and, where its copies
   * are confined to teams, the routing table's contacts known to be members (in a DHT shared with
   * other teams, members need not be near the content ID).
   */
  async liveNear(contentId: Buffer): Promise<BulkPeer[]> {
    const near = (await this.dht.lookupNodes(contentId)).closest;
    const eligible = this.confinement.eligibility(contentId);
    if (!eligible) return near;
    return [...near, ...this.dht.table.entries().map((e) => e.contact).filter((c) => eligible.holder(c.id) === true)];
  }
}
