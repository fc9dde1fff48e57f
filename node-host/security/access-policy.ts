// Who may fetch what from this node, and who may store replicas on it.
//
//   - A node in no team is open: it sends any object to any authenticated node and accepts replicas
//     from any (as peershare did before teams; the README states this default).
//   - Public content goes to anyone.
//   - Content shared with teams goes to nodes that proved membership (any role) of one of them, even
//     when this node is not in those teams itself (a replica holder checks the certificates alone).
//   - Anything else (no audience recorded, e.g. a fetched copy) goes to members of this node's teams.
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
  ) {}

  /** Throws AccessDeniedError unless `peer` may receive object `objectId`. */
  checkGet(peer: Id, objectId: Buffer): void {
    const audience = this.audiences.of(objectId);
    if (audience?.kind === "public") return;
    if (audience?.kind === "teams") {
      if (audience.teams.some((t) => this.teams.roleOf(peer, t) !== null)) return;
      throw new AccessDeniedError(`this content is shared with ${this.describe(audience.teams)}, and node ${short(peer)} has shown no valid membership of it`);
    }
    if (this.teams.open || this.teams.sharedTeams(peer).length > 0) return;
    throw new AccessDeniedError(`this node serves only members of its teams, and node ${short(peer)} has shown no valid membership`);
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
    const names = teams.map((t) => {
      const name = this.teams.nameOf(t);
      return name ? `team "${name}"` : `team ${toHex(t).slice(0, 12)}…`;
    });
    return names.length === 1 ? names[0] : `the teams ${names.join(", ")}`;
  }
}

const short = (id: Id) => `${toHex(id).slice(0, 12)}…`;

/** The audience of a new share: public, the named teams, or (no team) unstated. */
export function shareAudience(isPublic: boolean, teams: Buffer[]): Audience {
  if (isPublic) return { kind: "public" };
  return teams.length > 0 ? { kind: "teams", teams } : { kind: "unstated" };
}
