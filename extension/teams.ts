// Teams in VS Code: the Teams view (each team with its members) and the team verbs (Create, Invite,
// Join, Show Members, Revoke), plus the two places teams meet sharing: which teams may read a new
// share, and a fetch every holder refused. The view's content comes from teamModel.ts.
import * as vscode from "vscode";
import type { TeamInvite, TeamMember, TeamRole, TeamSummary } from "../node-host/rpc/api-types";
import { formatAgo, normalizeKey, shortId } from "./format";
import { errorText, type NodeHost } from "./nodeHost";
import {
  findTeam,
  inviteMessage,
  inviteNodeProblem,
  inviteProblem,
  revocableMembers,
  ROLE_CHOICES,
  shareTeamChoices,
  teamNameProblem,
  teamNodes,
  teamsDescription,
} from "./teamModel";
import type { TreeNode } from "./treeModel";
import { NodeTreeProvider } from "./views";

export const VIEW_TEAMS = "peershare.teams";
const JOIN_ACTION = "Join Team…";

export interface TeamsHost {
  nodeHost: NodeHost;
  log: vscode.LogOutputChannel;
  /** True once the node runs (started first if need be); otherwise tells the user and returns false. */
  requireNode(): Promise<boolean>;
  /** Logs and shows a failure. */
  failed(what: string, err: unknown): void;
  register(id: string, fn: (...args: unknown[]) => unknown): void;
}

const isNode = (v: unknown): v is TreeNode => !!v && typeof v === "object" && typeof (v as TreeNode).key === "string";

export class TeamsUi implements vscode.Disposable {
  private list: TeamSummary[] = [];
  private members = new Map<string, TeamMember[]>();
  private notRunning: string | undefined;
  private readonly provider = new NodeTreeProvider();
  readonly view: vscode.TreeView<TreeNode>;

  constructor(private readonly host: TeamsHost) {
    this.view = vscode.window.createTreeView(VIEW_TEAMS, { treeDataProvider: this.provider, showCollapseAll: true });
    this.registerCommands();
  }

  get teams(): readonly TeamSummary[] {
    return this.list;
  }

  /** The rows of the Teams view, as last rendered. */
  get items(): readonly TreeNode[] {
    return this.provider.items;
  }

  /** Reads the node's teams and their members; never rejects. */
  async refresh(): Promise<void> {
    if (!this.host.nodeHost.isRunning) {
      this.list = [];
      this.members.clear();
      this.render();
      return;
    }
    try {
      const teams = await this.host.nodeHost.request("team.list", {});
      const members = new Map<string, TeamMember[]>();
      await Promise.all(
        teams.map((t) =>
          this.host.nodeHost.request("team.members", { team: t.teamKey }).then(
            (m) => void members.set(t.teamKey, m),
            (err) => this.host.log.warn(`team.members ${t.name} failed: ${errorText(err)}`),
          ),
        ),
      );
      this.list = teams;
      this.members = members;
    } catch (err) {
      this.host.log.warn(`team.list failed: ${errorText(err)}`);
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
    this.provider.set(running ? teamNodes(this.list, this.members, Date.now()) : []);
    this.view.message = notRunning;
    this.view.description = running ? teamsDescription(this.list) : undefined;
  }

  /**
   * Share File to Peers asks which teams may read the file when the node is in several: their keys,
   * [] when there was nothing to ask (zero or one team), undefined when the user backed out.
   */
  async askShareTeams(): Promise<string[] | undefined> {
    try {
      this.list = await this.host.nodeHost.request("team.list", {});
    } catch (err) {
      this.host.log.warn(`team.list failed: ${errorText(err)}`);
    }
    const choices = shareTeamChoices(this.list);
    if (!choices) return [];
    const picks = await vscode.window.showQuickPick(choices, {
      title: "peershare: Share File to Peers",
      placeHolder: "Which teams may read it? (all of this node's teams unless you untick some)",
      canPickMany: true,
      ignoreFocusOut: true,
    });
    if (!picks) return undefined;
    if (!picks.length) {
      void vscode.window.showWarningMessage("peershare: nothing shared: choose at least one team that may read the file.");
      return undefined;
    }
    return picks.map((p) => p.teamKey);
  }

  /** A fetch or open that every holder refused: the node's sentence, and a way to join a team (then `retry`). */
  showRefusal(what: string, err: unknown, retry?: () => unknown): void {
    this.host.log.error(`${what}: ${errorText(err)}`);
    void vscode.window.showErrorMessage(`peershare: ${what}: ${errorText(err)}`, JOIN_ACTION).then(async (c) => {
      if (c !== JOIN_ACTION) return;
      const joined = await vscode.commands.executeCommand<TeamSummary | undefined>("peershare.joinTeam");
      if (joined && retry) retry();
    });
  }

  dispose(): void {
    this.view.dispose();
    this.provider.dispose();
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

  private registerCommands(): void {
    const { register, requireNode, failed, log } = this.host;

    register("peershare.createTeam", async (nameArg?: unknown) => {
      if (!(await requireNode())) return;
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
        t = await this.host.nodeHost.request("team.create", { name });
      } catch (err) {
        return failed(`could not create team "${name}"`, err);
      }
      log.info(`created team "${t.name}" (${t.teamKey})`);
      await this.refresh();
      void vscode.window.showInformationMessage(`peershare: created team "${t.name}"; this node holds its key. Invite teammates to give them access to what you share.`, "Invite to Team…").then((c) => {
        if (c) void vscode.commands.executeCommand("peershare.inviteToTeam", t.teamKey);
      });
      return t;
    });

    register("peershare.inviteToTeam", async (teamArg?: unknown, roleArg?: unknown, forNodeArg?: unknown) => {
      if (!(await requireNode())) return;
      const team = await this.pickTeam(teamArg, "peershare: Invite to Team", true);
      if (!team) return;
      let role: TeamRole | undefined = roleArg === "read" || roleArg === "write" ? roleArg : undefined;
      // an argument goes to the node as given: a malformed one is refused there, never widened to anyone
      let forNode = typeof forNodeArg === "string" && forNodeArg.trim() !== "" ? forNodeArg.trim() : undefined;
      if (!role) {
        const pick = await vscode.window.showQuickPick(
          ROLE_CHOICES.map((c) => ({ label: c.label, detail: c.detail, role: c.role })),
          { title: `peershare: Invite to ${team.name}`, placeHolder: "Role of the new member" },
        );
        role = pick?.role;
        if (!role) return;
        const node = await vscode.window.showInputBox({
          title: `peershare: Invite to ${team.name}`,
          prompt: "For one node only? Its node ID (Copy Node ID on its row in Peers, or `peershare id` on that node). Leave empty for an invite anyone holding it can use.",
          placeHolder: "node ID (optional)",
          validateInput: inviteNodeProblem,
        });
        if (node === undefined) return;
        forNode = normalizeKey(node); // empty: an invite for anyone (validateInput let nothing else through)
      }
      let inv: TeamInvite;
      try {
        inv = await this.host.nodeHost.request("team.invite", { team: team.teamKey, role, forNode });
      } catch (err) {
        return failed(`could not make an invite to team "${team.name}"`, err);
      }
      // The invite itself is a secret: never logged.
      log.info(`made an invite to team "${inv.team}" (role ${inv.role}, valid until ${new Date(inv.expires).toISOString()})`);
      void vscode.window.showWarningMessage(inviteMessage(inv, Date.now()), "Copy Invite").then(async (c) => {
        if (c !== "Copy Invite") return;
        await vscode.env.clipboard.writeText(inv.invite);
        vscode.window.setStatusBarMessage("peershare: invite copied (it is a secret)", 5000);
      });
      return inv;
    });

    register("peershare.joinTeam", async (inviteArg?: unknown) => {
      if (!(await requireNode())) return;
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
        t = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: "peershare: joining the team…" }, () => this.host.nodeHost.request("team.join", { invite }));
      } catch (err) {
        return failed("could not join the team", err);
      }
      log.info(`joined team "${t.name}" (${t.teamKey}) with role ${t.role}`);
      await this.refresh();
      void vscode.window.showInformationMessage(`peershare: joined team "${t.name}" with role ${t.role}.`);
      return t;
    });

    register("peershare.showTeamMembers", async (teamArg?: unknown) => {
      if (!(await requireNode())) return;
      const team = await this.pickTeam(teamArg, "peershare: Show Team Members", false);
      if (!team) return;
      const members = this.members.get(team.teamKey);
      if (!members) return failed(`could not list the members of team "${team.name}"`, "team.members failed (see the log)");
      void vscode.commands.executeCommand(`${VIEW_TEAMS}.focus`);
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
      if (pick) {
        await vscode.env.clipboard.writeText(pick.nodeId);
        vscode.window.setStatusBarMessage("peershare: node ID copied", 3000);
      }
      return members;
    });

    register("peershare.revokeTeamMember", async (arg?: unknown, nodeArg?: unknown) => {
      if (!(await requireNode())) return;
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
        const candidates = revocableMembers(this.members.get(team.teamKey) ?? []);
        if (!candidates.length) {
          void vscode.window.showInformationMessage(`peershare: no member of team "${team.name}" to revoke. Members show up here once their node has proved its membership to this one.`);
          return;
        }
        const pick = await vscode.window.showQuickPick(
          candidates.map((m) => ({ label: shortId(m.nodeId, 16), description: [m.role, m.lastSeen ? `seen ${formatAgo(m.lastSeen, Date.now())}` : undefined].filter(Boolean).join(" · "), detail: m.nodeId, nodeId: m.nodeId })),
          { title: `peershare: Revoke a member of ${team.name}`, placeHolder: "Choose the member whose access ends", matchOnDetail: true },
        );
        nodeId = pick?.nodeId;
      }
      if (!team || !nodeId) return;
      if (confirm) {
        const c = await vscode.window.showWarningMessage(
          `Revoke node ${shortId(nodeId, 12)} from team "${team.name}"?`,
          { modal: true, detail: "It can no longer fetch the team's private shares, and the team's nodes stop storing its replicas. This cannot be undone." },
          "Revoke",
        );
        if (c !== "Revoke") return;
      }
      let r: { team: string; revoked: string; seq: number };
      try {
        r = await this.host.nodeHost.request("team.revoke", { team: team.teamKey, nodeId });
      } catch (err) {
        return failed(`could not revoke ${shortId(nodeId, 12)} from team "${team.name}"`, err);
      }
      log.info(`revoked ${r.revoked} from team "${r.team}" (revocation list #${r.seq})`);
      await this.refresh();
      void vscode.window.showInformationMessage(`peershare: revoked ${shortId(r.revoked, 12)} from team "${r.team}"; it can no longer fetch the team's private shares.`);
      return r;
    });
  }
}
