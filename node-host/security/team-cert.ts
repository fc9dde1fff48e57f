// Team membership, proven offline by two signatures:
//
//   invitation = "PSTI" | v1 | team key (32) | invite key (32) | role u8 | expires u64 (ms)
//                | issuer node key (32) | name (u8 length, UTF-8) | team signature (64)
//                (v2, an invitation for one node: the same with that node's ID (32) after the name)
//   binding    = "PSTB" | v1 | SHA-256(invitation) (32) | member node key (32) | invite signature (64)
//
// The team's admin signs an invitation with the team key; it names a one-off invite key whose
// private half travels inside the invite string. The teammate who redeems the invite signs a binding
// of their own node key with that invite key. A membership (invitation + binding) is therefore
// checkable by anyone who knows the team key, needs no server and no round trip to the admin, and is
// worthless to anyone but the bound node (bulk connections prove the node key, see bulk-handshake.ts).
// An invite is a bearer secret until it expires: whoever holds it can join (see README, threat model),
// unless it was made for one node (`team invite --for NODE_ID`): then only that node can bind it.
//
// Revocations are a list signed by the team key with a sequence number; the highest valid list wins:
//   revocations = "PSTR" | v1 | team key (32) | seq u64 | count u16 | node ids (32 each) | team signature (64)

import { createHash, createPrivateKey } from "node:crypto";
import { BinaryReader, BinaryWriter, WireFormatError } from "../util/binary";
import { nodeIdFromPublicKey } from "../dht/id";
import { Identity, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, SignatureVerifier } from "./identity";
import { decodeHints, HintError, Hints } from "../first-contact/hints";

import type { TeamRole } from "../rpc/api-types";

export type { TeamRole };
const ROLE_CODES: Record<TeamRole, number> = { read: 1, write: 2 };

const INVITATION_MAGIC = Buffer.from("PSTI");
const BINDING_MAGIC = Buffer.from("PSTB");
const REVOCATIONS_MAGIC = Buffer.from("PSTR");
const VERSION = 1;
/** Version of an invitation made for one node (it carries that node's ID). */
const INVITATION_FOR_NODE_VERSION = 2;
export const MAX_TEAM_NAME_BYTES = 64;
/** Revocations per team: a list must fit a bulk HELLO item (bulk-protocol.ts, 40 KiB). */
export const MAX_REVOCATIONS = 1024;
const ID_BYTES = 32;

export interface Invitation {
  teamKey: Buffer;
  inviteKey: Buffer;
  role: TeamRole;
  /** Milliseconds since the epoch after which the invitation, and memberships made from it, end. */
  expires: number;
  /** The node that created the team (its admin). */
  issuer: Buffer;
  teamName: string;
  /** The ID of the only node that may bind this invitation; null: any node holding the invite. */
  forNode: Buffer | null;
  signature: Buffer;
  /** The encoded bytes (what the binding signs the hash of). */
  bytes: Buffer;
}

export interface Membership {
  invitation: Invitation;
  member: Buffer;
  signature: Buffer;
}

export interface RevocationList {
  teamKey: Buffer;
  seq: number;
  revoked: Buffer[];
  bytes: Buffer;
}

export class TeamCertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TeamCertError";
  }
}

// PKCS#8 DER prefix of a raw Ed25519 private key seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** An Ed25519 signer from a 32-byte seed (team and invite keys are kept as seeds). */
export function signerFromSeed(seed: Buffer): Identity {
  if (seed.length !== 32) throw new TeamCertError("an Ed25519 seed is 32 bytes");
  return new Identity(createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" }));
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest();

function invitationBody(i: Omit<Invitation, "signature" | "bytes">): Buffer {
  const name = Buffer.from(i.teamName, "utf8");
  if (name.length === 0 || name.length > MAX_TEAM_NAME_BYTES) throw new TeamCertError(`a team name is 1 to ${MAX_TEAM_NAME_BYTES} bytes`);
  if (i.forNode && i.forNode.length !== ID_BYTES) throw new TeamCertError(`a node ID is ${ID_BYTES} bytes`);
  const w = new BinaryWriter()
    .bytes(INVITATION_MAGIC)
    .u8(i.forNode ? INVITATION_FOR_NODE_VERSION : VERSION)
    .bytes(i.teamKey)
    .bytes(i.inviteKey)
    .u8(ROLE_CODES[i.role])
    .u64(i.expires)
    .bytes(i.issuer)
    .u8(name.length)
    .bytes(name);
  if (i.forNode) w.bytes(i.forNode);
  return w.finish();
}

/** An invitation signed by the team key; with `forNode`, only the node with that ID can bind it. */
export function createInvitation(team: Identity, invite: Identity, role: TeamRole, expires: number, issuer: Buffer, teamName: string, forNode: Buffer | null = null): Invitation {
  const fields = { teamKey: team.publicKey, inviteKey: invite.publicKey, role, expires, issuer, teamName, forNode };
  const body = invitationBody(fields);
  const signature = team.sign(body);
  return { ...fields, signature, bytes: Buffer.concat([body, signature]) };
}

function readInvitation(r: BinaryReader): Invitation {
  if (!r.bytes(4).equals(INVITATION_MAGIC)) throw new WireFormatError("not a team invitation");
  const version = r.u8();
  if (version !== VERSION && version !== INVITATION_FOR_NODE_VERSION) throw new WireFormatError(`unknown invitation version ${version}`);
  const teamKey = Buffer.from(r.bytes(PUBLIC_KEY_BYTES));
  const inviteKey = Buffer.from(r.bytes(PUBLIC_KEY_BYTES));
  const code = r.u8();
  const role = (Object.keys(ROLE_CODES) as TeamRole[]).find((k) => ROLE_CODES[k] === code);
  if (!role) throw new WireFormatError(`unknown role ${code}`);
  const expires = r.u64();
  const issuer = Buffer.from(r.bytes(PUBLIC_KEY_BYTES));
  const nameLength = r.u8();
  if (nameLength === 0 || nameLength > MAX_TEAM_NAME_BYTES) throw new WireFormatError("bad team name length");
  const teamName = r.bytes(nameLength).toString("utf8");
  const forNode = version === INVITATION_FOR_NODE_VERSION ? Buffer.from(r.bytes(ID_BYTES)) : null;
  const signature = Buffer.from(r.bytes(SIGNATURE_BYTES));
  const body = invitationBody({ teamKey, inviteKey, role, expires, issuer, teamName, forNode });
  return { teamKey, inviteKey, role, expires, issuer, teamName, forNode, signature, bytes: Buffer.concat([body, signature]) };
}

export function bindMember(invitation: Invitation, invite: Identity, member: Buffer): Membership {
  if (!invite.publicKey.equals(invitation.inviteKey)) throw new TeamCertError("this invite key does not belong to the invitation");
  const signature = invite.sign(bindingBody(invitation, member));
  return { invitation, member, signature };
}

function bindingBody(invitation: Invitation, member: Buffer): Buffer {
  return new BinaryWriter().bytes(BINDING_MAGIC).u8(VERSION).bytes(sha256(invitation.bytes)).bytes(member).finish();
}

export function encodeMembership(m: Membership): Buffer {
  return Buffer.concat([m.invitation.bytes, bindingBody(m.invitation, m.member), m.signature]);
}

/** Parses a membership; throws WireFormatError on malformed bytes (signatures are checked by verifyMembership). */
export function decodeMembership(bytes: Buffer): Membership {
  const r = new BinaryReader(bytes);
  const invitation = readInvitation(r);
  if (!r.bytes(4).equals(BINDING_MAGIC) || r.u8() !== VERSION) throw new WireFormatError("not a team binding");
  if (!r.bytes(ID_BYTES).equals(sha256(invitation.bytes))) throw new WireFormatError("the binding is for another invitation");
  const member = Buffer.from(r.bytes(PUBLIC_KEY_BYTES));
  const signature = Buffer.from(r.bytes(SIGNATURE_BYTES));
  r.end();
  return { invitation, member, signature };
}

/**
 * Why a membership does not prove that `member` belongs to the team, or null when it does:
 * both signatures hold, it is bound to that node key, and it has not expired.
 */
export function membershipProblem(m: Membership, member: Buffer, now: number, verifier: SignatureVerifier): string | null {
  const inv = m.invitation;
  if (!m.member.equals(member)) return "bound to another node";
  if (inv.forNode && !inv.forNode.equals(nodeIdFromPublicKey(member))) return "the invitation is for another node";
  if (inv.expires <= now) return "expired";
  const body = inv.bytes.subarray(0, inv.bytes.length - SIGNATURE_BYTES);
  if (!verifier.verify(inv.teamKey, body, inv.signature)) return "invitation not signed by the team key";
  if (!verifier.verify(inv.inviteKey, bindingBody(inv, m.member), m.signature)) return "binding not signed by the invite key";
  return null;
}

/**
 * The invite string a teammate redeems: the invitation plus the invite key's seed and the team's
 * convergence secret, in base64url without padding, optionally followed by "=<address hints>"
 * (first-contact/hints.ts: where the inviting node may be found). Since "=" never occurs in the body,
 * it only ever starts the hints; a node of the release before hints decodes the body alone (Node's
 * base64 decoder stops at "=") and joins without them.
 */
const INVITE_PREFIX = "peershare-invite:";
const HINTS_SEPARATOR = "=";

export interface InviteSecrets {
  invitation: Invitation;
  inviteSeed: Buffer;
  convergenceSecret: Buffer;
}

/** `hints`: encoded hint text to append, if any. */
export function formatInvite(s: InviteSecrets, hints?: string | null): string {
  const body = new BinaryWriter().varBytes(s.invitation.bytes).bytes(s.inviteSeed).bytes(s.convergenceSecret).finish();
  return INVITE_PREFIX + body.toString("base64url") + (hints ? HINTS_SEPARATOR + hints : "");
}

/** The invite's body and its hint text ("" when it has none). */
function splitInvite(text: string): { body: string; hints: string } {
  const trimmed = text.trim();
  if (!trimmed.startsWith(INVITE_PREFIX)) throw new TeamCertError(`an invite starts with "${INVITE_PREFIX}"`);
  const rest = trimmed.slice(INVITE_PREFIX.length).replace(/\s+/g, ""); // a chat may have broken the line
  const at = rest.indexOf(HINTS_SEPARATOR);
  return at < 0 ? { body: rest, hints: "" } : { body: rest.slice(0, at), hints: rest.slice(at + 1) };
}

/** The address hints an invite carries, or null; a TeamCertError says what is wrong with them. */
export function inviteHints(text: string): Hints | null {
  const { hints } = splitInvite(text);
  if (!hints) return null;
  try {
    return decodeHints(hints);
  } catch (err) {
    if (err instanceof HintError) throw new TeamCertError(`the invite's address hints (after "=") are unusable: ${err.message}`);
    throw err;
  }
}

export function parseInvite(text: string): InviteSecrets {
  const { body } = splitInvite(text);
  inviteHints(text); // a damaged hint part is refused with the rest
  try {
    const r = new BinaryReader(Buffer.from(body, "base64url"));
    const invBytes = r.varBytes(512);
    const invitation = readInvitation(new BinaryReader(invBytes));
    const inviteSeed = Buffer.from(r.bytes(32));
    const convergenceSecret = Buffer.from(r.bytes(32));
    r.end();
    return { invitation, inviteSeed, convergenceSecret };
  } catch (err) {
    if (err instanceof WireFormatError) throw new TeamCertError(`not a valid invite (${err.message}); copy the whole line that \`peershare team invite\` printed`);
    throw err;
  }
}

export function createRevocations(team: Identity, seq: number, revoked: Buffer[]): RevocationList {
  if (revoked.length > MAX_REVOCATIONS) throw new TeamCertError(`at most ${MAX_REVOCATIONS} revocations per team`);
  const w = new BinaryWriter().bytes(REVOCATIONS_MAGIC).u8(VERSION).bytes(team.publicKey).u64(seq).u16(revoked.length);
  for (const id of revoked) w.bytes(id);
  const body = w.finish();
  return { teamKey: team.publicKey, seq, revoked, bytes: Buffer.concat([body, team.sign(body)]) };
}

/** Parses and checks a revocation list; null when malformed or not signed by its team key. */
export function decodeRevocations(bytes: Buffer, verifier: SignatureVerifier): RevocationList | null {
  try {
    const r = new BinaryReader(bytes);
    if (!r.bytes(4).equals(REVOCATIONS_MAGIC) || r.u8() !== VERSION) return null;
    const teamKey = Buffer.from(r.bytes(PUBLIC_KEY_BYTES));
    const seq = r.u64();
    const count = r.u16();
    if (count > MAX_REVOCATIONS) return null;
    const revoked: Buffer[] = [];
    for (let i = 0; i < count; i++) revoked.push(Buffer.from(r.bytes(ID_BYTES)));
    const signature = r.bytes(SIGNATURE_BYTES);
    r.end();
    const body = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
    if (!verifier.verify(teamKey, body, signature)) return null;
    return { teamKey, seq, revoked, bytes: Buffer.from(bytes) };
  } catch {
    return null;
  }
}
