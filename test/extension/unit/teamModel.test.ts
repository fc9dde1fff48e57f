import { test } from "node:test";
import assert from "node:assert/strict";
import { JSONRPCErrorException } from "json-rpc-2.0";
import type { TeamMember, TeamSummary } from "../../../node-host/rpc/api-types";
import {
  findTeam,
  formatExpiry,
  inviteMessage,
  inviteNodeProblem,
  inviteProblem,
  isForbidden,
  revocableMembers,
  shareTeamChoices,
  teamNameProblem,
  teamNodes,
  teamsDescription,
} from "../../../extension/teamModel";

const key = (c: string) => c.repeat(64);
const NOW = Date.UTC(2026, 0, 10);
const DAY = 24 * 3600_000;
const FOREVER = Date.UTC(9999, 0, 1);
const team = (over: Partial<TeamSummary> = {}): TeamSummary => ({ name: "core", teamKey: key("a"), role: "write", admin: true, expires: FOREVER, membersSeen: 0, revoked: 0, ...over });
const member = (over: Partial<TeamMember> = {}): TeamMember => ({ nodeId: key("1"), role: "read", self: false, revoked: false, expires: NOW + 7 * DAY, lastSeen: NOW - 5000, ...over });

test("a team row: name; role, admin and members; its members as children with revoke only where it applies", () => {
  const members = [member({ nodeId: key("0"), role: "write", self: true, lastSeen: null, expires: FOREVER }), member(), member({ nodeId: key("2"), revoked: true })];
  const [row] = teamNodes([team({ membersSeen: 2, revoked: 1 })], new Map([[key("a"), members]]), NOW);
  assert.equal(row.label, "core");
  assert.equal(row.description, "write · admin · 2 members");
  assert.equal(row.contextValue, "team.admin");
  assert.equal(row.team, key("a"));
  assert.equal(row.expanded, true);
  assert.match(row.tooltip!, /Team key: `a{64}`/);
  assert.match(row.tooltip!, /Membership ends: never/);
  const [self, reader, revoked] = row.children!;
  assert.equal(self.label, "00000000…");
  assert.equal(self.description, "write · this node");
  assert.equal(self.contextValue, "teamMember", "an admin cannot revoke itself");
  assert.equal(reader.description, "read · seen 5s ago");
  assert.equal(reader.contextValue, "teamMember.revocable");
  assert.equal(reader.copyValue, key("1"));
  assert.equal(reader.team, key("a"));
  assert.equal(revoked.description, "read · revoked · seen 5s ago");
  assert.equal(revoked.contextValue, "teamMember");
  assert.equal(revoked.icon?.id, "circle-slash");
});

test("a member (not admin) sees no revoke action; teams sort by name; unknown members fall back to the count seen", () => {
  const rows = teamNodes([team({ name: "zeta", teamKey: key("b"), admin: false, role: "read", membersSeen: 3 }), team({ name: "alpha" })], new Map([[key("b"), [member({ self: true }), member({ nodeId: key("3") })]]]), NOW);
  assert.deepEqual(rows.map((r) => r.label), ["alpha", "zeta"]);
  assert.equal(rows[0].description, "write · admin · 1 member");
  assert.deepEqual(rows[0].children, []);
  assert.equal(rows[1].contextValue, "team.member");
  assert.equal(rows[1].description, "read · 2 members");
  assert.ok(rows[1].children!.every((c) => c.contextValue === "teamMember"));
});

test("expiry and view description", () => {
  assert.equal(formatExpiry(FOREVER, NOW), "never");
  assert.equal(formatExpiry(NOW + 7 * DAY, NOW), "in 7d");
  assert.equal(formatExpiry(NOW + 7 * DAY - 50, NOW), "in 7d", "an invite made a moment ago");
  assert.equal(formatExpiry(NOW + 3 * 3600_000, NOW), "in 3h");
  assert.equal(formatExpiry(NOW - 120_000, NOW), "expired 2m ago");
  assert.equal(teamsDescription([]), undefined);
  assert.equal(teamsDescription([team(), team()]), "2 teams");
});

test("findTeam: by full key, name, or a key prefix of 8+ digits", () => {
  const teams = [team(), team({ name: "ops", teamKey: `bbbbbbbb${key("c").slice(8)}` })];
  assert.equal(findTeam(teams, key("a"))?.name, "core");
  assert.equal(findTeam(teams, "ops")?.name, "ops");
  assert.equal(findTeam(teams, "bbbbbbbb")?.name, "ops");
  assert.equal(findTeam(teams, "bbbb"), undefined);
  assert.equal(findTeam(teams, "nope"), undefined);
});

test("Share asks which teams only when the node is in several, all picked by default", () => {
  assert.equal(shareTeamChoices([]), null);
  assert.equal(shareTeamChoices([team()]), null);
  const choices = shareTeamChoices([team({ name: "ops", teamKey: key("b"), admin: false, role: "read" }), team()])!;
  assert.deepEqual(choices.map((c) => [c.label, c.teamKey, c.picked]), [["core", key("a"), true], ["ops", key("b"), true]]);
  assert.equal(choices[1].description, "read · bbbbbbbb…");
});

test("revocable members: not this node, not already revoked", () => {
  const list = [member({ self: true }), member({ nodeId: key("2") }), member({ nodeId: key("3"), revoked: true })];
  assert.deepEqual(revocableMembers(list).map((m) => m.nodeId), [key("2")]);
});

test("input checks: invites and team names", () => {
  assert.equal(inviteProblem(""), undefined);
  assert.equal(inviteProblem("  peershare-invite:AbC_-09  "), undefined);
  assert.match(inviteProblem("hello")!, /starts with "peershare-invite:"/);
  assert.match(inviteProblem("peershare-invite:abc def")!, /whole invite/);
  // with the inviting node's address hints after "="
  assert.equal(inviteProblem("peershare-invite:AbC_-09=AQx-_9"), undefined);
  assert.match(inviteProblem("peershare-invite:AbC=AQ=x")!, /whole invite/);
  assert.match(inviteProblem("peershare-invite:AbC=")!, /whole invite/);
  assert.equal(teamNameProblem("design"), undefined);
  assert.equal(teamNameProblem("  "), "Enter a name");
  assert.match(teamNameProblem("é".repeat(33))!, /at most 64 bytes/);
});

test("the invite notification says what it grants, until when, and that it is a secret", () => {
  const text = inviteMessage({ team: "core", role: "read", expires: NOW + 7 * DAY }, NOW);
  assert.match(text, /invite to team "core" \(role read\)/);
  assert.match(text, /until 2026-01-17 00:00 UTC \(in 7d\)/);
  assert.match(text, /secret/);
  assert.doesNotMatch(text, /peershare-invite:/, "the invite itself is not in the message");
});

test("an invite for one node says so; the node ID box takes 64 hex digits or nothing", () => {
  const text = inviteMessage({ team: "core", role: "write", expires: NOW + DAY, forNode: "ab".repeat(32) }, NOW);
  assert.match(text, /Only node abababababababab… can use it/);
  assert.doesNotMatch(text, /whoever holds it can join/);
  assert.equal(inviteNodeProblem(""), undefined);
  assert.equal(inviteNodeProblem(` ${"0f".repeat(32)} `), undefined);
  assert.match(inviteNodeProblem("0f".repeat(31))!, /64 hex digits/);
  assert.match(inviteNodeProblem("peershare-invite:abc")!, /64 hex digits/);
});

test("isForbidden: the node's refusal code only", () => {
  assert.equal(isForbidden(new JSONRPCErrorException("fetch of x: every holder refused this node", -32003)), true);
  assert.equal(isForbidden(new JSONRPCErrorException("not found", -32004)), false);
  assert.equal(isForbidden(new Error("plain")), false);
  assert.equal(isForbidden(undefined), false);
});
