// The receiving side of replication: objects pushed by peers are stored pinned "replica", and once a
// manifest and all its chunks are here this node announces itself as a provider of the content.
//
// What a node accepts is bounded: objects no larger than the protocol allows, that hash to their id,
// that are a manifest or a chunk of a manifest it holds, and at most a quota of bytes per peer: what
// the replicas it placed here still take (placements.ts, kept across restarts). Who may push at all
// is decided by `authorize` (team membership with write role, see security/access-policy.ts), which
// throws AccessDeniedError; the audience an offer names is recorded once the manifest's chunks are
// known.

import { ContentStore, decodeManifestHeader } from "../cas";
import { looksLikeManifest } from "../cas/manifest";
import { Id, toHex } from "../dht/id";
import { ObjectSink, PutResult } from "../transport/bulk-api";
import { Audience, MAX_OBJECT_BYTES } from "../transport/bulk-protocol";
import { LruMap } from "../util/lru";
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
  /** Records who may read a replicated content, once its chunks are known. */
  recordAudience?: (contentId: Buffer, audience: Audience, chunkIds: Buffer[]) => void;
  /** Awaited once the manifest `contentId` and every chunk it lists are stored. */
  onComplete: (contentId: Buffer) => Promise<void>;
  log?: (line: string) => void;
}

/** The chunk ids a manifest lists, or null when the bytes are not a manifest. */
function manifestChunks(bytes: Buffer): Buffer[] | null {
  if (!looksLikeManifest(bytes)) return null;
  try {
    return decodeManifestHeader(bytes).chunkIds;
  } catch {
    return null;
  }
}

export class ReplicaSink implements ObjectSink {
  /** Manifest (hex) → its chunks (hex) not stored yet, and whether to announce it when complete. */
  private readonly missing = new Map<string, { waiting: Set<string>; announce: boolean }>();
  /** Chunk (hex) → the manifests waiting for it. */
  private readonly wantedBy = new Map<string, Set<string>>();
  /**
   * Manifest (hex) → what its offer named (factor, audience), until the manifest arrives: only then
   * are they saved, so offers that are never followed by a manifest leave nothing behind.
   */
  private readonly offered = new LruMap<string, { replication: number; audience: Audience }>(4096);

  constructor(private readonly o: ReplicaSinkOptions) {}

  /** Picks up replicas left incomplete by an earlier run, so their remaining chunks are accepted. */
  async load(): Promise<void> {
    for (const info of this.o.store.ls()) {
      if (info.kind !== "manifest" || !info.pins.includes("replica")) continue;
      const bytes = await this.o.store.get(info.id);
      const chunks = bytes && manifestChunks(bytes);
      if (!chunks) continue;
      this.o.placements.knowManifest(toHex(info.id), chunks);
      await this.track(toHex(info.id), chunks, false);
      const entry = this.missing.get(toHex(info.id));
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
      // and take the chunks it lacks; when none are missing it is announced now
      const bytes = await this.o.store.get(ids[0]);
      const chunks = bytes && manifestChunks(bytes);
      if (chunks) {
        this.o.factors.set(toHex(ids[0]), replication);
        this.o.recordAudience?.(ids[0], audience, chunks);
        this.placed(toHex(ids[0]), chunks, toHex(from));
        await this.o.store.pin([ids[0]], "replica");
        await this.track(toHex(ids[0]), chunks, true);
      }
    }
    return held;
  }

  async putObject(from: Id, id: Buffer, bytes: Buffer): Promise<PutResult> {
    this.o.authorize?.(from, "push");
    if (bytes.length > MAX_OBJECT_BYTES) return "refused";
    const hex = toHex(id);
    const chunks = manifestChunks(bytes);
    // a chunk must belong to a manifest held here (one pinned replica was accepted before: a repeat)
    if (!chunks && !this.wantedBy.has(hex) && !this.o.store.pinsOf(id)?.includes("replica")) return "refused";
    if (await this.o.store.has(id)) {
      await this.o.store.pin([id], "replica");
    } else {
      const peer = toHex(from);
      if (!this.o.placements.allows(peer, bytes.length, this.o.quotaBytesPerPeer())) return "refused";
      try {
        await this.o.store.putVerified(id, bytes, { pin: "replica", kind: chunks ? "manifest" : "chunk" });
      } catch {
        return "refused"; // does not hash to its id, or the disk refused it
      }
      this.o.placements.add(peer, bytes.length);
    }
    if (chunks) {
      this.placed(hex, chunks, toHex(from));
      const offer = this.offered.get(hex);
      if (offer) {
        this.o.factors.set(hex, offer.replication);
        this.o.recordAudience?.(id, offer.audience, chunks);
      }
      await this.track(hex, chunks, true);
    }
    else await this.arrived(hex);
    return "stored";
  }

  /** Records who placed a replica manifest (for the quota); a journal that cannot be written is logged. */
  private placed(manifest: string, chunks: Buffer[], peer: string): void {
    this.o.placements.knowManifest(manifest, chunks);
    try {
      this.o.placements.placed(manifest, peer);
    } catch (err) {
      this.o.log?.(`recording who placed replica ${manifest.slice(0, 12)}… failed: ${(err as Error).message}`);
    }
  }

  /**
   * Starts waiting for a manifest's chunks. The wait is registered before anything is awaited, so a
   * chunk pushed by a second, concurrent copy is accepted too; chunks already here (e.g. cache) are
   * pinned as replica and count as arrived.
   */
  private async track(manifest: string, chunkIds: Buffer[], announce: boolean): Promise<void> {
    if (this.missing.has(manifest)) return;
    const waiting = new Set(chunkIds.map(toHex));
    this.missing.set(manifest, { waiting, announce });
    for (const c of waiting) {
      const set = this.wantedBy.get(c) ?? new Set<string>();
      set.add(manifest);
      this.wantedBy.set(c, set);
    }
    if (waiting.size === 0) return this.complete(manifest);
    const present: Buffer[] = [];
    for (const c of chunkIds) if (await this.o.store.has(c)) present.push(c);
    await this.o.store.pin(present, "replica");
    for (const c of present) await this.arrived(toHex(c));
  }

  private async arrived(chunk: string): Promise<void> {
    const manifests = this.wantedBy.get(chunk);
    if (!manifests) return;
    this.wantedBy.delete(chunk);
    for (const m of manifests) {
      const entry = this.missing.get(m);
      entry?.waiting.delete(chunk);
      if (entry && entry.waiting.size === 0) await this.complete(m);
    }
  }

  private async complete(manifest: string): Promise<void> {
    const entry = this.missing.get(manifest);
    this.missing.delete(manifest);
    await this.o.store.flush();
    if (entry && !entry.announce) return; // found complete at start-up: the repair sweep announces it
    // announced before the last put is answered, so the pusher knows the copy is findable
    await this.o.onComplete(Buffer.from(manifest, "hex")).catch((err: Error) => this.o.log?.(`announcing replica ${manifest.slice(0, 12)}… failed: ${err.message}`));
  }
}
