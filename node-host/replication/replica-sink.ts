// The receiving side of replication: objects pushed by peers are stored pinned "replica", and once a
// content's manifest and every object it lists are here this node announces itself as a provider of
// the content. A content is a shared file (its manifest lists its chunks) or a shared folder (its
// root manifest lists its parts and objects; each part, once it arrives, lists more): what a content
// waits for grows as its parts arrive (cas/manifest-links.ts).
//
// What a node accepts is bounded: objects no larger than the protocol allows, that hash to their id,
// that are a content's manifest or an object listed by a manifest it holds, and at most a quota of
// bytes per peer: what the replicas it placed here still take (placements.ts, kept across restarts).
// Who may push at all is decided by `authorize` (team membership with write role, see
// security/access-policy.ts), which throws AccessDeniedError; the audience an offer names is recorded
// once the objects are known (for a folder: the root with what it lists, then each part with what it
// lists, all under the folder's audience).

import { ContentStore } from "../cas";
import { contentRoots } from "../cas/content-roots";
import { contentObjects, manifestLinks, type ManifestLinks } from "../cas/manifest-links";
import { Id, toHex } from "../dht/id";
import { ObjectSink, PutResult } from "../transport/bulk-api";
import { Audience, MAX_OBJECT_BYTES } from "../transport/bulk-protocol";
import { LruMap } from "../util/lru";
import { mapLimit } from "../util/concurrency";
import { ReplicationFactors } from "./factors";
import type { ReplicaPlacements } from "./placements";

export interface ReplicaSinkOptions {
  store: ContentStore;
  factors: ReplicationFactors;
  /** Bytes of replicas one peer may have placed on this node (read at each push: the setting can change live). */
  quotaBytesPerPeer: () => number;
  /** Who placed which replica, and the bytes each peer's replicas take here. */
  placements: ReplicaPlacements;
  /** Throws AccessDeniedError unless `from` may push replicas here (`query`: it only asks what is held). */
  authorize?: (from: Id, action: "push" | "query") => void;
  /** Throws AccessDeniedError unless this node may hold copies readable by `audience` (a team share: only its members). */
  acceptAudience?: (audience: Audience) => void;
  /** Whether `from` may learn that this node holds object `id` (only what it may also fetch is said to be held). */
  mayKnow?: (from: Id, id: Buffer) => boolean;
  /** Records who may read a replicated content (or a folder's part), once the objects it lists are known. */
  recordAudience?: (contentId: Buffer, audience: Audience, objectIds: Buffer[]) => void;
  /** Awaited once the content `contentId` and every object it lists are stored. */
  onComplete: (contentId: Buffer) => Promise<void>;
  log?: (line: string) => void;
}

/** A content being received: what it still waits for, its audience, and whether to announce it when complete. */
interface Receiving {
  waiting: Set<string>;
  announce: boolean;
  audience: Audience | null;
  /** Every object it lists so far (for the placer's quota). */
  listed: Buffer[];
}

export class ReplicaSink implements ObjectSink {
  /** Content (hex) → what it still waits for. */
  private readonly missing = new Map<string, Receiving>();
  /** Object (hex) → the contents waiting for it. */
  private readonly wantedBy = new Map<string, Set<string>>();
  /**
   * Content (hex) → what its offer named (factor, audience), until its manifest arrives: only then
   * are they saved, so offers that are never followed by a manifest leave nothing behind.
   */
  private readonly offered = new LruMap<string, { replication: number; audience: Audience }>(4096);

  constructor(private readonly o: ReplicaSinkOptions) {}

  /** Picks up replicas left incomplete by an earlier run, so their remaining objects are accepted. */
  async load(): Promise<void> {
    const { store } = this.o;
    const manifests = store.ls().filter((i) => i.kind === "manifest" && i.pins.includes("replica")).map((i) => i.id);
    for (const id of await contentRoots(store, manifests, (m) => this.o.factors.has(toHex(m)))) {
      const bytes = await store.get(id);
      const links = bytes && manifestLinks(bytes);
      if (!links || links.kind === "folder-part") continue;
      const known = await contentObjects(id, (x) => store.get(x)).catch(() => null);
      this.o.placements.knowManifest(toHex(id), known?.ids.slice(1) ?? [...links.parts, ...links.objects]);
      await this.track(toHex(id), links, false, null);
      const entry = this.missing.get(toHex(id));
      if (entry) entry.announce = true; // completed later by a push: announce it then
    }
    this.o.placements.recountAll();
  }

  async offer(from: Id, ids: Buffer[], replication: number, audience: Audience = { kind: "unstated" }): Promise<boolean[]> {
    this.o.authorize?.(from, replication > 0 ? "push" : "query");
    if (replication > 0) this.o.acceptAudience?.(audience);
    const held = await Promise.all(ids.map(async (id) => (await this.o.store.has(id)) && (this.o.mayKnow?.(from, id) ?? true)));
    if (replication === 0 || ids.length === 0) return held;
    // a node's own share keeps the factor (and audience) its owner chose
    if (this.o.store.pinsOf(ids[0])?.includes("own")) return held;
    this.offered.set(toHex(ids[0]), { replication, audience });
    if (held[0]) {
      // the manifest is here already (a cached fetch, an interrupted copy): keep it as a replica,
      // and take the objects it lacks; when none are missing it is announced now
      const bytes = await this.o.store.get(ids[0]);
      const links = bytes && manifestLinks(bytes);
      if (links && links.kind !== "folder-part") {
        await this.o.store.pin([ids[0]], "replica");
        await this.startContent(ids[0], links, toHex(from));
      }
    }
    return held;
  }

  async putObject(from: Id, id: Buffer, bytes: Buffer): Promise<PutResult> {
    this.o.authorize?.(from, "push");
    if (bytes.length > MAX_OBJECT_BYTES) return "refused";
    const hex = toHex(id);
    const links = manifestLinks(bytes);
    const wanted = this.wantedBy.has(hex);
    // a content's manifest starts a content (a folder's part does not); anything else must be listed
    // by a manifest held here (or be a pinned replica already: a repeat)
    const startsContent = links !== null && links.kind !== "folder-part" && (!wanted || this.offered.has(hex));
    if (!startsContent && !wanted && !this.o.store.pinsOf(id)?.includes("replica")) return "refused";
    if (await this.o.store.has(id)) {
      await this.o.store.pin([id], "replica");
    } else {
      const peer = toHex(from);
      if (!this.o.placements.allows(peer, bytes.length, this.o.quotaBytesPerPeer())) return "refused";
      try {
        await this.o.store.putVerified(id, bytes, { pin: "replica", kind: links ? "manifest" : "chunk" });
      } catch {
        return "refused"; // does not hash to its id, or the disk refused it
      }
      this.o.placements.add(peer, bytes.length);
    }
    if (wanted && links?.kind === "folder-part") await this.expandPart(hex, links);
    if (startsContent) await this.startContent(id, links, toHex(from));
    if (wanted) await this.arrived(hex);
    return "stored";
  }

  /** A content's manifest is here: remember who placed it, its factor and audience, and wait for what it lists. */
  private async startContent(id: Buffer, links: ManifestLinks, from: string): Promise<void> {
    const hex = toHex(id);
    const listed = [...links.parts, ...links.objects];
    this.placed(hex, listed, from);
    const offer = this.offered.get(hex);
    if (offer) {
      this.o.factors.set(hex, offer.replication);
      this.o.recordAudience?.(id, offer.audience, listed);
    }
    await this.track(hex, links, true, offer?.audience ?? null);
  }

  /** Records who placed a replica content (for the quota); a journal that cannot be written is logged. */
  private placed(content: string, objects: Buffer[], peer: string): void {
    this.o.placements.knowManifest(content, objects);
    try {
      this.o.placements.placed(content, peer);
    } catch (err) {
      this.o.log?.(`recording who placed replica ${content.slice(0, 12)}… failed: ${(err as Error).message}`);
    }
  }

  /**
   * Starts waiting for what a content's manifest lists. The wait is registered before anything is
   * awaited, so an object pushed by a second, concurrent copy is accepted too; objects already here
   * (e.g. cache) are pinned as replica and count as arrived (a folder's part that is here lists more).
   */
  private async track(content: string, links: ManifestLinks, announce: boolean, audience: Audience | null): Promise<void> {
    if (this.missing.has(content)) return;
    const ids = [...links.parts, ...links.objects];
    this.missing.set(content, { waiting: new Set(), announce, audience, listed: [...ids] });
    if (ids.length === 0) return this.complete(content);
    await this.want(content, ids, new Set(links.parts.map(toHex)));
  }

  /**
   * Adds `ids` to what `content` waits for; those already stored are pinned and arrive at once (each
   * of `parts` that is here first adds what it lists).
   */
  private async want(content: string, ids: Buffer[], parts = new Set<string>()): Promise<void> {
    const entry = this.missing.get(content);
    if (!entry) return;
    for (const id of ids) {
      const hex = toHex(id);
      entry.waiting.add(hex);
      const set = this.wantedBy.get(hex) ?? new Set<string>();
      set.add(content);
      this.wantedBy.set(hex, set);
    }
    const held = await mapLimit(ids, 32, (id) => this.o.store.has(id));
    const present = ids.filter((_, i) => held[i]);
    await this.o.store.pin(present, "replica");
    for (const id of present) {
      if (parts.has(toHex(id))) {
        const bytes = await this.o.store.get(id);
        const links = bytes && manifestLinks(bytes);
        if (links?.kind === "folder-part") await this.expandPart(toHex(id), links);
      }
      await this.arrived(toHex(id));
    }
  }

  /** A folder's part is here: every content waiting for it now waits for what it lists, under the folder's audience. */
  private async expandPart(part: string, links: ManifestLinks): Promise<void> {
    for (const content of [...(this.wantedBy.get(part) ?? [])]) {
      const entry = this.missing.get(content);
      if (!entry) continue;
      entry.listed.push(...links.objects);
      this.o.placements.knowManifest(content, entry.listed);
      if (entry.audience) this.o.recordAudience?.(Buffer.from(part, "hex"), entry.audience, links.objects);
      await this.want(content, links.objects);
    }
  }

  private async arrived(object: string): Promise<void> {
    const contents = this.wantedBy.get(object);
    if (!contents) return;
    this.wantedBy.delete(object);
    for (const c of contents) {
      const entry = this.missing.get(c);
      entry?.waiting.delete(object);
      if (entry && entry.waiting.size === 0) await this.complete(c);
    }
  }

  private async complete(content: string): Promise<void> {
    const entry = this.missing.get(content);
    this.missing.delete(content);
    await this.o.store.flush();
    if (entry && !entry.announce) return; // found complete at start-up: the repair sweep announces it
    // announced before the last put is answered, so the pusher knows the copy is findable
    await this.o.onComplete(Buffer.from(content, "hex")).catch((err: Error) => this.o.log?.(`announcing replica ${content.slice(0, 12)}… failed: ${err.message}`));
  }
}
