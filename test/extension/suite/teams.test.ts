// Teams through the extension's commands, inside a real extension host: Create Team, Invite to
// Team, sharing within the node's one team, Revoke. Runs after the other suites (a node in a team
// serves its earlier shares to members only).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { before, describe, it } from "mocha";
import type { ShareInfo, TeamInvite, TeamSummary } from "../../../node-host/rpc/api-types";
import type { PeershareApi } from "../../../extension/api";
import { until } from "../wait";

const EXTENSION_ID = "peershare.peershare";

describe("peershare teams", () => {
  let api: PeershareApi;
  let team: TeamSummary;

  before(async () => {
    const ext = vscode.extensions.getExtension<PeershareApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is installed`);
    api = await ext.activate();
    await api.whenReady(45_000);
  });

  it("registers the team commands", async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    for (const c of ["createTeam", "inviteToTeam", "joinTeam", "showTeamMembers", "revokeTeamMember"]) assert.ok(all.has(`peershare.${c}`), `peershare.${c}`);
  });

  it("Create Team makes a team this node administers, shown in the Teams view with this node as its member", async () => {
    team = (await vscode.commands.executeCommand("peershare.createTeam", "ext-team")) as TeamSummary;
    assert.ok(team, "the command returns the team");
    assert.equal(team.name, "ext-team");
    assert.equal(team.admin, true);
    assert.equal(team.role, "write");
    const row = await until("the team in the Teams view", () => api.snapshot().teams.find((n) => n.team === team.teamKey && n.label === "ext-team"));
    assert.equal(row.description, "write · admin · 1 member");
    assert.equal(row.contextValue, "team.admin");
    const info = await api.request("node.info", {});
    assert.deepEqual(row.children?.map((c) => [c.copyValue, c.description]), [[info.id, "write · this node"]]);
  });

  it("Invite to Team makes an invite with the role asked, valid for a week", async () => {
    const inv = (await vscode.commands.executeCommand("peershare.inviteToTeam", team.teamKey, "read")) as TeamInvite;
    assert.ok(inv, "the command returns the invite");
    // the body, then "=" and the inviting node's address hints when it has any (node-host/security/team-cert.ts)
    assert.match(inv.invite, /^peershare-invite:[A-Za-z0-9_-]+(=[A-Za-z0-9_-]+)?$/);
    assert.equal(inv.team, "ext-team");
    assert.equal(inv.role, "read");
    assert.ok(Math.abs(inv.expires - (Date.now() + 7 * 24 * 3600_000)) < 120_000, `expires ${new Date(inv.expires).toISOString()}`);
  });

  it("in one team, Share File to Peers asks nothing and shares with that team", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "peershare-team-test-")), "team-plan.md");
    fs.writeFileSync(file, `# plan\n\n${Date.now()}\n`);
    const share = (await vscode.commands.executeCommand("peershare.shareFile", vscode.Uri.file(file))) as ShareInfo;
    assert.ok(share, "shared without a question");
    assert.deepEqual(share.teams, ["ext-team"]);
    const row = await until("the share in Shared Files", () => api.snapshot().shared.find((n) => n.key === "shared:own")?.children?.find((c) => c.label === "team-plan.md"));
    assert.match(row.tooltip ?? "", /members of team ext-team/);
  });

  it("Revoke Team Member (team and node ID given) adds the node to the team's revocation list", async () => {
    const nodeId = "ab".repeat(32);
    const r = (await vscode.commands.executeCommand("peershare.revokeTeamMember", team.teamKey, nodeId)) as { team: string; revoked: string; seq: number };
    assert.deepEqual(r, { team: "ext-team", revoked: nodeId, seq: 1 });
    const row = await until("the revocation in the team's tooltip", () => api.snapshot().teams.find((n) => n.team === team.teamKey && /revoked: 1/.test(n.tooltip ?? "")));
    assert.ok(row);
  });
});
