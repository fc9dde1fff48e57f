// One live bulk connection per peer, shared by all requests to it: concurrent callers wait for the
// same dial, and a connection leaves the pool when it closes (idle, failed, or closed by the peer),
// so the next request dials afresh.

import { toHex } from "../dht/id";
import { BulkPeer } from "./bulk";
import { BulkSession } from "./bulk-session";

export class SessionPool {
  private readonly entries = new Map<string, Promise<BulkSession>>();
  /** The connections that are up, by peer (hex). */
  private readonly open = new Map<string, BulkSession>();

  constructor(private readonly dial: (peer: BulkPeer) => Promise<BulkSession>) {}

  get(peer: BulkPeer): Promise<BulkSession> {
    const key = toHex(peer.id);
    const existing = this.entries.get(key);
    if (existing) return existing;
    const forget = () => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    };
    const entry = this.dial(peer).then((session) => {
      this.open.set(key, session);
      session.onClose(() => {
        if (this.open.get(key) === session) this.open.delete(key);
        forget();
      });
      return session;
    });
    entry.catch(forget);
    this.entries.set(key, entry);
    return entry;
  }

  /** The connection to a peer (hex ID) if one is up; never dials. */
  current(key: string): BulkSession | undefined {
    return this.open.get(key);
  }

  /** Open (or opening) connections. */
  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    this.open.clear();
    for (const s of await Promise.allSettled(all)) if (s.status === "fulfilled") s.value.close();
  }
}
