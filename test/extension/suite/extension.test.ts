// Runs inside a real VS Code extension host with the peershare extension loaded.
// With PEERSHARE_E2E_PEER_ID set (a second node this workspace bootstraps to), the DHT tests
// check that the extension's node found it.
import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { before, describe, it } from "mocha";
import type { LookupResult } from "../../../node-host/rpc/api-types";
import type { PeershareApi } from "../../../extension/api";
import { until } from "../wait";

const EXTENSION_ID = "peershare.peershare";
const peerId = process.env.PEERSHARE_E2E_PEER_ID;


describe("peershare extension", () => {
  let api: PeershareApi;

  before(async () => {
    const ext = vscode.extensions.getExtension<PeershareApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is installed`);
    api = await ext.activate();
    await api.whenReady(45_000);
  });

  it("registers its commands", async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    for (const c of ["lookupKey", "showLookupTrace", "showAudit", "compareWithLocal", "showRoutingTable", "putValue", "getValue", "copyNodeId", "restartNode", "showTransfers", "refresh", "showLog", "shareFile", "fetchByHash", "openShared", "copyShareLink", "createTeam", "inviteToTeam", "joinTeam", "showTeamMembers", "revokeTeamMember"]) {
      assert.ok(all.has(`peershare.${c}`), `peershare.${c} is registered`);
    }
  });

  it("runs a node-host whose data dir is in the workspace storage", async () => {
    const info = await api.request("node.info", {});
    assert.match(info.id, /^[0-9a-f]{64}$/);
    assert.match(info.dataDir.replace(/\\/g, "/"), /\/node$/);
    assert.equal(api.state().kind, "running");
  });

  it("lists the bootstrap peer in Peers and Routing Table data", async function () {
    if (!peerId) return this.skip();
    const found = await until("the bootstrap peer in dht.peers", async () => (await api.request("dht.peers", {})).find((p) => p.id === peerId));
    assert.equal(found.state, "online");
    const snap = await until("the views to show the peer", () => (api.snapshot().peers.some((p) => p.id === peerId) ? api.snapshot() : undefined));
    assert.ok(snap.routing?.buckets.some((b) => b.contacts.some((c) => c.id === peerId)), "the routing table view data has the peer");
  });

  it("looks up a key over the DHT", async function () {
    if (!peerId) return this.skip();
    const r = await api.request("dht.lookup", { key: peerId });
    assert.ok(r.closest.some((c) => c.id === peerId), "the peer is among the closest nodes to its own ID");
    assert.ok(r.queried.length >= 1);
  });

  it("Show Lookup Trace opens the trace panel with the lookup's hops", async function () {
    if (!peerId) return this.skip();
    const r = (await vscode.commands.executeCommand("peershare.showLookupTrace", peerId)) as LookupResult;
    assert.ok(r, "the command returns the lookup");
    assert.equal(r.key, peerId);
    assert.ok(r.queried.some((q) => q.id === peerId && q.ok && q.hop >= 1), JSON.stringify(r.queried));
    const tab = await until("the trace panel tab", () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && t.label === "peershare Lookup Trace"),
    );
    assert.ok(tab);
    // Show Trace again reuses the panel
    await vscode.commands.executeCommand("peershare.showLookupTrace", peerId);
    assert.equal(vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.label === "peershare Lookup Trace").length, 1);
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  it("puts and gets a value", async function () {
    if (!peerId) return this.skip();
    const put = await api.request("dht.put", { name: "e2e-greeting", value: "hello from the extension host" });
    assert.ok(put.storedOn >= 1, `stored on ${put.storedOn} nodes`);
    const got = await api.request("dht.get", { key: put.key });
    assert.equal(got.value, "hello from the extension host");
    assert.equal(got.name, "e2e-greeting");
  });

  it("applies a live setting through config.set", async () => {
    const cfg = vscode.workspace.getConfiguration("peershare");
    await cfg.update("alpha", 4, vscode.ConfigurationTarget.Workspace);
    try {
      await until("alpha=4 in the node's config", async () => ((await api.request("config.get", {})).alpha === 4 ? true : undefined), 10_000);
    } finally {
      await cfg.update("alpha", undefined, vscode.ConfigurationTarget.Workspace);
    }
    await until("alpha back to 3", async () => ((await api.request("config.get", {})).alpha === 3 ? true : undefined), 10_000);
  });

  it("opens the transfer panel", async () => {
    await vscode.commands.executeCommand("peershare.showTransfers");
    const tab = await until("the transfer panel tab", () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && t.label === "peershare Transfers"),
    );
    assert.ok(tab);
    await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
  });

  it("restarts the node on request (Restart Node)", async () => {
    const before = api.pid();
    await vscode.commands.executeCommand("peershare.restartNode");
    await until("running again", () => (api.state().kind === "running" ? true : undefined));
    assert.notEqual(api.pid(), before);
    await api.request("node.info", {});
  });

  it("restarts a node that died, with a visible notice", async () => {
    const pid = api.pid();
    assert.ok(pid);
    const states: string[] = [];
    const poll = setInterval(() => states.push(api.state().kind), 20);
    try {
      process.kill(pid, "SIGKILL");
      await until("a new node process", () => (api.state().kind === "running" && api.pid() !== pid ? true : undefined), 30_000);
    } finally {
      clearInterval(poll);
    }
    assert.ok(states.includes("restarting"), `went through restarting: ${[...new Set(states)].join(",")}`);
    const info = await api.request("node.info", {});
    assert.match(info.id, /^[0-9a-f]{64}$/);
  });
});
