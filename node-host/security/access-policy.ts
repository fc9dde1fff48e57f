// Who may fetch what from this node, and who may store replicas on it.
//
//   - A node in no team is open: it sends any object to any authenticated node and accepts replicas
//     from any (as peershare did before teams; the README states this default).
//   - Public content goes to anyone.
//   - Content shared with teams goes to nodes that proved membership (any role) of one of them, even
//     when this node is not in those teams itself (a replica holder checks the certificates alone).
//   - A copy this node fetched for itself (cache: no audience recorded, not kept as an own share or
//     replica) goes to nobody once the node is in a team: it cannot tell which of its teams the
//     content was for, and a member of one of them must not pass another team's file to the other.
//   - Anything else (unstated: shared or replicated while no team rule applied) goes to members of
//     this node's teams.
//   - A node in teams accepts replicas only from members with write role of one of its teams.
// A refusal is an AccessDeniedError, which the bulk layer sends as ERROR forbidden with its text.

import { Id, toHex } from "../dht/id";
import { AccessDeniedError } from "../transport/bulk-api";
import { Audience } from "../transport/bulk-protocol";
import { AudienceIndex } from "./audiences";
import { RecordPolicy } from "../dht/dht";
import { TeamBook } from "./teams";

export class AccessPolicy {
  constructor(
    private readonly teams: TeamBook,
    private readonly audiences: AudienceIndex,
    /** Whether the object is kept here as an own share or a replica (not merely cached after a fetch). */
    private readonly kept: (objectId: Buffer) => boolean = () => true,
  ) {}

  /** Throws AccessDeniedError unless `peer` may receive object `objectId`. */
  checkGet(peer: Id, objectId: Buffer): void {
    const audience = this.audiences.of(objectId);
    if (audience?.kind === "public") return;
    if (audience?.kind === "teams") {
      if (audience.teams.some((t) => this.teams.roleOf(peer, t) !== null)) return;
      throw new AccessDeniedError(`this content is shared with ${this.describe(audience.teams)}, and node ${short(peer)} has shown no valid membership of it`);
    }
    if (this.teams.open) return;
    if (audience === null && !this.kept(objectId)) throw new AccessDeniedError("this node is in a team and does not pass on copies it fetched for itself");
    if (this.teams.sharedTeams(peer).length > 0) return;
    throw new AccessDeniedError(`this node serves only members of its teams, and node ${short(peer)} has shown no valid membership`);
  }

  /** Whether `peer` may receive object `objectId` (and so learn that this node holds it). */
  mayGet(peer: Id, objectId: Buffer): boolean {
    try {
      this.checkGet(peer, objectId);
      return true;
    } catch {
      return false;
    }
  }

  /** Throws AccessDeniedError unless `peer` may ask which objects this node holds. */
  checkQuery(peer: Id): void {
    if (this.teams.open || this.teams.sharedTeams(peer).length > 0) return;
    throw new AccessDeniedError(`this node answers only members of its teams, and node ${short(peer)} has shown no valid membership`);
  }

  /** Throws AccessDeniedError unless `peer` may store replicas here. */
  checkPush(peer: Id): void {
    if (this.teams.open || this.teams.sharedTeams(peer, "write").length > 0) return;
    throw new AccessDeniedError(`this node stores replicas only for members with write role of its teams, and node ${short(peer)} is not one`);
  }

  /** The DHT's rules for records: a node in teams stores records only for members with write role. */
  recordPolicy(): RecordPolicy {
    return {
      credentials: () => this.teams.own().memberships,
      learn: (from, membership) => this.teams.learn(from.id, from.publicKey, membership),
      refusal: (from) => (this.teams.open || this.teams.sharedTeams(from.id, "write").length > 0 ? null : "this node stores records only for members with write role of its teams"),
    };
  }

  private describe(teams: Buffer[]): string {
    return this.teams.describeTeams(teams);
  }
}

const short = (id: Id) => `${toHex(id).slice(0, 12)}…`;

/** The audience of a new share: public, the named teams, or (no team) unstated. */
export function shareAudience(isPublic: boolean, teams: Buffer[]): Audience {
  if (isPublic) return { kind: "public" };
  return teams.length > 0 ? { kind: "teams", teams } : { kind: "unstated" };
}
