// Who placed each replica this node holds, for the per-peer replica quota. DATA_DIR/replica-placers.jsonl
// maps each replica manifest to the peer that pushed (or offered) it; the bytes a peer uses are its
// manifests and their chunks that are still held here as replicas. So the quota holds across
// restarts (kept in memory only, a peer could push its quota again after each one), and a replica
// this node dropped (repair moved it, gc, a corrupt copy) stops counting.
//
// Counting is cheap in the common case: a counter per peer grows with each object accepted from it,
// and only when a push would go over the quota is the peer counted again from what is still held.
// The count is conservative: a chunk that two peers' manifests share counts for both.

import * as path from "node:path";
import type { ContentStore } from "../cas";
import { isHexId } from "../dht/id";
import { JsonJournal } from "../util/json-journal";

const FILE = "replica-placers.jsonl";

const isPeerHex = (v: unknown): v is string => typeof v === "string" && isHexId(v);

export class ReplicaPlacements {
  /** Manifest (hex) → the peer (hex) that placed it. */
  private readonly placers: JsonJournal<string>;
  /** Manifest (hex) → its chunks (hex), for the manifests in `placers` this node has read. */
  private readonly chunksOf = new Map<string, string[]>();
  /** Peer (hex) → bytes it uses here: exact after a recount, an upper bound in between. */
  private readonly used = new Map<string, number>();

  constructor(
    dataDir: string,
    private readonly store: ContentStore,
  ) {
    this.placers = JsonJournal.open(path.join(dataDir, FILE), { isValue: isPeerHex });
    // a manifest that stops being a replica here frees its placer's quota (and its journal line)
    store.onRelease((ids) => {
      for (const id of ids) {
        const hex = id.toString("hex");
        if (this.placers.get(hex) !== undefined && !store.pinsOf(id)?.includes("replica")) this.forget(hex);
      }
    });
  }

  /** Notes the chunks of a replica manifest held here (when it arrives, or read back at start). */
  knowManifest(manifest: string, chunks: Buffer[]): void {
    this.chunksOf.set(manifest, chunks.map((c) => c.toString("hex")));
  }

  /** Records that `peer` placed `manifest` here; the first placer keeps it. */
  placed(manifest: string, peer: string): void {
    if (this.placers.get(manifest) === undefined) this.placers.set(manifest, peer);
  }

  /** Counts `bytes` newly stored for `peer`. */
  add(peer: string, bytes: number): void {
    this.used.set(peer, (this.used.get(peer) ?? 0) + bytes);
  }

  /** Whether `peer` may place `bytes` more within `quota`; counts it again from the store before saying no. */
  allows(peer: string, bytes: number, quota: number): boolean {
    if ((this.used.get(peer) ?? 0) + bytes <= quota) return true;
    this.used.set(peer, this.count(peer));
    return this.used.get(peer)! + bytes <= quota;
  }

  /** Bytes `peer` uses here now, counted from the store. */
  usedBy(peer: string): number {
    return this.count(peer);
  }

  /**
   * Drops the placers of manifests no longer held as replicas and counts every peer afresh; call
   * once the held replica manifests have been given to knowManifest (at start).
   */
  recountAll(): void {
    for (const [manifest] of [...this.placers.entries]) {
      if (!this.store.pinsOf(Buffer.from(manifest, "hex"))?.includes("replica")) this.forget(manifest);
    }
    this.used.clear();
    for (const [manifest, placer] of this.placers.entries) this.used.set(placer, (this.used.get(placer) ?? 0) + this.manifestBytes(manifest));
  }

  private count(peer: string): number {
    let total = 0;
    for (const [manifest, placer] of this.placers.entries) if (placer === peer) total += this.manifestBytes(manifest);
    return total;
  }

  /** Bytes a replica manifest and its chunks take here (what is still held as a replica). */
  private manifestBytes(manifest: string): number {
    let total = this.replicaBytes(manifest);
    for (const chunk of this.chunksOf.get(manifest) ?? []) total += this.replicaBytes(chunk);
    return total;
  }

  private replicaBytes(hex: string): number {
    const id = Buffer.from(hex, "hex");
    return this.store.pinsOf(id)?.includes("replica") ? (this.store.sizeOf(id) ?? 0) : 0;
  }

  private forget(manifest: string): void {
    this.chunksOf.delete(manifest);
    try {
      this.placers.delete(manifest);
    } catch {
      // not written (a full disk): the line stays, and is dropped at the next start
    }
  }
}
