// Shared folders through the extension's commands, inside a real extension host: Share Folder to
// Peers (what it leaves out), Open Shared Folder (a tree that shows from the folder manifest, and
// files that arrive one at a time when opened: the bytes are counted), the diff editor, and Save
// Shared Folder As…. With PEERSHARE_E2E_* set (a second node that shares a folder, see
// test/e2e/run.mjs). (Under test, VS Code does not let a single-folder window become a multi-root
// workspace, so the added workspace folder does not stay: the Explorer and search over it are
// checked by the UI test, test/e2e/ui-test.mjs.)
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as vscode from "vscode";
import { before, describe, it } from "mocha";
import type { FetchInfo, ShareInfo } from "../../../node-host/rpc/api-types";
import type { PeershareApi } from "../../../extension/api";
import { until } from "../wait";

const env = process.env;
const peer =
  env.PEERSHARE_E2E_CLI && env.PEERSHARE_E2E_PEER_DIR && env.PEERSHARE_E2E_PEER_FOLDER_LINK && env.PEERSHARE_E2E_PEER_FOLDER
    ? { cli: env.PEERSHARE_E2E_CLI, dir: env.PEERSHARE_E2E_PEER_DIR, link: env.PEERSHARE_E2E_PEER_FOLDER_LINK, folder: env.PEERSHARE_E2E_PEER_FOLDER }
    : undefined;
const run = promisify(execFile);
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Every file under `dir` by "/"-separated relative path, with its SHA-256; directories as "dir". */
function treeOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out[r] = "dir";
        walk(r);
      } else out[r] = sha256(fs.readFileSync(path.join(dir, r)));
    }
  };
  walk("");
  return out;
}

describe("peershare shared folders", () => {
  let api: PeershareApi;
  let work: string;
  /** Bytes this node has received over its bulk paths so far. */
  const bytesIn = async () => {
    const { stats } = await api.request("node.info", {});
    return (stats.tlsBytesIn ?? 0) + (stats.webrtcBytesIn ?? 0);
  };

  before(async () => {
    const ext = vscode.extensions.getExtension<PeershareApi>("peershare.peershare");
    assert.ok(ext);
    api = await ext.activate();
    await api.whenReady(45_000);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "peershare-ext-folders-"));
  });

  it("registers the folder commands", async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    for (const c of ["shareFolder", "openSharedFolder", "saveSharedFolderAs"]) assert.ok(all.has(`peershare.${c}`), `peershare.${c}`);
  });

  it("Share Folder to Peers shares a folder and leaves its secret-looking file out; the second node fetches the rest", async function () {
    this.timeout(90_000);
    const folder = path.join(work, "to-share");
    fs.mkdirSync(path.join(folder, "sub"), { recursive: true });
    fs.writeFileSync(path.join(folder, "a.txt"), `shared from the extension host ${Date.now()}\n`);
    fs.writeFileSync(path.join(folder, "sub", "b.json"), JSON.stringify({ b: 1 }));
    fs.writeFileSync(path.join(folder, ".env"), "API_TOKEN=not-for-sharing\n");
    const r = (await vscode.commands.executeCommand("peershare.shareFolder", vscode.Uri.file(folder))) as ShareInfo;
    assert.ok(r, "the command returns the share");
    assert.equal(r.kind, "folder");
    assert.equal(r.folder?.files, 2);
    assert.deepEqual(r.folder?.leftOut.map((e) => e.path), [".env"]);
    assert.match(r.folder!.leftOut[0].reason, /secret/);
    await until("the folder in Shared Files", () => api.snapshot().shared.find((n) => n.key === "shared:own")?.children?.find((c) => c.label === "to-share/"));
    if (!peer) return;
    const out = path.join(work, "peer-got");
    const { stdout } = await run(process.execPath, [peer.cli, "fetch", r.link, "-o", out, "--data-dir", peer.dir, "--json"], { timeout: 80_000 });
    assert.ok(stdout.includes('"done"'), stdout);
    assert.deepEqual(treeOf(out), { "a.txt": sha256(fs.readFileSync(path.join(folder, "a.txt"))), sub: "dir", "sub/b.json": sha256(fs.readFileSync(path.join(folder, "sub", "b.json"))) });
  });

  let folderUri: vscode.Uri;
  it("Open Shared Folder adds the second node's folder as a workspace folder; its tree shows from the manifest alone; opening one file fetches that file only", async function () {
    if (!peer) return this.skip();
    this.timeout(90_000);
    const before = await bytesIn();
    folderUri = (await vscode.commands.executeCommand("peershare.openSharedFolder", peer.link)) as vscode.Uri;
    assert.equal(folderUri.scheme, "peershare");
    const ws = await until("the workspace folder", () => vscode.workspace.workspaceFolders?.find((f) => f.uri.toString() === folderUri.toString()));
    assert.equal(ws.name, "peer-project (shared)");
    const top = await vscode.workspace.fs.readDirectory(folderUri);
    assert.deepEqual(top.sort(), [["README.md", vscode.FileType.File], ["assets", vscode.FileType.Directory], ["docs", vscode.FileType.Directory], ["empty", vscode.FileType.Directory], ["src", vscode.FileType.Directory]].sort());
    const notes = vscode.Uri.joinPath(folderUri, "docs", "notes", "données.txt");
    assert.equal((await vscode.workspace.fs.stat(notes)).size, fs.statSync(path.join(peer.folder, "docs", "notes", "données.txt")).size);
    assert.equal((await vscode.workspace.fs.stat(vscode.Uri.joinPath(folderUri, "assets", "big.bin"))).size, 4 * 1024 * 1024);
    const listed = await bytesIn();
    assert.ok(listed - before < 64 * 1024, `listing the tree moved ${listed - before} bytes: the manifests only`);

    const guide = vscode.Uri.joinPath(folderUri, "docs", "guide.md");
    const editor = await vscode.window.showTextDocument(guide);
    assert.equal(editor.document.getText(), fs.readFileSync(path.join(peer.folder, "docs", "guide.md"), "utf8"));
    assert.equal(editor.document.languageId, "markdown");
    const opened = await bytesIn();
    const size = fs.statSync(path.join(peer.folder, "docs", "guide.md")).size;
    assert.ok(opened - listed >= size && opened - listed < size + 64 * 1024, `opening guide.md moved ${opened - listed} bytes for a ${size}-byte file (the 4 MiB file stays where it is)`);
    const row = await until("the file's transfer, done", () => api.snapshot().transfers.find((t) => t.name === "guide.md" && t.state === "done"));
    assert.equal(row.doneBytes, size);
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  it("the diff editor compares a file of the shared folder with a local file", async function () {
    if (!peer) return this.skip();
    const shared = vscode.Uri.joinPath(folderUri, "src", "main.ts");
    const local = path.join(work, "main.ts");
    fs.writeFileSync(local, 'export const hello = "there";\n');
    const r = (await vscode.commands.executeCommand("peershare.compareWithLocal", shared, vscode.Uri.file(local))) as { shared: vscode.Uri; local: vscode.Uri };
    assert.equal(r.shared.toString(), shared.toString());
    const tab = await until("a diff editor tab", () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputTextDiff && t.input.original.toString() === shared.toString()),
    );
    assert.match(tab.label, /^main\.ts \(shared [0-9a-f]{8}…\) ↔ main\.ts$/);
    const doc = await until("the shared side's text", () => vscode.workspace.textDocuments.find((d) => d.uri.toString() === shared.toString()));
    assert.equal(doc.getText(), fs.readFileSync(path.join(peer.folder, "src", "main.ts"), "utf8"));
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  it("Save Shared Folder As… fetches the whole folder, byte-identical", async function () {
    if (!peer) return this.skip();
    this.timeout(90_000);
    const target = path.join(work, "saved", "peer-project");
    const r = (await vscode.commands.executeCommand("peershare.saveSharedFolderAs", peer.link, vscode.Uri.file(target))) as FetchInfo;
    assert.ok(r, "the command returns the fetch");
    assert.equal(r.path, target);
    assert.deepEqual(r.folder?.refused, []);
    assert.deepEqual(treeOf(target), treeOf(peer.folder));
  });
});
