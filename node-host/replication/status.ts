// `peershare status`: which nodes hold a content (a file or a folder), which of them are live, whether each holds every
// object (one HAS_OBJECTS request per live holder), and whether the content has its r copies (live
// holders that hold every chunk and, for a share made for teams, have shown membership of them).

import { contentObjects } from "../cas/manifest-links";
import { toHex } from "../dht/id";
import { ContentStatus, HolderStatus } from "../rpc/api-types";
import { BulkPeer } from "../transport/bulk";
import { Replicator } from "./replicator";

export async function contentStatus(replicator: Replicator, contentId: Buffer): Promise<ContentStatus> {
  const providers = await replicator.providers(contentId);
  // this node counts as a holder only of what it keeps (own share, replica), not of a fetched cache copy
  const selfComplete = await replicator.keeps(contentId);
  if (selfComplete && !providers.some((p) => p.peer.id.equals(replicator.self.id))) providers.push({ peer: replicator.self, live: true });
  const ids = await manifestObjects(replicator, contentId, providers.filter((p) => p.live).map((p) => p.peer));
  const holders = await Promise.all(
    providers.map(async ({ peer, live }): Promise<HolderStatus> => {
      const self = peer.id.equals(replicator.self.id);
      let complete: boolean | null = null;
      if (self) complete = selfComplete;
      else if (live && ids) complete = await replicator.holdsAll(peer, ids).catch(() => null);
      // asked once its connection showed the holder's credentials (the HAS_OBJECTS above, for live ones)
      const refusal = self || !live ? null : replicator.confinement.refusal(peer.id, contentId);
      return { id: toHex(peer.id), host: peer.host, port: peer.port, self, live, complete, ...(refusal ? { notCounted: refusal } : {}) };
    }),
  );
  const replication = replicator.factors.get(toHex(contentId));
  // Provider records name only pinned copies (own shares and replicas; fetched cache is never
  // announced, and a copy no longer kept is no longer republished). HAS_OBJECTS cannot tell pinned
  // from cached, but a live holder that says it lacks objects (a record outliving its copy), or that
  // cannot say and does not send one of them, does not count; one that could not be asked (null) does.
  // a copy on a node outside the content's teams does not count either: repair treats it as gone
  const liveHolders = holders.filter((h) => h.live && h.complete !== false && !h.notCounted).length;
  return { contentId: toHex(contentId), replication, holders, liveHolders, met: liveHolders >= replication, shortfall: null };
}

/** Every object of the content (a folder's too): its manifests from the store, else as a live holder has them. */
async function manifestObjects(replicator: Replicator, contentId: Buffer, live: BulkPeer[]): Promise<Buffer[] | null> {
  const get = async (id: Buffer): Promise<Buffer | null> => {
    const stored = await replicator.store.get(id);
    if (stored) return stored;
    for (const peer of live) {
      const bytes = await replicator.fetchObject(peer, id);
      if (bytes) return bytes;
    }
    return null;
  };
  return (await contentObjects(contentId, get).catch(() => null))?.ids ?? null;
}
