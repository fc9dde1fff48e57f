// Nodes a copy recently failed on, left out of copy plans for a while. A node that answered no (it
// takes no replicas, its disk or its quota for this node is full, it refused an object) would say
// no again at the next sweep; one that could not be reached is likely down. Offering them every
// sweep cost each repair a failed attempt before a node that can take the copy got it.

import { AccessDeniedError, BulkRemoteError } from "../transport/bulk-api";
import { ExpiringSet } from "../util/expiring-set";

/** How long a node that refused a copy is left out. */
export const REFUSED_FOR_MS = 5 * 60_000;
/** How long a node that could not be reached is left out (it may be back soon: a restart). */
export const UNREACHABLE_FOR_MS = 30_000;
/** Nodes remembered at most. */
const KEPT = 1024;

/** The receiver answered and said no to a copy: a refused object, a full disk or quota. */
export class CopyRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CopyRefusedError";
  }
}

/** Whether a failed copy's error is the peer saying no (rather than the peer not answering). */
export function isRefusal(err: unknown): boolean {
  return err instanceof CopyRefusedError || err instanceof BulkRemoteError || err instanceof AccessDeniedError;
}

export class DeclinedCandidates {
  private readonly left: ExpiringSet;

  constructor(now: () => number = Date.now) {
    this.left = new ExpiringSet(KEPT, now);
  }

  /** Leaves the node out of plans for a while, longer when it refused than when it did not answer. */
  note(nodeHex: string, err: unknown): void {
    this.left.add(nodeHex, isRefusal(err) ? REFUSED_FOR_MS : UNREACHABLE_FOR_MS);
  }

  /** A copy to the node succeeded: it is a candidate again. */
  clear(nodeHex: string): void {
    this.left.delete(nodeHex);
  }

  /** Whether the node is left out of plans now. */
  has(nodeHex: string): boolean {
    return this.left.has(nodeHex);
  }
}
