// The holders one fetch knows of: found once (provider records, or the nodes closest to the content),
// asked again a bounded number of times when every one has failed; each dropped after a failure, and
// marked bad when it sent bytes that did not match their hash. A holder dropped for a failure that
// may pass (a timeout, a reset connection: a busy or restarting node) is taken back when it is found
// again; one that refused, lacked the object or sent bad bytes is not. Shared by the file fetcher
// and the folder fetch's object source.

import { CasError } from "../cas";
import { BulkPeer, ObjectNotFoundError } from "../transport/bulk";
import { AccessDeniedError } from "../transport/bulk-api";

export class FetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FetchError";
  }
}

/** Every holder that answered refused this node by its access policy. */
export class FetchRefusedError extends FetchError {
  constructor(message: string) {
    super(message);
    this.name = "FetchRefusedError";
  }
}

/** The error for a fetch that got nothing: a refusal, when the holders that answered all refused. */
export function nothingFetched(what: string, holders: number, refusals: string[]): FetchError {
  if (holders > 0 && refusals.length === holders) {
    return new FetchRefusedError(`${what}: every holder refused this node (${refusals[0]}). Ask a team admin for an invite and run \`peershare team join INVITE\``);
  }
  return new FetchError(what);
}

const hex = (b: Buffer) => b.toString("hex");

export interface HolderState {
  peer: BulkPeer;
  /** Objects this holder said it does not have. */
  lacks: Set<string>;
  dropped: boolean;
  /** Requests to it under way (used by the object source to spread requests). */
  inFlight: number;
  /** Dropped for a failure that may pass: taken back when found again. */
  mayRetry?: boolean;
  /** Why it was last dropped, in a few words (for the fetch's error when every holder failed). */
  reason?: string;
}

export const isHashMismatch = (err: unknown) => err instanceof CasError && err.code === "EHASHMISMATCH";

/** The holders a fetch knows of: those still asked, those dropped, and why some refused. */
export class Holders {
  private readonly all = new Map<string, HolderState>();
  /** Holders that sent bytes not matching their hash (not taken back when found again). */
  readonly bad: string[] = [];
  /** Why holders refused this node (access policy), one entry per refusing holder. */
  private readonly refusals: string[] = [];
  /** The first lookup, shared by whoever needs holders first. */
  private firstLookup: Promise<boolean> | null = null;

  constructor(
    private readonly find: () => Promise<BulkPeer[]>,
    /** How often find may be asked again once every holder has failed. */
    private refreshesLeft: number,
  ) {}

  get size(): number {
    return this.all.size;
  }

  /** Looks holders up once (later calls wait for that first lookup); true when some turned up. */
  found(): Promise<boolean> {
    return (this.firstLookup ??= this.refresh());
  }

  /** Asks for holders; true when new ones turned up. */
  async refresh(): Promise<boolean> {
    const found = await this.find();
    let added = false;
    for (const peer of found) {
      const key = hex(peer.id);
      const known = this.all.get(key);
      if (known?.dropped && known.mayRetry) {
        known.dropped = false;
        known.mayRetry = false;
        added = true;
      }
      if (known || this.bad.includes(key)) continue;
      this.all.set(key, { peer, lacks: new Set(), dropped: false, inFlight: 0 });
      added = true;
    }
    return added;
  }

  /** Asks for holders again, unless that was done holderRefreshes times already; true when new ones turned up. */
  async refreshAgain(): Promise<boolean> {
    return this.refreshesLeft-- > 0 && (await this.refresh());
  }

  live(): HolderState[] {
    return [...this.all.values()].filter((h) => !h.dropped);
  }

  get(peer: BulkPeer): HolderState | undefined {
    return this.all.get(hex(peer.id));
  }

  /** A holder failed a request: it is asked no more; a refusal is noted, bad bytes mark it bad. */
  drop(h: HolderState, err: unknown): void {
    if (h.dropped) return; // several of its request loops may fail at once
    if (err instanceof AccessDeniedError) this.refusals.push(err.message);
    h.dropped = true;
    if (isHashMismatch(err)) this.bad.push(hex(h.peer.id));
    ({ reason: h.reason, mayRetry: h.mayRetry } = whyDropped(err));
  }

  /**
   * The error of a fetch that could not go on: a refusal when every holder that answered refused;
   * otherwise `what`, followed by why each dropped holder was dropped.
   */
  failure(what: string): FetchError {
    const allRefused = this.refusals.length === this.all.size;
    const why = [...this.all.values()].filter((h) => h.dropped && h.reason).map((h) => `${hex(h.peer.id).slice(0, 8)}… ${h.reason}`);
    return nothingFetched(why.length && !allRefused ? `${what} (${why.join("; ")})` : what, this.all.size, this.refusals);
  }
}

/**
 * Why a holder was dropped, as the end of "holder X …", and whether the failure may pass: a
 * refusal, a missing object or bad bytes will not; anything else (a timeout, a reset) may.
 */
function whyDropped(err: unknown): { reason: string; mayRetry: boolean } {
  if (err instanceof ObjectNotFoundError) return { reason: "does not have it", mayRetry: false };
  if (isHashMismatch(err)) return { reason: "sent corrupt data", mayRetry: false };
  if (err instanceof AccessDeniedError) return { reason: "refused this node", mayRetry: false };
  const message = err instanceof Error ? err.message : String(err);
  return { reason: `failed: ${message.split("\n")[0].slice(0, 100)}`, mayRetry: true };
}
