// Lazy start, inside a real extension host: activation starts no node; the first use does. Runs
// first (suites run in file-name order): the other suites' before() starts the node through the API.
import * as assert from "node:assert/strict";
import * as vscode from "vscode";
import { before, describe, it } from "mocha";
import type { PeershareApi } from "../../../extension/api";
import { until } from "../wait";

const EXTENSION_ID = "peershare.peershare";

describe("peershare activation", () => {
  let api: PeershareApi;

  before(async () => {
    const ext = vscode.extensions.getExtension<PeershareApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is installed`);
    api = await ext.activate();
  });

  it("activation registers everything but starts no node while peershare is not used", async function () {
    if (vscode.workspace.getConfiguration("peershare").get("startNodeOnStartup")) return this.skip();
    const all = new Set(await vscode.commands.getCommands(true));
    for (const c of ["shareFile", "lookupKey", "showLookupTrace", "showAudit", "compareWithLocal"]) assert.ok(all.has(`peershare.${c}`), `peershare.${c}`);
    assert.equal(api.snapshot().started, false);
    assert.equal(api.state().kind, "stopped");
    assert.equal(api.pid(), undefined);
  });

  it("the first command starts the node, and runs once it is up", async function () {
    this.timeout(60_000);
    await vscode.env.clipboard.writeText("");
    await vscode.commands.executeCommand("peershare.copyNodeId");
    assert.equal(api.snapshot().started, true);
    assert.equal(api.state().kind, "running");
    const info = await api.request("node.info", {});
    await until("the node ID on the clipboard", async () => ((await vscode.env.clipboard.readText()) === info.id ? true : undefined), 5000);
  });
});
