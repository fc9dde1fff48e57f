// The teams this node belongs to, and what it has learnt of other nodes' memberships.
//
// Public facts (names, team keys, this node's membership, revocation lists, members seen) are kept
// in DATA_DIR/teams.json; secrets (a team's signing key on the node that created it, and each team's
// convergence secret) live in the node's key store, encrypted at rest. Peers' memberships arrive in
// bulk HELLOs (see transport/bulk-protocol.ts) and are checked here: a membership counts only while
// its signatures hold, it has not expired, and the team's newest revocation list does not name the
// node. Revocation lists spread the same way, each node keeping the highest sequence number it saw.

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Id, toHex } from "../dht/id";
import { Credentials, CredentialExchange } from "../transport/bulk-api";
import { LruMap } from "../util/lru";
import { writeFileAtomic } from "../util/fs-atomic";
import { Identity, SignatureVerifier } from "./identity";
import type { TeamInvite, TeamMember, TeamSummary } from "../rpc/api-types";
import {
  bindMember,
  createInvitation,
  createRevocations,
  decodeMembership,
  decodeRevocations,
  encodeMembership,
  formatInvite,
  Membership,
  membershipProblem,
  parseInvite,
  RevocationList,
  signerFromSeed,
  TeamCertError,
  TeamRole,
} from "./team-cert";

const TEAMS_FILE = "teams.json";
/** The creator's own membership: it can only end by revocation. */
const FOREVER = Date.UTC(9999, 0, 1);
export const DEFAULT_INVITE_TTL_MS = 7 * 24 * 3600_000;
const MAX_TEAMS = 16;
const MAX_MEMBERS_REMEMBERED = 10_000;
/**
 * How long what a peer showed tells that it is in none of some teams: it may join one at any time,
 * and showing this node needs a new connection (a node that joins closes its connections), so a
 * node found outside a team is asked again after this long, not before.
 */
const NON_MEMBER_FRESH_MS = 60_000;

export interface MemberSeen {
  nodeId: string;
  role: TeamRole;
  expires: number;
  lastSeen: number;
}

interface Team {
  key: Buffer;
  name: string;
  membership: Membership;
  revocations: RevocationList | null;
  members: Map<string, MemberSeen>;
}

interface SavedTeam {
  teamKey: string;
  name: string;
  membership: string;
  revocations: string | null;
  members: MemberSeen[];
}

/** Where team secrets are kept: the node's key store (security/key-store.ts), encrypted at rest. */
export interface SecretStore {
  get(name: string): Promise<Buffer | null>;
  set(name: string, secret: Buffer): Promise<void>;
}

const signingKeyName = (team: Buffer) => `team/${toHex(team)}/signing`;
const convergenceKeyName = (team: Buffer) => `team/${toHex(team)}/convergence`;

export class TeamBook implements CredentialExchange {
  private readonly teams = new Map<string, Team>();
  /** Peer node id (hex) → team key (hex) → a membership it showed that verified when shown; and when it last showed them. */
  private readonly peers = new LruMap<string, { shown: Map<string, Membership>; at: number }>(4096);
  /** Revocation lists of teams this node is not in (it may hold their ciphertext). */
  private readonly foreignRevocations = new LruMap<string, RevocationList>(256);
  private readonly verifier = new SignatureVerifier(1024, 4096);

  private constructor(
    private readonly dataDir: string,
    private readonly identity: Identity,
    private readonly keys: SecretStore,
    private readonly now: () => number,
  ) {}

  static load(dataDir: string, identity: Identity, keys: SecretStore, now: () => number = Date.now): TeamBook {
    const book = new TeamBook(dataDir, identity, keys, now);
    const file = path.join(dataDir, TEAMS_FILE);
    if (!fs.existsSync(file)) return book;
    const saved = JSON.parse(fs.readFileSync(file, "utf8")) as SavedTeam[];
    for (const t of saved) {
      const membership = decodeMembership(Buffer.from(t.membership, "base64"));
      const revocations = t.revocations ? decodeRevocations(Buffer.from(t.revocations, "base64"), book.verifier) : null;
      const members = new Map(t.members.map((m) => [m.nodeId, m] as const));
      book.teams.set(t.teamKey, { key: Buffer.from(t.teamKey, "hex"), name: t.name, membership, revocations, members });
    }
    return book;
  }

  /** True while the node is in no team: it then serves and accepts as before teams existed (see README). */
  get open(): boolean {
    return this.teams.size === 0;
  }

  list(): TeamSummary[] {
    return [...this.teams.values()].map((t) => ({
      name: t.name,
      teamKey: toHex(t.key),
      role: t.membership.invitation.role,
      admin: false,
      expires: t.membership.invitation.expires,
      membersSeen: t.members.size,
      revoked: t.revocations?.revoked.length ?? 0,
    }));
  }

  /** Like list(), with `admin` filled in from the key store. */
  async summaries(): Promise<TeamSummary[]> {
    const out = this.list();
    for (const s of out) s.admin = (await this.keys.get(signingKeyName(Buffer.from(s.teamKey, "hex")))) !== null;
    return out;
  }

  /** The keys of the node's teams. */
  teamKeys(): Buffer[] {
    return [...this.teams.values()].map((t) => t.key);
  }

  /** Finds one of this node's teams by name or by a prefix of its key; throws a clear error otherwise. */
  private find(ref?: string): Team {
    const all = [...this.teams.values()];
    if (ref === undefined || ref === "") {
      if (all.length === 1) return all[0];
      throw new TeamCertError(all.length === 0 ? "this node is in no team: create one with `peershare team create NAME` or join one with `peershare team join INVITE`" : `this node is in ${all.length} teams: name one with --team (${all.map((t) => t.name).join(", ")})`);
    }
    const byName = all.filter((t) => t.name === ref);
    const byKey = all.filter((t) => toHex(t.key).startsWith(ref.toLowerCase()) && ref.length >= 8);
    const hits = byName.length > 0 ? byName : byKey;
    if (hits.length === 1) return hits[0];
    throw new TeamCertError(hits.length === 0 ? `no team "${ref}" on this node (see \`peershare team list\`)` : `"${ref}" names ${hits.length} teams: use the team key`);
  }

  /** The key of one of the node's teams, by name or key prefix (the only team when `ref` is omitted). */
  keyOf(ref?: string): Buffer {
    return this.find(ref).key;
  }

  nameOf(teamKey: Buffer): string | null {
    return this.teams.get(toHex(teamKey))?.name ?? null;
  }

  async create(name: string): Promise<TeamSummary> {
    if (this.teams.size >= MAX_TEAMS) throw new TeamCertError(`a node can be in at most ${MAX_TEAMS} teams`);
    if ([...this.teams.values()].some((t) => t.name === name)) throw new TeamCertError(`this node is already in a team named "${name}"`);
    const teamSeed = randomBytes(32);
    const team = signerFromSeed(teamSeed);
    const invite = Identity.generate();
    const invitation = createInvitation(team, invite, "write", FOREVER, this.identity.publicKey, name);
    const membership = bindMember(invitation, invite, this.identity.publicKey);
    await this.keys.set(signingKeyName(team.publicKey), teamSeed);
    await this.keys.set(convergenceKeyName(team.publicKey), randomBytes(32));
    this.teams.set(toHex(team.publicKey), { key: team.publicKey, name, membership, revocations: null, members: new Map() });
    this.save();
    return { ...this.list().find((t) => t.teamKey === toHex(team.publicKey))!, admin: true };
  }

  /**
   * An invite for a new member; only the node holding the team key can make one. With `forNode`
   * (a node ID), only that node can join with it. `hints`: address hints it carries (encoded).
   */
  async invite(ref: string | undefined, role: TeamRole, ttlMs = DEFAULT_INVITE_TTL_MS, forNode: Buffer | null = null, hints: string | null = null): Promise<TeamInvite> {
    const t = this.find(ref);
    const team = await this.signer(t);
    const inviteSeed = randomBytes(32);
    const expires = this.now() + ttlMs;
    const invitation = createInvitation(team, signerFromSeed(inviteSeed), role, expires, this.identity.publicKey, t.name, forNode);
    const convergenceSecret = await this.keys.get(convergenceKeyName(t.key));
    if (!convergenceSecret) throw new TeamCertError(`the convergence secret of team "${t.name}" is missing from the key store`);
    return { invite: formatInvite({ invitation, inviteSeed, convergenceSecret }, hints), team: t.name, role, expires, forNode: forNode ? toHex(forNode) : null };
  }

  async join(text: string): Promise<TeamSummary> {
    const { invitation, inviteSeed, convergenceSecret } = parseInvite(text);
    const membership = bindMember(invitation, signerFromSeed(inviteSeed), this.identity.publicKey);
    const problem = membershipProblem(membership, this.identity.publicKey, this.now(), this.verifier);
    if (problem) throw new TeamCertError(`this invite cannot be used: ${this.explainInviteProblem(problem, invitation.forNode)}`);
    const key = toHex(invitation.teamKey);
    const existing = this.teams.get(key);
    if (!existing && this.teams.size >= MAX_TEAMS) throw new TeamCertError(`a node can be in at most ${MAX_TEAMS} teams`);
    await this.keys.set(convergenceKeyName(invitation.teamKey), convergenceSecret);
    this.teams.set(key, { key: invitation.teamKey, name: invitation.teamName, membership, revocations: existing?.revocations ?? this.foreignRevocations.get(key) ?? null, members: existing?.members ?? new Map() });
    this.save();
    return this.list().find((t) => t.teamKey === key)!;
  }

  /** What to tell the user who tries an invite that membershipProblem() refuses. */
  private explainInviteProblem(problem: string, forNode: Buffer | null): string {
    if (problem === "expired") return "it has expired; ask for a new one";
    if (forNode && !forNode.equals(this.identity.id)) {
      return `it was made for node ${toHex(forNode).slice(0, 16)}…, not this one (${toHex(this.identity.id).slice(0, 16)}…); ask for an invite for this node's ID (\`peershare id\`)`;
    }
    return problem;
  }

  members(ref?: string): TeamMember[] {
    const t = this.find(ref);
    const self: TeamMember = { nodeId: toHex(this.identity.id), role: t.membership.invitation.role, self: true, revoked: this.isRevoked(t.key, this.identity.id), expires: t.membership.invitation.expires, lastSeen: null };
    const others = [...t.members.values()].map((m) => ({ ...m, self: false, revoked: this.isRevoked(t.key, Buffer.from(m.nodeId, "hex")) }));
    return [self, ...others.sort((a, b) => b.lastSeen - a.lastSeen)];
  }

  /** Adds a node to the team's revocation list (team key holder only). */
  async revoke(ref: string | undefined, nodeIdHex: string): Promise<{ team: string; revoked: string; seq: number }> {
    const t = this.find(ref);
    if (!/^[0-9a-f]{64}$/i.test(nodeIdHex)) throw new TeamCertError("a node ID is 64 hex digits (see `peershare team members`)");
    const node = Buffer.from(nodeIdHex, "hex");
    if (node.equals(this.identity.id)) throw new TeamCertError("a node cannot revoke itself");
    const team = await this.signer(t);
    const current = t.revocations?.revoked ?? [];
    const revoked = current.some((id) => id.equals(node)) ? current : [...current, node];
    t.revocations = createRevocations(team, (t.revocations?.seq ?? 0) + 1, revoked);
    this.save();
    return { team: t.name, revoked: nodeIdHex.toLowerCase(), seq: t.revocations.seq };
  }

  /** The convergence secret of a team this node is in. */
  async convergenceSecret(teamKey: Buffer): Promise<Buffer | null> {
    return this.keys.get(convergenceKeyName(teamKey));
  }

  /** The role `peer` proved in the team, or null (no membership shown, expired, or revoked). */
  roleOf(peer: Id, teamKey: Buffer): TeamRole | null {
    const m = this.peers.get(toHex(peer))?.shown.get(toHex(teamKey));
    if (!m || m.invitation.expires <= this.now() || this.isRevoked(teamKey, peer)) return null;
    return m.invitation.role;
  }

  /** Whether `peer` showed its credentials (its memberships, possibly none) lately enough to tell it is in no other team. */
  knows(peer: Id): boolean {
    return (this.peers.get(toHex(peer))?.at ?? -Infinity) > this.now() - NON_MEMBER_FRESH_MS;
  }

  /** The public key of the node that created a team this node is in (it admits new members). */
  adminOf(teamKey: Buffer): Buffer | null {
    return this.teams.get(toHex(teamKey))?.membership.invitation.issuer ?? null;
  }

  /** This node's own role in a team, or null when it is not (or no longer) a member. */
  ownRole(teamKey: Buffer): TeamRole | null {
    const t = this.teams.get(toHex(teamKey));
    if (!t || t.membership.invitation.expires <= this.now() || this.isRevoked(teamKey, this.identity.id)) return null;
    return t.membership.invitation.role;
  }

  /** `team "core"`, or `the teams "core", 3f2a…` for several; a team this node is not in goes by its key. */
  describeTeams(teamKeys: Buffer[]): string {
    const names = teamKeys.map((k) => {
      const name = this.nameOf(k);
      return name ? `team "${name}"` : `team ${toHex(k).slice(0, 12)}…`;
    });
    return names.length === 1 ? names[0] : `the teams ${names.join(", ")}`;
  }

  /** The node's own teams in which `peer` holds at least `role` (write includes read). */
  sharedTeams(peer: Id, role: TeamRole = "read"): Buffer[] {
    return [...this.teams.values()].map((t) => t.key).filter((k) => {
      const r = this.roleOf(peer, k);
      return r !== null && (role === "read" || r === "write");
    });
  }

  // --- CredentialExchange: what bulk connections show and learn ---

  own(): Credentials {
    const teams = [...this.teams.values()].filter((t) => !this.isRevoked(t.key, this.identity.id));
    return {
      memberships: teams.map((t) => encodeMembership(t.membership)),
      revocations: [...this.teams.values()].flatMap((t) => (t.revocations ? [t.revocations.bytes] : [])),
    };
  }

  received(peer: Id, publicKey: Buffer, c: Credentials): void {
    let changed = false;
    for (const bytes of c.revocations) {
      const list = decodeRevocations(bytes, this.verifier);
      if (list) changed = this.adoptRevocations(list) || changed;
    }
    // a HELLO shows every membership the peer has: what it no longer shows no longer counts
    const proven = new Map<string, Membership>();
    for (const bytes of c.memberships) {
      const m = this.verified(publicKey, bytes);
      if (!m) continue;
      proven.set(toHex(m.invitation.teamKey), m);
      changed = this.noteMember(peer, m) || changed;
    }
    this.peers.set(toHex(peer), { shown: proven, at: this.now() });
    if (changed) this.save();
  }

  /** One membership a peer showed on its own (over UDP, before storing records): added to what it proved. */
  learn(peer: Id, publicKey: Buffer, bytes: Buffer): void {
    const m = this.verified(publicKey, bytes);
    if (!m) return;
    const known = this.peers.get(toHex(peer));
    const proven = known?.shown ?? new Map<string, Membership>();
    proven.set(toHex(m.invitation.teamKey), m);
    this.peers.set(toHex(peer), { shown: proven, at: known?.at ?? -Infinity });
    if (this.noteMember(peer, m)) this.save();
  }

  /** A membership that decodes and verifies for the node with this key now; null otherwise. */
  private verified(publicKey: Buffer, bytes: Buffer): Membership | null {
    try {
      const m = decodeMembership(bytes);
      return membershipProblem(m, publicKey, this.now(), this.verifier) ? null : m;
    } catch {
      return null; // malformed: ignored, like any credential that does not verify
    }
  }

  /** Remembers a member of one of this node's teams; true when that changed what is saved. */
  private noteMember(peer: Id, m: Membership): boolean {
    const team = this.teams.get(toHex(m.invitation.teamKey));
    if (!team) return false;
    const nodeId = toHex(peer);
    const seen = team.members.get(nodeId);
    if (!seen && team.members.size >= MAX_MEMBERS_REMEMBERED) return false;
    team.members.set(nodeId, { nodeId, role: m.invitation.role, expires: m.invitation.expires, lastSeen: this.now() });
    return !seen || seen.role !== m.invitation.role;
  }

  private adoptRevocations(list: RevocationList): boolean {
    const key = toHex(list.teamKey);
    const team = this.teams.get(key);
    const current = team ? team.revocations : (this.foreignRevocations.get(key) ?? null);
    if (current && current.seq >= list.seq) return false;
    if (team) team.revocations = list;
    else this.foreignRevocations.set(key, list);
    return team !== undefined;
  }

  private isRevoked(teamKey: Buffer, node: Id): boolean {
    const key = toHex(teamKey);
    const list = this.teams.get(key)?.revocations ?? this.foreignRevocations.get(key);
    return list?.revoked.some((id) => id.equals(node)) ?? false;
  }

  private async signer(t: Team): Promise<Identity> {
    const seed = await this.keys.get(signingKeyName(t.key));
    if (!seed) throw new TeamCertError(`only the node that created team "${t.name}" can do this (it holds the team key)`);
    return signerFromSeed(seed);
  }

  private save(): void {
    const saved: SavedTeam[] = [...this.teams.values()].map((t) => ({
      teamKey: toHex(t.key),
      name: t.name,
      membership: encodeMembership(t.membership).toString("base64"),
      revocations: t.revocations ? t.revocations.bytes.toString("base64") : null,
      members: [...t.members.values()],
    }));
    writeFileAtomic(path.join(this.dataDir, TEAMS_FILE), JSON.stringify(saved, null, 1), 0o600);
  }
}

