// The Teams view and the questions the team commands ask, built from node-host API results. Pure:
// teams.ts maps these onto VS Code's tree view, quick picks and notifications.
import { RpcErrors, type TeamMember, type TeamRole, type TeamSummary } from "../node-host/rpc/api-types";
import { formatAgo, normalizeKey, pluralize, shortId } from "./format";
import type { TreeNode } from "./treeModel";

/** What every invite string starts with (node-host/security/team-cert.ts). */
export const INVITE_PREFIX = "peershare-invite:";
/** A membership that never ends (the creator's own) expires in the year 9999. */
const FOREVER_AFTER = Date.UTC(9000, 0, 1);
export const TEAM_NAME_MAX_BYTES = 64;

export const ROLE_CHOICES: readonly { role: TeamRole; label: string; detail: string }[] = [
  { role: "read", label: "read", detail: "Can fetch the team's private shares" },
  { role: "write", label: "write", detail: "Can also share with the team: the team's nodes store its replicas and records" },
];

/** "never" for the creator's membership, else "in 6d" / "2h ago" style. */
export function formatExpiry(expires: number, now: number): string {
  if (expires >= FOREVER_AFTER) return "never";
  if (expires <= now) return `expired ${formatAgo(expires, now)}`;
  // rounded: an invite made a moment ago for 7 days ends "in 7d"
  const s = Math.round((expires - now) / 1000);
  if (s < 60) return `in ${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `in ${m}m`;
  const h = Math.round(m / 60);
  if (h < 48) return `in ${h}h`;
  return `in ${Math.round(h / 24)}d`;
}

/** Members that count: not revoked (this node included). */
function activeMembers(members: readonly TeamMember[]): number {
  return members.filter((m) => !m.revoked).length;
}

function memberNode(team: TeamSummary, m: TeamMember, now: number): TreeNode {
  const expired = m.expires <= now;
  const revocable = team.admin && !m.self && !m.revoked;
  return {
    key: `team:${team.teamKey}:${m.nodeId}`,
    label: shortId(m.nodeId, 8),
    description: [
      m.role,
      m.self ? "this node" : undefined,
      m.revoked ? "revoked" : expired ? "expired" : undefined,
      !m.self && m.lastSeen ? `seen ${formatAgo(m.lastSeen, now)}` : undefined,
    ]
      .filter(Boolean)
      .join(" · "),
    tooltip: [
      `**Member of ${team.name}** \`${m.nodeId}\``,
      "",
      `- Role: ${m.role}${m.self ? " (this node)" : ""}`,
      `- Membership ends: ${formatExpiry(m.expires, now)}`,
      m.revoked ? "- Revoked: it can no longer fetch the team's private shares" : undefined,
      m.self ? undefined : `- Last proved its membership to this node: ${m.lastSeen ? formatAgo(m.lastSeen, now) : "never"}`,
    ]
      .filter((l) => l !== undefined)
      .join("\n"),
    icon: m.revoked ? { id: "circle-slash", color: "disabledForeground" } : m.self ? { id: "account" } : { id: "person" },
    contextValue: revocable ? "teamMember.revocable" : "teamMember",
    copyValue: m.nodeId,
    team: team.teamKey,
  };
}

/**
 * One row per team (name; role, admin, members), its members as children. `members` holds the
 * answer of team.members per team key; a team whose members are unknown shows the count it has.
 */
export function teamNodes(teams: readonly TeamSummary[], members: ReadonlyMap<string, readonly TeamMember[]>, now: number): TreeNode[] {
  return [...teams]
    .sort((a, b) => a.name.localeCompare(b.name) || a.teamKey.localeCompare(b.teamKey))
    .map((t) => {
      const list = members.get(t.teamKey);
      const count = list ? activeMembers(list) : t.membersSeen + 1;
      return {
        key: `team:${t.teamKey}`,
        label: t.name,
        description: [t.role, t.admin ? "admin" : undefined, pluralize(count, "member")].filter(Boolean).join(" · "),
        tooltip: [
          `**Team ${t.name}**`,
          "",
          `- Team key: \`${t.teamKey}\``,
          `- This node's role: ${t.role}${t.admin ? "; it holds the team key (invites and revokes members)" : ""}`,
          `- Membership ends: ${formatExpiry(t.expires, now)}`,
          `- Members seen: ${t.membersSeen}${t.revoked ? ` · revoked: ${t.revoked}` : ""}`,
        ].join("\n"),
        icon: { id: "organization" },
        contextValue: t.admin ? "team.admin" : "team.member",
        copyValue: t.teamKey,
        team: t.teamKey,
        expanded: true,
        children: (list ?? []).map((m) => memberNode(t, m, now)),
      };
    });
}

export function teamsDescription(teams: readonly TeamSummary[]): string | undefined {
  return teams.length ? pluralize(teams.length, "team") : undefined;
}

/** A team named by a command's caller: by key, key prefix (8+ hex digits) or name. */
export function findTeam(teams: readonly TeamSummary[], ref: string): TeamSummary | undefined {
  const r = ref.trim();
  return teams.find((t) => t.teamKey === r.toLowerCase()) ?? teams.find((t) => t.name === r) ?? (r.length >= 8 ? teams.find((t) => t.teamKey.startsWith(r.toLowerCase())) : undefined);
}

/**
 * The question Share File to Peers asks: which teams may read the file. null when there is nothing
 * to ask (zero or one team: the node uses its only team, or none); otherwise every team, all picked.
 */
export function shareTeamChoices(teams: readonly TeamSummary[]): { label: string; description: string; teamKey: string; picked: boolean }[] | null {
  if (teams.length <= 1) return null;
  return [...teams]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((t) => ({ label: t.name, description: `${t.role}${t.admin ? " · admin" : ""} · ${shortId(t.teamKey, 8)}`, teamKey: t.teamKey, picked: true }));
}

/** Members an admin may revoke: everyone but itself and those already revoked. */
export function revocableMembers(members: readonly TeamMember[]): TeamMember[] {
  return members.filter((m) => !m.self && !m.revoked);
}

/** The input box's check of a typed invite; undefined when it looks right (or is still empty). */
export function inviteProblem(text: string): string | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  if (!t.startsWith(INVITE_PREFIX)) return `An invite starts with "${INVITE_PREFIX}"`;
  // the body in base64url, then "=" and the inviting node's address hints when it has any
  if (!/^[A-Za-z0-9_-]+(=[A-Za-z0-9_-]+)?$/.test(t.slice(INVITE_PREFIX.length))) return "Paste the whole invite, on one line";
  return undefined;
}

export function teamNameProblem(text: string): string | undefined {
  const t = text.trim();
  if (t === "") return "Enter a name";
  if (new TextEncoder().encode(t).length > TEAM_NAME_MAX_BYTES) return `A team name is at most ${TEAM_NAME_MAX_BYTES} bytes`;
  return undefined;
}

/** The notification shown with a fresh invite: what it grants, until when, and that it is a secret. */
export function inviteMessage(inv: { team: string; role: TeamRole; expires: number; forNode?: string | null }, now: number): string {
  const who = inv.forNode
    ? `Only node ${inv.forNode.slice(0, 16)}… can use it; keep it secret all the same (it carries the team's convergence secret).`
    : "Keep it secret: whoever holds it can join the team until then. Send it to your teammate privately.";
  return `peershare: an invite to team "${inv.team}" (role ${inv.role}) is ready; it works until ${new Date(inv.expires).toISOString().slice(0, 16).replace("T", " ")} UTC (${formatExpiry(inv.expires, now)}). ${who}`;
}

/** Why `text` is not a node ID for an invite (64 hex digits), or undefined; empty is fine (an invite for anyone). */
export function inviteNodeProblem(text: string): string | undefined {
  return text.trim() === "" || normalizeKey(text) ? undefined : "A node ID is 64 hex digits (`peershare id` on the teammate's node); leave it empty for an invite anyone holding it can use";
}

/** True for the error of a fetch (or open) that every holder refused by its access policy. */
export function isForbidden(err: unknown): boolean {
  return !!err && typeof err === "object" && (err as { code?: unknown }).code === RpcErrors.Forbidden;
}
