// Teams in VS Code: the Teams view (each team with its members) and the team verbs (Create, Invite,
// Join, Show Members, Revoke). The view's content comes from teamModel.ts. (Where teams meet
// sharing: sharing.ts asks which teams may read a new share; failures.ts offers Join Team… for a
// fetch every holder refused.)
import * as vscode from "vscode";
import type { TeamInvite, TeamMember, TeamRole, TeamSummary } from "../../node-host/rpc/api-types";
import { copyWithNotice, registerCommands } from "../commands";
import { formatAgo, normalizeKey, shortId } from "../format";
import { errorText } from "../nodeHost";
import type { Services } from "../services";
import {
  findTeam,
  inviteMessage,
  inviteNodeProblem,
  inviteProblem,
  revocableMembers,
  ROLE_CHOICES,
  teamNameProblem,
  teamNodes,
  teamsDescription,
} from "../teamModel";
import type { TreeNode } from "../treeModel";
import { VIEW, type NodeTreeView } from "../views";

export function registerTeams(context: vscode.ExtensionContext, s: Services): void {
  const teams = new TeamsUi(s, s.views.create(VIEW.teams, true));
  s.data.addRefresher(() => teams.refresh());
  context.subscriptions.push(s.data.onDidChange(() => teams.setNotRunning(s.node.notRunningMessage())));
  teams.registerCommands(context);
}

const isNode = (v: unknown): v is TreeNode => !!v && typeof v === "object" && typeof (v as TreeNode).key === "string";

/** The Teams view's state (teams and their members, as last read) and the team verbs. */
class TeamsUi {
  private list: TeamSummary[] = [];
  private members = new Map<string, TeamMember[]>();
  private notRunning: string | undefined;

  constructor(
    private readonly s: Services,
    private readonly tree: NodeTreeView,
  ) {}

  /** Reads the node's teams and their members; never rejects. */
  async refresh(): Promise<void> {
    if (!this.s.host.isRunning) {
      this.list = [];
      this.members.clear();
      this.render();
      return;
    }
    try {
      const teams = await this.s.host.request("team.list", {});
      const members = new Map<string, TeamMember[]>();
      await Promise.all(
        teams.map((t) =>
          this.s.host.request("team.members", { team: t.teamKey }).then(
            (m) => void members.set(t.teamKey, m),
            (err) => this.s.log.warn(`team.members ${t.name} failed: ${errorText(err)}`),
          ),
        ),
      );
      this.list = teams;
      this.members = members;
    } catch (err) {
      this.s.log.warn(`team.list failed: ${errorText(err)}`);
    }
    this.render();
  }

  /** Shows `notRunning` instead of the teams while the node does not run (undefined: it runs). */
  setNotRunning(notRunning: string | undefined): void {
    this.notRunning = notRunning;
    this.render();
  }

  private render(): void {
    const notRunning = this.notRunning;
    const running = !notRunning;
    this.tree.provider.set(running ? teamNodes(this.list, this.members, Date.now()) : []);
    this.tree.view.message = notRunning;
    this.tree.view.description = running ? teamsDescription(this.list) : undefined;
  }

  // ---- commands --------------------------------------------------------------------------

  /**
   * The team a command is about: the row it was invoked on, a key or name passed by a caller, else
   * the only candidate, else one the user picks. `adminOnly`: teams this node can invite to.
   */
  private async pickTeam(arg: unknown, title: string, adminOnly: boolean): Promise<TeamSummary | undefined> {
    const ref = isNode(arg) ? arg.team : typeof arg === "string" ? arg : undefined;
    await this.refresh();
    if (ref) {
      const t = findTeam(this.list, ref);
      if (!t) void vscode.window.showErrorMessage(`peershare: this node is in no team "${ref}"`);
      return t;
    }
    const candidates = adminOnly ? this.list.filter((t) => t.admin) : this.list;
    if (candidates.length === 1) return candidates[0];
    if (!candidates.length) {
      const msg = adminOnly && this.list.length
        ? "peershare: only the node that created a team can invite and revoke members, and this node created none of its teams."
        : "peershare: this node is in no team yet. Create one, or join one with an invite from its admin.";
      void vscode.window.showInformationMessage(msg, "Create Team", "Join Team").then((c) => {
        if (c) void vscode.commands.executeCommand(c === "Create Team" ? "peershare.createTeam" : "peershare.joinTeam");
      });
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      candidates.map((t) => ({ label: t.name, description: `${t.role}${t.admin ? " · admin" : ""} · ${shortId(t.teamKey, 8)}`, team: t })),
      { title, placeHolder: "Choose a team" },
    );
    return pick?.team;
  }

  registerCommands(context: vscode.ExtensionContext): void {
    registerCommands(context, {
      "peershare.createTeam": (nameArg?: unknown) => this.createTeam(nameArg),
      "peershare.inviteToTeam": (teamArg?: unknown, roleArg?: unknown, forNodeArg?: unknown) => this.invite(teamArg, roleArg, forNodeArg),
      "peershare.joinTeam": (inviteArg?: unknown) => this.join(inviteArg),
      "peershare.showTeamMembers": (teamArg?: unknown) => this.showMembers(teamArg),
      "peershare.revokeTeamMember": (arg?: unknown, nodeArg?: unknown) => this.revoke(arg, nodeArg),
    });
  }

  /** Create Team: of the name given, else one asked for. */
  private async createTeam(nameArg: unknown): Promise<TeamSummary | undefined> {
    if (!(await this.s.node.require())) return;
    let name = typeof nameArg === "string" ? nameArg.trim() : undefined;
    if (!name) {
      name = (
        await vscode.window.showInputBox({
          title: "peershare: Create Team",
          prompt: "Name of the new team (teammates see it when they join). This node will hold the team's key: it invites and revokes members.",
          placeHolder: "e.g. design-review",
          ignoreFocusOut: true,
          validateInput: (v) => (v === "" ? undefined : teamNameProblem(v)),
        })
      )?.trim();
      if (!name) return;
    }
    let t: TeamSummary;
    try {
      t = await this.s.host.request("team.create", { name });
    } catch (err) {
      return void this.s.failed(`could not create team "${name}"`, err);
    }
    this.s.log.info(`created team "${t.name}" (${t.teamKey})`);
    await this.refresh();
    void vscode.window.showInformationMessage(`peershare: created team "${t.name}"; this node holds its key. Invite teammates to give them access to what you share.`, "Invite to Team…").then((c) => {
      if (c) void vscode.commands.executeCommand("peershare.inviteToTeam", t.teamKey);
    });
    return t;
  }

  /** Invite to Team: role and node given by a caller (a test, another extension), else asked for. */
  private async invite(teamArg: unknown, roleArg: unknown, forNodeArg: unknown): Promise<TeamInvite | undefined> {
    if (!(await this.s.node.require())) return;
    const team = await this.pickTeam(teamArg, "peershare: Invite to Team", true);
    if (!team) return;
    let role: TeamRole | undefined = roleArg === "read" || roleArg === "write" ? roleArg : undefined;
    // an argument goes to the node as given: a malformed one is refused there, never widened to anyone
    let forNode = typeof forNodeArg === "string" && forNodeArg.trim() !== "" ? forNodeArg.trim() : undefined;
    if (!role) {
      const asked = await askInviteTerms(team);
      if (!asked) return;
      ({ role, forNode } = asked);
    }
    let inv: TeamInvite;
    try {
      inv = await this.s.host.request("team.invite", { team: team.teamKey, role, forNode });
    } catch (err) {
      return void this.s.failed(`could not make an invite to team "${team.name}"`, err);
    }
    // The invite itself is a secret: never logged.
    this.s.log.info(`made an invite to team "${inv.team}" (role ${inv.role}, valid until ${new Date(inv.expires).toISOString()})`);
    void vscode.window.showWarningMessage(inviteMessage(inv, Date.now()), "Copy Invite").then(async (c) => {
      if (c === "Copy Invite") await copyWithNotice(inv.invite, "peershare: invite copied (it is a secret)", 5000);
    });
    return inv;
  }

  /** Join Team: with the invite given, else one pasted. */
  private async join(inviteArg: unknown): Promise<TeamSummary | undefined> {
    if (!(await this.s.node.require())) return;
    let invite = typeof inviteArg === "string" ? inviteArg.trim() : undefined;
    if (!invite) {
      invite = (
        await vscode.window.showInputBox({
          title: "peershare: Join Team",
          prompt: "Paste the invite a team's admin gave you. Your node joins the team with the invite's role.",
          placeHolder: "peershare-invite:…",
          ignoreFocusOut: true,
          validateInput: inviteProblem,
        })
      )?.trim();
      if (!invite) return;
    }
    let t: TeamSummary;
    try {
      t = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "peershare: joining the team…" }, () => this.s.host.request("team.join", { invite }));
    } catch (err) {
      return void this.s.failed("could not join the team", err);
    }
    this.s.log.info(`joined team "${t.name}" (${t.teamKey}) with role ${t.role}`);
    await this.refresh();
    void vscode.window.showInformationMessage(`peershare: joined team "${t.name}" with role ${t.role}.`);
    return t;
  }

  /** Show Team Members: a pick of the team's members; a pick copies its node ID. */
  private async showMembers(teamArg: unknown): Promise<TeamMember[] | undefined> {
    if (!(await this.s.node.require())) return;
    const team = await this.pickTeam(teamArg, "peershare: Show Team Members", false);
    if (!team) return;
    const members = this.members.get(team.teamKey);
    if (!members) return void this.s.failed(`could not list the members of team "${team.name}"`, "team.members failed (see the log)");
    void vscode.commands.executeCommand(`${VIEW.teams}.focus`);
    const now = Date.now();
    const pick = await vscode.window.showQuickPick(
      members.map((m) => ({
        label: `$(${m.revoked ? "circle-slash" : m.self ? "account" : "person"}) ${shortId(m.nodeId, 16)}`,
        description: [m.role, m.self ? "this node" : undefined, m.revoked ? "revoked" : undefined, !m.self && m.lastSeen ? `seen ${formatAgo(m.lastSeen, now)}` : undefined].filter(Boolean).join(" · "),
        detail: m.nodeId,
        nodeId: m.nodeId,
      })),
      { title: `peershare: Members of ${team.name} (${members.length} known to this node)`, placeHolder: "Choose a member to copy its node ID", matchOnDetail: true },
    );
    if (pick) await copyWithNotice(pick.nodeId, "peershare: node ID copied");
    return members;
  }

  /** Revoke Team Member: the member row it was invoked on, (team, node ID) from a caller, else picked and confirmed. */
  private async revoke(arg: unknown, nodeArg: unknown): Promise<{ team: string; revoked: string; seq: number } | undefined> {
    if (!(await this.s.node.require())) return;
    let team: TeamSummary | undefined;
    let nodeId: string | undefined;
    // A caller passing (team, node ID) has decided already; the UI asks first.
    const confirm = !(typeof arg === "string" && typeof nodeArg === "string");
    if (isNode(arg) && arg.team && arg.copyValue) {
      team = await this.pickTeam(arg.team, "peershare: Revoke Team Member", true);
      nodeId = arg.copyValue;
    } else if (!confirm) {
      team = await this.pickTeam(arg, "peershare: Revoke Team Member", true);
      nodeId = nodeArg as string;
    } else {
      team = await this.pickTeam(undefined, "peershare: Revoke Team Member", true);
      if (!team) return;
      nodeId = await this.pickRevocable(team);
    }
    if (!team || !nodeId) return;
    if (confirm && !(await confirmRevoke(team, nodeId))) return;
    let r: { team: string; revoked: string; seq: number };
    try {
      r = await this.s.host.request("team.revoke", { team: team.teamKey, nodeId });
    } catch (err) {
      return void this.s.failed(`could not revoke ${shortId(nodeId, 12)} from team "${team.name}"`, err);
    }
    this.s.log.info(`revoked ${r.revoked} from team "${r.team}" (revocation list #${r.seq})`);
    await this.refresh();
    void vscode.window.showInformationMessage(`peershare: revoked ${shortId(r.revoked, 12)} from team "${r.team}"; it can no longer fetch the team's private shares.`);
    return r;
  }

  /** The member of `team` whose access ends, picked among those this node has seen. */
  private async pickRevocable(team: TeamSummary): Promise<string | undefined> {
    const candidates = revocableMembers(this.members.get(team.teamKey) ?? []);
    if (!candidates.length) {
      void vscode.window.showInformationMessage(`peershare: no member of team "${team.name}" to revoke. Members show up here once their node has proved its membership to this one.`);
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      candidates.map((m) => ({ label: shortId(m.nodeId, 16), description: [m.role, m.lastSeen ? `seen ${formatAgo(m.lastSeen, Date.now())}` : undefined].filter(Boolean).join(" · "), detail: m.nodeId, nodeId: m.nodeId })),
      { title: `peershare: Revoke a member of ${team.name}`, placeHolder: "Choose the member whose access ends", matchOnDetail: true },
    );
    return pick?.nodeId;
  }
}

/** Asks the role of an invite and, optionally, the one node that may use it; undefined when the user backed out. */
async function askInviteTerms(team: TeamSummary): Promise<{ role: TeamRole; forNode: string | undefined } | undefined> {
  const pick = await vscode.window.showQuickPick(
    ROLE_CHOICES.map((c) => ({ label: c.label, detail: c.detail, role: c.role })),
    { title: `peershare: Invite to ${team.name}`, placeHolder: "Role of the new member" },
  );
  if (!pick?.role) return undefined;
  const node = await vscode.window.showInputBox({
    title: `peershare: Invite to ${team.name}`,
    prompt: "For one node only? Its node ID (Copy Node ID on its row in Peers, or `peershare id` on that node). Leave empty for an invite anyone holding it can use.",
    placeHolder: "node ID (optional)",
    validateInput: inviteNodeProblem,
  });
  if (node === undefined) return undefined;
  return { role: pick.role, forNode: normalizeKey(node) }; // empty: an invite for anyone (validateInput let nothing else through)
}

/** The modal that confirms a revocation. */
async function confirmRevoke(team: TeamSummary, nodeId: string): Promise<boolean> {
  const c = await vscode.window.showWarningMessage(
    `Revoke node ${shortId(nodeId, 12)} from team "${team.name}"?`,
    { modal: true, detail: "It can no longer fetch the team's private shares, and the team's nodes stop storing its replicas. This cannot be undone." },
    "Revoke",
  );
  return c === "Revoke";
}
