// Sharing, fetching and opening shared files through the extension's commands, inside a real
// extension host. With PEERSHARE_E2E_* set (a second node started with the CLI, see
// test/e2e/run.mjs), the files travel between this window's node and that one.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as vscode from "vscode";
import { before, describe, it } from "mocha";
import type { AuditListing, FetchInfo, ShareInfo } from "../../../node-host/rpc/api-types";
import { confirmationWarnings } from "../../../extension/publishModel";
import type { PeershareApi } from "../../../extension/api";
import { until } from "../wait";
import type { TreeNode } from "../../../extension/treeModel";

const EXTENSION_ID = "peershare.peershare";
const env = process.env;
const peer = env.PEERSHARE_E2E_PEER_ID && env.PEERSHARE_E2E_CLI && env.PEERSHARE_E2E_PEER_DIR && env.PEERSHARE_E2E_PEER_LINK && env.PEERSHARE_E2E_PEER_FILE
  ? { id: env.PEERSHARE_E2E_PEER_ID, cli: env.PEERSHARE_E2E_CLI, dir: env.PEERSHARE_E2E_PEER_DIR, link: env.PEERSHARE_E2E_PEER_LINK, file: env.PEERSHARE_E2E_PEER_FILE }
  : undefined;
// a private link, with the sharer's address hints when it has any (node-host/cas/share-link.ts)
const LINK = /^peershare:\/\/[0-9a-f]{64}#k=[A-Za-z0-9_-]{43}(&h=[A-Za-z0-9_-]+)?$/;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const run = promisify(execFile);


describe("peershare sharing and fetching", () => {
  let api: PeershareApi;
  let work: string;

  before(async () => {
    const ext = vscode.extensions.getExtension<PeershareApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is installed`);
    api = await ext.activate();
    await api.whenReady(45_000);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-ext-test-"));
  });

  it("registers the sharing commands", async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    for (const c of ["shareFile", "fetchByHash", "openShared", "copyShareLink", "openSharedItem"]) assert.ok(all.has(`peershare.${c}`), `peershare.${c}`);
  });

  let share: ShareInfo;
  let sharedFile: string;
  it("Share File to Peers shares a file and lists it in Shared Files", async () => {
    sharedFile = path.join(work, "ext-share.json");
    fs.writeFileSync(sharedFile, JSON.stringify({ from: "extension host", at: Date.now(), pad: "x".repeat(5000) }, null, 2));
    share = (await vscode.commands.executeCommand("peershare.shareFile", vscode.Uri.file(sharedFile))) as ShareInfo;
    assert.ok(share, "the command returns the share");
    assert.match(share.link, LINK);
    assert.equal(share.name, "ext-share.json");
    assert.equal(share.size, fs.statSync(sharedFile).size);
    const row = await until("the share in the Shared Files view", () =>
      api.snapshot().shared.find((n) => n.key === "shared:own")?.children?.find((c) => c.label === "ext-share.json"),
    );
    // kept without the address hints, which go stale (Copy Share Link adds the node's current ones)
    assert.equal(row.copyValue, share.linkWithoutHints);
    const ls = await api.request("content.ls", {});
    assert.ok(ls.contents.some((c) => c.contentId === share.contentId && c.pins.includes("own")), "pinned as own in the store");
  });

  it("the Shared Files row shows the share's live holders against r", async function () {
    this.timeout(60_000);
    // Replica health is asked only while the view is visible.
    await vscode.commands.executeCommand("peershare.sharedFiles.focus");
    const r = Number((await api.request("config.get", { key: "replication" })).replication);
    const row = await until(
      "a holders/r label on the row",
      () => api.snapshot().shared.find((n) => n.key === "shared:own")?.children?.find((c) => c.label === "ext-share.json" && /^\d+\/\d+ · /.test(c.description ?? "")),
      45_000,
    );
    const [live, of] = row.description!.split(" · ")[0].split("/").map(Number);
    assert.equal(of, r);
    assert.ok(live >= 1, `at least this node holds it: ${row.description}`);
    assert.equal(row.icon?.id, live < r ? "warning" : "cloud-upload");
    assert.match(row.tooltip ?? "", new RegExp(`Holders: ${live} live of r = ${r}`));
    const status = await api.request("content.status", { link: share.link });
    assert.equal(status.replication, r);
  });

  it("Copy Share Link copies a row's link, with the node's address hints as they are now", async () => {
    const row = api.snapshot().shared.find((n) => n.key === "shared:own")?.children?.find((c) => c.label === "ext-share.json") as TreeNode;
    await vscode.env.clipboard.writeText("");
    await vscode.commands.executeCommand("peershare.copyShareLink", row);
    const copied = await vscode.env.clipboard.readText();
    assert.equal(copied.split("&h=")[0], share.linkWithoutHints);
    assert.match(copied, /&h=[A-Za-z0-9_-]+$/);
  });

  it("the second node fetches the shared file (CLI): same bytes", async function () {
    if (!peer) return this.skip();
    this.timeout(90_000);
    const out = path.join(work, "peer-got") + path.sep;
    const { stdout } = await run(process.execPath, [peer.cli, "fetch", share.link, "-o", out, "--data-dir", peer.dir, "--json"], { timeout: 80_000 });
    const done = stdout.trim().split("\n").map((l) => JSON.parse(l)).find((e) => e.event === "done");
    assert.ok(done, stdout);
    assert.equal(sha256(fs.readFileSync(done.path)), sha256(fs.readFileSync(sharedFile)));
    // from a holder, or from the copy this node replicated to it when sharing
    assert.ok(done.holdersUsed >= 1 || done.bytesReused === done.size, JSON.stringify(done));
  });

  it("Fetch by Hash saves the second node's file into a folder, and the transfer shows as done with a rate", async function () {
    if (!peer) return this.skip();
    const folder = path.join(work, "fetched");
    fs.mkdirSync(folder);
    const r = (await vscode.commands.executeCommand("peershare.fetchByHash", peer.link, vscode.Uri.file(folder))) as FetchInfo;
    assert.ok(r, "the command returns the fetch");
    assert.equal(path.dirname(r.path), folder);
    assert.equal(sha256(fs.readFileSync(r.path)), sha256(fs.readFileSync(peer.file)));
    assert.ok(r.holdersUsed >= 1 || r.bytesReused === r.size, JSON.stringify(r));
    const row = await until("a finished transfer row", () => api.snapshot().transfers.find((t) => t.id === r.transferId && t.state === "done"));
    assert.ok(row.rateBps > 0, `rate ${row.rateBps}`);
    assert.equal(row.doneBytes, r.size);
    const fetchedRow = await until("the file under Fetched", () => api.snapshot().shared.find((n) => n.key === "shared:fetched")?.children?.find((c) => c.label === path.basename(r.path)));
    assert.deepEqual(fetchedRow.open, { kind: "file", path: r.path });
  });

  it("Open Shared Hash opens a tab named after the file, with its language and content", async function () {
    if (!peer) return this.skip();
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
    const uri = (await vscode.commands.executeCommand("peershare.openShared", peer.link)) as vscode.Uri;
    assert.equal(uri.scheme, "peershare");
    assert.match(uri.query, /^k=[A-Za-z0-9_-]{43}(&h=[A-Za-z0-9_-]+)?$/, "the key (and the link's address hints) ride in the query");
    const editor = await until("the editor of the shared file", () =>
      vscode.window.activeTextEditor?.document.uri.toString() === uri.toString() ? vscode.window.activeTextEditor : undefined,
    );
    const name = path.basename(peer.file);
    assert.equal(path.posix.basename(uri.path), name);
    assert.equal(editor.document.getText(), fs.readFileSync(peer.file, "utf8"));
    assert.equal(editor.document.languageId, "markdown");
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    assert.equal(tab?.label, name);
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  it("the peershare: file system: stat, read, read-only, directory of an ID", async () => {
    const uri = vscode.Uri.from({ scheme: "peershare", path: `/${share.contentId}/${share.name}`, query: `k=${share.link.split("#k=")[1]}` });
    const st = await vscode.workspace.fs.stat(uri);
    assert.equal(st.type, vscode.FileType.File);
    assert.equal(st.size, share.size);
    assert.equal(st.permissions, vscode.FilePermission.Readonly);
    assert.equal(sha256(await vscode.workspace.fs.readFile(uri)), sha256(fs.readFileSync(sharedFile)));
    await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(uri, new Uint8Array([1]))));
    const dir = await vscode.workspace.fs.readDirectory(uri.with({ path: `/${share.contentId}` }));
    assert.deepEqual(dir, [[share.name, vscode.FileType.File]]);
    await assert.rejects(Promise.resolve(vscode.workspace.fs.stat(uri.with({ path: `/${"0".repeat(64)}/nothing.txt`, query: "" }))));
  });

  it("makes peershare:// links in a document clickable", async () => {
    const doc = await vscode.workspace.openTextDocument({ language: "plaintext", content: `see ${share.link} and peershare://${"ab".repeat(32)} but not peershare://nope` });
    const links = await vscode.commands.executeCommand<vscode.DocumentLink[]>("vscode.executeLinkProvider", doc.uri);
    const ours = links.filter((l) => l.target?.scheme === "command" && l.target.path === "peershare.openShared");
    assert.equal(ours.length, 2);
    assert.equal(doc.getText(ours[0].range), share.link);
    assert.deepEqual(JSON.parse(decodeURIComponent(ours[0].target!.query)), [share.link]);
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  it("Open Shared Hash on this node's own share opens it (from the Shared Files row)", async () => {
    const row = api.snapshot().shared.find((n) => n.key === "shared:own")?.children?.find((c) => c.label === "ext-share.json") as TreeNode;
    const uri = (await vscode.commands.executeCommand("peershare.openSharedItem", row)) as vscode.Uri;
    assert.equal(uri.scheme, "peershare");
    const editor = await until("the editor", () => (vscode.window.activeTextEditor?.document.uri.toString() === uri.toString() ? vscode.window.activeTextEditor : undefined));
    assert.equal(editor.document.languageId, "json");
    assert.equal(editor.document.getText(), fs.readFileSync(sharedFile, "utf8"));
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  it("a .env file is not shared without confirmation: NeedsConfirmation with the node's reasons; force shares it", async () => {
    const envFile = path.join(work, ".env");
    fs.writeFileSync(envFile, `API_TOKEN=${"x".repeat(24)}\n`);
    const err = await api.request("content.share", { path: envFile }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err, "content.share without force fails");
    const warnings = confirmationWarnings(err);
    assert.ok(warnings, `a NeedsConfirmation error: ${String(err)}`);
    assert.ok(warnings.some((w) => w.kind === "secret" && /\.env/.test(w.message)), JSON.stringify(warnings));
    const forced = await api.request("content.share", { path: envFile, force: true });
    assert.equal(forced.name, ".env");
  });

  it("the Fetch Audit view lists the second node's fetch of a share, newest first, named as in Shared Files", async function () {
    if (!peer?.id) return this.skip();
    this.timeout(120_000);
    // r = 1: the second node takes no replica, so its fetch has to ask this node (and is audited)
    const cfg = vscode.workspace.getConfiguration("peershare");
    await cfg.update("replicationFactor", 1, vscode.ConfigurationTarget.Workspace);
    let audited: ShareInfo;
    try {
      await until("replication=1 live", async () => ((await api.request("config.get", {})).replication === 1 ? true : undefined), 10_000);
      const file = path.join(work, "audit-me.txt");
      fs.writeFileSync(file, `audited ${Date.now()}\n${"abc ".repeat(2000)}`);
      audited = (await vscode.commands.executeCommand("peershare.shareFile", vscode.Uri.file(file))) as ShareInfo;
      assert.equal(audited.replicas, 0);
    } finally {
      await cfg.update("replicationFactor", undefined, vscode.ConfigurationTarget.Workspace);
    }
    const { stdout } = await run(process.execPath, [peer.cli, "fetch", audited.link, "-o", path.join(work, "peer-audit") + path.sep, "--data-dir", peer.dir, "--json"], { timeout: 80_000 });
    assert.ok(stdout.includes('"done"'), stdout);
    const listing = (await vscode.commands.executeCommand("peershare.showAudit")) as AuditListing;
    assert.ok(listing?.intact, "the log verifies");
    const group = await until(
      "the share's group in the Fetch Audit view, with the second node's fetch",
      async () => {
        await vscode.commands.executeCommand("peershare.showAudit"); // (asks the node again)
        const g = api.snapshot().audit.find((n) => n.key === `audit:share:${audited.contentId}`);
        return g?.children?.some((c) => c.copyValue === peer.id && /^served · /.test(c.description ?? "")) ? g : undefined;
      },
      30_000,
    );
    assert.equal(group.label, "audit-me.txt");
    assert.match(group.description ?? "", /^\d+ served · last /);
    const seqs = group.children!.map((c) => Number(c.key.split(":").pop()));
    assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), "newest first");
    assert.equal(api.snapshot().audit[0].key, `audit:share:${audited.contentId}`, "the share fetched last comes first");
  });

  it("Compare Shared File with Local File opens a diff editor: the shared file against the local one", async () => {
    const row = api.snapshot().shared.find((n) => n.key === "shared:own")?.children?.find((c) => c.label === "ext-share.json") as TreeNode;
    const local = path.join(work, "ext-share-edited.json");
    fs.writeFileSync(local, fs.readFileSync(sharedFile, "utf8").replace("extension host", "edited locally"));
    const r = (await vscode.commands.executeCommand("peershare.compareWithLocal", row, vscode.Uri.file(local))) as { shared: vscode.Uri; local: vscode.Uri };
    assert.equal(r.shared.scheme, "peershare");
    const tab = await until("a diff editor tab", () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputTextDiff && t.input.original.scheme === "peershare"),
    );
    const input = tab.input as vscode.TabInputTextDiff;
    assert.equal(input.modified.fsPath, local);
    assert.equal(path.posix.basename(input.original.path), "ext-share.json");
    assert.match(tab.label, /^ext-share\.json \(shared [0-9a-f]{8}…\) ↔ ext-share-edited\.json$/);
    const shared = await until("the shared side's text", () => vscode.workspace.textDocuments.find((d) => d.uri.toString() === input.original.toString()));
    assert.equal(shared.getText(), fs.readFileSync(sharedFile, "utf8"));
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
    // from a peershare: editor tab (its URI), the same
    await vscode.commands.executeCommand("peershare.compareWithLocal", r.shared, vscode.Uri.file(local));
    await until("the diff editor again", () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputTextDiff && t.input.original.toString() === r.shared.toString()),
    );
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  it("peershare.forceWebRtc sets the node's bulkPath (webrtc | auto) for its next start; cacheSizeMB applies at once", async function () {
    this.timeout(90_000);
    const cfg = vscode.workspace.getConfiguration("peershare");
    const nodeConfig = () => api.request("config.get", {});
    const saved = async () => {
      const file = path.join((await api.request("node.info", {})).dataDir, "config.json");
      return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>) : {};
    };
    const restart = async () => {
      const pid = api.pid();
      await vscode.commands.executeCommand("peershare.restartNode");
      await until("the node running again", () => (api.state().kind === "running" && api.pid() !== pid ? true : undefined));
    };
    try {
      await cfg.update("forceWebRtc", true, vscode.ConfigurationTarget.Workspace);
      await cfg.update("iceServers", ["stun:stun.example.org:3478"], vscode.ConfigurationTarget.Workspace);
      await cfg.update("cacheSizeMB", 64, vscode.ConfigurationTarget.Workspace);
      await until("cacheSizeMB=64 live", async () => ((await nodeConfig()).cacheSizeMB === 64 ? true : undefined), 10_000);
      await until("bulkPath=webrtc saved", async () => ((await saved()).bulkPath === "webrtc" ? true : undefined), 10_000);
      await until("iceServers saved", async () => (JSON.stringify((await saved()).iceServers) === '["stun:stun.example.org:3478"]' ? true : undefined), 10_000);
      await restart();
      const c = await nodeConfig();
      assert.equal(c.bulkPath, "webrtc");
      assert.deepEqual(c.iceServers, ["stun:stun.example.org:3478"]);
    } finally {
      await cfg.update("forceWebRtc", undefined, vscode.ConfigurationTarget.Workspace);
      await cfg.update("iceServers", undefined, vscode.ConfigurationTarget.Workspace);
      await cfg.update("cacheSizeMB", undefined, vscode.ConfigurationTarget.Workspace);
    }
    await until("bulkPath=auto saved", async () => ((await saved()).bulkPath === "auto" ? true : undefined), 10_000);
    await restart();
    assert.equal((await nodeConfig()).bulkPath, "auto");
    assert.deepEqual((await nodeConfig()).iceServers, []);
  });
});
