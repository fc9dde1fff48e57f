// Where copies of a share made for teams may go: only to nodes that have proven membership (any role)
// of one of those teams, by every path that places a copy (replication on share, repair sweeps,
// `peershare repair`, hand-off on leave) and on both ends of it: the placing node checks the
// receiver's credentials (shown in the bulk connection's HELLO) before it offers anything, and a
// receiver refuses an offer for teams it is in none of. A read member's node holds copies like a
// writer's (ciphertext it could fetch anyway), but only members with write role place copies on
// others, since team nodes accept replicas only from writers. Public and unstated shares go
// anywhere, as before teams existed.

import { Id } from "../dht/id";
import { AccessDeniedError } from "../transport/bulk-api";
import { Audience } from "../transport/bulk-protocol";
import type { Eligibility } from "../replication/placement";
import type { Confinement } from "../replication/replicator";
import { AudienceIndex } from "./audiences";
import { TeamBook } from "./teams";

export class CopyConfinement implements Confinement {
  constructor(
    private readonly teams: TeamBook,
    private readonly audiences: AudienceIndex,
    private readonly self: Id,
  ) {}

  /** The teams a content's copies are confined to; null when any node may hold them. */
  private teamsOf(contentId: Buffer): Buffer[] | null {
    const a = this.audiences.ofContent(contentId);
    return a?.kind === "teams" ? a.teams : null;
  }

  eligibility(contentId: Buffer): Eligibility | null {
    const teams = this.teamsOf(contentId);
    if (!teams) return null;
    return {
      holder: (id) => (id.equals(this.self) || teams.some((t) => this.teams.roleOf(id, t) !== null) ? true : this.teams.knows(id) ? false : null),
      placer: (id) => teams.some((t) => (id.equals(this.self) ? this.teams.ownRole(t) : this.teams.roleOf(id, t)) === "write"),
    };
  }

  refusal(peer: Id, contentId: Buffer): string | null {
    const teams = this.teamsOf(contentId);
    if (!teams || teams.some((t) => this.teams.roleOf(peer, t) !== null)) return null;
    return `it is shared with ${this.teams.describeTeams(teams)}, and node ${peer.toString("hex").slice(0, 12)}… has shown no valid membership of it`;
  }

  shortfall(contentId: Buffer): string | null {
    const teams = this.teamsOf(contentId);
    return teams ? `too few live members of ${this.teams.describeTeams(teams)}` : null;
  }

  /** Throws AccessDeniedError when an offered content is shared with teams this node is in none of. */
  checkOffer(audience: Audience): void {
    if (audience.kind !== "teams" || audience.teams.some((t) => this.teams.ownRole(t) !== null)) return;
    throw new AccessDeniedError(`this node holds copies of team shares only for its own teams, and it is not in ${this.teams.describeTeams(audience.teams)}`);
  }
}
