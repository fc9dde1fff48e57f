// `peershare team`: create, invite, join, list, members and revoke.

import { Flags, needArgs, UsageError } from "./args";
import { formatMembers, formatTeams } from "./format";
import { print, subcommands, VerbGroup, withNode } from "./verb";

/** "30m", "12h", "7d" (or plain seconds) → milliseconds. */
function durationMs(text: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`--expires takes a duration like 30m, 12h or 7d, not "${text}"`);
  return Number(m[1]) * { "": 1000, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[m[2] as "" | "s" | "m" | "h" | "d"];
}

/** The team named with --team (at most one), if any. */
function oneTeam(flags: Flags): string | undefined {
  if ((flags.team?.length ?? 0) > 1) throw new UsageError("name one team with --team");
  return flags.team?.[0];
}

const team = subcommands(
  {
    create: async (flags, args) => {
      needArgs(args, 1, "team create NAME");
      const r = await withNode(flags, "team.create", { name: args[0] });
      print(flags, r, () => `created team "${r.name}" (${r.teamKey.slice(0, 16)}…); this node holds its key\n  invite a teammate with: peershare team invite --role read|write`);
    },
    invite: async (flags, args) => {
      needArgs(args, 0, "team invite [--team NAME] [--role read|write] [--expires 7d] [--for NODE_ID]");
      const role = flags.role ?? "read";
      if (role !== "read" && role !== "write") throw new UsageError('--role is "read" or "write"');
      const r = await withNode(flags, "team.invite", { team: oneTeam(flags), role, expiresInMs: flags.expires ? durationMs(flags.expires) : undefined, forNode: flags.for, hints: flags["no-hints"] !== true });
      const who = r.forNode ? `only node ${r.forNode.slice(0, 16)}… can use it` : "whoever holds it can join: keep it secret";
      print(flags, r, () => `${r.invite}\n  joins team "${r.team}" with role ${r.role}, until ${new Date(r.expires).toISOString()}; ${who}\n  the teammate runs: peershare team join '<the line above>'`);
    },
    join: async (flags, args) => {
      needArgs(args, 1, "team join INVITE");
      const r = await withNode(flags, "team.join", { invite: args[0] });
      const reached = r.hints?.filter((h) => h.outcome === "used").length ?? 0;
      const via = r.hints ? `; ${reached} of the invite's ${r.hints.length} address hint(s) answered` : "";
      const kept = r.bootstrapAdded?.length ? `\n  kept as bootstrap contacts: ${r.bootstrapAdded.join(", ")}` : "";
      print(flags, r, () => `joined team "${r.name}" with role ${r.role}${via}${kept}`);
    },
    list: async (flags) => {
      const r = await withNode(flags, "team.list", {});
      print(flags, r, () => formatTeams(r));
    },
    members: async (flags) => {
      const r = await withNode(flags, "team.members", { team: oneTeam(flags) });
      print(flags, r, () => formatMembers(r));
    },
    revoke: async (flags, args) => {
      needArgs(args, 1, "team revoke NODE_ID");
      const r = await withNode(flags, "team.revoke", { team: oneTeam(flags), nodeId: args[0] });
      print(flags, r, () => `revoked ${r.revoked.slice(0, 16)}… from team "${r.team}" (revocation list #${r.seq}); it can no longer fetch the team's private shares`);
    },
  },
  "expected team create|invite|join|list|members|revoke",
);

export const teamVerbs: VerbGroup = {
  title: "Teams",
  verbs: [
    {
      name: "team",
      summary: [
        ["team create NAME", "make a team; this node holds its key (invites, revocations)"],
        ["team invite", "print an invite for a teammate  [--role read|write] [--expires 7d] [--for NODE_ID] [--no-hints]"],
        ["team join INVITE", "redeem an invite: this node becomes a member"],
        ["team list", "the teams this node is in"],
        ["team members", "members seen, with role and revocation  [--team NAME]"],
        ["team revoke NODE_ID", "end a member's access  [--team NAME]"],
      ],
      help: `Usage:
  peershare team create NAME [--json]
  peershare team invite [--team NAME] [--role read|write] [--expires DURATION] [--for NODE_ID] [--no-hints] [--json]
  peershare team join INVITE [--json]
  peershare team list [--json]
  peershare team members [--team NAME] [--json]
  peershare team revoke NODE_ID [--team NAME] [--json]

A team is a key pair held by the node that created it. Its members prove membership with a
certificate signed through that key and bound to their node key; a node in a team serves private
shares only to members of the teams they were shared with, and stores replicas only for members
with write role. An invite (default role read, valid 7 days; DURATION like 30m, 12h, 7d) is a
secret: whoever holds it can join until it expires. An invite made --for a node ID (what
\`peershare id\` prints on the teammate's node) lets only that node join. Only the team's creator
can invite and revoke; revocations spread to other nodes as they connect.
An invite carries address hints (where this node can be reached, or its rendezvous nodes behind
NAT; --no-hints leaves them out), so a teammate's node with nothing configured joins the network
through them; the ones that answer are kept as its bootstrap contacts.`,
      run: team,
    },
  ],
};
